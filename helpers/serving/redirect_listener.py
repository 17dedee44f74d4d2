"""Catch an OAuth redirect on your own computer: a one-shot HTTP server on 127.0.0.1.

A program on your laptop (a CLI, a notebook) has no web address for the authorization
server to send the person back to. RFC 8252 §7.3 gives it one: a *loopback redirect*,
`http://127.0.0.1:<port>/callback`, served by the program itself for the moment it
takes to receive one request. Plain http is fine there: the request never leaves the
machine. PKCE (RFC 7636) protects the code in case another program on the machine sees it.

    with RedirectListener() as listener:                 # a free port, chosen now
        auth_url = ...                                   # with redirect_uri=listener.redirect_uri
        webbrowser.open(auth_url)                        # the person signs in and approves
        callback_url = listener.wait(timeout=300)        # the URL the browser was sent to
    # then check state (and iss) in callback_url, and exchange the code

The listener binds 127.0.0.1 only (never 0.0.0.0: other machines must not reach it), and
uses the IP literal rather than `localhost`, which RFC 8252 §8.3 does not recommend. It
answers the browser with a short "you can close this tab" page, writes nothing to stderr
(notebooks keep their output clean) and frees its port when it is closed.
"""
from __future__ import annotations

import hmac
import html
import threading
from urllib.parse import parse_qs, urlsplit

from helpers.serving.loopback import ClosesOnExit, LoopbackServer, DeadlineHandler, serve_in_background, stop_serving

__all__ = ["RedirectListener"]

LOOPBACK = "127.0.0.1"


class RedirectListener(ClosesOnExit):
    """A one-shot HTTP server on 127.0.0.1 that waits for the OAuth redirect to `path`.

    The port is bound when the object is created, so `redirect_uri` is known before the
    authorization URL is built; port 0 (the default) lets the system pick a free one, as
    RFC 8252 §7.3 intends. Requests to other paths (a browser asks for /favicon.ico) get a
    404 and the listener keeps waiting. So does anything that is not the redirect, with a 400:
    a request to `path` without `code` or `error` (a reload, a port scanner), or one whose
    target is not a plain path and query (`GET http://evil.example/callback?code=...`).

    Give it the `state` you sent as `expected_state`, and a request whose state is not exactly
    that one (another program, or a web page probing loopback ports, can send GET /callback?error=x)
    gets a 400 too, and does not use the listener up before the real redirect comes. Checking
    state again afterwards costs nothing. Use it as a context manager, or call `close()`.
    """

    def __init__(self, port: int = 0, path: str = "/callback", expected_state: str | None = None) -> None:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', like '/callback', not {path!r}")
        self.path = path
        self.expected_state = expected_state
        self._received = threading.Event()
        self._callback_url: str | None = None
        self._server = _Server((LOOPBACK, port), self)
        self.port: int = self._server.server_address[1]
        # A thread per connection: browsers open spare connections they may never use, and
        # one idle connection must not keep the real redirect waiting.
        self._thread = serve_in_background(self._server, f"redirect-listener:{self.port}")

    @property
    def redirect_uri(self) -> str:
        """The URI to send as `redirect_uri`, e.g. http://127.0.0.1:53214/callback."""
        return f"http://{LOOPBACK}:{self.port}{self.path}"

    def wait(self, timeout: float = 300) -> str:
        """Wait up to `timeout` seconds for the redirect; return the full URL it arrived at.

        The URL holds `code` and `state` (or `error`) in its query: check `state` before
        using anything in it. Raises TimeoutError when no redirect came in time, for
        example because the person closed the tab or denied access on a page that does
        not redirect.
        """
        if self._server.stopped and not self._received.is_set():
            raise RuntimeError("This listener is closed; create a new RedirectListener.")
        if not self._received.wait(timeout):
            raise TimeoutError(f"No redirect reached {self.redirect_uri} within {timeout:g} s. Was the sign-in "
                               "finished in the browser? Start again with a new authorization URL.")
        assert self._callback_url is not None
        return self._callback_url

    @property
    def params(self) -> dict[str, str]:
        """The query parameters of the redirect, once it has arrived (first value of each)."""
        if self._callback_url is None:
            return {}
        return {name: values[0] for name, values in parse_qs(urlsplit(self._callback_url).query).items()}

    def close(self) -> None:
        """Stop serving and free the port. Safe to call twice."""
        self._server.stopped = True
        stop_serving(self._server, self._thread)

    def _deliver(self, target: str) -> bool:
        """Called by the handler with the request target (path and query). True if it was the redirect."""
        with self._server.lock:
            if self._callback_url is not None:
                return False
            self._callback_url = f"http://{LOOPBACK}:{self.port}{target}"
        self._received.set()
        return True

    def __repr__(self) -> str:
        state = "closed" if self._server.stopped else "received" if self._received.is_set() else "waiting"
        return f"<RedirectListener {self.redirect_uri} ({state})>"  # never the code or the state


def _is_origin_form(target: str) -> bool:
    """Is `target` a path and an optional query, as a browser sends them (RFC 9112 §3.2.1)?

    Not the absolute-form `http://host/callback?...` (for proxies, RFC 9112 §3.2.2), nor `//host/...`,
    nor a fragment (never sent). Only visible ASCII: a browser percent-encodes the rest, so a raw
    control character or a byte above 0x7E never came from the authorization server's redirect.
    """
    return (target.startswith("/") and not target.startswith("//") and "#" not in target
            and all("!" <= char <= "~" for char in target))


class _Server(LoopbackServer):
    allow_reuse_address = False  # a fixed port that is in use should fail loudly, not be shared

    def __init__(self, address: tuple[str, int], listener: RedirectListener) -> None:
        self.listener = listener
        self.stopped = False
        self.lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(DeadlineHandler):
    server: _Server
    server_version = "redirect-listener"
    sys_version = ""
    timeout = 10  # an idle spare connection is closed after this long

    def do_GET(self) -> None:
        """Deliver the redirect: an origin-form GET of the listener's path, with `code` or `error` in the query.

        Nothing else counts, since the listener takes one request only: a stray GET /callback must
        not use it up before the real redirect comes: with `expected_state`, neither may one with
        another state. What it delivers is passed on as it came; checking it is the program's job.
        """
        if self.request_version == "HTTP/0.9":  # no headers and no status line: no browser sends it
            self.request_version = "HTTP/1.0"  # so that the 400 goes out with a status line all the same
            self._not_the_redirect()
            return
        target = self._target()
        if not _is_origin_form(target):
            self._not_the_redirect()
            return
        path, _, query = target.partition("?")
        if path != self.server.listener.path:
            self._reply(404, "Not found", "<p>This address only receives the sign-in redirect.</p>")
            return
        params = parse_qs(query)  # blank values are dropped: `code=` is no code
        if "code" not in params and "error" not in params:  # RFC 6749 §4.1.2 and §4.1.2.1
            self._not_the_redirect()
            return
        if not self._has_expected_state(query):
            self._reply(400, "Not this sign-in", "<p>This request does not carry the state of the sign-in this "
                        "program started. It is still waiting for that one.</p>")
            return
        if not self.server.listener._deliver(target):
            self._reply(200, "Already done", "<p>The sign-in was already received. You can close this tab.</p>")
            return
        if "error" in params:
            error = html.escape(params["error"][0][:100])
            self._reply(200, "Sign-in not completed",
                        f"<p>The authorization server answered <code>{error}</code>. "
                        "You can close this tab and return to your program.</p>")
        else:
            self._reply(200, "Signed in", "<p>You can close this tab and return to your program.</p>")

    def _has_expected_state(self, query: str) -> bool:
        """True if no state is expected, or the query holds it exactly once, compared in constant time."""
        expected = self.server.listener.expected_state
        if expected is None:
            return True
        states = parse_qs(query, keep_blank_values=True).get("state", [])
        return len(states) == 1 and hmac.compare_digest(states[0].encode("utf-8"), expected.encode("utf-8"))

    def _target(self) -> str:
        """The request-target as it was sent: http.server (in recent Pythons) reduces a leading `//` of
        `self.path` to `/`, which would make `//callback?code=x` look like the redirect."""
        return self.requestline.split()[1]  # parse_request made sure there are 2 or 3 words

    def _not_the_redirect(self) -> None:
        self._reply(400, "Not a sign-in redirect",
                    "<p>This address receives only the authorization server's redirect, with a code or an "
                    "error in it. It is still waiting for that.</p>")

    def do_POST(self) -> None:
        self._reply(405, "Method not allowed", "<p>The redirect arrives with GET.</p>", [("Allow", "GET")])

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _reply(self, status: int, title: str, body: str, headers: list[tuple[str, str]] = ()) -> None:
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
                f"<body><h1>{title}</h1>{body}</body></html>").encode("utf-8")
        self.send_response(status)
        for name, value in [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page))),
                            ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"),
                            ("Connection", "close"), *headers]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(page)
        self.close_connection = True

    def version_string(self) -> str:
        """The Server header: the default adds sys_version after a space, here a trailing space."""
        return self.server_version

    def log_message(self, format: str, *args) -> None:
        """Quiet: the default writes every request, code included, to stderr."""
