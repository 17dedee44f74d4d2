"""The practice API's AWS Signature Version 4 endpoints, end to end: botocore signs, requests sends.

GET /aws/whoami and POST /aws/orders accept what botocore's SigV4Auth (Authorization header)
and SigV4QueryAuth (presigned URL) sign, on both transports. Each refusal has its own test,
named after the rule; every rule and message is in the docstring of helpers/practice_api/sigv4.py.
Time moves with the practice clock (`api.clock.advance`), never with a sleep.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import re
from unittest import mock

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from helpers.practice_api import demo, sigv4

TIMEOUT = 5
AKIA, ASIA = demo.AWS["credentials"]
REGION, SERVICE = demo.AWS["region"], demo.AWS["service"]
ORDER = json.dumps({"item": "tea", "quantity": 2})
JSON = {"Content-Type": "application/json"}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def signed(api, method: str, path: str, *, entry: dict = AKIA, body: str | None = None, headers: dict | None = None,
           region: str = REGION, service: str = SERVICE, secret: str | None = None, token: str | None = "demo",
           at: float | None = None, presign: bool = False, expires: int = 3600) -> AWSRequest:
    """A request as botocore signs it, at practice-clock time `at` (now by default)."""
    token = entry.get("session_token") if token == "demo" else token
    credentials = Credentials(entry["access_key_id"], secret or entry["secret_access_key"], token)
    request = AWSRequest(method=method, url=api.url(path), data=body, headers=dict(headers or {}))
    when = datetime.datetime.fromtimestamp(api.clock.now() if at is None else at, datetime.timezone.utc)
    auth = (SigV4QueryAuth(credentials, service, region, expires=expires) if presign
            else SigV4Auth(credentials, service, region))
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        auth.add_auth(request)
    return request


def send(http, request: AWSRequest, *, body: str | None = None, extra: dict | None = None, url: str | None = None):
    """Send a botocore-signed request with requests, as notebook 07 does; `body`/`extra` tamper with it."""
    headers = {**dict(request.headers.items()), **(extra or {})}
    return http.request(request.method, url or request.url, headers=headers,
                        data=request.body if body is None else body, timeout=TIMEOUT)


def refused(response, status: int, code: str, message: str | None = None) -> dict:
    """An AWS-shaped refusal: the status, {"Code", "Message"}, x-amzn-ErrorType, no WWW-Authenticate."""
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["Code"] == code, payload
    assert response.headers["x-amzn-ErrorType"] == code
    assert "WWW-Authenticate" not in response.headers
    assert not any(CONTROL.search(name + value) for name, value in response.headers.items())
    if message is not None:
        assert payload["Message"] == message, payload
    return payload


# -- accepted ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", [AKIA, ASIA], ids=["long-term key", "temporary key with session token"])
def test_a_botocore_signed_get_is_accepted(any_api, http, entry):
    response = send(http, signed(any_api, "GET", "/aws/whoami", entry=entry))
    assert response.status_code == 200, response.text
    assert response.json() == {"access_key_id": entry["access_key_id"], "user": "ada",
                               "signed_with": "Authorization header"}


def test_a_botocore_signed_order_is_accepted(any_api, http):
    response = send(http, signed(any_api, "POST", "/aws/orders", body=ORDER, headers=JSON))
    assert response.status_code == 201, response.text
    assert response.json()["accepted"] == json.loads(ORDER)
    assert any_api.app.orders[-1]["key_id"] == AKIA["access_key_id"]


def test_the_host_signed_is_the_host_received(any_api, http):
    """In-process api.practice.test; on loopback 127.0.0.1:PORT, the port included, as botocore signs it."""
    request = signed(any_api, "GET", "/aws/whoami", entry=AKIA, secret="wrong")
    canonical = refused(send(http, request), 403, "SignatureDoesNotMatch")["CanonicalRequest"]
    assert f"\nhost:{any_api.base_url.split('://')[1]}\n" in canonical


@pytest.mark.parametrize("entry", [AKIA, ASIA], ids=["long-term key", "temporary key"])
def test_a_presigned_url_is_accepted(any_api, http, entry):
    request = signed(any_api, "GET", "/aws/whoami", entry=entry, presign=True)
    assert "Authorization" not in request.headers
    response = http.get(request.url, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json()["signed_with"] == "query string"


def test_a_presigned_url_used_by_someone_else_works_it_is_a_bearer_credential(api):
    """Anyone holding the URL can use it until it expires: no key, no header, another session."""
    import requests

    url = signed(api, "GET", "/aws/whoami", presign=True, expires=600).url
    with requests.Session() as stranger:
        stranger.trust_env = False
        assert stranger.get(url, timeout=TIMEOUT).json()["access_key_id"] == AKIA["access_key_id"]
    api.clock.advance(590)  # still valid, long after the 5 minutes a signed header gets
    with requests.Session() as another:
        another.trust_env = False
        assert another.get(url, timeout=TIMEOUT).status_code == 200


def test_there_is_no_replay_cache_the_same_signed_request_is_accepted_again(api, http):
    """AWS keeps none: the window (5 minutes) and TLS are the defence; request_signing refuses a replay."""
    request = signed(api, "POST", "/aws/orders", body=ORDER, headers=JSON)
    first, second = send(http, request), send(http, request)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]  # two orders: an idempotency key would prevent that


def test_a_request_299_seconds_old_is_accepted(api, http):
    request = signed(api, "GET", "/aws/whoami")
    api.clock.advance(299)
    assert send(http, request).status_code == 200


# -- refused: the Authorization header ---------------------------------------------------------------------

def test_no_authentication_is_missing_authentication_token(any_api, http):
    response = http.get(any_api.url("/aws/whoami"), timeout=TIMEOUT)
    refused(response, 403, "MissingAuthenticationToken", "Missing Authentication Token")


def test_an_unknown_access_key_id_is_invalid_client_token_id(api, http):
    stranger = {**AKIA, "access_key_id": "AKIAPRACTICEDEMO9999"}
    refused(send(http, signed(api, "GET", "/aws/whoami", entry=stranger)), 403, "InvalidClientTokenId",
            "The security token included in the request is invalid.")


def test_a_wrong_secret_is_signature_does_not_match_with_the_servers_canonical_request(api, http):
    captured = {}
    original = SigV4Auth.canonical_request

    def capture(self, request):
        captured["canonical"] = original(self, request)
        return captured["canonical"]

    with mock.patch.object(SigV4Auth, "canonical_request", capture):
        request = signed(api, "POST", "/aws/orders", body=ORDER, headers=JSON, secret="not-the-secret")
    payload = refused(send(http, request), 403, "SignatureDoesNotMatch", "The request signature we calculated does "
                      "not match the signature you provided. Check your key and signing method.")
    assert payload["CanonicalRequest"] == captured["canonical"]  # the same request: only the key differed
    assert payload["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert payload["StringToSign"].endswith(hashlib.sha256(captured["canonical"].encode()).hexdigest())


def test_the_session_token_is_hidden_in_the_canonical_request_shown(api, http):
    payload = refused(send(http, signed(api, "GET", "/aws/whoami", entry=ASIA, secret="wrong")), 403,
                      "SignatureDoesNotMatch")
    assert "x-amz-security-token:<hidden>\n" in payload["CanonicalRequest"]
    assert ASIA["session_token"] not in json.dumps(payload)


def test_a_wrong_region_is_refused_with_awss_message(api, http):
    refused(send(http, signed(api, "GET", "/aws/whoami", region="us-east-1")), 403, "SignatureDoesNotMatch",
            "Credential should be scoped to a valid region, not 'us-east-1'. ")


def test_a_wrong_service_is_refused(api, http):
    refused(send(http, signed(api, "GET", "/aws/whoami", service="s3")), 403, "SignatureDoesNotMatch",
            "Credential should be scoped to correct service: 'practice'. ")


def test_a_scope_date_other_than_x_amz_dates_date_is_refused(api, http):
    request = signed(api, "GET", "/aws/whoami")
    amz_date = request.headers["X-Amz-Date"]
    next_day = (datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ") + datetime.timedelta(days=1)).strftime(
        "%Y%m%dT%H%M%SZ")
    refused(send(http, request, extra={"X-Amz-Date": next_day}), 403, "SignatureDoesNotMatch",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{amz_date[:8]}' != '{next_day[:8]}', from 'X-Amz-Date'.")


@pytest.mark.parametrize("offset", [-301, 301], ids=["301 s old", "301 s ahead"])
def test_a_date_more_than_5_minutes_off_is_request_time_too_skewed(api, http, offset):
    now = api.clock.now()
    request = signed(api, "GET", "/aws/whoami", at=now + offset if offset > 0 else now)
    if offset < 0:
        api.clock.advance(-offset)
    refused(send(http, request), 403, "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.")


def test_a_body_changed_after_signing_is_signature_does_not_match(any_api, http):
    request = signed(any_api, "POST", "/aws/orders", body=ORDER, headers=JSON)
    refused(send(http, request, body=ORDER.replace("2", "200")), 403, "SignatureDoesNotMatch")
    assert len(any_api.app.orders) == 0


def test_a_signed_header_changed_is_signature_does_not_match(api, http):
    request = signed(api, "POST", "/aws/orders", body=ORDER, headers={**JSON, "X-Amz-Meta-Note": "gift"})
    refused(send(http, request, extra={"X-Amz-Meta-Note": "not a gift"}), 403, "SignatureDoesNotMatch")


def test_an_unsigned_x_amz_header_added_is_refused(api, http):
    """S3's rule: every x-amz-* header present must be signed (sig-v4-header-based-auth)."""
    payload = refused(send(http, signed(api, "GET", "/aws/whoami"), extra={"X-Amz-Meta-Note": "added"}), 403,
                      "AccessDenied", "There were headers present in the request which were not signed")
    assert payload["HeadersNotSigned"] == "x-amz-meta-note"


def by_hand(api, signed_headers: list[str], headers: dict[str, str], *, entry: dict = AKIA) -> dict[str, str]:
    """Headers signed with sigv4's own functions, for what botocore never does (leave host unsigned)."""
    amz_date = datetime.datetime.fromtimestamp(api.clock.now(), datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Host": "api.practice.test", "X-Amz-Date": amz_date, **headers}
    canonical = sigv4.canonical_request("GET", "/aws/whoami", "", list(headers.items()), signed_headers,
                                        sigv4.EMPTY_SHA256)
    scope = f"{amz_date[:8]}/{REGION}/{SERVICE}/aws4_request"
    key = sigv4.signing_key(entry["secret_access_key"], amz_date[:8], REGION, SERVICE)
    signature = sigv4.signature(key, sigv4.string_to_sign(amz_date, scope, canonical))
    return {**headers, "Authorization": f"AWS4-HMAC-SHA256 Credential={entry['access_key_id']}/{scope}, "
                                        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"}


def test_the_signatures_by_hand_are_accepted(api, http):
    """by_hand itself is right: with host and x-amz-date signed, the request passes."""
    headers = by_hand(api, ["host", "x-amz-date"], {})
    assert http.get(api.url("/aws/whoami"), headers=headers, timeout=TIMEOUT).status_code == 200


def test_host_not_signed_is_refused(api, http):
    headers = by_hand(api, ["x-amz-date"], {})
    refused(http.get(api.url("/aws/whoami"), headers=headers, timeout=TIMEOUT), 403, "SignatureDoesNotMatch",
            "'Host' must be a 'SignedHeader' in the AWS Authorization.")


def test_x_amz_date_not_signed_is_refused(api, http):
    headers = by_hand(api, ["host"], {})
    refused(http.get(api.url("/aws/whoami"), headers=headers, timeout=TIMEOUT), 403, "SignatureDoesNotMatch",
            "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")


def test_the_temporary_key_without_its_session_token_is_refused(api, http):
    refused(send(http, signed(api, "GET", "/aws/whoami", entry=ASIA, token=None)), 403, "InvalidToken")


def test_a_wrong_session_token_is_refused(api, http):
    refused(send(http, signed(api, "GET", "/aws/whoami", entry=ASIA, token="not-the-token")), 403, "InvalidToken",
            "The provided token is malformed or otherwise invalid.")


def test_an_unsigned_session_token_is_refused(api, http):
    request = signed(api, "GET", "/aws/whoami", entry=ASIA, token=None)
    payload = refused(send(http, request, extra={"X-Amz-Security-Token": ASIA["session_token"]}), 403,
                      "AccessDenied")
    assert payload["HeadersNotSigned"] == "x-amz-security-token"


def test_a_session_token_with_the_long_term_key_is_refused(api, http):
    refused(send(http, signed(api, "GET", "/aws/whoami", entry=AKIA, token=ASIA["session_token"])), 403,
            "InvalidToken")


def test_an_x_amz_content_sha256_that_is_not_the_bodys_is_refused(api, http):
    wrong = hashlib.sha256(b"another body").hexdigest()
    request = signed(api, "POST", "/aws/orders", body=ORDER, headers={**JSON, "X-Amz-Content-SHA256": wrong})
    refused(send(http, request), 400, "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.")


def test_an_x_amz_content_sha256_that_is_the_bodys_is_accepted(api, http):
    right = hashlib.sha256(ORDER.encode()).hexdigest()
    request = signed(api, "POST", "/aws/orders", body=ORDER, headers={**JSON, "X-Amz-Content-SHA256": right})
    assert send(http, request).status_code == 201


def test_unsigned_payload_is_refused_by_this_service(api, http):
    """S3 accepts UNSIGNED-PAYLOAD; this service signs every body (see sigv4's docstring)."""
    request = signed(api, "POST", "/aws/orders", body=ORDER,
                     headers={**JSON, "X-Amz-Content-SHA256": sigv4.UNSIGNED_PAYLOAD})
    refused(send(http, request), 400, "InvalidArgument")


def test_a_path_with_escapes_is_verified_as_the_decoded_path(api, http):
    """PATH_INFO is decoded: /aws/%77hoami reaches /aws/whoami, but was signed as /aws/%2577hoami."""
    request = signed(api, "GET", "/aws/%77hoami", secret=None)
    payload = refused(send(http, request), 403, "SignatureDoesNotMatch")
    assert payload["CanonicalRequest"].startswith("GET\n/aws/whoami\n")


# -- refused: presigned URLs ---------------------------------------------------------------------------

def test_an_expired_presigned_url_is_access_denied(api, http):
    url = signed(api, "GET", "/aws/whoami", presign=True, expires=60).url
    api.clock.advance(61)
    refused(http.get(url, timeout=TIMEOUT), 403, "AccessDenied", "Request has expired")


def test_a_presigned_url_dated_more_than_5_minutes_ahead_is_not_yet_valid(api, http):
    url = signed(api, "GET", "/aws/whoami", presign=True, at=api.clock.now() + 301).url
    refused(http.get(url, timeout=TIMEOUT), 403, "AccessDenied", "Request is not yet valid")
    assert http.get(signed(api, "GET", "/aws/whoami", presign=True, at=api.clock.now() + 299).url,
                    timeout=TIMEOUT).status_code == 200


def test_a_presigned_url_valid_for_more_than_a_week_is_refused(api, http):
    url = signed(api, "GET", "/aws/whoami", presign=True, expires=604801).url
    refused(http.get(url, timeout=TIMEOUT), 400, "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less "
            "than 604800 seconds")
    assert http.get(signed(api, "GET", "/aws/whoami", presign=True, expires=604800).url,
                    timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize("change", [("X-Amz-Expires=3600", "X-Amz-Expires=7200"), ("?", "?note=added&")])
def test_a_presigned_url_with_a_changed_query_is_signature_does_not_match(api, http, change):
    url = signed(api, "GET", "/aws/whoami", presign=True).url
    assert change[0] in url
    refused(http.get(url.replace(change[0], change[1], 1), timeout=TIMEOUT), 403, "SignatureDoesNotMatch")


def test_a_presigned_url_with_an_authorization_header_too_is_refused(api, http):
    url = signed(api, "GET", "/aws/whoami", presign=True).url
    headers = dict(signed(api, "GET", "/aws/whoami").headers.items())
    refused(http.get(url, headers=headers, timeout=TIMEOUT), 400, "InvalidArgument")


# -- malformed input: a clear 400/403, never a 500, never a control character in a header -----------------------

GOOD_SCOPE = "AKIAPRACTICEDEMO0001/{date}/eu-west-1/practice/aws4_request"
MALFORMED_AUTHORIZATION = {
    "missing Credential": "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    "SignedHeaders not sorted": f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=x-amz-date;host, "
                                "Signature=" + "0" * 64,
    "SignedHeaders upper-case": f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=Host;X-Amz-Date, "
                                "Signature=" + "0" * 64,
    "a parameter twice": f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, Credential={GOOD_SCOPE}, "
                         "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    "a signature not hex": f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=host;x-amz-date, "
                           "Signature=" + "g" * 64,
    "junk": "AWS4-HMAC-SHA256 junk",
    "another scheme": "Bearer abc",
    "very long": f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=host;x-amz-date, Signature=" + "0" * 9000,
    "non-ASCII": f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE.replace('ada', 'é')}é, SignedHeaders=host;x-amz-date, "
                 "Signature=" + "é" * 64,
    "control characters": f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}\x01\x1b, SignedHeaders=host;x-amz-date\x7f, "
                          "Signature=" + "0" * 64,
    "a header listed but absent": f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, "
                                  "SignedHeaders=host;x-amz-date;x-amz-meta-absent, Signature=" + "0" * 64,
    "four scope parts": "AWS4-HMAC-SHA256 Credential=AKIAPRACTICEDEMO0001/{date}/eu-west-1/practice, "
                        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    "a wrong terminator": f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE.replace('aws4_request', 'aws5')}, "
                          "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
}


@pytest.mark.parametrize("name", sorted(MALFORMED_AUTHORIZATION))
def test_a_malformed_authorization_header_gets_a_clear_refusal(any_api, http, name):
    amz_date = datetime.datetime.fromtimestamp(any_api.clock.now(), datetime.timezone.utc).strftime(
        "%Y%m%dT%H%M%SZ")
    value = MALFORMED_AUTHORIZATION[name].replace("{date}", amz_date[:8])
    response = http.get(any_api.url("/aws/whoami"), timeout=TIMEOUT,
                        headers={"Authorization": value.encode("latin-1"), "X-Amz-Date": amz_date})
    assert response.status_code in (400, 403), response.text
    payload = refused(response, response.status_code, response.json()["Code"])
    assert payload["Message"] and "\x01" not in payload["Message"] and "\x1b" not in payload["Message"]


@pytest.mark.parametrize("amz_date", ["2026-12-01T12:00:00Z", "20261301T120000Z", "20261201T120000", "", "²" * 16])
def test_a_malformed_x_amz_date_is_incomplete_signature(api, http, amz_date):
    value = f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE.format(date='20261201')}, SignedHeaders=host;x-amz-date, " \
            "Signature=" + "0" * 64
    response = http.get(api.url("/aws/whoami"), headers={"Authorization": value,
                                                        "X-Amz-Date": amz_date.encode("utf-8")}, timeout=TIMEOUT)
    refused(response, 400, "IncompleteSignature")


@pytest.mark.parametrize("change, message", [
    (("X-Amz-Expires=3600", "X-Amz-Expires=soon"), "X-Amz-Expires should be a number"),
    (("X-Amz-Expires=3600", "X-Amz-Expires=" + "9" * 5000), "X-Amz-Expires must be less than a week (in seconds); "
                                                            "that is, the given X-Amz-Expires must be less than "
                                                            "604800 seconds"),
    (("X-Amz-Expires=3600", "X-Amz-Expires=%C2%B2"), "X-Amz-Expires should be a number"),
    (("X-Amz-Expires=3600", "X-Amz-Expires=0"), None),
    (("X-Amz-Expires=3600", "X-Amz-Expires=3600&X-Amz-Expires=60"), "The query has X-Amz-Expires more than once."),
    (("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"), None),
    (("X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""), None),
])
def test_a_malformed_presigned_url_is_authorization_query_parameters_error(api, http, change, message):
    url = signed(api, "GET", "/aws/whoami", presign=True).url
    assert change[0] in url
    refused(http.get(url.replace(change[0], change[1], 1), timeout=TIMEOUT), 400,
            "AuthorizationQueryParametersError", message)


def test_the_readme_and_the_server_cli_publish_the_aws_demo_credentials():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for entry in demo.AWS["credentials"]:
        assert f"| AWS access key `{entry['access_key_id']}`" in readme
        assert f"`{entry['secret_access_key']}`" in readme
    assert ASIA["session_token"] in readme
    assert demo.credentials()["aws"] == demo.AWS  # the first JSON line of python -m helpers.server


def test_a_correctly_signed_body_that_is_not_a_json_object_is_a_validation_error(api, http):
    request = signed(api, "POST", "/aws/orders", body="[1, 2]", headers=JSON)
    payload = refused(send(http, request), 400, "ValidationError")
    assert "object" in payload["Message"]
    assert len(api.app.orders) == 0


def test_other_credentials_a_client_signed_are_hidden_in_the_canonical_request_shown(api, http):
    """A client may sign X-API-Key or Cookie, or put a token in the query: the error body shows none of them."""
    request = signed(api, "GET", "/aws/whoami?api_key=secret-1&page=2", secret="wrong",
                     headers={"X-API-Key": "secret-2", "Cookie": "session=secret-3"})
    payload = refused(send(http, request), 403, "SignatureDoesNotMatch")
    assert "secret" not in json.dumps(payload)
    assert "\ncookie:<hidden>\n" in payload["CanonicalRequest"] and "\nx-api-key:<hidden>\n" in payload[
        "CanonicalRequest"]
    assert "\napi_key=<hidden>&page=2\n" in payload["CanonicalRequest"]
