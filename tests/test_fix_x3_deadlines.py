"""Review RV3: the tunnel proxy and the redirect listener read a request head within a whole-request deadline
(a head trickled byte by byte used to hold a thread for ever), answering 408 with a reason; and the proxy
tunnels only to a peer that is loopback once connected (it resolves `localhost` by name)."""
from __future__ import annotations

import socket
import time

import pytest

from helpers import serve_tunnel_proxy
from helpers.serving import tunnel_proxy
from helpers.serving.redirect_listener import RedirectListener

DEADLINE = 0.5


def _trickle(port: int, head: bytes, seconds: float = 3.0) -> bytes:
    """Send `head` one byte every 50 ms (never finishing it) for up to `seconds`; return what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.settimeout(0.05)
        end, received = time.monotonic() + seconds, b""
        for byte in (head * 100)[: int(seconds / 0.05)]:
            if time.monotonic() > end:
                break
            try:
                client.sendall(bytes([byte]))
            except OSError:  # the server closed the connection
                break
            try:
                chunk = client.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
        return received


def test_the_proxy_answers_408_to_a_head_trickled_past_its_deadline():
    with serve_tunnel_proxy("ada", "secret") as proxy:
        proxy._server.head_deadline = DEADLINE
        start = time.monotonic()
        answer = _trickle(proxy.port, b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
        assert b"did not arrive within 0.5 s" in answer
        assert time.monotonic() - start < 2.5


def test_the_redirect_listener_answers_408_to_a_head_trickled_past_its_deadline():
    with RedirectListener() as listener:
        listener._server.request_deadline = DEADLINE
        answer = _trickle(listener.port, b"GET /callback?code=abc HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        assert b" 408 " in answer.split(b"\r\n", 1)[0], answer[:80]


class _FarAwaySocket:
    """What create_connection would return had `localhost` resolved to a public address."""

    closed = False

    def getpeername(self):
        return ("203.0.113.7", 443)

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def test_the_proxy_refuses_a_tunnel_whose_peer_is_not_loopback(monkeypatch):
    far = _FarAwaySocket()
    monkeypatch.setattr(tunnel_proxy.socket, "create_connection", lambda *args, **kwargs: far)
    with serve_tunnel_proxy("ada", "secret") as proxy:
        with socket.socket() as client:  # a real socket: create_connection is replaced for the proxy
            client.settimeout(5)
            client.connect(("127.0.0.1", proxy.port))
            client.sendall(b"CONNECT localhost:443 HTTP/1.1\r\nProxy-Authorization: Basic YWRhOnNlY3JldA==\r\n\r\n")
            answer = client.recv(4096)
    assert answer.startswith(b"HTTP/1.1 403 "), answer[:80]
    assert far.closed
    assert any("403" in line and "not loopback" in line for line in proxy.log)
