"""The in-process transport refuses the header names and values a real socket refuses, the same way.

On loopback, requests hands the headers to urllib3 and http.client, and http.client's
`putheader` refuses, before a byte is sent: a name that is not one token-ish run of characters
(`ValueError: Invalid header name`), a value with a CR or LF not followed by a space or tab
(`ValueError: Invalid header value`), a name that is not ASCII or a value that is not Latin-1
(`UnicodeEncodeError`). requests checks only the headers of `headers=` (InvalidHeader); whatever
an auth class sets afterwards reaches http.client unchecked.

In process, `responses` replaces the adapter, so nothing checked them: `BearerAuth(token + "\\n")`
passed exercise 1 in the notebook while it raises on a socket (review 03). Each case below runs
on both transports and must end the same way: the same exception type, or no exception.
"""
from __future__ import annotations

import pytest
import requests
from requests.auth import AuthBase

from helpers import serve_practice_api, start_practice_api
from helpers.practice_api import demo

ADA = {"username": "ada", "password": demo.password_of("ada")}


class SetHeader(AuthBase):
    """An auth class that sets one header after requests has checked `headers=`, as BearerAuth does."""

    def __init__(self, name, value) -> None:
        self.name, self.value = name, value

    def __call__(self, request):
        request.headers[self.name] = self.value
        return request


CASES = [
    # values: a CR or LF is refused unless a space or tab follows it (an obs-fold, which the server judges)
    ("X-Test", "token\n"), ("X-Test", "token\r\n"), ("X-Test", "a\rb"), ("X-Test", "a\nb"), ("X-Test", "\r\n"),
    ("X-Test", "a\r"), ("X-Test", b"a\nb"), ("X-Test", "a\r\n b"), ("X-Test", "a\n\tb"),
    # values: Latin-1 or bust; bytes and ints as they are; None is not a value
    ("X-Test", "é"), ("X-Test", "€"), ("X-Test", b"\xff"), ("X-Test", 5), ("X-Test", None),
    ("X-Test", " leading"), ("X-Test", "trailing "), ("X-Test", ""), ("X-Test", "a\x7fb"), ("X-Test", "a\x0bb"),
    # names
    ("X:Bad", "v"), ("X\nBad", "v"), (" X", "v"), ("", "v"), ("Ü", "v"), (b"X-Bytes", "v"), ("X-Ok", "v"),
]


@pytest.fixture(scope="module")
def transports():
    in_process, loopback = start_practice_api(), serve_practice_api()
    try:
        yield in_process, loopback
    finally:
        in_process.stop()
        loopback.stop()


def outcome(api, how: str, name, value) -> type | None:
    """The exception type the request raised, or None if it got an answer."""
    kwargs = {"auth": SetHeader(name, value)} if how == "auth" else {"headers": {name: value}}
    try:
        requests.get(api.url("/"), timeout=5, **kwargs)
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return type(error)
    return None


@pytest.mark.parametrize("how", ["auth", "headers"])
@pytest.mark.parametrize("name, value", CASES, ids=[f"{n!r}={v!r}" for n, v in CASES])
def test_the_same_header_is_refused_the_same_way_on_both_transports(transports, how, name, value):
    in_process, loopback = transports
    assert outcome(in_process, how, name, value) is outcome(loopback, how, name, value)


@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\r"])
def test_a_bearer_token_with_a_line_break_raises_before_sending(transports, suffix):
    """nl.py, review 03: the in-process API answered 200; on a socket, ValueError."""
    in_process, _ = transports
    token = requests.post(in_process.url("/login"), json=ADA, timeout=5).json()["access_token"]
    calls = len(in_process.calls)
    # a hand-written auth, not BearerAuth: BearerAuth itself refuses such a token (RFC 6750 §2.1) before
    # the transport sees it (test_client_review17c); this test is about the transport
    with pytest.raises(ValueError, match="^Invalid header value") as raised:
        requests.get(in_process.url("/me"), auth=SetHeader("Authorization", f"Bearer {token}{suffix}"), timeout=5)
    assert len(in_process.calls) == calls  # nothing reached the API
    assert token not in str(raised.value)  # the message names the header, never the secret


def test_a_bad_header_name_is_named_as_http_client_names_it(transports):
    in_process, _ = transports
    with pytest.raises(ValueError, match=r"^Invalid header name b'X:Bad'$"):
        requests.get(in_process.url("/"), auth=SetHeader("X:Bad", "v"), timeout=5)


def test_a_header_set_as_bytes_or_int_arrives_as_text(transports):
    """http.client sends bytes as they are and an int as its digits; the app sees Latin-1 text."""
    in_process, _ = transports
    requests.get(in_process.url("/"), auth=SetHeader(b"X-Bytes", b"caf\xe9"), timeout=5)
    requests.get(in_process.url("/"), auth=SetHeader("X-Number", 5), timeout=5)
    first, second = in_process.calls[-2:]
    assert first.header("X-Bytes") == "café" and second.header("X-Number") == "5"


def test_a_host_header_of_your_own_replaces_the_url_host(transports):
    """http.client sends no Host of its own when the request has one (putrequest(skip_host=True))."""
    for api in transports:
        requests.get(api.url("/"), headers={"Host": "api.practice.test"}, timeout=5)
        assert api.calls[-1].header("Host") == "api.practice.test"
