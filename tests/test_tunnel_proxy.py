"""The practice HTTPS proxy of notebook 07: CONNECT, 407 and Proxy-Authenticate, the tunnel, and the
HTTPProxyAuth trap (its header goes inside the tunnel to the API, and the proxy never gets it)."""
from __future__ import annotations

import socket
from urllib.parse import quote

import pytest
import requests
from requests.auth import HTTPProxyAuth

from conftest import free_port
from helpers import serve_practice_api, serve_tunnel_proxy

USER, PASSWORD = "ada", "p@ss:word/1"  # '@', ':' and '/' must be percent-encoded in a proxy URL
TIMEOUT = 5


@pytest.fixture(scope="module")
def tls_api():
    with serve_practice_api(tls=True) as api:
        yield api


@pytest.fixture
def proxy():
    with serve_tunnel_proxy(USER, PASSWORD) as proxy:
        yield proxy


def proxy_url(proxy, user: str = USER, password: str = PASSWORD) -> str:
    return f"http://{quote(user, safe='')}:{quote(password, safe='')}@{proxy.host}:{proxy.port}"


def get_headers(tls_api, proxy_address: str, **kwargs) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False  # this test names its proxy; no NO_PROXY or HTTPS_PROXY from the machine
        return session.get(tls_api.url("/headers"), proxies={"https": proxy_address}, verify=tls_api.ca_bundle,
                           timeout=TIMEOUT, **kwargs)


def raw(proxy, data: bytes) -> bytes:
    """Send bytes to the proxy, return all it answers before closing."""
    with socket.create_connection((proxy.host, proxy.port), timeout=TIMEOUT) as connection:
        connection.sendall(data)
        chunks = []
        while chunk := connection.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


def test_credentials_in_the_proxy_url_open_the_tunnel_and_stay_with_the_proxy(tls_api, proxy):
    response = get_headers(tls_api, proxy_url(proxy))
    assert response.status_code == 200
    assert response.json()["proxy-authorization"] is None  # the API never saw the proxy's credentials
    assert response.json()["authorization"] is None
    assert proxy.log == [f"CONNECT 127.0.0.1:{tls_api.port} as ada -> 200, tunnel open"]


def test_http_proxy_auth_alone_gets_407_from_the_proxy(tls_api, proxy):
    calls_before = len(tls_api.calls)
    with pytest.raises(requests.exceptions.ProxyError, match="407 Proxy Authentication Required"):
        get_headers(tls_api, proxy.url, auth=HTTPProxyAuth(USER, PASSWORD))
    assert proxy.log == [f"CONNECT 127.0.0.1:{tls_api.port} -> 407 (no Proxy-Authorization)"]
    assert len(tls_api.calls) == calls_before  # nothing got through


def test_http_proxy_auth_sends_the_proxy_password_inside_the_tunnel_to_the_api(tls_api, proxy):
    response = get_headers(tls_api, proxy_url(proxy), auth=HTTPProxyAuth(USER, PASSWORD))
    assert response.status_code == 200
    assert response.json()["proxy-authorization"] == "(hidden)"  # the leak: the API received it


@pytest.mark.parametrize("user, password", [(USER, "wrong"), ("grace", PASSWORD), (USER, PASSWORD + "x")])
def test_wrong_proxy_credentials_get_407(tls_api, proxy, user, password):
    with pytest.raises(requests.exceptions.ProxyError, match="407"):
        get_headers(tls_api, proxy_url(proxy, user, password))
    assert proxy.log[-1].endswith("-> 407 (wrong proxy credentials)")


def test_a_407_carries_a_basic_challenge(proxy):
    answer = raw(proxy, b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 407 Proxy Authentication Required\r\n")
    assert b'\r\nProxy-Authenticate: Basic realm="proxy", charset="UTF-8"\r\n' in answer


@pytest.mark.parametrize("request_bytes, status, log", [
    (b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"405", None),
    (b"CONNECT example.com:443 HTTP/1.1\r\n\r\n", b"403", "CONNECT example.com:443 -> 403 (loopback only)"),
    (b"CONNECT 127.0.0.1:https HTTP/1.1\r\n\r\n", b"403", "CONNECT 127.0.0.1:https -> 403 (loopback only)"),
    (b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nProxy-Authorization: Basic !!!\r\n\r\n", b"407",
     "CONNECT 127.0.0.1:443 -> 407 (malformed Proxy-Authorization)"),
    (b"CONNECT 127.0.0.1:443\r\n\r\n", b"400", None),
    (b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nno colon here\r\n\r\n", b"400", None),
    (b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n", b"400", None),
    (b"CONNECT 127.0.0.1:443 HTTP/1.1\r\n", b"400", None),  # the client stops before the blank line
], ids=["not-connect", "not-loopback", "port-not-a-number", "malformed-basic", "no-version", "bad-header",
        "head-too-long", "cut-short"])
def test_malformed_or_forbidden_requests_get_a_clear_answer(proxy, request_bytes, status, log):
    with socket.create_connection((proxy.host, proxy.port), timeout=TIMEOUT) as connection:
        connection.sendall(request_bytes)
        connection.shutdown(socket.SHUT_WR)  # no more bytes: a cut-short head is final
        answer = b"".join(iter(lambda: connection.recv(4096), b""))
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:80]
    assert answer.endswith(b"\n") and b"Connection: close" in answer
    if log:
        assert proxy.log[-1] == log


def test_nothing_listening_behind_the_proxy_is_502(proxy):
    port = free_port()
    answer = raw(proxy, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n"
                        f"Proxy-Authorization: Basic YWRhOnBAc3M6d29yZC8x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert proxy.log[-1] == f"CONNECT 127.0.0.1:{port} as ada -> 502 (nothing listens there)"


def test_one_tunnel_carries_many_requests_and_close_frees_the_port(tls_api):
    proxy = serve_tunnel_proxy(USER, PASSWORD)
    with requests.Session() as session:
        session.trust_env = False
        for _ in range(3):
            session.get(tls_api.url("/"), proxies={"https": proxy_url(proxy)}, verify=tls_api.ca_bundle,
                        timeout=TIMEOUT).raise_for_status()
    assert len(proxy.log) == 1  # keep-alive: one CONNECT, three requests inside the tunnel
    proxy.close()
    proxy.close()  # safe twice
    with pytest.raises(OSError):
        socket.create_connection((proxy.host, proxy.port), timeout=1)
    assert repr(proxy) == f"<practice proxy at http://127.0.0.1:{proxy.port}>"


def test_a_405_lists_connect_in_allow(proxy):
    """RFC 9110 §15.5.6: a 405 MUST carry Allow."""
    answer = raw(proxy, b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 405 ") and b"\r\nAllow: CONNECT\r\n" in answer


@pytest.mark.parametrize("target", ["127.0.0.1:1\rX", "127.0.0.1:1\nGET / HTTP/1.1", "127.0.0.1:\xb2",
                                    "127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:\x1b[31m"])
def test_a_bad_port_is_403_and_logged_without_control_characters(proxy, target):
    answer = raw(proxy, f"CONNECT {target} HTTP/1.1\r\n\r\n".encode("latin-1"))
    if "\n" in target:  # the line ends at the LF: what follows is a header line without a colon
        assert answer.startswith(b"HTTP/1.1 400 ")
        return
    assert answer.startswith(b"HTTP/1.1 403 "), answer[:60]
    assert proxy.log[-1].endswith(" -> 403 (loopback only)")
    assert proxy.log[-1].isprintable() and proxy.log[-1].isascii()
