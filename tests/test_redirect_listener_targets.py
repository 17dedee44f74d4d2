"""What the redirect listener takes as the redirect: an origin-form GET of its path with `code` or `error`.

Anything else (an absolute-form target, `//host/...`, a request without `code` or `error`) gets a 400,
is not delivered, and the listener keeps waiting for the real redirect. Requests are sent as raw bytes:
requests would never send most of them.
"""
from __future__ import annotations

import re
import socket

import pytest

from helpers import RedirectListener


def send(port: int, request: bytes) -> bytes:
    """Send `request` as it is, and return all the bytes of the answer (the listener closes the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer


def get(port: int, target: bytes, version: bytes = b"HTTP/1.1") -> bytes:
    return send(port, b"GET " + target + b" " + version + b"\r\nHost: 127.0.0.1:%d\r\n\r\n" % port)


def status(answer: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    assert match, answer[:100]
    return int(match.group(1))


def assert_still_waiting(listener: RedirectListener) -> None:
    assert listener.params == {}
    with pytest.raises(TimeoutError):
        listener.wait(timeout=0.01)
    real = get(listener.port, b"/callback?code=real&state=s")
    assert status(real) == 200 and b"Signed in" in real
    assert listener.wait(timeout=1) == listener.redirect_uri + "?code=real&state=s"


NOT_ORIGIN_FORM = [
    b"http://evil.example/callback?code=x",  # absolute-form (RFC 9112 §3.2.2): a proxy's request
    b"http://127.0.0.1/callback?code=x",
    b"//evil.example/callback?code=x",  # a network-path reference, not an absolute-path
    b"//callback?code=x",  # some Pythons reduce a leading // to / in self.path: judged as sent
    b"///callback?code=x",
    b"callback?code=x",
    b"*",
    b"/callback?code=x#fragment",  # a fragment is never sent (RFC 9110 §7.1)
    b"/callback?code=\xff\xfe&state=s",  # raw bytes outside visible ASCII: a browser percent-encodes them
    b"/callback?code=x&state=\x01",
    b"/callback?code=x&state=\x1b[2J",
]


@pytest.mark.parametrize("target", NOT_ORIGIN_FORM, ids=repr)
def test_a_target_that_is_not_origin_form_gets_400_and_is_not_delivered(target):
    with RedirectListener() as listener:
        answer = get(listener.port, target)
        assert status(answer) == 400
        assert b"evil" not in answer and b"\xff" not in answer, "the answer never echoes the request"
        assert_still_waiting(listener)


NOT_A_REDIRECT = [
    b"/callback",
    b"/callback?",
    b"/callback?state=s",
    b"/callback?state=s&iss=https%3A%2F%2Fas.test",
    b"/callback?code=&state=s",  # an empty code is no code
    b"/callback?error=&state=s",
    b"/callback?codes=x&errors=y",
]


@pytest.mark.parametrize("target", NOT_A_REDIRECT, ids=repr)
def test_a_request_without_code_or_error_gets_400_and_the_listener_keeps_waiting(target):
    """A stray GET /callback (a reload, a scanner) must not use up the one-shot listener."""
    with RedirectListener() as listener:
        answer = get(listener.port, target)
        assert status(answer) == 400
        assert b"Signed in" not in answer and b"Already done" not in answer
        assert_still_waiting(listener)


@pytest.mark.parametrize("query", [b"code=c%2F1&state=s%20t", b"code=c", b"error=access_denied&state=s",
                                   b"error=access_denied&error_description=No%20thanks&state=s&iss=x"])
def test_a_redirect_with_code_or_error_is_delivered_as_sent_state_included(query):
    with RedirectListener() as listener:
        answer = get(listener.port, b"/callback?" + query)
        assert status(answer) == 200
        assert listener.wait(timeout=1) == listener.redirect_uri + "?" + query.decode("ascii")


def test_an_http_0_9_request_is_not_delivered():
    """HTTP/0.9 has no headers and no status line: no browser sends it, so it is not a redirect."""
    with RedirectListener() as listener:
        answer = send(listener.port, b"GET /callback?code=x\r\n\r\n")  # http.server reads headers even for 0.9
        assert status(answer) == 400  # answered with a status line all the same
        assert_still_waiting(listener)


def test_the_same_path_on_http_1_0_is_delivered():
    with RedirectListener() as listener:
        assert status(get(listener.port, b"/callback?code=c&state=s", b"HTTP/1.0")) == 200
        assert listener.params == {"code": "c", "state": "s"}


REFUSED = NOT_ORIGIN_FORM + NOT_A_REDIRECT + [b"/nowhere?code=x", b"/callback?code=x\r\nX-Injected: 1"]


@pytest.mark.parametrize("target", REFUSED, ids=repr)
def test_no_response_header_carries_a_control_character_or_the_request(target):
    with RedirectListener() as listener:
        head = get(listener.port, target).split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    assert re.fullmatch(rb"HTTP/1\.[01] [1-5]\d\d [ -~]+", lines[0]), lines[0]
    for line in lines[1:]:
        assert re.fullmatch(rb"[!-9;-~]+: [ -~]*", line), line
        assert b"code" not in line.lower() and b"evil" not in line and b"injected" not in line.lower(), line


def test_after_the_redirect_a_stray_request_still_gets_400_and_the_redirect_is_kept():
    with RedirectListener() as listener:
        get(listener.port, b"/callback?code=first&state=s")
        assert status(get(listener.port, b"/callback")) == 400
        assert b"already received" in get(listener.port, b"/callback?code=second&state=s")
        assert listener.params == {"code": "first", "state": "s"}
