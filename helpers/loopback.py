"""Loopback transport: the practice API as a real HTTP server on 127.0.0.1.

Use it for clients that `responses` cannot intercept: http.client, urllib (PyJWT's
PyJWKClient), curl, Postman, a browser. It speaks HTTP/1.1 with keep-alive, so
connection reuse can be measured, and it listens on loopback only.

    with serve_practice_api() as api:            # a free port, in a background thread
        requests.get(api.url("/basic/whoami"), auth=("ada", "..."), timeout=5)
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from helpers.app import PracticeAPI
from helpers.gateway import PracticeAPIHandle, call_app, make_environ
from helpers.wsgi import MAX_BODY_BYTES

Log = Callable[[str], None]


class _Handler(BaseHTTPRequestHandler):
    """Reads one HTTP request at a time from a connection and passes it to the app."""

    protocol_version = "HTTP/1.1"  # keep-alive: one connection can carry many requests
    server_version = "practice-api"
    timeout = 30  # close idle keep-alive connections
    disable_nagle_algorithm = True  # small responses go out at once, not after a delayed ACK (~40 ms)
    server: "_Server"

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        environ = make_environ(method=self.command, target=self.path, headers=self.headers.items(), body=body,
                               scheme="http", host=self.server.server_address[0], port=self.server.server_address[1])
        status, reason, headers, payload = call_app(self.server.app, environ)
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self.send_error(400, "Bad Content-Length")
            return None
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes | None:
        body = b""
        while True:
            size_line = self.rfile.readline(100).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                self.send_error(400, "Bad chunk size")
                return None
            if size == 0:
                while self.rfile.readline(1000) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return body
            body += self.rfile.read(size)
            self.rfile.readline(3)
            if len(body) > MAX_BODY_BYTES:
                self.send_error(413)
                return None

    def version_string(self) -> str:
        return self.server_version

    def log_request(self, code="-", size="-") -> None:
        if self.server.log:
            self.server.log(f"{self.command} {self.path} -> {code}")

    def log_message(self, format: str, *args) -> None:
        """Quiet: the default writes to stderr, which notebooks must keep clean."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # never wait for idle keep-alive connections at shutdown

    def __init__(self, address: tuple[str, int], app: PracticeAPI, log: Log | None) -> None:
        self.app = app
        self.log = log
        super().__init__(address, _Handler)


class LoopbackAPI(PracticeAPIHandle):
    """A running server. Stop it with `stop()` or by using it as a context manager."""

    transport = "loopback"

    def __init__(self, app: PracticeAPI, host: str = "127.0.0.1", port: int = 0, log: Log | None = None) -> None:
        self.server = _Server((host, port), app, log)
        self.host, self.port = self.server.server_address[:2]
        super().__init__(app, f"http://{self.host}:{self.port}")
        app.issuer = self.base_url  # tokens and OAuth metadata name the address clients reach
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"practice-api:{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests and free the port (takes about 0.05 s)."""
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join()
        self.server.server_close()

    def __enter__(self) -> "LoopbackAPI":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def serve_practice_api(port: int = 0, *, host: str = "127.0.0.1", log: Log | None = None) -> LoopbackAPI:
    """Serve a fresh practice API on loopback. Port 0 picks a free port."""
    return LoopbackAPI(PracticeAPI(), host=host, port=port, log=log)
