"""What both transports share: turn an HTTP request into a WSGI call, and the handle.

A WSGI server's job is small: build the `environ` dictionary from the request, call the
app, and send back the status, headers and body it produced. Both transports do exactly
that through these functions, which is why they answer identically.
"""
from __future__ import annotations

import io
import sys
from typing import Iterable
from urllib.parse import unquote

from helpers.practice_api import demo
from helpers.practice_api.app import PracticeAPI
from helpers.practice_api.clock import Clock
from helpers.practice_api.wsgi import Request


def make_environ(*, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes,
                 scheme: str, host: str, port: int, extra: dict | None = None) -> dict:
    """The PEP 3333 environ for one request. `target` is the path and query as sent.

    PATH_INFO is percent-decoded (PEP 3333 follows CGI, RFC 3875 §4.1.5); RAW_URI keeps the target as
    sent (gunicorn's name for it): a SigV4 signature covers the path's escapes, not the decoded path.

    `extra` holds what the server adds itself, such as the client certificate's name.
    """
    path, _, query = target.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "QUERY_STRING": query,
        "RAW_URI": target,
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)) if body else "",
        **(extra or {}),
    }
    for name, value in headers:
        if "_" in name:
            # Like wsgiref, nginx and others: X-API_KEY would otherwise become the same
            # environ key as X-API-Key, a classic header-smuggling trick.
            continue
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the body is already complete; its length is set above
        if key != "CONTENT_TYPE":
            key = "HTTP_" + key
        environ[key] = f"{environ[key]}, {value}" if key in environ else value
    return environ


def call_app(app: PracticeAPI, environ: dict) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """Call a WSGI app; return (status code, reason phrase, headers, body)."""
    captured = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
        captured["status"], captured["headers"] = status, headers

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    code, _, reason = captured["status"].partition(" ")
    return int(code), reason, captured["headers"], body


class PracticeAPIHandle:
    """What a notebook holds: where the API is, what it received, and its clock."""

    transport = "?"

    def __init__(self, app: PracticeAPI, base_url: str) -> None:
        self.app = app
        self.base_url = base_url

    @property
    def clock(self) -> Clock:
        """The API's clock: `api.clock.advance(60)` makes a minute pass without waiting."""
        return self.app.clock

    @property
    def calls(self) -> list[Request]:
        """The requests the API received, oldest first: the newest 1000, with bodies up to 16 MiB in all
        (older ones are dropped, so that a long-running server does not grow; see `app.Recent`)."""
        return self.app.calls

    @property
    def credentials(self) -> dict[str, list]:
        """The demo credentials, as `python -m helpers.server` prints them; key files name this API's URL."""
        return demo.credentials(self.base_url)

    def require_dpop_nonce(self, required: bool = True) -> None:
        """Make the API demand a server nonce in every DPoP proof (RFC 9449 §8, §9), or stop demanding it.

        When on, a proof without a recent nonce gets `use_dpop_nonce` and a `DPoP-Nonce` header: 400 at
        the token endpoint and /login, 401 with a DPoP challenge at /me and /reports.
        """
        self.app.dpop.nonce_required = bool(required)

    def publish_signing_key(self) -> str:
        """Put a new signing key in the JWKS and return its kid; tokens are still signed with the old one.

        Verifiers cache the JWKS (max-age=300; PyJWKClient refetches for an unknown kid only after its
        cooldown): publish first, `sign_with(kid)` once they can have fetched it, and
        `retire_signing_key(old_kid)` once the old key's tokens have expired (notebook 08). The practice
        API ships two keys: one rotation per API.
        """
        return self.app.tokens.publish_signing_key()

    def sign_with(self, kid: str) -> None:
        """Sign new tokens with the published key `kid`; tokens of the old key keep working."""
        self.app.tokens.sign_with(kid)

    def retire_signing_key(self, kid: str) -> None:
        """Take the key `kid` out of the JWKS: tokens it signed are refused from now on."""
        self.app.tokens.retire_signing_key(kid)

    def change_email(self, username: str, email: str) -> None:
        """Give a user a new, unverified email address at the OpenID Provider (notebook 08)."""
        self.app.oidc.change_email(username, email)

    def url(self, path: str) -> str:
        """The full URL of an endpoint: api.url("/basic/whoami")."""
        return self.base_url + ("" if path.startswith("/") else "/") + path

    def __repr__(self) -> str:
        return f"<practice API at {self.base_url} ({self.transport})>"
