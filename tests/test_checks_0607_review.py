"""Review findings on the checks of notebooks 06 and 07 (issue 12, second review).

Each wrong solution below got "✓ Right" before the fix; each right one must keep getting it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from urllib3.util import Retry, parse_url

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.practice_api import demo

SECRET = demo.SIGNING_KEYS[0]["secret"].encode()
KEY_ID = demo.SIGNING_KEYS[0]["key_id"]


def signing(request, *, path=None, stamp=None):
    """Sign `request` as the practice API wants; `path` and `stamp` replace the right values."""
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    stamp = stamp if stamp is not None else str(int(time.time()))
    rid = str(uuid.uuid4())
    message = "\n".join([request.method.upper(), path or urlsplit(request.url).path, stamp, rid,
                         hashlib.sha256(body).hexdigest()]).encode()
    request.headers.update({"X-Key-Id": KEY_ID, "X-Timestamp": stamp, "X-Request-Id": rid,
                            "X-Signature": hmac.new(SECRET, message, hashlib.sha256).hexdigest()})
    return request


# -- 07, exercise 1: sign ------------------------------------------------------------------------

def test_sign_right_solution_is_right(feedback):
    assert_right(feedback(checks.sign, signing))


def test_sign_refuses_a_hard_coded_path(feedback):
    assert_not_yet(feedback(checks.sign, lambda request: signing(request, path="/signed/orders")),
                   "signature does not match")


def test_sign_refuses_printing_the_secret(capsys):
    def sign(request):
        print("DEBUG secret", SECRET)
        return signing(request)
    checks.sign(sign)
    out = capsys.readouterr().out
    assert out.startswith("✗ Not yet: ") and "printed" in out, out
    assert SECRET.decode() not in out and "DEBUG" not in out


def test_sign_refuses_printing_the_signature(capsys):
    def sign(request):
        signing(request)
        print("sent", request.headers["X-Signature"])
        return request
    checks.sign(sign)
    out = capsys.readouterr().out
    assert out.startswith("✗ Not yet: ") and "printed" in out, out
    assert "sent" not in out


def test_sign_refuses_logging_the_secret(capsys):
    logger = logging.getLogger("learner.sign")
    logger.setLevel(logging.INFO)

    def sign(request):
        logger.warning("signing with %s", SECRET.decode())
        return signing(request)
    checks.sign(sign)
    out, err = capsys.readouterr()
    assert out.startswith("✗ Not yet: ") and "printed" in out, out
    assert SECRET.decode() not in out + err


@pytest.mark.parametrize("where", ["basic", "query", "query-quoted", "body", "hex", "base64"])
def test_sign_refuses_the_secret_sent_in_any_form(feedback, where):
    def sign(request):
        signing(request)
        if where == "basic":
            request.headers["Authorization"] = "Basic " + base64.b64encode(KEY_ID.encode() + b":" + SECRET).decode()
        elif where == "query":
            request.prepare_url(request.url, {"secret": SECRET.decode()})
        elif where == "query-quoted":
            request.prepare_url(request.url, {"s": "~" + SECRET.decode() + "=="})
        elif where == "body":
            request.headers["X-Note"] = "ok"
            request.prepare_body(None, None, {"item": "tea", "s": SECRET.decode()})
            return signing(request)
        elif where == "hex":
            request.headers["X-Debug"] = SECRET.hex()
        elif where == "base64":
            request.headers["X-Debug"] = base64.urlsafe_b64encode(b"k" + SECRET).decode()
        return request
    assert_not_yet(feedback(checks.sign, sign), "secret")


def test_sign_refuses_a_timestamp_fixed_when_defined(feedback):
    stamp = str(int(time.time()))

    def sign(request):
        return signing(request, stamp=stamp)
    assert_not_yet(feedback(checks.sign, sign), "when sign runs")


def test_sign_refuses_a_timestamp_fixed_in_an_auth_object(feedback):
    class Fixed(requests.auth.AuthBase):
        def __init__(self):
            self.stamp = str(int(time.time()))

        def __call__(self, request):
            return signing(request, stamp=self.stamp)
    assert_not_yet(feedback(checks.sign, Fixed()), "when sign runs")


# -- 07, exercise 3: should_follow ---------------------------------------------------------------

def urlsplit_solution(old, new):
    """The model solution before the review: fooled by a backslash."""
    def origin(url):
        parts = urlsplit(url)
        return parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    try:
        return origin(old) == origin(new)
    except ValueError:
        return False


def parse_url_solution(old, new):
    """The model solution after the review: reads the URL as urllib3 (and so requests) does."""
    def origin(url):
        parts = parse_url(url)
        return parts.scheme, parts.host, parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    try:
        return origin(old) == origin(new)
    except ValueError:
        return False


def test_should_follow_refuses_a_solution_fooled_by_a_backslash(feedback):
    assert urlsplit_solution("https://api.practice.test/", "https://evil.test\\@api.practice.test/x")
    assert_not_yet(feedback(checks.should_follow, urlsplit_solution), "backslash")


def test_the_backslash_url_really_goes_to_the_other_host():
    prepared = requests.Request("GET", "https://evil.test\\@api.practice.test/x").prepare()
    assert parse_url(prepared.url).host == "evil.test"


def test_should_follow_accepts_the_parse_url_solution(feedback):
    assert_right(feedback(checks.should_follow, parse_url_solution))


def test_should_follow_refuses_a_solution_that_never_compares_schemes(feedback):
    def no_scheme(old, new):
        def origin(url):
            parts = parse_url(url)
            return parts.host, parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        try:
            return origin(old) == origin(new)
        except ValueError:
            return False
    assert_not_yet(feedback(checks.should_follow, no_scheme), "compare the schemes too")


# -- 06, exercise 2: retry_policy ----------------------------------------------------------------

GOOD = dict(total=3, status_forcelist=[429, 503], allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,
            backoff_factor=0.5, raise_on_status=False, retry_after_max=60)


def test_retry_policy_right(feedback):
    assert_right(feedback(checks.retry_policy, Retry(**GOOD)))


def test_lower_case_methods_are_never_retried():
    assert not Retry(**{**GOOD, "allowed_methods": ["get", "head"]}).is_retry("GET", 429, True)


@pytest.mark.parametrize("change, hint", [
    ({"allowed_methods": ["get", "head"]}, "upper case"),
    ({"retry_after_max": 0}, "retry_after_max=0"),
    ({"retry_after_max": -5}, "retry_after_max=-5"),
    ({"backoff_factor": 1000, "backoff_max": 100000}, "60 s"),
    ({"backoff_factor": 1000}, "60 s"),
    ({"backoff_jitter": 500}, "60 s"),
])
def test_retry_policy_refuses(feedback, change, hint):
    assert_not_yet(feedback(checks.retry_policy, Retry(**{**GOOD, **change})), hint)


def test_retry_after_max_0_retries_at_once():
    """Why retry_after_max=0 is refused: a 429 with Retry-After: 10 is retried without waiting."""
    from urllib3.response import HTTPResponse
    response = HTTPResponse(status=429, headers={"Retry-After": "10"})
    assert Retry(**{**GOOD, "retry_after_max": 0}).get_retry_after(response) == 0


# -- 06, exercise 1: tls_session -----------------------------------------------------------------

@pytest.mark.parametrize("value", [False, 0, ""], ids=["False", "0", "empty str"])
def test_tls_session_refuses_every_verify_that_turns_checking_off(feedback, value):
    session = requests.Session()
    session.verify = value
    assert_not_yet(feedback(checks.tls_session, session), "turns certificate checks off")


@pytest.mark.parametrize("value", [0, ""], ids=["0", "empty str"])
def test_requests_really_skips_the_certificate_check_for(value):
    """Why 0 and "" count as off: requests' adapter tests verify for truth (CERT_NONE)."""
    import ssl
    from requests.adapters import HTTPAdapter

    class Connection:
        cert_reqs = ca_certs = ca_cert_dir = cert_file = key_file = None
    connection = Connection()
    HTTPAdapter().cert_verify(connection, "https://api.practice.test/", value, None)
    assert connection.cert_reqs == "CERT_NONE"
    assert ssl.CERT_NONE == 0


def test_tls_session_encrypted_key_hint_names_the_prompt(feedback, tmp_path):
    from helpers.serving.tls import make_local_pki
    from cryptography.hazmat.primitives import serialization

    pki = make_local_pki(tmp_path)
    cert_path, key_path = pki.client_cert
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(b"pw")))
    session = requests.Session()
    session.verify, session.cert, session.trust_env = pki.ca_bundle, (cert_path, str(encrypted)), False
    output = feedback(checks.tls_session, session)
    assert_not_yet(output, "no parameter for the key's password")
    assert "prompt" in output


@pytest.mark.parametrize("request_id", ["x" * 101, "order 7", "id\twith-tab"], ids=["too long", "space", "tab"])
def test_sign_hint_for_a_request_id_the_server_refuses(feedback, request_id):
    def sign(request):
        signing(request)
        stamp = request.headers["X-Timestamp"]
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        message = "\n".join([request.method.upper(), urlsplit(request.url).path, stamp, request_id,
                             hashlib.sha256(body).hexdigest()]).encode()
        request.headers.update({"X-Request-Id": request_id,
                                "X-Signature": hmac.new(SECRET, message, hashlib.sha256).hexdigest()})
        return request
    assert_not_yet(feedback(checks.sign, sign), "visible ASCII")
