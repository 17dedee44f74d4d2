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
           at: float | None = None, presign: bool = False, expires: int = 3600, origin: str | None = None
           ) -> AWSRequest:
    """A request as botocore signs it, at practice-clock time `at` (now by default), for `origin`
    (by default the API's own base URL)."""
    token = entry.get("session_token") if token == "demo" else token
    credentials = Credentials(entry["access_key_id"], secret or entry["secret_access_key"], token)
    url = (origin + path) if origin else api.url(path)
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
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


def botocores_canonical_request(captured: dict):
    """While it lasts, botocore's SigV4Auth keeps each canonical request it builds in captured["canonical"]:
    what the client signed, to compare with the CanonicalRequest of the server's answer."""
    original = SigV4Auth.canonical_request

    def capture(self, request):
        captured["canonical"] = original(self, request)
        return captured["canonical"]

    return mock.patch.object(SigV4Auth, "canonical_request", capture)


def test_a_wrong_secret_is_signature_does_not_match_with_the_servers_canonical_request(api, http):
    captured = {}
    with botocores_canonical_request(captured):
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
    """This service's rule, from S3's documentation (sig-v4-header-based-auth): every x-amz-* header is signed."""
    payload = refused(send(http, signed(api, "GET", "/aws/whoami"), extra={"X-Amz-Meta-Note": "added"}), 403,
                      "AccessDenied", "There were headers present in the request which were not signed")
    assert payload["HeadersNotSigned"] == "x-amz-meta-note"


def by_hand(api, signed_headers: list[str], headers: dict[str, str], *, entry: dict = AKIA,
            scheme: str = "AWS4-HMAC-SHA256", terminator: str = "aws4_request", listed: str | None = None,
            query: str = "") -> dict[str, str]:
    """Headers signed with sigv4's own functions, for what botocore never does (leave host unsigned, another
    scheme name, another terminator in the scope, SignedHeaders listed as `listed`): each one a signature
    the server would accept without the rule that refuses it."""
    amz_date = datetime.datetime.fromtimestamp(api.clock.now(), datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Host": "api.practice.test", "X-Amz-Date": amz_date, **headers}
    canonical = sigv4.canonical_request("GET", "/aws/whoami", query, list(headers.items()), signed_headers,
                                        sigv4.EMPTY_SHA256)
    if listed is not None:  # the canonical request names the headers as the Authorization header lists them
        canonical = canonical.replace("\n" + ";".join(sorted(signed_headers)) + "\n", "\n" + listed + "\n")
    scope = f"{amz_date[:8]}/{REGION}/{SERVICE}/{terminator}"
    key = sigv4.signing_key(entry["secret_access_key"], amz_date[:8], REGION, SERVICE)  # always aws4_request
    signature = sigv4.signature(key, sigv4.string_to_sign(amz_date, scope, canonical))
    return {**headers, "Authorization": f"{scheme} Credential={entry['access_key_id']}/{scope}, "
                                        f"SignedHeaders={listed or ';'.join(signed_headers)}, Signature={signature}"}


def test_the_signatures_by_hand_are_accepted(api, http):
    """by_hand itself is right: with host and x-amz-date signed, the request passes, with or without a query."""
    headers = by_hand(api, ["host", "x-amz-date"], {})
    assert http.get(api.url("/aws/whoami"), headers=headers, timeout=TIMEOUT).status_code == 200
    headers = by_hand(api, ["host", "x-amz-date"], {}, query="q=a%20b")
    assert http.get(api.url("/aws/whoami?q=a%20b"), headers=headers, timeout=TIMEOUT).status_code == 200


def test_host_not_signed_is_refused(api, http):
    headers = by_hand(api, ["x-amz-date"], {})
    refused(http.get(api.url("/aws/whoami"), headers=headers, timeout=TIMEOUT), 403, "SignatureDoesNotMatch",
            "'Host' must be a 'SignedHeader' in the AWS Authorization.")


def test_x_amz_date_not_signed_is_refused(api, http):
    headers = by_hand(api, ["host"], {})
    refused(http.get(api.url("/aws/whoami"), headers=headers, timeout=TIMEOUT), 403, "SignatureDoesNotMatch",
            "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")


def test_the_temporary_key_without_its_session_token_is_refused(api, http):
    """InvalidToken is S3's code, with S3's status: 400 Bad Request (S3 ErrorResponses, botocore's S3 model)."""
    refused(send(http, signed(api, "GET", "/aws/whoami", entry=ASIA, token=None)), 400, "InvalidToken",
            "This access key is temporary: send its session token in X-Amz-Security-Token, and sign it.")


def test_a_wrong_session_token_is_refused(api, http):
    refused(send(http, signed(api, "GET", "/aws/whoami", entry=ASIA, token="not-the-token")), 400, "InvalidToken",
            "The provided token is malformed or otherwise invalid.")


def test_an_unsigned_session_token_is_refused(api, http):
    request = signed(api, "GET", "/aws/whoami", entry=ASIA, token=None)
    payload = refused(send(http, request, extra={"X-Amz-Security-Token": ASIA["session_token"]}), 403,
                      "AccessDenied")
    assert payload["HeadersNotSigned"] == "x-amz-security-token"


def test_a_session_token_with_the_long_term_key_is_refused(api, http):
    refused(send(http, signed(api, "GET", "/aws/whoami", entry=AKIA, token=ASIA["session_token"])), 400,
            "InvalidToken", "This access key is a long-term key: it takes no X-Amz-Security-Token.")


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


def test_a_path_signed_with_its_escapes_is_accepted(any_api, http):
    """The canonical URI encodes the raw path again (reference_sigv-create-signed-request.html): /aws%2Fwhoami
    reaches /aws/whoami (PATH_INFO is decoded) and is signed as /aws%252Fwhoami, by botocore and the server.
    (requests itself turns %77 back into 'w', an unreserved character; %2F it keeps.)"""
    response = send(http, signed(any_api, "GET", "/aws%2Fwhoami"))
    assert response.status_code == 200, response.text


def test_a_path_sent_with_escapes_it_was_not_signed_with_is_signature_does_not_match(any_api, http):
    """Signed for /aws/whoami, sent as /aws%2Fwhoami: the same route, but not the path signed, as AWS would say."""
    request = signed(any_api, "GET", "/aws/whoami", secret=None)
    payload = refused(send(http, request, url=request.url.replace("/aws/whoami", "/aws%2Fwhoami")), 403,
                      "SignatureDoesNotMatch")
    assert payload["CanonicalRequest"].startswith("GET\n/aws%252Fwhoami\n")


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
ZEROS = "Signature=" + "0" * 64
INCOMPLETE = (400, "IncompleteSignature")
SORTED = "SignedHeaders lists each header once, sorted: host;x-amz-date, not x-amz-date;host."
LOWER = "SignedHeaders is a list of lower-case header names separated by ';'."
HEX = "Signature is 64 lower-case hex digits (a hex HMAC-SHA256)."
SCHEME = ("The Authorization header must start with 'AWS4-HMAC-SHA256 ' (one space), then Credential=..., "
          "SignedHeaders=..., Signature=...")
PARAMETERS = "The Authorization header holds Credential=, SignedHeaders= and Signature=, separated by commas, and " \
             "nothing else."
MALFORMED_AUTHORIZATION = {  # name: (Authorization, status, Code, Message): each refusal with its own reason
    "missing Credential": ("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, " + ZEROS, *INCOMPLETE,
                           "Authorization header requires 'Credential' parameter."),
    "missing SignedHeaders and Signature": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}", *INCOMPLETE,
                                            "Authorization header requires 'SignedHeaders' parameter. "
                                            "Authorization header requires 'Signature' parameter."),
    "SignedHeaders not sorted": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=x-amz-date;host, "
                                 + ZEROS, *INCOMPLETE, SORTED),
    "a name twice in SignedHeaders": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, "
                                      "SignedHeaders=host;host;x-amz-date, " + ZEROS, *INCOMPLETE, SORTED),
    "SignedHeaders upper-case": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=Host;X-Amz-Date, "
                                 + ZEROS, *INCOMPLETE, LOWER),
    "a parameter twice": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, Credential={GOOD_SCOPE}, "
                          "SignedHeaders=host;x-amz-date, " + ZEROS, *INCOMPLETE,
                          "The Authorization header has Credential= more than once."),
    "a signature not hex": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=host;x-amz-date, "
                            "Signature=" + "g" * 64, *INCOMPLETE, HEX),
    "a signature upper-case hex": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=host;x-amz-date, "
                                   "Signature=" + "A" * 64, *INCOMPLETE, HEX),
    "junk": ("AWS4-HMAC-SHA256 junk", *INCOMPLETE, PARAMETERS),
    "an unknown parameter": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=host;x-amz-date, {ZEROS}, "
                             "Extra=1", *INCOMPLETE, PARAMETERS),
    "another scheme": ("Bearer abc", *INCOMPLETE, SCHEME),
    "SigV4's scheme name in lower case": (f"aws4-hmac-sha256 Credential={GOOD_SCOPE}, "
                                          "SignedHeaders=host;x-amz-date, " + ZEROS, *INCOMPLETE, SCHEME),
    "very long": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=host;x-amz-date, Signature="
                  + "0" * 9000, *INCOMPLETE, "The Authorization header is longer than 4096 characters."),
    "a non-ASCII signature": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=host;x-amz-date, "
                              "Signature=" + "é" * 64, *INCOMPLETE, HEX),
    "a non-ASCII region": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE.replace('eu-west-1', 'eu-wést-1')}, "
                           "SignedHeaders=host;x-amz-date, " + ZEROS, 403, "SignatureDoesNotMatch",
                           "Credential should be scoped to a valid region, not '?'. "),
    "control characters": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}\x01\x1b, SignedHeaders=host;x-amz-date\x7f, "
                           + ZEROS, *INCOMPLETE, LOWER),
    "control characters in the terminator": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}\x01\x1b, "
                                             "SignedHeaders=host;x-amz-date, " + ZEROS, 403, "SignatureDoesNotMatch",
                                             "Credential should be scoped with a valid terminator: 'aws4_request', "
                                             "not '?'. "),
    "a header listed but absent": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, "
                                   "SignedHeaders=host;x-amz-date;x-amz-meta-absent, " + ZEROS, *INCOMPLETE,
                                   "SignedHeaders lists 'x-amz-meta-absent', which the request does not have."),
    "four scope parts": ("AWS4-HMAC-SHA256 Credential=AKIAPRACTICEDEMO0001/{date}/eu-west-1/practice, "
                         "SignedHeaders=host;x-amz-date, " + ZEROS, *INCOMPLETE,
                         "Credential is <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request: five parts "
                         "separated by '/'."),
    "a wrong terminator": (f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE.replace('aws4_request', 'aws5')}, "
                           "SignedHeaders=host;x-amz-date, " + ZEROS, 403, "SignatureDoesNotMatch",
                           "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5'. "),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_AUTHORIZATION))
def test_a_malformed_authorization_header_gets_its_own_refusal(any_api, http, name):
    """IAM's CommonErrors: IncompleteSignature (400) for a malformed Authorization; never a 500, and the
    Message (which holds no control character) says which rule the header breaks."""
    amz_date = datetime.datetime.fromtimestamp(any_api.clock.now(), datetime.timezone.utc).strftime(
        "%Y%m%dT%H%M%SZ")
    value, status, code, message = MALFORMED_AUTHORIZATION[name]
    response = http.get(any_api.url("/aws/whoami"), timeout=TIMEOUT, headers={
        "Authorization": value.replace("{date}", amz_date[:8]).encode("latin-1"), "X-Amz-Date": amz_date})
    refused(response, status, code, message)


# Signed correctly but for the one rule each breaks: a verifier that forgot that rule would accept them.
SIGNED_BUT_BROKEN = {
    "the scheme AWS4-HMAC-SHA1": ({"scheme": "AWS4-HMAC-SHA1"}, *INCOMPLETE, SCHEME),
    "the scheme FOO": ({"scheme": "FOO"}, *INCOMPLETE, SCHEME),
    "a terminator other than aws4_request": ({"terminator": "aws5_request"}, 403, "SignatureDoesNotMatch",
                                             "Credential should be scoped with a valid terminator: 'aws4_request', "
                                             "not 'aws5_request'. "),
    "SignedHeaders not sorted": ({"listed": "x-amz-date;host"}, *INCOMPLETE, SORTED),
    "SignedHeaders with a name twice": ({"listed": "host;host;x-amz-date"}, *INCOMPLETE, SORTED),
}


@pytest.mark.parametrize("name", sorted(SIGNED_BUT_BROKEN))
def test_a_signed_request_that_breaks_one_rule_is_refused_for_that_rule(api, http, name):
    """reference_sigv-create-signed-request.html: the algorithm is AWS4-HMAC-SHA256, the scope ends in
    aws4_request, SignedHeaders is sorted; each signature here is right for the request as it stands."""
    change, status, code, message = SIGNED_BUT_BROKEN[name]
    headers = by_hand(api, ["host", "x-amz-date"], {}, **change)
    refused(http.get(api.url("/aws/whoami"), headers=headers, timeout=TIMEOUT), status, code, message)


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


# -- the host, the header values, the error body (review of issue 18) ------------------------------------------

def test_a_request_signed_for_another_host_is_misdirected(any_api, http):
    """A signature covers the Host signed, not this server: one made for https://evil.test and replayed here with
    `Host: evil.test` verifies unless the server checks that the Host is its own. 421 Misdirected Request (RFC
    9110 section 15.5.20), as binding.request_url answers for a DPoP proof."""
    stolen = signed(any_api, "GET", "/aws/whoami", origin="https://evil.test")
    response = send(http, stolen, url=any_api.url("/aws/whoami"), extra={"Host": "evil.test"})
    payload = refused(response, 421, "MisdirectedRequest")
    assert "'evil.test'" in payload["Message"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:1", "api.practice.test:8443"])
def test_another_port_is_another_host_and_misdirected(any_api, http, host):
    stolen = signed(any_api, "GET", "/aws/whoami", origin=f"https://{host}")
    refused(send(http, stolen, url=any_api.url("/aws/whoami"), extra={"Host": host}), 421, "MisdirectedRequest")


def test_on_loopback_localhost_with_the_port_is_the_same_server(any_api, http):
    """On loopback this server answers for 127.0.0.1:PORT, localhost:PORT and [::1]:PORT (binding.own_authorities);
    in process for api.practice.test and other.practice.test."""
    authority = any_api.base_url.split("://")[1]
    alias = authority.replace("127.0.0.1", "localhost").replace("api.practice.test", "other.practice.test")
    assert alias != authority
    request = signed(any_api, "GET", "/aws/whoami", origin=any_api.base_url.replace(authority, alias))
    assert send(http, request, url=any_api.url("/aws/whoami"), extra={"Host": alias}).status_code == 200


def test_the_verifiers_default_hosts_are_the_in_process_apis():
    """checks.sigv4_signer builds SigV4Verifier(Clock()) and judges requests for https://api.practice.test."""
    from helpers.practice_api.clock import Clock

    assert sigv4.SigV4Verifier(Clock()).authorities() == {"api.practice.test", "other.practice.test"}


@pytest.mark.parametrize("sent", ["a\u3000b", "a\u0085b", "a\u00a0b", "a\u2003b"],
                         ids=["U+3000", "U+0085", "U+00A0", "U+2003"])
def test_a_header_signed_as_a_b_and_sent_with_a_unicode_space_is_signature_does_not_match(any_api, http, sent):
    """aws-c-auth's signer (source/aws_signing.c, s_is_space: aws_isspace) collapses ASCII white space only:
    the value received must be the value signed. Python's str.split() would make all four 'a b'."""
    request = signed(any_api, "GET", "/aws/whoami", headers={"X-Amz-Meta-Note": "a b"})
    refused(send(http, request, extra={"X-Amz-Meta-Note": sent.encode("utf-8")}), 403, "SignatureDoesNotMatch")


def test_ascii_white_space_in_a_header_is_trimmed_and_collapsed_as_aws_does():
    headers = [("X-Amz-Meta-Note", " \t a \t\t b  "), ("X-Amz-Meta-Wide", "a\u3000 b\u00a0")]
    block, names = sigv4.canonical_headers(headers, ["x-amz-meta-note", "x-amz-meta-wide"])
    assert block == "x-amz-meta-note:a b\nx-amz-meta-wide:a\u3000 b\u00a0\n"
    assert names == "x-amz-meta-note;x-amz-meta-wide"


def test_the_string_to_sign_shown_hides_the_hash_of_a_canonical_request_with_credentials(api, http):
    """Its last line is the SHA-256 of the real canonical request: with password=hunter2 hidden in the
    CanonicalRequest shown, hashing guesses would find it. So that line is hidden too."""
    captured = {}
    with botocores_canonical_request(captured):
        request = signed(api, "GET", "/aws/whoami?password=hunter2", secret="wrong")
    payload = refused(send(http, request), 403, "SignatureDoesNotMatch")
    real_hash = hashlib.sha256(captured["canonical"].encode()).hexdigest()
    assert "password=<hidden>" in payload["CanonicalRequest"] and "hunter2" not in json.dumps(payload)
    assert real_hash not in json.dumps(payload)
    first_lines = payload["StringToSign"].split("\n")[:3]
    assert first_lines == ["AWS4-HMAC-SHA256", request.headers["X-Amz-Date"],
                           f"{request.headers['X-Amz-Date'][:8]}/{REGION}/{SERVICE}/aws4_request"]


@pytest.mark.parametrize("change, message", [
    (("X-Amz-Credential=AKIAPRACTICEDEMO0001%2F", "X-Amz-Credential="), "X-Amz-Credential is <access key id>/"
     "<YYYYMMDD>/<region>/<service>/aws4_request: five parts separated by '/'."),
    (("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=Host"), "X-Amz-SignedHeaders is a list of lower-case header "
     "names separated by ';'."),
    (("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3Bhost"), "X-Amz-SignedHeaders lists each header "
     "once, sorted: host;x-amz-date, not x-amz-date;host."),
    (("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3Bx-amz-meta-absent"), "X-Amz-SignedHeaders lists "
     "'x-amz-meta-absent', which the request does not have."),
    (("X-Amz-Signature=", "X-Amz-Signature=g"), "X-Amz-Signature is 64 lower-case hex digits (a hex HMAC-SHA256)."),
    (("X-Amz-Date=", "X-Amz-Date=2026"), "X-Amz-Date must be in ISO-8601 'basic format', in UTC: "
     "YYYYMMDD'T'HHMMSS'Z', such as 20261201T120000Z."),
])
def test_a_malformed_presigned_parameter_is_authorization_query_parameters_error_naming_it(api, http, change,
                                                                                           message):
    """S3 answers a malformed presigned URL with 400 AuthorizationQueryParametersError (ErrorResponses.html)."""
    url = signed(api, "GET", "/aws/whoami", presign=True).url
    assert change[0] in url
    refused(http.get(url.replace(change[0], change[1], 1), timeout=TIMEOUT), 400,
            "AuthorizationQueryParametersError", message)


@pytest.mark.parametrize("expires", ["0000060", "00000060", "0" * 40 + "60"])
def test_x_amz_expires_with_leading_zeros_is_its_number_of_seconds(api, http, expires):
    """00000060 is 60 seconds, not 'more than a week'; signed as sent, valid for 60 s, expired after 61."""
    request = signed(api, "GET", "/aws/whoami", presign=True, expires=60)
    query = request.url.replace("X-Amz-Expires=60&", f"X-Amz-Expires={expires}&")
    resigned = by_hand_presigned(api, query.partition("?")[2])
    assert http.get(resigned, timeout=TIMEOUT).status_code == 200
    api.clock.advance(61)
    refused(http.get(resigned, timeout=TIMEOUT), 403, "AccessDenied", "Request has expired")


def by_hand_presigned(api, query: str) -> str:
    """The presigned URL with `query` (minus its X-Amz-Signature), signed again with sigv4's functions."""
    kept = "&".join(part for part in query.split("&") if not part.startswith("X-Amz-Signature="))
    amz_date = re.search(r"X-Amz-Date=([0-9TZ]+)", kept).group(1)
    canonical = sigv4.canonical_request("GET", "/aws/whoami", kept, [("host", "api.practice.test")], ["host"],
                                        sigv4.EMPTY_SHA256)
    scope = f"{amz_date[:8]}/{REGION}/{SERVICE}/aws4_request"
    key = sigv4.signing_key(AKIA["secret_access_key"], amz_date[:8], REGION, SERVICE)
    return f"{api.url('/aws/whoami')}?{kept}&X-Amz-Signature=" + sigv4.signature(
        key, sigv4.string_to_sign(amz_date, scope, canonical))


def test_a_plus_in_the_query_is_a_plus_as_in_awss_own_signer(api, http):
    """aws-c-auth decodes each query name and value (aws-c-common's aws_byte_buf_append_decoding_uri: %XX only,
    '+' stays '+') and encodes it again: q=a+b is signed as q=a%2Bb, a space is %20. botocore instead signs the
    query as it finds it (q=a+b), which this server, like aws-c-auth, computes differently."""
    assert sigv4.canonical_query("q=a+b") == "q=a%2Bb" == sigv4.canonical_query("q=a%2Bb")
    assert sigv4.canonical_query("q=a%20b") == "q=a%20b"
    headers = by_hand(api, ["host", "x-amz-date"], {}, query="q=a+b")
    assert http.get(api.url("/aws/whoami?q=a+b"), headers=headers, timeout=TIMEOUT).status_code == 200
    payload = refused(send(http, signed(api, "GET", "/aws/whoami?q=a+b")), 403, "SignatureDoesNotMatch")
    assert "\nq=a%2Bb\n" in payload["CanonicalRequest"]


def test_both_transports_keep_the_raw_target_and_the_app_still_routes_the_decoded_path():
    """make_environ (in-process and loopback alike) decodes PATH_INFO (PEP 3333, RFC 3875 section 4.1.5) and
    keeps the target as sent in RAW_URI; Request.raw_path is its path. A WSGI caller without RAW_URI: None."""
    from helpers.practice_api.wsgi import Request
    from helpers.serving.gateway import make_environ

    environ = make_environ(method="GET", target="/aws%2Fwhoami?q=a%20b", headers=[("Host", "api.practice.test")],
                           body=b"", scheme="https", host="api.practice.test", port=443)
    assert environ["RAW_URI"] == "/aws%2Fwhoami?q=a%20b" and environ["PATH_INFO"] == "/aws/whoami"
    request = Request.from_environ(environ)
    assert (request.path, request.raw_path, request.query) == ("/aws/whoami", "/aws%2Fwhoami", "q=a%20b")
    del environ["RAW_URI"]
    assert Request.from_environ(environ).raw_path is None


def test_x_amz_date_sent_twice_is_told_so_not_called_malformed(any_api, http):
    """A header sent twice reaches the app as one value joined with ", " (RFC 9110 section 5.3): the
    refusal says it was sent twice, not that it "must be in ISO-8601 basic format"."""
    request = signed(any_api, "GET", "/aws/whoami")
    amz_date = request.headers["X-Amz-Date"]
    payload = refused(send(http, request, extra={"X-Amz-Date": f"{amz_date}, {amz_date}"}), *INCOMPLETE)
    assert "sent twice" in payload["Message"] and "basic format" not in payload["Message"], payload


def test_two_x_amz_date_fields_are_told_sent_twice():
    """Two separate X-Amz-Date field lines, as the gateway (both transports) hands them to the app."""
    from helpers.practice_api.app import PracticeAPI
    from helpers.serving.gateway import call_app, make_environ

    app = PracticeAPI()
    headers = [("Host", "api.practice.test"), ("X-Amz-Date", "20261201T120000Z"),
               ("X-Amz-Date", "20261201T120000Z"),
               ("Authorization", f"AWS4-HMAC-SHA256 Credential={AKIA['access_key_id']}/20261201/{REGION}/"
                                 f"{SERVICE}/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)]
    environ = make_environ(method="GET", target="/aws/whoami", headers=headers, body=b"", scheme="https",
                           host="api.practice.test", port=443)
    status, _reason, _headers, body = call_app(app, environ)
    assert status == 400 and "sent twice" in json.loads(body)["Message"], body
