"""Loopback transport: the practice API as a real HTTP server on 127.0.0.1.

Use it for clients that `responses` cannot intercept: http.client, urllib (PyJWT's
PyJWKClient), curl, Postman, a browser. It speaks HTTP/1.1 with keep-alive, so
connection reuse can be measured, and it listens on loopback only.

    with serve_practice_api() as api:            # a free port, in a background thread
        requests.get(api.url("/basic/whoami"), auth=("ada", "..."), timeout=5)

    with serve_practice_api(tls=True) as api:    # HTTPS, with a throw-away local CA
        requests.get(api.url("/mtls/whoami"), verify=api.ca_bundle, cert=api.client_cert, timeout=5)
"""
from __future__ import annotations

import io
import ipaddress
import os
import re
import shutil
import socket
import ssl
import socketserver
import threading
import time
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, TypeVar

from helpers.practice_api.app import PracticeAPI
from helpers.serving.gateway import PracticeAPIHandle, call_app, make_environ
from helpers.practice_api.wsgi import CONTENT_LENGTH, HEADER_NAME, MAX_BODY_BYTES, valid_host

Log = Callable[[str], None]
_Closing = TypeVar("_Closing", bound="ClosesOnExit")
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")  # not int(x, 16): it takes '-1', '+2', '0x2' and spaces
OWS = " \t"  # optional whitespace around a field value is not part of it (RFC 9110 §5.5)
MAX_LINE = 8192
# What http.server's log_message does to a logged line (its _control_char_table, gh-100001), kept here:
# older patch releases lack that private table. The request line is Latin-1, so C0, DEL and C1 are every control character.
CONTROL_CHARACTERS = str.maketrans({ord("\\"): r"\\", **{c: rf"\x{c:02x}" for c in (*range(0x20), *range(0x7f, 0xa0))}})
MAX_TRAILERS = 100
# request-target (RFC 9112 §3.2) is made of URI characters (RFC 3986 §2): printable ASCII, no space.
REQUEST_TARGET = re.compile(r"[\x21-\x7e]+")


def field_line_problem(lines: list[bytes]) -> str | None:
    """Why these raw header lines break RFC 9112 §5, or None. The reason never quotes the request."""
    for raw in lines:
        line = raw.decode("latin-1")
        if line in ("\r\n", "\n"):
            break
        line = line[:-2] if line.endswith("\r\n") else line.rstrip("\n")
        if line[:1] in (" ", "\t"):
            return "A header line starts with a space or tab (obs-fold, RFC 9112 §5.2): send each field on one line."
        name, colon, value = line.partition(":")
        if not colon or not HEADER_NAME.fullmatch(name):  # a name is a token (RFC 9110 §5.1)
            return "A header line is not 'Name: value', or has whitespace before the colon (RFC 9112 §5.1)."
        if "\x00" in value or "\r" in value:
            return "A header value holds a NUL or a bare CR (RFC 9110 §5.5)."
    return None


class _LineRecorder:
    """Wraps the request's input while http.server reads the header lines, and keeps a copy of them."""

    def __init__(self, file) -> None:
        self.file = file
        self.lines: list[bytes] = []

    def readline(self, limit: int = -1) -> bytes:
        line = self.file.readline(limit)
        self.lines.append(line)
        return line

    def __getattr__(self, name: str):
        return getattr(self.file, name)


class _RequestTimeout(Exception):
    """The whole request (head and body) did not arrive within the server's request deadline."""


class _DeadlineReader(socket.SocketIO):
    """The connection's raw input: each read waits no longer than what is left of the request deadline.

    A per-read timeout alone lets a client send one header line every 29 s and hold a thread for
    ever. The deadline starts with the first byte of a request and ends when the handler has read
    it all; between requests only the handler's idle `timeout` applies.
    """

    def __init__(self, connection: socket.socket, handler: "_Handler") -> None:
        super().__init__(connection, "rb")
        self.connection, self.handler = connection, handler

    def readinto(self, buffer) -> int | None:
        deadline = self.handler.deadline
        if deadline is None:
            self.connection.settimeout(self.handler.timeout)
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _RequestTimeout
            self.connection.settimeout(min(left, self.handler.timeout))
        try:
            count = super().readinto(buffer)
        except TimeoutError:  # socket.timeout is TimeoutError from Python 3.10
            if deadline is not None:
                raise _RequestTimeout from None
            raise
        if count and deadline is None and self.handler.reading_request:
            self.handler.deadline = time.monotonic() + self.handler.server.request_deadline
        return count


class SafeErrorsHandler(BaseHTTPRequestHandler):
    """http.server's handler, minus one habit: echoing a malformed request line into the status line.

    For a request line it cannot parse, http.server answers `400 Bad request syntax ('<the line>')`,
    so a client's non-ASCII bytes go out in the response head. Here the head gets the standard
    reason phrase, and the message goes into the HTML body, which http.server escapes.
    """

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        super().send_error(code, None, message if explain is None else explain)


class DeadlineHandler(SafeErrorsHandler):
    """Reads each request within `server.request_deadline` seconds of its first byte, else answers 408.

    The practice API's handler and the redirect listener's: a thread per connection is fine only
    if no client can hold one for ever by trickling a request byte by byte.
    """

    deadline: float | None = None  # when the request being read must be complete (time.monotonic())
    reading_request = False
    command = path = requestline = ""  # until a request line is parsed: what log_request shows
    request_version = "HTTP/1.1"  # a 408 before the request line is parsed still gets a status line

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # http.server's reader: nothing read yet. This one keeps the request deadline
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self))

    def handle_one_request(self) -> None:
        """One request, read within `server.request_deadline` seconds of its first byte, else 408."""
        self.deadline, self.reading_request = None, True
        self.command = self.path = ""  # not the previous request's, if this one times out in its request line
        try:
            super().handle_one_request()
        except _RequestTimeout:
            self.reading_request, self.deadline = False, None
            self.connection.settimeout(self.timeout)
            self.send_error(408, f"The request did not arrive within {self.server.request_deadline:g} s.")
            self.close_connection = True
        finally:
            self.reading_request, self.deadline = False, None


class _Handler(DeadlineHandler):
    """Reads one HTTP request at a time from a connection and passes it to the app."""

    protocol_version = "HTTP/1.1"  # keep-alive: one connection can carry many requests
    server_version = "practice-api"
    timeout = 30  # close idle keep-alive connections
    disable_nagle_algorithm = True  # small responses go out at once, not after a delayed ACK (~40 ms)
    server: "_Server"

    header_lines: list[bytes] = []  # the raw field lines of the request being parsed

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()  # here, in this connection's thread, not in the accept loop
        super().setup()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """As SafeErrorsHandler; and a request line that names a version gets a status line.

        http.server refuses `GET / HTTP/2.0` (505) or a malformed version (400) before it records
        the version, so it answers as to HTTP/0.9: only the HTML, no status line, no headers.
        """
        if self.request_version == "HTTP/0.9" and len(getattr(self, "requestline", "").split()) >= 3:
            self.request_version = "HTTP/1.1"
        super().send_error(code, message, explain)

    def parse_request(self) -> bool:
        """http.server's parsing, plus the checks of RFC 9112 it leaves out (§3.2, §5.1, §5.2).

        http.server hands the header lines to the email parser, which keeps a folded line, and
        stops reading fields at a line like `Authorization : ...` without a word: the request
        would then be answered without the header its sender meant. So the raw lines are kept
        as they are read, and checked here.
        """
        lines = _LineRecorder(self.rfile)
        self.rfile, self.header_lines = lines, lines.lines
        try:
            if not super().parse_request():
                return False
        finally:
            self.rfile = lines.file
        valid = self._head_is_valid()
        self.header_lines = []  # up to ~6 MB: not kept on the connection until its next request
        if valid and "close" in self._connection_options():
            self.close_connection = True  # http.server closes only if the whole value is "close"
        return valid

    def _connection_options(self) -> set[str]:
        """The Connection field's options, lower-case: a comma-separated list (RFC 9110 §7.6.1)."""
        return {option.strip(OWS).lower() for value in self.headers.get_all("Connection") or []
                for option in value.split(",")}

    def _head_is_valid(self) -> bool:
        """Check the field lines and Host; after refusing them with 400 (which closes), False."""
        problem = self._target_problem() or field_line_problem(self.header_lines) or self._host_problem()
        if problem:
            self.send_error(400, problem)  # send_error also closes the connection
            return False
        return True

    def handle_expect_100(self) -> bool:
        """Send 100 (Continue) only for a request that will be read: a head that is refused gets its
        final status at once, as RFC 9110 §10.1.1 asks, and the client need not send the body."""
        if not self._head_is_valid():
            return False
        framing = self._framing()
        if framing is None:
            return False
        if framing != "chunked" and framing > MAX_BODY_BYTES:
            self._too_large(framing)
            return False
        return super().handle_expect_100()

    def _target_problem(self) -> str | None:
        """Why the request-target breaks RFC 9112 §3.2, or None; the reason never quotes it.

        http.server splits the request line with str.split(), at any Unicode whitespace: in
        `GET /\x85 HTTP/1.1` (Latin-1 NEL) it would serve `/`. And it takes any other byte in the
        target, a control character too. So the target must be the second word of the line split at
        SP (RFC 9112 §3), and printable ASCII."""
        if self.requestline.split(" ")[1:2] != [self.path] or not REQUEST_TARGET.fullmatch(self.path):
            return ("The request-target must be printable ASCII: percent-encode anything else "
                    "(RFC 9112 §3.2, RFC 3986 §2.1).")
        return None

    def _host_problem(self) -> str | None:
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            return "A request has one Host header, not several (RFC 9112 §3.2)."
        if not hosts and self.request_version == "HTTP/1.1":
            return "An HTTP/1.1 request needs a Host header (RFC 9112 §3.2)."
        if hosts and not valid_host(hosts[0].strip(OWS)):
            return "The Host header is not host[:port], such as 127.0.0.1:8080 (RFC 9112 §3.2, RFC 3986 §3.2.2)."
        return None

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        self._answer(body)

    def _answer(self, body: bytes, declared_length: int | None = None) -> None:
        """Pass the request to the app and send its answer. The request has been read: the deadline ends."""
        self.reading_request, self.deadline = False, None
        self.connection.settimeout(self.timeout)
        tls = isinstance(self.request, ssl.SSLSocket)
        extra = {"REMOTE_ADDR": self.client_address[0], **(self._client_certificate() if tls else {})}
        if declared_length is not None:  # a body too large to read: the app refuses it from its length alone
            extra["CONTENT_LENGTH"] = str(declared_length)
        environ = make_environ(method=self.command, target=self.path, headers=self.headers.items(), body=body,
                               scheme="https" if tls else "http", host=self.server.server_address[0],
                               port=self.server.server_address[1], extra=extra)
        status, reason, headers, payload = call_app(self.server.app, environ)
        late = self.server.app.faults.delay(environ["PATH_INFO"])
        if late:
            time.sleep(late)  # a slow server (app.faults.slow): handled, and answered late
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:  # say so, as RFC 9112 §9.6 asks of a server that will close
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes | None:
        """The body, framed as RFC 9112 §6.3 says; or None after answering a request whose framing is wrong.

        Every refusal here closes the connection (send_error does): when the framing is in doubt,
        the server cannot know where the next request starts.
        """
        framing = self._framing()
        if framing is None:
            return None
        if framing == "chunked":
            return self._read_chunked()
        if framing > MAX_BODY_BYTES:
            return self._too_large(framing)
        body = self.rfile.read(framing)
        if len(body) < framing:
            self.send_error(400, "The body is shorter than its Content-Length.")
            return None
        return body

    def _framing(self) -> "str | int | None":
        """How the body is framed: "chunked", or its Content-Length (0 without one); None after refusing it.

        The head alone decides (RFC 9112 §6.3): handle_expect_100 asks this too, before any body is sent.
        """
        values = self.headers.get_all("Transfer-Encoding")
        # RFC 9110 §5.6.1: empty list elements (",chunked") are ignored; a field with none left is refused below
        codings = [coding.strip(OWS).lower() for value in values or [] for coding in value.split(",")
                   if coding.strip(OWS)]
        lengths = [value.strip(OWS) for value in self.headers.get_all("Content-Length") or []]
        if values is not None:
            if self.request_version == "HTTP/1.0":  # §6.1: HTTP/1.0 has no transfer codings; the framing is faulty
                self.send_error(400, "HTTP/1.0 has no Transfer-Encoding: send a Content-Length (RFC 9112 §6.1).")
                return None
            if lengths:  # §6.1: the request may be an attempt at smuggling; close after answering it
                self.close_connection = True
            if not codings or codings[-1] != "chunked" or "chunked" in codings[:-1]:
                self.send_error(400, "Transfer-Encoding must end with chunked, once (RFC 9112 §6.3).")
                return None
            if len(codings) > 1:
                self.send_error(501, "This server decodes only the chunked transfer coding (RFC 9112 §6.1).")
                return None
            return "chunked"
        if len(lengths) > 1 or (lengths and not CONTENT_LENGTH.fullmatch(lengths[0])):
            self.send_error(400, "Send one Content-Length of decimal digits (RFC 9112 §6.3).")
            return None
        return int(lengths[0]) if lengths else 0

    def _read_chunked(self) -> bytes | None:
        """A chunked body (RFC 9112 §7.1). Each size is checked against the limit before its data is read."""
        body = bytearray()  # not bytes: body += data would copy the whole body for every chunk
        while True:
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise _RequestTimeout  # chunks already buffered are read without waiting on the socket
            line = self.rfile.readline(MAX_LINE + 1)
            # one CRLF (or LF, RFC 9112 §2.2) ends the line; any other CR is refused (in the size or the extension)
            content = line[:-2] if line.endswith(b"\r\n") else line[:-1]
            size_text = content.split(b";")[0].rstrip(b" \t")  # BWS may precede an extension
            if not line.endswith(b"\n") or b"\r" in content or not CHUNK_SIZE.fullmatch(size_text):
                self.send_error(400, "A chunk size is hex digits only (RFC 9112 §7.1).")
                return None
            size = int(size_text, 16)
            if size == 0:
                return bytes(body) if self._skip_trailers() else None
            if len(body) + size > MAX_BODY_BYTES:
                return self._too_large(len(body) + size)
            data = self.rfile.read(size)
            if len(data) < size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                self.send_error(400, "A chunk's data must be as long as its size, then CRLF (RFC 9112 §7.1).")
                return None
            body += data

    def _too_large(self, length: int) -> None:
        """Answer a body over the limit with the app's own 413, as in-process, unread; then close."""
        self.close_connection = True  # the unread rest of the body is not a next request
        self._answer(b"", declared_length=length)
        return None

    def _skip_trailers(self) -> bool:
        """Read the trailer section and ignore it, as §7.1.2 allows. False after refusing it."""
        for _ in range(MAX_TRAILERS):
            line = self.rfile.readline(MAX_LINE + 1)
            if line in (b"\r\n", b"\n"):
                return True
            if not line.endswith(b"\n"):
                break
        self.send_error(400, "The trailer section is malformed or too long.")
        return False

    def _client_certificate(self) -> dict[str, str]:
        """What mod_ssl would put in the environ: the verified client certificate's common name, and the
        certificate itself as PEM (`SSL_CLIENT_CERT`), which certificate-bound tokens hash (RFC 8705 §3.1)."""
        certificate = self.request.getpeercert() or {}
        if not certificate:  # none sent (CERT_OPTIONAL); an unverified one never gets past the handshake
            return {}
        names = dict(pair for rdn in certificate.get("subject", ()) for pair in rdn)
        der = self.request.getpeercert(binary_form=True)
        return {**({"SSL_CLIENT_S_DN_CN": names["commonName"]} if "commonName" in names else {}),
                **({"SSL_CLIENT_CERT": ssl.DER_cert_to_PEM_cert(der)} if der else {})}

    def version_string(self) -> str:
        return self.server_version

    def log_request(self, code="-", size="-") -> None:
        """One line per request. The target is the client's: its control characters are escaped, as
        http.server's log_message does, so that no terminal escape sequence reaches the console."""
        if self.server.log:
            line = f"{self.command or '-'} {self.path or '-'} -> {getattr(code, 'value', code)}"
            self.server.log(line.translate(CONTROL_CHARACTERS))

    def log_message(self, format: str, *args) -> None:
        """Quiet: the default writes to stderr, which notebooks must keep clean."""


def serve_in_background(server: socketserver.BaseServer, name: str) -> threading.Thread:
    """Run `server.serve_forever()` in a daemon thread, and return the thread.

    serve_forever notices `server.shutdown()` at its next poll: every 10 ms keeps stopping quick,
    and an idle server waking 100 times a second costs nothing measurable.
    """
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, name=name, daemon=True)
    thread.start()
    return thread


class ClosesOnExit:
    """For the servers with a close(): `with X(...) as x:` closes x when the block ends, even after an error."""

    def __enter__(self: _Closing) -> _Closing:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def stop_serving(server: socketserver.BaseServer, thread: threading.Thread) -> None:
    """Undo serve_in_background: end serve_forever, wait for its thread, and free the port. Safe twice.

    The loopback API, the redirect listener and the proxy all stop this way.
    """
    if thread.is_alive():
        server.shutdown()
        thread.join()
    server.server_close()


class LoopbackServer(ThreadingHTTPServer):
    """What every practice HTTP server on 127.0.0.1 shares (the API's, the redirect listener's).

    - A thread per connection, daemonic: stopping never waits for a browser's idle keep-alive.
    - No reverse DNS lookup of the address at bind (HTTPServer's getfqdn can take seconds).
    - SO_REUSEADDR only on POSIX, where it lets a restarted server take its port back from
      connections in TIME_WAIT. On Windows the option means something else: a second socket may
      bind a port another server is listening on, so a taken port would not be noticed.
    - No traceback on stderr when a client hangs up early.
    """

    daemon_threads = True
    allow_reuse_address = os.name != "nt"
    request_deadline = 10.0  # seconds for a whole request, head and body, from its first byte; then 408

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[0], self.server_address[1]

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up, or fails the TLS handshake, is not news."""


class _Server(LoopbackServer):
    """One thread per connection, and no cap on their number, on purpose.

    The server listens on loopback only, for one learner: whoever could open connections to it can
    already use the machine. What a slow or silent client may hold is a thread for a bounded time:
    `request_deadline` for a request, `_Handler.timeout` idle between requests. A cap would only
    turn a flood into the learner's own requests being refused.
    """

    def __init__(self, address: tuple[str, int], app: PracticeAPI, log: Log | None,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.log = log
        self.tls_context = tls_context
        super().__init__(address, _Handler)

    def get_request(self):
        connection, address = super().get_request()
        if self.tls_context:  # the handshake happens later, in the connection's own thread
            connection = self.tls_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request, client_address) -> None:
        """Never print to stderr; a line in the server's own log instead."""
        if self.log:
            self.log(f"connection from {client_address[0]} ended with an error")


class LoopbackAPI(PracticeAPIHandle):
    """A running server. Stop it with `stop()` or by using it as a context manager."""

    transport = "loopback"

    def __init__(self, app: PracticeAPI, host: str = "127.0.0.1", port: int = 0, log: Log | None = None,
                 tls: bool = False) -> None:
        address = _loopback_address(host)
        self.pki = None
        if tls:
            from helpers.serving.tls import make_local_pki  # imported here: trustme is needed only for HTTPS

            self.pki = make_local_pki()
        self.server = _Server((address, port), app, log, self.pki.server_context if self.pki else None)
        self.host, self.port = self.server.server_address[:2]
        super().__init__(app, f"{'https' if tls else 'http'}://{self.host}:{self.port}")
        app.issuer = self.base_url  # tokens and OAuth metadata name the address clients reach
        app.other_origin = self.base_url.replace("127.0.0.1", "localhost")  # same server, another host name
        self.stopped = False
        self._thread = serve_in_background(self.server, f"practice-api:{self.port}")
        # when this object goes (or the interpreter exits) without stop(): the server stops, then its CA folder
        # goes. The finalizer holds the server, its thread and the folder, never this object.
        self._finalizer = weakref.finalize(self, _stop_and_remove, self.server, self._thread,
                                           str(self.pki.folder) if self.pki else None)

    def url(self, path: str) -> str:
        """The full URL of an endpoint: api.url("/basic/whoami"). A stopped server refuses, saying why."""
        self._require_running()
        return super().url(path)

    @property
    def ca_bundle(self) -> str:
        """The local CA's certificate (PEM), for `verify=`. Only with tls=True."""
        return str(self._require_pki().ca_bundle)

    @property
    def client_cert(self) -> tuple[str, str]:
        """A client certificate and its key signed by the local CA, for `cert=`. Only with tls=True."""
        return tuple(str(path) for path in self._require_pki().client_cert)

    def _require_pki(self):
        if self.pki is None:
            raise RuntimeError("This server speaks plain HTTP: start it with serve_practice_api(tls=True).")
        self._require_running()
        return self.pki

    def _require_running(self) -> None:
        """Refuse to hand out the URL or the CA files of a stopped server, and say what to do.

        Without this, a cell re-run after stop() gets a port nobody listens on, or the path of a
        CA file stop() deleted, and requests fails far from the cause.
        """
        if self.stopped:
            files = ", and its CA files are deleted" if self.pki is not None else ""
            raise RuntimeError(f"This practice API ({self.base_url}) was stopped, by stop() or at the end of "
                               f"its with block{files}. Start a new one: run the cell with "
                               "serve_practice_api(...) again.")

    def stop(self) -> None:
        """Stop accepting requests, free the port (within about 10 ms) and delete the CA files. Safe twice.

        Without stop(), the server stops and its CA folder goes when this object does, or at interpreter exit.
        """
        self.stopped = True
        self._finalizer()  # a finalizer runs once: a second stop() or the collection do nothing

    def __repr__(self) -> str:
        return f"<practice API at {self.base_url} ({self.transport}{', stopped' if self.stopped else ''})>"

    def __enter__(self) -> "LoopbackAPI":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _stop_and_remove(server: socketserver.BaseServer, thread: threading.Thread, folder: str | None) -> None:
    """Stop `server`, then delete its CA folder: never a folder deleted under a server still using it."""
    if threading.current_thread() is thread:  # collected in the server's own thread: shutdown() would wait for itself
        threading.Thread(target=_stop_and_remove, args=(server, thread, folder), daemon=True).start()
        return
    stop_serving(server, thread)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def _loopback_address(host: str) -> str:
    """`host` if it is an IPv4 loopback address (127.0.0.0/8), else ValueError: this server is for this machine only.

    0.0.0.0 or a LAN address would let anyone on the network use the demo accounts, whose passwords
    are public, and reach the learner's notebook session through the API's answers.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ValueError(f"The practice API listens on loopback only: host must be an address in 127.0.0.0/8 "
                         f"such as '127.0.0.1', not {host[:60]!r}.")
    return str(address)


def serve_practice_api(port: int = 0, *, tls: bool = False, host: str = "127.0.0.1",
                       log: Log | None = None) -> LoopbackAPI:
    """Serve a fresh practice API on loopback. Port 0 picks a free port.

    `host` must be a loopback address (127.0.0.0/8): anything else raises ValueError.
    With `tls=True` it speaks HTTPS with a certificate from a throw-away local CA: pass
    `verify=api.ca_bundle` (and `cert=api.client_cert` for /mtls/whoami).
    """
    return LoopbackAPI(PracticeAPI(), host=host, port=port, log=log, tls=tls)
