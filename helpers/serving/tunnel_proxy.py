"""A practice forward proxy for HTTPS on loopback: `CONNECT` with Basic proxy credentials, then a tunnel.

What a company proxy does with an `https://` URL, in miniature (RFC 9110 §9.3.6 and §11.7):

1. The client sends `CONNECT host:port HTTP/1.1`, with `Proxy-Authorization: Basic ...`.
2. Without valid credentials the proxy answers 407 and a `Proxy-Authenticate` challenge.
3. With them it connects to host:port, answers 200, and from then on relays bytes both ways.
   The TLS handshake and every request inside the tunnel are between the client and the API:
   the proxy cannot read them, and headers sent on those requests never reach it.

It tunnels only to loopback addresses, so it can never relay anything to the internet, and it
records what it did, without secrets, in `log`. DEMO ONLY.
"""
from __future__ import annotations

import hmac
import ipaddress
import re
import select
import socket
import socketserver
import time

from helpers.practice_api.basic_auth import parse_basic
from helpers.serving.loopback import ClosesOnExit, LoopbackServer, serve_in_background, stop_serving
from helpers.practice_api.wsgi import HTTPError

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
MAX_HEAD = 8192  # bytes of request line and headers before the proxy gives up on a client
PORT = re.compile(r"[0-9]{1,5}")  # ASCII digits: '²'.isdigit() is True and int('²') fails
VISIBLE = re.compile(r"[!-~]{0,60}")
IDLE_SECONDS = 10  # a tunnel with no traffic either way for this long is closed


class TunnelProxy(ClosesOnExit):
    """A running proxy: pass `url` (with credentials added) in `proxies={"https": ...}`. Stop with `close()`."""

    def __init__(self, username: str, password: str, port: int = 0) -> None:
        self._credentials = (username, password)
        self.log: list[str] = []
        self.closed = False
        self._server = _Server(("127.0.0.1", port), self)
        self.host, self.port = self._server.server_address[:2]
        self._thread = serve_in_background(self._server, f"tunnel-proxy:{self.port}")

    @property
    def url(self) -> str:
        """The proxy's URL without credentials, e.g. http://127.0.0.1:53214. A closed proxy refuses, saying why,
        rather than give the URL of a port where nothing listens (requests would report a ProxyError)."""
        if self.closed:
            raise RuntimeError(f"This practice proxy (port {self.port}) was closed. Start a new one: run the cell "
                               "with serve_tunnel_proxy(...) again.")
        return f"http://{self.host}:{self.port}"

    def allows(self, header: str | None) -> tuple[bool, str]:
        """(whether a Proxy-Authorization header holds this proxy's credentials, what to log)."""
        if header is None:
            return False, "no Proxy-Authorization"
        try:
            username, password = parse_basic(header)
        except HTTPError:
            return False, "malformed Proxy-Authorization"
        expected_user, expected_password = self._credentials
        same_user = hmac.compare_digest(username.encode(), expected_user.encode())
        same_password = hmac.compare_digest(password.encode(), expected_password.encode())
        return (True, f"as {username}") if same_user and same_password else (False, "wrong proxy credentials")

    def close(self) -> None:
        """Stop accepting connections and free the port. Safe to call twice."""
        self.closed = True
        stop_serving(self._server, self._thread)

    def __repr__(self) -> str:
        return f"<practice proxy at http://{self.host}:{self.port}>"


def serve_tunnel_proxy(username: str, password: str, port: int = 0) -> TunnelProxy:
    """Start a practice HTTPS proxy on 127.0.0.1 that wants these Basic credentials."""
    return TunnelProxy(username, password, port)


def _shown(target: str) -> str:
    """The target as the log shows it: as sent if it is short visible ASCII, else quoted with escapes,
    so that a CR, LF or other control character in it cannot forge a line in the log."""
    return target if VISIBLE.fullmatch(target) else ascii(target[:60])


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = LoopbackServer.allow_reuse_address  # POSIX only: see LoopbackServer
    head_deadline = 10.0  # seconds for the whole CONNECT head, from the connection; then 408

    def __init__(self, address: tuple[str, int], proxy: TunnelProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up mid-tunnel is not news: never print to stderr."""


class _Handler(socketserver.StreamRequestHandler):
    timeout = IDLE_SECONDS
    rbufsize = 0  # unbuffered: no byte meant for the tunnel may wait in a buffer while the head is read

    def handle(self) -> None:
        proxy: TunnelProxy = self.server.proxy
        try:
            head = self._read_head(time.monotonic() + self.server.head_deadline)
        except TimeoutError:  # socket.timeout is TimeoutError from Python 3.10
            return self._answer(408, "Request Timeout",
                                f"the request head did not arrive within {self.server.head_deadline:g} s")
        self.connection.settimeout(IDLE_SECONDS)
        if head is None:
            return self._answer(400, "Bad Request", "the request line and headers are malformed or too long")
        method, target, headers = head
        if method != "CONNECT":  # RFC 9110 §15.5.6: a 405 MUST list the methods that work
            return self._answer(405, "Method Not Allowed", "this practice proxy only opens tunnels (CONNECT)",
                                [("Allow", "CONNECT")])
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        if host not in LOOPBACK_HOSTS or not PORT.fullmatch(port) or not 0 < int(port) < 65536:
            proxy.log.append(f"CONNECT {_shown(target)} -> 403 (loopback only)")
            return self._answer(403, "Forbidden", "this practice proxy tunnels to 127.0.0.1 only")
        allowed, who = proxy.allows(headers.get("proxy-authorization"))
        if not allowed:
            proxy.log.append(f"CONNECT {target} -> 407 ({who})")
            return self._answer(407, "Proxy Authentication Required", "send Proxy-Authorization: Basic ...",
                                [("Proxy-Authenticate", 'Basic realm="proxy", charset="UTF-8"')])
        try:
            upstream = socket.create_connection((host, int(port)), timeout=IDLE_SECONDS)
        except OSError:
            proxy.log.append(f"CONNECT {target} {who} -> 502 (nothing listens there)")
            return self._answer(502, "Bad Gateway", "nothing listens at that address")
        with upstream:
            if not _is_loopback(upstream):  # `localhost` is resolved by name, and a hosts file may say anything
                proxy.log.append(f"CONNECT {target} {who} -> 403 (the peer is not loopback)")
                return self._answer(403, "Forbidden", "this practice proxy tunnels to 127.0.0.1 only")
            proxy.log.append(f"CONNECT {target} {who} -> 200, tunnel open")
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            self._relay(upstream)

    def _read_head(self, deadline: float) -> tuple[str, str, dict[str, str]] | None:
        """(method, target, headers with lower-case names), or None for a malformed request.

        TimeoutError when the head is not complete by `deadline` (time.monotonic()): a per-read
        timeout alone would let a client send a byte every few seconds and hold a thread for ever.
        """
        lines, size = [], 0
        while True:
            line = self._read_line(MAX_HEAD + 1 - size, deadline)
            size += len(line)
            if not line.endswith(b"\n") or size > MAX_HEAD:
                return None
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line.decode("latin-1").rstrip("\r\n"))
        parts = lines[0].split(" ") if lines else []
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return None
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                return None
            headers[name.lower()] = value.strip()
        return parts[0], parts[1], headers

    def _read_line(self, limit: int, deadline: float) -> bytes:
        """Up to `limit` bytes, to the first LF included, read one byte at a time (nothing meant for the
        tunnel is read ahead), each read waiting no longer than what is left until `deadline`."""
        line = bytearray()
        while len(line) < limit and not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.connection.settimeout(left)
            byte = self.connection.recv(1)
            if not byte:
                break
            line += byte
        return bytes(line)

    def _answer(self, status: int, reason: str, message: str, headers: list[tuple[str, str]] = ()) -> None:
        body = f"{message}\n".encode()
        lines = [f"HTTP/1.1 {status} {reason}", "Content-Type: text/plain; charset=utf-8",
                 f"Content-Length: {len(body)}", "Connection: close", *(f"{n}: {v}" for n, v in headers)]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _relay(self, upstream: socket.socket) -> None:
        """Copy bytes both ways until either side closes or both stay silent for IDLE_SECONDS."""
        sockets = [self.connection, upstream]
        while True:
            readable, _, _ = select.select(sockets, [], [], IDLE_SECONDS)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is self.connection else self.connection).sendall(data)


def _is_loopback(connection: socket.socket) -> bool:
    """Whether the connected peer's address is a loopback address (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(connection.getpeername()[0].split("%")[0]).is_loopback
    except (OSError, ValueError):
        return False
