"""Both transports answer the same request with the same status, headers and body.

The only differences allowed are the ones a real HTTP server adds itself: `Date`
and `Server`.
"""
from __future__ import annotations

import base64
import http.client
import time

import pytest
import requests

from helpers import serve_practice_api, start_practice_api
from helpers.practice_api import demo

SERVER_ADDED = {"date", "server"}
ADA = ("ada", "analytical:engine:1843")
RO_KEY, RW_KEY = demo.api_key("ro-1"), demo.api_key("rw-2")


def basic(raw: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


# (method, path, keyword arguments): a walk through every kind of answer, lockout included
SCRIPT = [
    ("GET", "/", {}),
    ("GET", "/basic/whoami", {}),
    ("GET", "/basic/whoami", {"auth": ADA}),
    ("GET", "/basic/whoami?verbose=1", {"auth": ("grace".encode(), "Grüße-€-cobol-1959".encode())}),
    ("GET", "/basic/whoami", {"headers": {"Authorization": "Bearer abc"}}),
    ("GET", "/basic/whoami", {"headers": {"Authorization": "Basic %%%"}}),
    ("GET", "/basic/whoami", {"headers": basic(b"no-colon")}),
    ("GET", "/basic/whoami", {"headers": basic("grace:Grüße".encode("latin-1"))}),
    ("GET", "/basic/whoami", {"headers": {"Authorization": "Basic " + "A" * 5000}}),
    ("POST", "/basic/whoami", {"data": b"x=1"}),
    ("HEAD", "/basic/whoami", {}),
    ("GET", "/nowhere", {}),
    *[("GET", "/basic/whoami", {"auth": ("ada", f"guess-{n}")}) for n in range(6)],
    ("GET", "/basic/whoami", {"auth": ADA}),
    # API keys
    ("GET", "/keys/whoami", {"headers": {"X-API-Key": RO_KEY}}),
    ("GET", "/keys/whoami", {"params": {"api_key": RO_KEY}}),
    ("GET", "/keys/whoami", {"headers": {"Authorization": "Bearer " + RO_KEY}}),
    ("POST", "/keys/notes", {"headers": {"X-API-Key": RO_KEY}, "json": {"text": "hi"}}),
    ("POST", "/keys/notes", {"headers": {"X-API-Key": RW_KEY}, "json": {"text": "hi"}}),
    ("GET", "/keys/notes", {"headers": {"X-API-Key": RW_KEY}}),
    ("GET", "/keys/whoami", {"headers": {"X-API-Key": demo.api_key("rw-0")}}),
    # tokens: the answers that hold no random or time-dependent value
    ("GET", "/.well-known/jwks.json", {}),
    ("GET", "/me", {}),
    ("GET", "/me", {"headers": {"Authorization": "Bearer not.a.jwt"}}),
    ("POST", "/login", {"json": {"username": "grace", "password": "nope"}}),
    ("POST", "/login", {"data": "not json"}),
    ("POST", "/oauth/token", {"data": {"grant_type": "refresh_token", "refresh_token": "unknown"}}),
    ("POST", "/oauth/token", {"data": {"grant_type": "password"}}),
]


def answers(base_url: str) -> list[tuple[int, dict, bytes]]:
    out = []
    for method, path, kwargs in SCRIPT:
        response = requests.request(method, base_url + path, timeout=5, **kwargs)
        headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in SERVER_ADDED}
        out.append((response.status_code, headers, response.content))
    return out


@pytest.fixture
def both():
    in_process = start_practice_api()
    loopback = serve_practice_api()
    yield in_process, loopback
    loopback.stop()
    in_process.stop()
    assert in_process.app.errors == [] and loopback.app.errors == []


def test_same_answers_on_both_transports(both):
    in_process, loopback = both
    expected, got = answers(in_process.base_url), answers(loopback.base_url)
    for step, (a, b) in enumerate(zip(expected, got)):
        assert a == b, f"step {step}: {SCRIPT[step][:2]}"
    statuses = [status for status, _, _ in expected]
    assert statuses == [200, 401, 200, 200, 401, 400, 400, 400, 400, 405, 401, 404, *[401] * 5, 429, 429,
                        200, 400, 401, 403, 201, 200, 401,
                        200, 401, 401, 400, 400, 400, 400]


def test_same_requests_recorded_on_both_transports(both):
    in_process, loopback = both
    answers(in_process.base_url)
    answers(loopback.base_url)

    def seen(api):
        return [(c.method, c.path, c.query, c.header("authorization"), c.body) for c in api.calls]

    assert seen(in_process) == seen(loopback)
    assert in_process.calls[0].header("host") == "api.practice.test"
    assert loopback.calls[0].header("host") == f"127.0.0.1:{loopback.port}"


def test_loopback_keeps_connections_alive_and_stops_fast():
    with serve_practice_api() as server:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
        for _ in range(2):
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            assert response.status == 200 and response.version == 11
            assert not response.will_close, "the server closed a keep-alive connection"
        connection.close()
        assert len(server.calls) == 2
    started = time.monotonic()
    with serve_practice_api() as server:
        requests.get(server.url("/"), timeout=5)
    assert time.monotonic() - started < 0.5
    with pytest.raises(requests.ConnectionError):  # the port is free (server.url() itself now refuses)
        requests.get(server.base_url + "/", timeout=2)


def test_a_str_body_is_sent_as_utf8_on_both_transports(both):
    in_process, loopback = both
    for api in both:
        requests.post(api.url("/"), data="€ü", timeout=5)
    assert in_process.calls[-1].body == loopback.calls[-1].body == "€ü".encode("utf-8")


@pytest.mark.parametrize("path, kwargs", [("/", {}), ("/basic/whoami", {}), ("/basic/whoami", {"auth": ADA}),
                                          ("/headers", {}), ("/keys/whoami", {"headers": {"X-API-Key": RO_KEY}}),
                                          ("/nowhere", {})])
def test_head_gets_the_status_and_headers_of_get_and_no_body(any_api, path, kwargs):
    """RFC 9110 §9.3.2: HEAD is GET without the content, on either transport."""
    get = requests.get(any_api.url(path), timeout=5, **kwargs)
    head = requests.head(any_api.url(path), timeout=5, **kwargs)
    assert head.status_code == get.status_code and head.content == b""
    drop = SERVER_ADDED | {"date"}
    assert ({k.lower(): v for k, v in head.headers.items() if k.lower() not in drop}
            == {k.lower(): v for k, v in get.headers.items() if k.lower() not in drop})
    assert head.headers["Content-Length"] == str(len(get.content))


def test_a_405_allows_head_where_get_is_allowed(any_api):
    response = requests.delete(any_api.url("/keys/notes"), timeout=5)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, POST, HEAD"
    response = requests.head(any_api.url("/login"), timeout=5)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"


def test_a_body_over_the_limit_gets_the_apps_json_413_on_both_transports(both):
    """The loopback server refuses an oversized body before reading it, with the app's own answer."""
    from helpers.practice_api.wsgi import MAX_BODY_BYTES

    big = b"a=" + b"b" * MAX_BODY_BYTES
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    got = []
    for api in both:
        response = requests.post(api.url("/oauth/token"), data=big, headers=form, timeout=5)
        got.append((response.status_code,
                    {k.lower(): v for k, v in response.headers.items() if k.lower() not in SERVER_ADDED | {"connection"}},
                    response.content))
    assert got[0] == got[1]
    assert got[0][0] == 413 and got[0][1]["content-type"] == "application/json"
    assert got[0][2].decode() == ('{"error": "invalid_request", "error_description": '
                                  f'"The body is larger than {MAX_BODY_BYTES} bytes."}}')
    chunked = requests.post(both[1].url("/oauth/token"), data=iter([big[:1000], big[1000:]]), headers=form, timeout=5)
    assert (chunked.status_code, chunked.content) == (413, got[0][2])
    assert chunked.headers["Connection"] == "close"
    assert in_process_calls_match(both)


def in_process_calls_match(both) -> bool:
    """Neither transport records a request it refused before reading its body."""
    return [c.path for c in both[0].calls] == [c.path for c in both[1].calls] == []


@pytest.mark.parametrize("value", ["a b/c", "", "a/b", "[zz::1]", "a:8x"])
def test_an_invalid_host_is_400_on_both_transports(both, value):
    """RFC 9112 §3.2: a Host field with an invalid value gets 400; the in-process transport sent it
    to the app, which answered 200, while the loopback server refused it."""
    for api in both:
        response = requests.get(api.url("/headers"), headers={"Host": value}, timeout=5)
        assert response.status_code == 400, (api.transport, response.text[:200])
        assert "Host" in response.text
    assert all(call.header("host") != value for api in both for call in api.calls)  # not recorded as a request


@pytest.mark.parametrize("value", ["api.practice.test", "localhost:8080", "[::1]:443", "%41b:"])
def test_a_valid_host_is_served_on_both_transports(both, value):
    for api in both:
        assert requests.get(api.url("/headers"), headers={"Host": value}, timeout=5).json()["host"] == value
