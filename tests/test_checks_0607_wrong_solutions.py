"""Tables of plausible wrong and insecure solutions that the checks of notebooks 06 and 07 must refuse,
next to the right solutions they must accept (issue 12).

Each row is code a learner could write and believe right. A check that says "✓ Right" to one of them
teaches the mistake, so every row asserts "✗ Not yet" and the hint that names the mistake.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from urllib3.util import Retry

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.serving.tls import make_local_pki

from signing_common import KEY_ID, SECRET, run  # noqa: F401  (run: a fixture)


# -- 07, exercise 1: sign(request) ------------------------------------------------------------------

class HMACAuth(requests.auth.AuthBase):
    """Notebook 07's HMACAuth (cell 19), as a learner would copy it."""

    def __init__(self, key_id: str, secret: bytes, *, now=time.time) -> None:
        self.key_id, self.secret, self.now = key_id, secret, now

    def __call__(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, bytes):
            raise TypeError("HMACAuth signs bytes or str bodies")
        timestamp, request_id = str(int(self.now())), str(uuid.uuid4())
        message = "\n".join([request.method.upper(), urlsplit(request.url).path, timestamp, request_id,
                             hashlib.sha256(body).hexdigest()]).encode("utf-8")
        request.headers.update({"X-Key-Id": self.key_id, "X-Timestamp": timestamp, "X-Request-Id": request_id,
                                "X-Signature": hmac.new(self.secret, message, hashlib.sha256).hexdigest()})
        return request


def published_sign(request):
    """The solution notebook 07 publishes for exercise 1: the same steps as HMACAuth."""
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes):
        raise TypeError("sign() signs bytes or str bodies")
    timestamp = str(int(time.time()))
    request_id = str(uuid.uuid4())
    message = "\n".join([request.method.upper(), urlsplit(request.url).path, timestamp, request_id,
                         hashlib.sha256(body).hexdigest()]).encode("utf-8")
    request.headers["X-Key-Id"] = KEY_ID
    request.headers["X-Timestamp"] = timestamp
    request.headers["X-Request-Id"] = request_id
    request.headers["X-Signature"] = hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    return request


def signer(*, body_bytes=None, lines=None, path=lambda request: urlsplit(request.url).path):
    """A learner's sign(), right except for how it gets the body's bytes or which lines it signs."""
    def sign(request):
        body = body_bytes(request) if body_bytes else published_body(request)
        stamp, rid = str(int(time.time())), str(uuid.uuid4())
        fields = [request.method.upper(), path(request), stamp, rid, hashlib.sha256(body).hexdigest()]
        message = "\n".join(lines(fields) if lines else fields).encode("utf-8")
        request.headers.update({"X-Key-Id": KEY_ID, "X-Timestamp": stamp, "X-Request-Id": rid,
                                "X-Signature": hmac.new(SECRET, message, hashlib.sha256).hexdigest()})
        return request
    return sign


def published_body(request) -> bytes:
    body = request.body or b""
    return body.encode("utf-8") if isinstance(body, str) else body


def today_solution(request):
    """The solution notebook 07 published before issue 12: TypeError on a data=<str> body."""
    body = request.body or b""
    timestamp, request_id = str(int(time.time())), str(uuid.uuid4())
    message = "\n".join([request.method.upper(), urlsplit(request.url).path, timestamp, request_id,
                         hashlib.sha256(body).hexdigest()]).encode("utf-8")
    request.headers.update({"X-Key-Id": KEY_ID, "X-Timestamp": timestamp, "X-Request-Id": request_id,
                            "X-Signature": hmac.new(SECRET, message, hashlib.sha256).hexdigest()})
    return request


@pytest.mark.parametrize("answer", [published_sign, HMACAuth(KEY_ID, SECRET), signer()],
                         ids=["published solution", "cell 19's HMACAuth", "same steps"])
def test_sign_accepts_the_right_solutions(run, answer):
    assert_right(run(checks.sign, answer), "data=")


SIGN_WRONG = {
    "str body not encoded (the old published solution)":
        (today_solution, "request.body is a str"),
    "str body encoded as Latin-1":
        (signer(body_bytes=lambda r: r.body.encode("latin-1") if isinstance(r.body, str) else (r.body or b"")),
         "Latin-1"),
    "str body signed as empty":
        (signer(body_bytes=lambda r: r.body if isinstance(r.body, bytes) else b""), "an empty body"),
    "body never signed (hash of b'')":
        (signer(body_bytes=lambda r: b""), "an empty body"),
    "no body line at all":
        (signer(lines=lambda fields: fields[:4]), "does not cover the body"),
    "str(body) hashed":
        (signer(body_bytes=lambda r: str(r.body).encode()), "other bytes than the body"),
    "path with its query string":
        (signer(path=lambda r: r.path_url), "without the query string"),
    "the whole URL":
        (signer(path=lambda r: r.url), "Sign the path only"),
}


@pytest.mark.parametrize("wrong", SIGN_WRONG, ids=list(SIGN_WRONG))
def test_sign_refuses_wrong_bodies_and_paths(run, wrong):
    answer, hint = SIGN_WRONG[wrong]
    assert_not_yet(run(checks.sign, answer), hint)


def test_sign_refuses_a_timestamp_in_nanoseconds(run):
    def sign(request):
        return signer()(request) and _restamp(request, str(time.time_ns()))
    assert_not_yet(run(checks.sign, sign), "nanoseconds")


def _restamp(request, stamp):
    """Re-sign with another X-Timestamp value (same id and body)."""
    rid, body = request.headers["X-Request-Id"], published_body(request)
    message = "\n".join([request.method.upper(), urlsplit(request.url).path, stamp, rid,
                         hashlib.sha256(body).hexdigest()]).encode()
    request.headers.update({"X-Timestamp": stamp, "X-Signature": hmac.new(SECRET, message, hashlib.sha256).hexdigest()})
    return request


def test_sign_str_body_is_what_urllib3_sends():
    """The check's reading of a str body (UTF-8) is what goes on the wire with requests and urllib3 2."""
    import socket
    import threading

    received = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        def serve():
            connection, _ = listener.accept()
            with connection:
                data = b""
                while not data.endswith("thé ☕".encode("utf-8")):
                    data += connection.recv(65536)
                received.append(data.partition(b"\r\n\r\n")[2])
                connection.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        thread = threading.Thread(target=serve)
        thread.start()
        port = listener.getsockname()[1]
        response = requests.post(f"http://127.0.0.1:{port}/", data="note=thé ☕", timeout=5)
        thread.join(5)
    assert response.status_code == 204
    assert received == ["note=thé ☕".encode("utf-8")]
    assert response.request.headers["Content-Length"] == str(len("note=thé ☕".encode("utf-8")))


# -- 07, exercise 3: should_follow -----------------------------------------------------------------

def test_should_follow_refuses_443_as_the_default_port_of_http(run):
    def only_https_default(old, new):
        def origin(url):
            parts = urlsplit(url)
            return parts.scheme, parts.hostname, parts.port or 443
        try:
            return origin(old) == origin(new)
        except ValueError:
            return False
    assert_not_yet(run(checks.should_follow, only_https_default), "80 for http")


# -- 06, exercise 1: tls_session --------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_local_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    return make_local_pki(tmp_path_factory.mktemp("other-pki"))


def tls(verify, cert) -> requests.Session:
    session = requests.Session()
    session.verify, session.cert, session.trust_env = verify, cert, False
    return session


def test_tls_session_right(feedback, pki):
    assert_right(feedback(checks.tls_session, tls(str(pki.ca_bundle), tuple(map(str, pki.client_cert)))))


@pytest.mark.parametrize("mix", ["CA of another server", "certificate from another CA"])
def test_tls_session_refuses_a_ca_that_did_not_issue_the_certificate(feedback, pki, other_pki, mix):
    session = (tls(other_pki.ca_bundle, pki.client_cert) if mix == "CA of another server"
               else tls(pki.ca_bundle, other_pki.client_cert))
    assert_not_yet(feedback(checks.tls_session, session), "not issued by")


def test_tls_session_a_foreign_ca_really_fails(pki, other_pki):
    """What the check refuses does fail: the practice API's certificate is not from another CA."""
    from helpers import serve_practice_api

    with serve_practice_api(tls=True) as api:
        session = tls(other_pki.ca_bundle, api.client_cert)
        with pytest.raises(requests.exceptions.SSLError):
            session.get(api.url("/mtls/whoami"), timeout=5)


# -- 06, exercise 2: retry_policy -------------------------------------------------------------------

GOOD = dict(total=3, status_forcelist=[429, 503], allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,
            respect_retry_after_header=True, backoff_factor=0.5, raise_on_status=False, retry_after_max=60)


class IgnoresRetryAfter(Retry):
    def sleep_for_retry(self, response) -> bool:
        return False  # never waits for Retry-After: falls through to the backoff


class NoWaitAtAll(Retry):
    def get_retry_after(self, response):
        return None


RETRY_WRONG = {
    "status=0: statuses never retried": (Retry(**GOOD, status=0), "status=0"),
    "allowed_methods empty: urllib3 2 retries every method": ("empty", "retries every method"),
    "backoff_max=0: backoff never waits": (Retry(**GOOD, backoff_max=0), "backoff_max"),
    "subclass ignoring Retry-After (sleep_for_retry)": (IgnoresRetryAfter(**GOOD), "Retry itself"),
    "subclass ignoring Retry-After (get_retry_after)": (NoWaitAtAll(**GOOD), "Retry itself"),
}


@pytest.mark.parametrize("wrong", RETRY_WRONG, ids=list(RETRY_WRONG))
def test_retry_policy_refuses(feedback, wrong):
    policy, hint = RETRY_WRONG[wrong]
    if policy == "empty":
        with pytest.warns(FutureWarning):  # urllib3 2: an empty list means every method, and says so
            policy = Retry(**{**GOOD, "allowed_methods": []})
    assert_not_yet(feedback(checks.retry_policy, policy), hint)


def test_retry_policy_right_still_right(feedback):
    assert_right(feedback(checks.retry_policy, Retry(**GOOD)))


# -- 06, exercise 3: redact_api_key -----------------------------------------------------------------

def test_redact_refuses_a_pattern_for_one_key_format(feedback):
    def practice_keys_only(line):
        return re.sub(r"practice_[\w-]+", "[REDACTED]", line)
    assert_not_yet(feedback(checks.redact_api_key, practice_keys_only), "any key")


def test_redact_right_solution_still_right(feedback):
    def right(line):
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() == "x-api-key":
            return f"{name}: [REDACTED]"
        return line
    assert_right(feedback(checks.redact_api_key, right))


def test_redact_never_prints_a_test_key(feedback):
    output = feedback(checks.redact_api_key, lambda line: line)
    assert not re.search(r"[0-9a-f]{32}", output)
