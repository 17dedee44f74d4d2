"""Second review of the checks: loggers that do not propagate, a session whose certificate check is turned
off, secure verifiers from os.urandom imported by name or ssl.RAND_bytes, a signer that remembers its last
timestamp, a bytes key, a subclass of DeviceFlowError, and redirects from the token endpoint."""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
import secrets
import ssl
import time
from os import urandom
from urllib.parse import quote_plus, urlsplit

import pytest
import requests

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.practice_api import demo
from test_checks_oauth import (WEB_CLIENT_ID, WEB_CLIENT_SECRET, WEB_REDIRECT_URI, DeviceFlowError,
                               right_next_interval)

ADA = ("ada", demo.password_of("ada"))
READ_KEY = demo.api_key("ro-1")
SIGNING_SECRET = demo.SIGNING_KEYS[0]["secret"].encode()
KEY_ID = demo.SIGNING_KEYS[0]["key_id"]


@pytest.fixture
def quiet_logger():
    """A learner's logger that does not propagate and writes to its own stream, as an app might set one up."""
    stream = io.StringIO()
    logger = logging.getLogger("learner.review2")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    assert stream.getvalue() == ""  # the check ran the code with the learner's handlers set aside


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def good_exchange(*, allow_redirects=False, before=None, log=None):
    def exchange_code(session, token_url, code, code_verifier):
        if before:
            before(session)
        response = session.post(token_url, data={"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": WEB_REDIRECT_URI, "code_verifier": code_verifier},
                                auth=(quote_plus(WEB_CLIENT_ID), quote_plus(WEB_CLIENT_SECRET)), timeout=5,
                                **({} if allow_redirects else {"allow_redirects": False}))
        response.raise_for_status()
        if response.status_code != 200:
            raise requests.HTTPError(f"{response.status_code}: expected 200, not a redirect", response=response)
        tokens = response.json()
        if log:
            log(tokens)
        return tokens
    return exchange_code


# -- 1. a logger with propagate = False ---------------------------------------------------------------

def test_basic_session_refuses_a_password_logged_by_a_logger_that_does_not_propagate(feedback, quiet_logger):
    class Leaky(requests.auth.HTTPBasicAuth):
        def __call__(self, request):
            quiet_logger.debug("password is %s", self.password)
            return super().__call__(request)

    session = requests.Session()
    session.auth = Leaky(*ADA)
    handlers = list(quiet_logger.handlers)
    assert_not_yet(feedback(checks.basic_session, session), "printed or logged ada's password")
    assert quiet_logger.propagate is False and quiet_logger.handlers == handlers  # put back as they were


def test_exchange_code_refuses_tokens_logged_by_a_logger_that_does_not_propagate(feedback, quiet_logger):
    answer = good_exchange(log=lambda tokens: quiet_logger.debug("got tokens %s", tokens))
    assert_not_yet(feedback(checks.exchange_code, answer), "prints (or logs) a token")


def test_pkce_pair_refuses_a_verifier_logged_by_a_logger_that_does_not_propagate(feedback, quiet_logger):
    def pkce_pair():
        verifier = secrets.token_urlsafe(32)
        quiet_logger.debug("verifier %s", verifier)
        return verifier, s256(verifier)

    assert_not_yet(feedback(checks.pkce_pair, pkce_pair), "prints (or logs) the code_verifier")


def test_pkce_pair_refuses_a_printed_verifier(feedback):
    def pkce_pair():
        verifier = secrets.token_urlsafe(32)
        print("verifier:", verifier)
        return verifier, s256(verifier)

    assert_not_yet(feedback(checks.pkce_pair, pkce_pair), "prints (or logs) the code_verifier")


# -- 2. exchange_code: the certificate check turned off on the session it is given --------------------

@pytest.mark.parametrize("verify", [False, 0, "", None])
def test_exchange_code_refuses_turning_off_the_session_certificate_check(feedback, verify):
    def turn_off(session):
        session.verify = verify

    assert_not_yet(feedback(checks.exchange_code, good_exchange(before=turn_off)), "turns off the certificate check")


def test_exchange_code_accepts_a_session_ca_bundle(feedback):
    def bundle(session):
        session.verify = "/etc/ssl/certs/ca-certificates.crt"

    assert_right(feedback(checks.exchange_code, good_exchange(before=bundle)))


# -- 3. pkce_pair: secure sources the check must not call a counter -------------------------------------

def p_os():
    verifier = base64.urlsafe_b64encode(urandom(32)).rstrip(b"=").decode()
    return verifier, s256(verifier)


def p_ssl():
    verifier = base64.urlsafe_b64encode(ssl.RAND_bytes(32)).rstrip(b"=").decode()
    return verifier, s256(verifier)


def make_closure_pair():
    read = urandom

    def pkce_pair():
        verifier = read(32).hex()
        return verifier, s256(verifier)
    return pkce_pair


@pytest.mark.parametrize("function", [p_os, p_ssl, make_closure_pair()], ids=["from-os-import-urandom",
                                                                            "ssl-RAND_bytes", "urandom-in-a-closure"])
def test_pkce_pair_accepts_other_operating_system_sources(feedback, function):
    assert_right(feedback(checks.pkce_pair, function))
    assert ssl.RAND_bytes(8) != ssl.RAND_bytes(8) and urandom(8) != urandom(8)  # put back as they were


# -- 4. sign: a signer object that remembers the timestamp it used ----------------------------------------

def string_to_sign(method, path, timestamp, request_id, body):
    return "\n".join([method.upper(), path, timestamp, request_id, hashlib.sha256(body).hexdigest()]).encode("utf-8")


class RemembersTimestamp(requests.auth.AuthBase):
    def __init__(self, key_id, secret):
        self.key_id, self._secret, self.last_timestamp, self.count = key_id, secret, None, 0

    def __call__(self, request):
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        stamp, request_id = str(int(time.time())), secrets.token_hex(16)
        message = string_to_sign(request.method, urlsplit(request.url).path, stamp, request_id, body)
        request.headers.update({"X-Key-Id": self.key_id, "X-Timestamp": stamp, "X-Request-Id": request_id,
                                "X-Signature": hmac.new(self._secret, message, hashlib.sha256).hexdigest()})
        self.last_timestamp = stamp
        self.count += 1
        return request


def test_sign_accepts_a_signer_that_records_its_last_timestamp(feedback):
    assert_right(feedback(checks.sign, RemembersTimestamp(KEY_ID, SIGNING_SECRET)), "accepts all")


def test_sign_still_refuses_a_timestamp_taken_when_the_signer_was_made(feedback):
    class Fixed(RemembersTimestamp):
        def __init__(self, key_id, secret):
            super().__init__(key_id, secret)
            self.stamp = str(int(time.time()))

        def __call__(self, request):
            body = request.body or b""
            body = body.encode() if isinstance(body, str) else body
            request_id = secrets.token_hex(16)
            message = string_to_sign(request.method, urlsplit(request.url).path, self.stamp, request_id, body)
            request.headers.update({"X-Key-Id": self.key_id, "X-Timestamp": self.stamp, "X-Request-Id": request_id,
                                    "X-Signature": hmac.new(self._secret, message, hashlib.sha256).hexdigest()})
            return request

    assert_not_yet(feedback(checks.sign, Fixed(KEY_ID, SIGNING_SECRET)), "X-Timestamp is a value taken before")


# -- 5. read_notes: a bytes key ---------------------------------------------------------------------------

def test_read_notes_accepts_a_bytes_key(feedback, http, api):
    response = http.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY.encode()}, timeout=5)
    assert response.status_code == 200
    assert_right(feedback(checks.read_notes, response))


# -- 6. next_interval: a subclass of DeviceFlowError ------------------------------------------------------

def test_next_interval_accepts_a_subclass_of_device_flow_error(feedback):
    class AccessDenied(DeviceFlowError):
        pass

    def next_interval(response, interval):
        if not isinstance(response, requests.Timeout) and response.status_code == 400:
            try:
                if response.json().get("error") == "access_denied":
                    raise AccessDenied("access was not granted")
            except ValueError:
                pass
        return right_next_interval(response, interval)

    assert_right(feedback(checks.next_interval, next_interval))


def test_next_interval_still_refuses_another_exception_named_otherwise(feedback):
    class Denied(Exception):
        pass

    def next_interval(response, interval):
        try:
            return right_next_interval(response, interval)
        except DeviceFlowError as error:
            raise Denied(str(error)) from None

    assert_not_yet(feedback(checks.next_interval, next_interval), "not DeviceFlowError")


# -- b. exchange_code: a redirect from the token endpoint --------------------------------------------------

def test_exchange_code_following_redirects_is_not_right(feedback):
    # The exercise says "follow none": a redirect would carry the code and the verifier to another host.
    output = feedback(checks.exchange_code, good_exchange(allow_redirects=True))
    assert output.startswith("✗ Not yet") and "allow_redirects=False" in output, output


def test_exchange_code_with_allow_redirects_false_gets_no_hint(feedback):
    output = feedback(checks.exchange_code, good_exchange())
    assert_right(output)
    assert "allow_redirects" not in output


def published_exchange_code():
    """Notebook 04's published exchange_code solution (the code block in the <details> after exercise 2)."""
    import re
    from pathlib import Path

    import nbformat
    notebook = nbformat.read(Path(__file__).parent.parent / "notebooks" / "04-oauth2.ipynb", as_version=4)
    source = next(cell.source for cell in notebook.cells if cell.cell_type == "markdown"
                  and "<details>" in cell.source and "def exchange_code" in cell.source)
    code = re.search(r"```python\n(.*?)```", source, re.S).group(1).replace("checks.exchange_code(exchange_code)", "")
    names = {"requests": requests, "quote_plus": quote_plus, "WEB_CLIENT_ID": WEB_CLIENT_ID,
             "WEB_CLIENT_SECRET": WEB_CLIENT_SECRET, "WEB_REDIRECT_URI": WEB_REDIRECT_URI}
    exec(compile(code, "04-solution", "exec"), names)
    return names["exchange_code"]


def test_the_published_exchange_code_follows_no_redirect(feedback):
    output = feedback(checks.exchange_code, published_exchange_code())
    assert_right(output)
    assert "allow_redirects" not in output


def test_the_published_exchange_code_refuses_a_redirect():
    """A 307 from the token endpoint: raise_for_status() lets it through, so the solution must refuse it."""
    from helpers.checks.feedback import fake_response

    class Redirects:
        def post(self, url, **kwargs):
            assert kwargs.get("allow_redirects") is False
            return fake_response(307, {"Location": "https://elsewhere.test/token"}, url)

    with pytest.raises(requests.HTTPError):
        published_exchange_code()(Redirects(), "https://api.practice.test/oauth/token", "code", "verifier")
