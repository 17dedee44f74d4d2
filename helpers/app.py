"""The practice API: one small WSGI application (PEP 3333) that every notebook talks to.

It is a fictional service with the endpoints of DESIGN.md. Any WSGI server can run it;
the series runs it two ways (see `helpers.inprocess` and `helpers.loopback`).

Reading order for the curious: `PracticeAPI.__call__` (the WSGI entry point), then
`handle` (routing), then the route methods, then `helpers.basic_auth`.
"""
from __future__ import annotations

import threading
import traceback
from typing import Any, Callable, Iterable

from helpers import users
from helpers.basic_auth import BasicAuthenticator
from helpers.clock import Clock
from helpers.throttle import FailedAttempts
from helpers.wsgi import HTTPError, Reply, Request, json_reply

Route = Callable[[Request], Reply]


class PracticeAPI:
    """The app. It keeps its state (clock, lockouts, received calls) on the instance."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.calls: list[Request] = []  # every request received, in order
        self.errors: list[str] = []  # tracebacks of bugs; tests assert it stays empty
        self._lock = threading.Lock()
        self.basic = BasicAuthenticator(users.PASSWORD_HASHES, users.DUMMY_HASH, FailedAttempts(self.clock))
        self.routes: dict[str, dict[str, Route]] = {
            "/": {"GET": self.index},
            "/basic/whoami": {"GET": self.basic_whoami},
        }

    # -- WSGI -------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            request = Request.from_environ(environ)
        except HTTPError as error:
            reply = error.reply()
        else:
            with self._lock:
                self.calls.append(request)
            reply = self.handle(request)
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        start_response(reply.status_line, headers)
        return [reply.body]

    def handle(self, request: Request) -> Reply:
        """Find the route for the path and method, and turn any HTTPError into its reply."""
        methods = self.routes.get(request.path)
        if methods is None:
            return HTTPError(404, "not_found", f"No endpoint at {request.path[:100]!r}. GET / lists them.").reply()
        route = methods.get(request.method)
        if route is None:
            allowed = ", ".join(methods)
            return HTTPError(405, "method_not_allowed", f"{request.path} accepts {allowed}.",
                             [("Allow", allowed)]).reply()
        try:
            return route(request)
        except HTTPError as error:
            return error.reply()
        except Exception:  # a bug in the practice API: say so without leaking a traceback
            self.errors.append(traceback.format_exc())
            return HTTPError(500, "server_error", "The practice API has a bug; please report it.").reply()

    # -- Routes -----------------------------------------------------------------------

    def index(self, request: Request) -> Reply:
        """No authentication: what is here."""
        endpoints = {path: sorted(methods) for path, methods in self.routes.items()}
        return json_reply(200, {"name": "practice API (demo only)", "endpoints": endpoints})

    def basic_whoami(self, request: Request) -> Reply:
        """HTTP Basic (RFC 7617): who do these credentials prove you are?"""
        username = self.basic.authenticate(request.header("Authorization"))
        return json_reply(200, {"username": username, "scheme": "Basic"})
