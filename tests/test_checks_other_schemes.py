"""The checks of notebook 07 (other schemes and traps): right answers get "✓ Right", the `...`
placeholder and typical wrong answers get "✗ Not yet" with their specific hint. Checks never
raise, and never print the signing secret or a signature."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from urllib3.util import parse_url

from conftest import assert_not_yet, assert_right
from helpers import checks
from signing_common import KEY_ID, SECRET, run  # noqa: F401  (run: a fixture)

PLACEHOLDER_HINT = "replace the `...` in the cell"


def stub(*args):
    ...  # the exercise cell's stub: a function whose body is `...`


ALL_CHECKS = [checks.sign, checks.sigv4_signer, checks.should_follow]


@pytest.mark.parametrize("check", ALL_CHECKS)
@pytest.mark.parametrize("answer", [..., None, stub], ids=["ellipsis", "none", "stub-function"])
def test_placeholder(run, check, answer):
    assert_not_yet(run(check, answer), PLACEHOLDER_HINT)


@pytest.mark.parametrize("check", ALL_CHECKS)
@pytest.mark.parametrize("answer", [42, "text", b"bytes", [1, 2], True])
def test_not_a_function(run, check, answer):
    what = "signer" if check is checks.sigv4_signer else "function"  # exercise 2 asks for an AuthBase object
    assert_not_yet(run(check, answer), f"pass the {what} itself")


@pytest.mark.parametrize("check", ALL_CHECKS)
def test_a_function_that_raises_is_feedback(run, check):
    def broken(*args):
        raise RuntimeError("boom\nwith a second line")
    output = run(check, broken)
    assert_not_yet(output, "raised RuntimeError: boom with a second line")


def test_checks_are_exported():
    from helpers.checks import other_schemes
    assert sorted(other_schemes.__all__) == ["should_follow", "sign", "sigv4_signer"]


# -- sign (exercise 1) --------------------------------------------------------------------------

def make_sign(*, timestamp=lambda: str(int(time.time())), request_id=lambda: str(uuid.uuid4()),
              body=lambda request: (request.body or b"").encode() if isinstance(request.body, str) else (request.body or b""),
              digest=lambda key, message: hmac.new(key, message, hashlib.sha256).hexdigest(),
              method=lambda request: request.method.upper(), path=lambda request: urlsplit(request.url).path,
              key_id=KEY_ID, extra_headers=None, returns=True, join=lambda fields: "\n".join(fields)):
    """A learner's `sign`, with one part swapped for a typical mistake."""
    def sign(request):
        stamp, rid = timestamp(), request_id()
        message = join([method(request), path(request), stamp, rid,
                        hashlib.sha256(body(request)).hexdigest()]).encode("utf-8")
        request.headers.update({"X-Key-Id": key_id, "X-Timestamp": stamp, "X-Request-Id": rid,
                                "X-Signature": digest(SECRET, message), **(extra_headers or {})})
        return request if returns else None
    return sign


def test_sign_right(run):
    assert_right(run(checks.sign, make_sign()), "accepts all 7 requests")


@pytest.mark.parametrize("as_sent", [lambda text: text.encode("ascii"), int], ids=["bytes", "int"])
def test_sign_right_with_header_values_requests_sends_as_they_are(run, as_sent):
    # requests and http.client send bytes and int header values (the server gets the same text), so the
    # check must read them as the server would: X-Timestamp b'1795...' is not "not digits".
    def sign(request):
        make_sign()(request)
        for name in ("X-Timestamp", "X-Signature") if as_sent is not int else ("X-Timestamp",):
            request.headers[name] = as_sent(request.headers[name])
        return request
    assert_right(run(checks.sign, sign), "accepts all 7 requests")


def test_sign_right_with_an_auth_object(run):
    class HMACAuth(requests.auth.AuthBase):
        def __init__(self, key_id, secret, *, now=time.time):
            self.key_id, self.secret, self.now = key_id, secret, now

        def __call__(self, request):
            return make_sign(key_id=self.key_id, timestamp=lambda: str(int(self.now())))(request)

    assert_right(run(checks.sign, HMACAuth(KEY_ID, SECRET)))


FIXED_ID = str(uuid.uuid4())


@pytest.mark.parametrize("answer, hint", [
    (make_sign(request_id=lambda: FIXED_ID), "X-Request-Id was already used"),
    (make_sign(timestamp=lambda: str(int(time.time() * 1000))), "in milliseconds"),
    (make_sign(timestamp=lambda: str(time.time())), "has a decimal point"),
    (make_sign(timestamp=lambda: str(int(time.time() + 602))), "ahead of the real clock"),
    (make_sign(timestamp=lambda: str(int(time.time() - 400))), "behind the real clock"),
    (make_sign(body=lambda request: request.body), "request.body is None when there is no body"),
    (make_sign(body=lambda request: json.dumps({"item": "tea", "quantity": 2}, separators=(",", ":")).encode()),
     "You signed other bytes than the body requests sends"),
    (make_sign(digest=lambda key, message: hashlib.sha256(message).hexdigest()), "not an HMAC"),
    (make_sign(digest=lambda key, message: hmac.new(key, message, hashlib.sha1).hexdigest()), "HMAC-SHA-1"),
    (make_sign(digest=lambda key, message: base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()),
     "in base64"),
    (make_sign(path=lambda request: request.url), "Sign the path only"),
    (make_sign(method=lambda request: request.method.lower()), "upper case"),
    (make_sign(key_id="orders"), "X-Key-Id must be the key id 'orders-client'"),
    (make_sign(extra_headers={"X-Secret": SECRET.decode()}), "The secret never travels"),
    (make_sign(returns=False), "End it with `return request`"),
    (make_sign(join=lambda fields: "\n".join(fields) + "\n"), "a newline after the last line"),
    (make_sign(join=lambda fields: "\r\n".join(fields)), "joined with \\r\\n"),
    (make_sign(join=lambda fields: "\n".join([fields[0], fields[1], fields[3], fields[2], fields[4]])),
     "the right fields in the wrong order"),
    (lambda request: request, "has no X-Key-Id, X-Timestamp, X-Request-Id, X-Signature headers"),
    (lambda request: "signed", "return the request it was given"),
])
def test_sign_typical_mistakes(run, answer, hint):
    assert_not_yet(run(checks.sign, answer), hint)


def test_sign_a_timestamp_held_in_a_class_attribute(run):
    """_held_values reads the class's attributes too, not only the instance's."""
    class Signer(requests.auth.AuthBase):
        STAMP = str(int(time.time()))

        def __call__(self, request):
            return make_sign(timestamp=lambda: self.STAMP)(request)

    assert_not_yet(run(checks.sign, Signer()), "X-Timestamp is a value taken before sign ran")


def test_sign_with_the_wrong_secret(run):
    def digest(key, message):
        return hmac.new(b"another secret, 32 bytes or more!", message, hashlib.sha256).hexdigest()
    assert_not_yet(run(checks.sign, make_sign(digest=digest)), "the signature does not match")


def test_sign_a_class_instead_of_an_object(run):
    class HMACAuth(requests.auth.AuthBase):
        pass
    assert_not_yet(run(checks.sign, HMACAuth), "that is the class HMACAuth itself")


def test_sign_error_messages_never_show_the_secret(run):
    def leaky(request):
        raise ValueError(f"could not sign with {SECRET.decode()}")
    assert_not_yet(run(checks.sign, leaky), "sign raised ValueError: could not sign with ••••••••")


# -- should_follow (exercise 3) ---------------------------------------------------------------

def origin(url):
    """The published solution's origin: parse_url reads the URL as requests will send it."""
    parts = parse_url(url)
    return parts.scheme, parts.host, parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def good_should_follow(old, new):
    try:
        return origin(old) == origin(new)
    except ValueError:
        return False


def test_should_follow_right(run):
    assert_right(run(checks.should_follow, good_should_follow), "same origin")


def test_should_follow_malformed_port_raises(run):
    output = run(checks.should_follow, lambda old, new: origin(old) == origin(new))
    assert_not_yet(output, "for a URL with a malformed port (:abc), your function raised LocationParseError")
    assert "except ValueError: return False" in output


def test_should_follow_malformed_port_followed(run):
    def follows(old, new):
        return True if ":abc" in new else good_should_follow(old, new)
    assert_not_yet(run(checks.should_follow, follows), "a URL you cannot read is not the same origin")


@pytest.mark.parametrize("answer, hint", [
    (lambda old, new: urlsplit(old).hostname == urlsplit(new).hostname, "You compared the host names only"),
    (lambda old, new: urlsplit(old)[:2] == urlsplit(new)[:2], "443 is the default port of https"),
    (lambda old, new: (urlsplit(old).scheme, urlsplit(old).hostname, urlsplit(old).port)
     == (urlsplit(new).scheme, urlsplit(new).hostname, urlsplit(new).port), "443 is the default port of https"),
    (lambda old, new: (urlsplit(old).scheme, urlsplit(old).hostname) == (urlsplit(new).scheme, urlsplit(new).hostname),
     "compare the ports too"),
    (lambda old, new: (urlsplit(old).scheme, urlsplit(old).netloc.split(":")[0])
     == (urlsplit(new).scheme, urlsplit(new).netloc.split(":")[0]) and urlsplit(new).port in (None, 443),
     "Host names are case-insensitive"),
    (lambda old, new: new.startswith(f"{urlsplit(old).scheme}://{urlsplit(old).netloc}"), "startswith() and `in` are fooled"),
    (lambda old, new: "api.practice.test" in new and new.startswith("https://") and ":8443" not in new
     and ".evil" not in new and "API" not in new, "'api.practice.test@' is a user name"),
    (lambda old, new: not requests.Session().should_strip_auth(old, new), "should_strip_auth lets Authorization follow"),
    (lambda old, new: "yes" if good_should_follow(old, new) else "no", "return True or False"),
    (lambda old, new: True, "Another host must never get your credentials"),
    (lambda old, new: False, "the same origin, so the credentials may go along"),
])
def test_should_follow_typical_mistakes(run, answer, hint):
    assert_not_yet(run(checks.should_follow, answer), hint)
