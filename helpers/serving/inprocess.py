"""In-process transport: requests talks to the practice API without any network.

The `responses` library replaces requests' HTTPAdapter.send. Every request to the
practice API's host becomes a plain function call into the WSGI app. Nothing leaves
the Python process, and requests to any other host fail with ConnectionError.

Only `requests` goes through this transport. `http.client`, `urllib` and curl
need the loopback transport (`helpers.serving.loopback`).

On a socket, http.client refuses some headers before a byte is sent (a value with a line
break, a name with a colon, text that is not Latin-1). `responses` skips http.client, so this
transport makes the same checks and raises the same errors: code that works here must work
on a real connection.
"""
from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

import requests
import responses

from helpers.practice_api import demo
from helpers.practice_api.app import PracticeAPI
from helpers.practice_api.wsgi import wire_headers
from helpers.serving.gateway import PracticeAPIHandle, call_app, make_environ

BASE_URL = demo.BASE_URL  # .test is reserved and never resolves (RFC 6761 §6.2)
OTHER_ORIGIN = demo.OTHER_ORIGIN  # the "other host" of the redirect demos: the same app
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
LOOPBACK = re.compile(r"https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)")

_running: "InProcessAPI | None" = None


class InProcessAPI(PracticeAPIHandle):
    transport = "in-process"

    def __init__(self, app: PracticeAPI, base_url: str = BASE_URL) -> None:
        super().__init__(app, base_url)
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        app.other_origin = OTHER_ORIGIN
        for origin in (base_url, OTHER_ORIGIN):
            plain = "http://" + origin.split("://", 1)[1]
            for method in METHODS:
                self.mock.add_callback(method, _url_pattern(origin), callback=self._respond, content_type=None)
                if origin.startswith("https://"):
                    self.mock.add_callback(method, _url_pattern(plain), callback=_refuse_plain_http)
        self.mock.add_passthru(LOOPBACK)  # the loopback server stays reachable

    def _respond(self, request: requests.PreparedRequest):
        """The responses callback: one PreparedRequest in, (status, headers, body) out."""
        url = urlsplit(request.url)
        headers = wire_headers(request.headers.items())
        if not any(name.lower() == "host" for name, _ in headers):  # as http.client: yours, or the URL's
            headers.insert(0, ("Host", host_header(url)))
        environ = make_environ(method=request.method, target=url.path + ("?" + url.query if url.query else ""),
                               headers=headers, body=_body_bytes(request.body), scheme=url.scheme,
                               host=url.hostname, port=url.port or (443 if url.scheme == "https" else 80))
        status, _reason, reply_headers, body = call_app(self.app, environ)
        self._be_late(request, self.app.faults.delay(environ["PATH_INFO"]))
        return status, reply_headers, b"" if request.method == "HEAD" else body

    def _be_late(self, request: requests.PreparedRequest, seconds: float) -> None:
        """A slow answer (app.faults.slow) without waiting: the practice clock moves instead, and a
        read timeout shorter than the delay raises ReadTimeout, as on a socket. The request was handled."""
        if not seconds:
            return
        timeout = getattr(request, "req_kwargs", {}).get("timeout")
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        if read_timeout is not None and read_timeout < seconds:
            self.app.clock.advance(read_timeout)
            raise requests.ReadTimeout(f"{host_header(urlsplit(request.url))}: Read timed out. "
                                       f"(read timeout={read_timeout})", request=request)
        self.app.clock.advance(seconds)

    def stop(self) -> None:
        """Stop intercepting requests. `start_practice_api()` starts a fresh one."""
        global _running
        self.mock.stop(allow_assert=False)
        self.mock.reset()
        if _running is self:
            _running = None


def start_practice_api() -> InProcessAPI:
    """Start the practice API in this process and return its handle.

    Running it again (a learner re-runs the setup cell) replaces the old API with a
    fresh one: lockouts and the clock start over, nothing is patched twice.
    """
    global _running
    if _running is not None:
        _running.stop()
    _running = InProcessAPI(PracticeAPI())
    _running.mock.start()
    return _running


def host_header(url: SplitResult) -> str:
    """The Host header http.client sends: host and port, never the user:password@ part."""
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return f"{host}:{url.port}" if url.port else host


def _refuse_plain_http(request: requests.PreparedRequest):
    """A learner who types http:// gets one clear line instead of responses' list of registered mocks.

    (A .test name never resolves, so on a real network this is a connection error too.)
    """
    secure = "https://" + request.url.split("://", 1)[1]
    raise requests.exceptions.ConnectionError(
        f"The practice API answers only https://, like any API that takes credentials: use {secure[:80]} "
        "(over http:// a password or token would cross the network in clear text; notebook 06).")


def _url_pattern(base_url: str) -> re.Pattern:
    """Every URL of the API; requests keeps a user:password@ part in the URL, so allow one."""
    scheme, host = base_url.split("://")
    return re.compile(re.escape(scheme) + r"://([^/@]*@)?" + re.escape(host) + r"([/?#].*)?$")


def _body_bytes(body) -> bytes:
    """The body exactly as requests and urllib3 2 put it on the wire: a str is sent as UTF-8."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    return b"".join(chunk.encode("utf-8") if isinstance(chunk, str) else chunk for chunk in body)
