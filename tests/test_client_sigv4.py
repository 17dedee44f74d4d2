"""helpers/client/sigv4.py: AWSSigV4Auth signs with botocore what the docstring says it signs.

Each test checks the signature with an independent signer written here from AWS's
"Create a signed AWS API request" page (canonical request, string to sign, derived key), and,
against the practice API, with the server's own verifier."""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
import responses
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from helpers.client.sigv4 import AWSSigV4Auth, Credentials
from helpers.practice_api import demo, sigv4

KEY_ID, SECRET = "AKIAPRACTICEDEMO0001", "/vFEQA1IzZko6OZ3dlBU+a4zkewkTZ1mxyX7F331"
TOKEN = "mVMDFOcBlo47nhpe3ppa/ZKDENQJh3fyJBbhLDX5kfSbFEzE4gutPRSZ5ZpFNrYiefIv85+v5lTfC6x5R06VGg65fL1tJ"
REGION, SERVICE = "eu-west-1", "practice"
NOW = 1795000000  # 2026-11-18T11:06:40Z
URL = "https://api.practice.test/aws/orders"


def auth(**kwargs) -> AWSSigV4Auth:
    return AWSSigV4Auth(KEY_ID, SECRET, region=REGION, service=SERVICE, now=lambda: NOW, **kwargs)


def signed(method="POST", url=URL, **kwargs) -> requests.PreparedRequest:
    request = requests.Request(method, url, **kwargs).prepare()
    auth()(request)
    return request


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def reference_signature(request: requests.PreparedRequest, secret: str = SECRET) -> str:
    """Recompute the signature from the request as sent (AWS docs, not botocore)."""
    fields = dict(part.strip().split("=", 1) for part in
                  request.headers["Authorization"].removeprefix("AWS4-HMAC-SHA256 ").split(","))
    names = fields["SignedHeaders"].split(";")
    parts = urlsplit(request.url)
    headers = {name.lower(): " ".join(value.split()) for name, value in request.headers.items()}
    headers["host"] = parts.netloc
    path = "/".join(quote(segment, safe="-_.~") for segment in parts.path.split("/"))
    query = "&".join(sorted(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                            for k, v in parse_qsl(parts.query, keep_blank_values=True)))
    body = request.body or b""
    body = body.encode("utf-8") if isinstance(body, str) else body
    canonical = "\n".join([request.method, path, query,
                           "".join(f"{name}:{headers[name]}\n" for name in names), ";".join(names),
                           hashlib.sha256(body).hexdigest()])
    date = request.headers["X-Amz-Date"]
    scope = f"{date[:8]}/{REGION}/{SERVICE}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), date[:8]), REGION), SERVICE), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def sent_signature(request: requests.PreparedRequest) -> str:
    return request.headers["Authorization"].rsplit("Signature=", 1)[1]


def signed_headers(request: requests.PreparedRequest) -> list[str]:
    return request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")


def test_signature_matches_an_independent_signer():
    request = signed(json={"item": "tea"}, params={"b": "2", "a": "x y"})
    assert request.headers["Authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20261118/{REGION}/{SERVICE}/aws4_request, ")
    assert request.headers["X-Amz-Date"] == "20261118T110640Z"  # from now=, not the wall clock
    assert urlsplit(request.url).query == "b=2&a=x%20y"  # AWS's encoding, not requests' "x+y"
    assert sent_signature(request) == reference_signature(request)
    assert sent_signature(request) != reference_signature(request, secret=SECRET[:-1] + "x")


def test_signs_host_content_type_and_amz_headers_only():
    request = signed(json={"item": "tea"}, headers={"X-Amz-Target": "Orders.Create", "X-Trace": "1"})
    assert signed_headers(request) == ["content-type", "host", "x-amz-content-sha256", "x-amz-date",
                                       "x-amz-target"]
    assert request.headers["X-Amz-Content-SHA256"] == hashlib.sha256(request.body).hexdigest()


def test_hop_by_hop_and_default_headers_may_change_in_transit():
    """RFC 9110 §7.6.1: a proxy removes Connection; requests' defaults are not signed."""
    request = signed(json={"item": "tea"})
    for name in ["Connection", "User-Agent", "Accept-Encoding", "Accept", "Content-Length"]:
        request.headers.pop(name, None)
    request.headers["Via"] = "1.1 proxy"
    assert sent_signature(request) == reference_signature(request)


def test_signed_headers_parameter_adds_a_header():
    request = requests.Request("POST", URL, json={}, headers={"Idempotency-Key": "k1"}).prepare()
    auth(signed_headers=["Idempotency-Key"])(request)
    assert "idempotency-key" in signed_headers(request)
    assert sent_signature(request) == reference_signature(request)


def test_session_token_is_sent_and_signed():
    request = requests.Request("GET", URL).prepare()
    auth(session_token=TOKEN)(request)
    assert request.headers["X-Amz-Security-Token"] == TOKEN
    assert "x-amz-security-token" in signed_headers(request)
    assert sent_signature(request) == reference_signature(request)


@pytest.mark.parametrize("kwargs", [{"data": "näme=ü"}, {"data": {"a": "ü"}}, {"data": b"\x00\xff"},
                                    {"json": {"a": "ü"}}, {}], ids=["str", "form", "bytes", "json", "none"])
def test_body_hash_is_of_the_bytes_sent(kwargs):
    request = signed(**kwargs)
    body = request.body or b""
    body = body.encode("utf-8") if isinstance(body, str) else body
    assert request.headers["X-Amz-Content-SHA256"] == hashlib.sha256(body).hexdigest()
    assert sent_signature(request) == reference_signature(request)


@pytest.mark.parametrize("body", [io.BytesIO(b"{}"), (chunk for chunk in [b"{}"])], ids=["file", "generator"])
def test_streamed_body_is_refused(body):
    request = requests.Request("POST", URL, data=body).prepare()
    with pytest.raises(TypeError, match="hash before sending"):
        auth()(request)


def test_signing_twice_replaces_the_headers():
    request = signed(json={"a": 1})
    first = request.headers["Authorization"]
    AWSSigV4Auth(KEY_ID, SECRET, region=REGION, service=SERVICE, now=lambda: NOW + 60)(request)
    assert request.headers["Authorization"] != first
    assert "X-Amz-Security-Token" not in request.headers
    assert sent_signature(request) == reference_signature(request)


def test_secrets_never_in_repr_or_logs(caplog):
    signer = auth(session_token=TOKEN)
    assert SECRET not in repr(signer) and TOKEN not in repr(signer)
    assert SECRET not in repr(signer.credentials) and TOKEN not in repr(signer.credentials)
    assert repr(Credentials("AK", "s3cret")) == "Credentials(access_key='AK', secret_key=***)"
    with caplog.at_level(logging.DEBUG):
        signer(requests.Request("POST", URL, json={"a": 1}).prepare())
        signer.presign(URL)
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert SECRET not in logged and TOKEN not in logged
    assert "CanonicalRequest" not in logged  # botocore's add_auth would log it, token included


def test_presign_puts_the_signature_in_the_query():
    url = auth(session_token=TOKEN).presign("https://api.practice.test/aws/whoami?b=1", expires=60)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["X-Amz-Expires"] == "60" and query["X-Amz-SignedHeaders"] == "host"
    assert query["X-Amz-Credential"] == f"{KEY_ID}/20261118/{REGION}/{SERVICE}/aws4_request"
    assert query["X-Amz-Security-Token"] == TOKEN and query["b"] == "1"
    assert len(query["X-Amz-Signature"]) == 64


@pytest.mark.parametrize("expires", [0, -1, 604801])
def test_presign_refuses_an_expiry_aws_refuses(expires):
    with pytest.raises(ValueError, match="604800"):
        auth().presign(URL, expires=expires)


@responses.activate
def test_a_redirect_on_the_same_host_keeps_a_signature_for_the_old_path():
    """requests runs auth= once: the redirected request carries the old signature."""
    responses.add(responses.POST, URL, status=307, headers={"Location": "/aws/v2/orders"})
    responses.add(responses.POST, "https://api.practice.test/aws/v2/orders", status=201)
    response = requests.post(URL, json={"a": 1}, auth=auth(), timeout=5)
    final = response.request
    assert urlsplit(final.url).path == "/aws/v2/orders"
    assert sent_signature(final) == sent_signature(response.history[0].request)
    assert sent_signature(final) != reference_signature(final)  # the server would refuse it


@responses.activate
def test_a_redirect_to_another_host_drops_authorization_but_not_the_token():
    responses.add(responses.POST, URL, status=307, headers={"Location": "https://other.test/x"})
    responses.add(responses.POST, "https://other.test/x", status=201)
    response = requests.post(URL, json={"a": 1}, auth=auth(session_token=TOKEN), timeout=5)
    assert "Authorization" not in response.request.headers
    assert response.request.headers["X-Amz-Security-Token"] == TOKEN  # hence allow_redirects=False


# -- against the practice API's verifier (helpers/practice_api/sigv4.py), on both transports ----------------

def practice_auth(api, **kwargs) -> AWSSigV4Auth:
    return AWSSigV4Auth(KEY_ID, SECRET, region=REGION, service=SERVICE, now=api.clock.now, **kwargs)


def test_the_practice_api_accepts_a_signed_order(any_api):
    response = requests.post(any_api.url("/aws/orders"), json={"item": "tea", "quantity": 2},
                             auth=practice_auth(any_api), timeout=5, allow_redirects=False)
    assert response.status_code == 201, response.text
    assert response.json()["accepted"] == {"item": "tea", "quantity": 2}


@pytest.mark.parametrize("params", [{"b": "x y", "a": "1"}, {"q": "a+b/c~d"}, {"é": "ü"}])
def test_a_query_that_requests_encodes_as_a_form_still_verifies(api, params):
    """requests writes a space as '+'; the server reads '+' as itself (SigV4 wants %20)."""
    response = requests.get(api.url("/aws/whoami"), params=params, auth=practice_auth(api), timeout=5)
    assert response.status_code == 200, response.text


def test_the_practice_api_accepts_temporary_credentials_with_their_token(api):
    temporary = demo.AWS["credentials"][1]
    auth = AWSSigV4Auth(temporary["access_key_id"], temporary["secret_access_key"], region=REGION,
                        service=SERVICE, session_token=temporary["session_token"], now=api.clock.now)
    response = requests.get(api.url("/aws/whoami"), auth=auth, timeout=5)
    assert response.status_code == 200 and response.json()["access_key_id"] == temporary["access_key_id"]


def test_a_presigned_url_works_without_credentials_until_it_expires(api):
    link = practice_auth(api).presign(api.url("/aws/whoami"), expires=60)
    assert requests.get(link, timeout=5).json()["signed_with"] == "query string"
    api.clock.advance(61)
    expired = requests.get(link, timeout=5)
    assert (expired.status_code, expired.json()["Code"]) == (403, "AccessDenied")


def test_a_header_changed_after_signing_is_refused_and_an_unsigned_one_is_not(api):
    session = requests.Session()
    session.auth = practice_auth(api)

    def sent_with(change):
        prepared = session.prepare_request(requests.Request("POST", api.url("/aws/orders"), json={"a": 1}))
        prepared.headers.update(change)
        return session.send(prepared, timeout=5)

    assert sent_with({"Content-Type": "text/plain"}).json()["Code"] == "SignatureDoesNotMatch"
    assert sent_with({"X-Amz-Meta-Note": "x"}).json()["Code"] == "AccessDenied"
    assert sent_with({"X-Note": "x"}).status_code == 201  # what is not signed may be added by anyone


def test_the_signing_clock_must_be_the_servers(api):
    api.clock.advance(600)
    wall_clock = AWSSigV4Auth(KEY_ID, SECRET, region=REGION, service=SERVICE)  # time.time: 10 min behind
    response = requests.get(api.url("/aws/whoami"), auth=wall_clock, timeout=5)
    assert (response.status_code, response.json()["Code"]) == (403, "RequestTimeTooSkewed")


def test_the_clocked_signer_signs_exactly_as_botocores_own_add_auth(monkeypatch):
    """_AtTime repeats botocore's add_auth() steps with another clock: a botocore upgrade that changes
    those steps fails here."""
    import datetime

    import botocore.auth
    from botocore.awsrequest import AWSRequest

    from helpers.client.sigv4 import _HeaderSigner, _QuerySigner

    fixed = datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc).replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: fixed)
    credentials = Credentials(KEY_ID, SECRET, TOKEN)

    def made(url=URL + "?b=1&a=2"):
        return AWSRequest(method="POST", url=url, headers={"Content-Type": "application/json"}, data=b"{}")

    theirs, ours = made(), made()
    botocore.auth.SigV4Auth(credentials, SERVICE, REGION).add_auth(theirs)
    _HeaderSigner(credentials, SERVICE, REGION, lambda: NOW).add_auth(ours)
    assert dict(ours.headers) == dict(theirs.headers)

    theirs, ours = made(), made()
    botocore.auth.SigV4QueryAuth(credentials, SERVICE, REGION, expires=60).add_auth(theirs)
    _QuerySigner(credentials, SERVICE, REGION, 60, lambda: NOW).add_auth(ours)
    assert ours.url == theirs.url


def test_presign_refuses_a_repeated_query_name():
    """botocore's SigV4QueryAuth keeps only the first value of a repeated name (parse_qs, v[0]): the URL
    would silently lose k=2, so presign() refuses it."""
    with pytest.raises(ValueError, match="repeated"):
        auth().presign("https://api.practice.test/aws/whoami?k=1&k=2")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_presign_refuses_a_method_with_a_body(method):
    """A presigned URL signs no body (botocore hashes an empty one): only GET and HEAD are presigned."""
    with pytest.raises(ValueError, match="GET or HEAD"):
        auth().presign("https://api.practice.test/aws/whoami", method=method)


def test_presign_keeps_a_head():
    url = auth().presign("https://api.practice.test/aws/whoami", method="HEAD")
    assert "X-Amz-Signature=" in url


def test_the_blog_pattern_works_only_while_both_serializations_agree(api):
    """Notebook 07's claim: an AWSRequest signed with data=json.dumps(order), then sent with
    json=order, passes by coincidence (requests' json= uses json.dumps's defaults too) and fails as
    soon as the two serializations differ (compact separators here)."""
    order = {"item": "tea", "quantity": 2}
    keys = Credentials(KEY_ID, SECRET)

    def sent(payload: str) -> requests.Response:
        signed = AWSRequest("POST", api.url("/aws/orders"), data=payload,
                            headers={"Content-Type": "application/json"})
        SigV4Auth(keys, SERVICE, REGION).add_auth(signed)  # the wall clock: a fresh API is on it
        return requests.post(api.url("/aws/orders"), json=order, headers=dict(signed.headers), timeout=5)

    assert sent(json.dumps(order)).status_code == 201
    compact = sent(json.dumps(order, separators=(",", ":")))
    assert (compact.status_code, compact.json()["Code"]) == (403, "SignatureDoesNotMatch")
    cell = next(text for text in notebook_markdown() if "The signature was for `payload`" in text)
    assert "works only by\ncoincidence" in cell and "swapped" not in cell


def test_a_signing_key_presigns_a_url_dated_its_day_that_lasts_a_week(api):
    """Notebook 07's claim: a leaked kSigning signs only requests dated that day, but a presigned URL
    dated that day with X-Amz-Expires=604800 still works six days later. The URL's signature needs
    kSigning alone (recomputed here from it), and the server accepts it until the week is over."""
    link = AWSSigV4Auth(KEY_ID, SECRET, region=REGION, service=SERVICE,
                        now=api.clock.now).presign(api.url("/aws/whoami"), expires=604800)
    url = urlsplit(link)
    fields = dict(parse_qsl(url.query))
    date = fields["X-Amz-Date"]
    k_signing = sigv4.signing_key(SECRET, date[:8], REGION, SERVICE)
    unsigned = "&".join(part for part in url.query.split("&") if not part.startswith("X-Amz-Signature="))
    canonical = sigv4.canonical_request("GET", url.path, unsigned, [("host", url.netloc)], ["host"],
                                        hashlib.sha256(b"").hexdigest())
    scope = f"{date[:8]}/{REGION}/{SERVICE}/aws4_request"
    assert sigv4.signature(k_signing, sigv4.string_to_sign(date, scope, canonical)) == fields["X-Amz-Signature"]
    api.clock.advance(6 * 86400)
    assert requests.get(link, timeout=5).status_code == 200
    api.clock.advance(86400)
    assert requests.get(link, timeout=5).json()["Code"] == "AccessDenied"
    cell = next(text for text in notebook_markdown() if text.startswith("## 3. AWS Signature Version 4"))
    assert "one day only" not in cell and "can still last a week" in cell


def notebook_markdown() -> list[str]:
    path = Path(__file__).parent.parent / "notebooks" / "07-other-schemes-and-traps.ipynb"
    return ["".join(cell["source"]) for cell in json.loads(path.read_text("utf-8"))["cells"]
            if cell["cell_type"] == "markdown"]
