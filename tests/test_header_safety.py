"""No response header from the practice servers ever carries a control character.

Routes refuse bad input with a 400 at the source (tests/test_oauth.py has the redirect URI
table; tests/test_fuzz.py fuzzes every value a server copies into a header). This file tests
the last guard in the WSGI layer: if a route still builds an unsafe header, the app records a
bug and sends none of that reply's headers.
"""
from __future__ import annotations

import re
import socket

import pytest

from helpers.practice_api.wsgi import Reply, unsafe_header

TIMEOUT = 5
SAFE_LINE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+: (?:[!-~](?:[ -~]*[!-~])?)?")

UNSAFE = [
    ("Location", "https://a.test/\r\nSet-Cookie: x=1"), ("Location", "https://a.test/\n"),
    ("Location", "https://a.test/\r"), ("Location", "a\tb"), ("Location", "a\x00b"), ("Location", "a\x7fb"),
    ("Location", "a\x0bb"), ("Location", "café"), ("Location", "a\u2028b"), ("Location", " a"), ("Location", "a "),
    ("X Y", "1"), ("X:Y", "1"), ("", "1"), ("X-Ä", "1"), ("X\r\nY", "1"), ("X-Y", 1), (b"X-Y", "1"),
]
SAFE = [("Location", "https://a.test/cb?code=x&state=y"), ("WWW-Authenticate", 'Bearer realm="p", error="x"'),
        ("Retry-After", "7"), ("X-Empty", ""), ("Cache-Control", "no-store"),
        ("x-amzn-ErrorType", "SignatureDoesNotMatch")]  # what the AWS endpoints add (sigv4.AWSError)


@pytest.mark.parametrize("name, value", UNSAFE)
def test_unsafe_header_finds_each_unsafe_header(name, value):
    assert unsafe_header([*SAFE, (name, value)]) is not None


def test_unsafe_header_passes_safe_headers():
    assert unsafe_header(SAFE) is None


def raw_get(host: str, port: int, target: str) -> bytes:
    with socket.create_connection((host, port), timeout=TIMEOUT) as raw:
        raw.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode("ascii"))
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    return answer


def head_lines(answer: bytes) -> list[str]:
    return answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")


@pytest.mark.parametrize("name, value", UNSAFE[:12] + UNSAFE[12:17])
def test_a_route_that_builds_an_unsafe_header_sends_none_of_its_headers(any_api, http, name, value):
    any_api.app.routes["/buggy"] = {"GET": lambda request: Reply(302, b"", [(name, value), ("X-Other", "ok")])}
    response = http.get(any_api.url("/buggy"), allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 500 and response.json()["error"] == "server_error"
    assert "X-Other" not in response.headers and "Location" not in response.headers
    assert len(any_api.app.errors) == 1 and "unsafe response header" in any_api.app.errors[0]
    assert "\r" not in any_api.app.errors[0] and "a.test" not in any_api.app.errors[0]  # the value is not logged
    if any_api.transport == "loopback":  # what really went over the wire
        lines = head_lines(raw_get(any_api.host, any_api.port, "/buggy"))
        assert lines[0] == "HTTP/1.1 500 Internal Server Error"
        assert all(SAFE_LINE.fullmatch(line) for line in lines[1:]), lines
    any_api.app.errors.clear()  # the bug was put there on purpose


@pytest.mark.parametrize("request_line", [b"GET \xc2\x85\x00 HTTP/1.1", b"G\x00T\xff / HTTP/1.1"])
def test_a_malformed_request_line_is_not_echoed_into_the_status_line(request_line):
    """http.server's default puts the request line into the reason phrase: `400 Bad request syntax ('...')`."""
    from helpers import RedirectListener, serve_practice_api

    with serve_practice_api() as server, RedirectListener() as listener:
        for port in (server.port, listener.port):
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
                raw.sendall(request_line + b"\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := raw.recv(65536):
                    answer += chunk
            status_line = answer.split(b"\r\n", 1)[0]
            assert re.fullmatch(rb"HTTP/1\.[01] [45][0-9][0-9] [A-Za-z ]+", status_line), status_line
            assert all(SAFE_LINE.fullmatch(line) for line in head_lines(answer)[1:])


# -- /headers and Request.__repr__ never show a secret ----------------------------------------

SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"


@pytest.mark.parametrize("value", [SECRET, f"Bearer\t{SECRET}", f"ada:my {SECRET}", f"{SECRET} extra",
                                   f"{SECRET}\tBearer x", "Basic", f"Bearer{SECRET}"])
def test_headers_never_echoes_an_authorization_without_a_known_scheme(http, any_api, value):
    response = http.get(any_api.url("/headers"), headers={"Authorization": value}, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json()["authorization"] == "(credentials hidden)"
    assert SECRET[:6] not in response.text and "ada" not in response.text


@pytest.mark.parametrize("value, shown", [(f"Basic {SECRET}", "Basic"), (f"bearer {SECRET}", "bearer"),
                                          (f"Digest username=\"ada\", nonce=\"{SECRET}\"", "Digest")])
def test_headers_shows_a_known_scheme_and_hides_the_rest(http, any_api, value, shown):
    response = http.get(any_api.url("/headers"), headers={"Authorization": value}, timeout=TIMEOUT)
    assert response.json()["authorization"] == f"{shown} (credentials hidden)"
    assert SECRET[:6] not in response.text


def test_the_server_hides_every_header_and_field_the_client_redaction_hides():
    """The server may not import the client layer, so it keeps its own lists: they must not fall behind."""
    from helpers.client import redaction
    from helpers.practice_api.wsgi import SENSITIVE_HEADERS, SENSITIVE_PARAMETERS

    assert set(redaction.SECRET_HEADERS) <= SENSITIVE_HEADERS
    assert {name.lower() for name in redaction.SECRET_FIELDS} <= SENSITIVE_PARAMETERS


def test_request_repr_hides_every_secret_header_and_encoded_parameter_names():
    from helpers.client import redaction
    from helpers.practice_api.wsgi import Request

    headers = {name: f"{SECRET}-{n}" for n, name in enumerate(redaction.SECRET_HEADERS)}
    request = Request("GET", "/keys/whoami", query=f"api%5Fkey={SECRET}&Token={SECRET}&page=2", headers=headers)
    shown = repr(request)
    assert SECRET not in shown and "page=2" in shown
