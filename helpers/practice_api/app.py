"""The practice API: one small WSGI application (PEP 3333) that every notebook talks to.

It is a fictional service with the endpoints of DESIGN.md. Any WSGI server can run it;
the series runs it two ways (see `helpers.serving.inprocess` and `helpers.serving.loopback`).

Reading order for the curious: `PracticeAPI.__call__` (the WSGI entry point), then
`handle` (routing), then the route methods. Each scheme's checks live in a module of
their own: `basic_auth` (01, 05), `api_keys` (02), `tokens` (03), `oauth` (04), `oidc` (08), `throttle`
(01, 06), `digest_auth`, `request_signing` and `sigv4` (07), `client_assertions`, `dpop` and `binding` (09).
The client certificate of `/mtls/whoami` (06) is checked by the TLS layer that serves the app
(`helpers.serving.loopback`), which passes the verified certificate in the WSGI environ; certificate-bound
tokens (09) hash that certificate.
"""
from __future__ import annotations

import math
import threading
import traceback
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, Callable, Iterable

from helpers.practice_api import binding, demo, dpop, users
from helpers.practice_api.api_keys import DEMO_KEYS, KeyStore
from helpers.practice_api.basic_auth import PasswordChecker, authenticate_basic
from helpers.practice_api.clock import Clock
from helpers.practice_api.digest_auth import DigestAuthenticator
from helpers.practice_api.dpop import DPoPChecker
from helpers.practice_api.faults import Faults
from helpers.practice_api.oauth import NO_STORE, SCOPE, AuthorizationServer
from helpers.practice_api.oidc import OpenIDProvider
from helpers.practice_api.request_signing import SignatureChecker
from helpers.practice_api.sigv4 import SigV4Verifier, json_body
from helpers.practice_api.throttle import FailedAttempts, RateLimiter
from helpers.practice_api.wsgi import (HTTPError, Reply, Request, json_reply, known_scheme, printable, published,
                                      unsafe_header)

LOGIN_SCOPES = {"profile", "notes:read"}  # what a /login token may carry

Route = Callable[[Request], Reply]


class Recent(Sequence):
    """The newest items only: at most `max_items` of them, and at most `max_bytes` all together.

    What the app records per request (calls with their headers and bodies, log lines) must not
    grow for as long as the server runs: 200 requests of 1 MB would otherwise keep 200 MB. It
    reads like a list (indexing, slices, `== []`, `reversed`, `len`), so `api.calls[-1]` works as
    before; it changes only through append() and clear(), so nothing can go around the bound.
    `total` counts every item ever added, the dropped ones too (a load test counts what arrived).
    """

    def __init__(self, max_items: int, max_bytes: int, size: Callable[[Any], int] = len) -> None:
        self.max_items, self.max_bytes, self._size = max_items, max_bytes, size
        self._items: deque = deque()
        self._bytes = 0
        self.total = 0
        self._lock = threading.Lock()  # the loopback server appends from one thread per connection

    def append(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)
            self.total += 1
            self._bytes += self._size(item)
            while len(self._items) > 1 and (len(self._items) > self.max_items or self._bytes > self.max_bytes):
                self._bytes -= self._size(self._items.popleft())  # the newest item is always kept

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _snapshot(self) -> list:
        """A copy: another thread may append while the caller reads (a deque refuses that)."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._snapshot()[index]
        with self._lock:
            return self._items[index]

    def __iter__(self) -> Iterator:
        return iter(self._snapshot())

    def __reversed__(self) -> Iterator:
        return reversed(self._snapshot())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, Recent)):
            return self._snapshot() == list(other)
        return NotImplemented

    __hash__ = None  # changes as it is appended to, like a list

    def __repr__(self) -> str:
        return repr(self._snapshot())


def call_size(request: Request) -> int:
    """What keeping a call costs: its body, target and headers (http.server accepts ~6 MB of headers)."""
    headers = sum(len(name) + len(value) for name, value in request.headers.items())
    return len(request.body) + len(request.path) + len(request.query) + headers + 1


class PracticeAPI:
    """The app. It keeps its state (clock, lockouts, received calls) on the instance."""

    MAX_CALLS = 1000  # far more than any notebook makes, and what a test inspects
    MAX_CALL_BYTES = 16 * 1024 * 1024  # request bodies kept in `calls`, all together
    MAX_NOTES = 1000  # notes and signed orders: the oldest go first

    def __init__(self, clock: Clock | None = None, issuer: str = demo.BASE_URL) -> None:
        self.clock = clock or Clock()
        self.issuer = issuer  # the API's own base URL: names it in tokens and OAuth metadata
        self.other_origin = demo.OTHER_ORIGIN  # "another host" for the redirect demos
        # the newest requests received, in order (headers and bodies count towards the bytes kept)
        self.calls: Recent = Recent(self.MAX_CALLS, self.MAX_CALL_BYTES, call_size)
        self.access_log: Recent = Recent(self.MAX_CALLS, self.MAX_CALL_BYTES)  # what a web server logs, URL included
        self.errors: Recent = Recent(100, self.MAX_CALL_BYTES)  # tracebacks of bugs; tests assert it stays empty
        self._lock = threading.Lock()
        self.passwords = PasswordChecker(users.PASSWORD_HASHES, users.DUMMY_HASH, FailedAttempts(self.clock))
        self.keys = KeyStore(DEMO_KEYS)
        self.notes: Recent = Recent(self.MAX_NOTES, self.MAX_CALL_BYTES, lambda note: len(note["text"]))
        self._note_ids = 0
        self.rate_limiter = RateLimiter(self.clock)
        self.digest = DigestAuthenticator(self.clock)
        self.signatures = SignatureChecker(self.clock)
        # AWS Signature Version 4 at /aws/*, for this server's own hosts (the issuer's can change: loopback)
        self.aws = SigV4Verifier(self.clock, authorities=lambda: binding.own_authorities(self))
        self.orders: Recent = Recent(self.MAX_NOTES, self.MAX_CALL_BYTES, lambda order: len(str(order)))
        self._order_ids = 0
        self._tokens = None
        self.dpop = DPoPChecker(self.clock)  # DPoP proofs at /oauth/token, /login and the resources (RFC 9449)
        self.oauth = AuthorizationServer(self, self.passwords)
        self.oidc = OpenIDProvider(self)
        self.faults = Faults()  # busy or slow answers on demand (notebook 10)
        self.routes: dict[str, dict[str, Route]] = {
            "/": {"GET": self.index},
            "/basic/whoami": {"GET": self.basic_whoami},
            "/keys/whoami": {"GET": self.keys_whoami},
            "/keys/notes": {"GET": self.keys_list_notes, "POST": self.keys_add_note},
            "/keys/notes/<id>": {"GET": self.keys_get_note},
            "/keys/current": {"DELETE": self.keys_revoke_current},
            "/login": {"POST": self.login},
            "/me": {"GET": self.me},
            "/reports": {"GET": self.reports},
            "/mtls/whoami": {"GET": self.mtls_whoami},
            "/limited": {"GET": self.limited},
            "/limited/date": {"GET": self.limited},
            "/digest/whoami": {"GET": self.digest_whoami},
            "/signed/orders": {"POST": self.signed_order},
            "/aws/whoami": {"GET": self.aws_whoami},
            "/aws/orders": {"POST": self.aws_order},
            "/redirect/same-host": {"GET": self.redirect_same_host},
            "/redirect/other-host": {"GET": self.redirect_other_host},
            "/headers": {"GET": self.received_headers},
            "/.well-known/jwks.json": {"GET": self.jwks},
            "/.well-known/oauth-authorization-server": {"GET": self.oauth.metadata},
            "/oauth/authorize": {"GET": self.oauth.authorize, "POST": self.oauth.authorize},
            "/oauth/token": {"POST": self.oauth.token},
            "/oauth/device_authorization": {"POST": self.oauth.device_authorization},
            "/device": {"GET": self.oauth.device_page, "POST": self.oauth.device_page},
            "/oauth/revoke": {"POST": self.oauth.revoke},
            "/oauth/introspect": {"POST": self.oauth.introspect},
            "/.well-known/openid-configuration": {"GET": self.oidc.configuration},
            "/oauth/userinfo": {"GET": self.oidc.userinfo, "POST": self.oidc.userinfo},
        }

    @property
    def tokens(self):
        """The token service, created on first use: it loads PyJWT and the RSA key (about 0.3 s)."""
        if self._tokens is None:
            from helpers.practice_api.tokens import TokenService
            self._tokens = TokenService(self.clock, self.issuer)
        return self._tokens

    # -- WSGI -------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            request = Request.from_environ(environ)
        except HTTPError as error:
            reply = error.reply()
        else:
            self.calls.append(request)  # Recent takes its own lock
            reply = self.handle(request)
        bad = unsafe_header(reply.headers)
        if bad:  # a bug: some route put unchecked input into a header. Send none of them.
            self.errors.append(f"unsafe response header {bad} from {environ['REQUEST_METHOD']} "
                               f"{environ.get('PATH_INFO', '/')[:100]!r}")
            reply = HTTPError(500, "server_error", "The practice API has a bug; please report it.").reply()
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        self._log(environ, reply)
        start_response(reply.status_line, headers)
        # HEAD: the headers GET would send, Content-Length included, and no body (RFC 9110 §9.3.2)
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [reply.body]

    def _log(self, environ: dict[str, Any], reply: Reply) -> None:
        """One line in Common Log Format, like Apache or nginx write: the full URL is in it."""
        when = datetime.fromtimestamp(self.clock.now(), timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
        query = environ.get("QUERY_STRING")
        target = environ.get("PATH_INFO", "/") + ("?" + query if query else "")
        line = (f'{environ.get("REMOTE_ADDR", "-")} - - [{when}] "{environ["REQUEST_METHOD"]} {target} '
                f'{environ.get("SERVER_PROTOCOL", "HTTP/1.1")}" {reply.status} {len(reply.body)}')
        self.access_log.append(line)  # Recent takes its own lock

    def handle(self, request: Request) -> Reply:
        """Find the route for the path and method, and turn any HTTPError into its reply."""
        methods = self.routes.get(request.path) or self.routes.get(_with_placeholder(request.path))
        if methods is None:
            path = printable(request.path[:100])  # error_description is printable ASCII (RFC 6749 §5.2)
            return HTTPError(404, "not_found", f"No endpoint at '{path}'. GET / lists them.").reply()
        route = methods.get("GET" if request.method == "HEAD" else request.method)  # HEAD is GET without the body
        busy = self.faults.refusal(request.path)
        if busy is not None:
            return busy.reply()
        if route is None:
            allowed = ", ".join(_allowed(methods))
            return HTTPError(405, "method_not_allowed", f"{request.path} accepts {allowed}.",
                             [("Allow", allowed)]).reply()
        next_nonce = dpop.NEXT_NONCE.set(None)
        try:
            reply = route(request)
        except HTTPError as error:
            reply = error.reply()
        except Exception:  # a bug in the practice API: say so without leaking a traceback
            self.errors.append(traceback.format_exc())
            return HTTPError(500, "server_error", "The practice API has a bug; please report it.").reply()
        finally:
            nonce = dpop.NEXT_NONCE.get()
            dpop.NEXT_NONCE.reset(next_nonce)
        if nonce and not any(name.lower() == "dpop-nonce" for name, _ in reply.headers):
            reply.headers.append(("DPoP-Nonce", nonce))  # a newer nonce for the next proof (RFC 9449 §8.2, §9)
        return reply

    # -- Routes -----------------------------------------------------------------------

    def index(self, request: Request) -> Reply:
        """No authentication: what is here."""
        endpoints = {path: sorted(_allowed(methods)) for path, methods in self.routes.items()}
        return json_reply(200, {"name": "practice API (demo only)", "endpoints": endpoints})

    def basic_whoami(self, request: Request) -> Reply:
        """HTTP Basic (RFC 7617): who do these credentials prove you are?"""
        username = authenticate_basic(request.header("Authorization"), self.passwords)
        return json_reply(200, {"username": username, "scheme": "Basic"})

    def keys_whoami(self, request: Request) -> Reply:
        """API key in X-API-Key: which key is this, and what may it do?"""
        key = self.keys.authenticate(request, "notes:read")
        return json_reply(200, {"key_id": key.key_id, "owner": key.owner, "scopes": list(key.scopes)})

    def keys_list_notes(self, request: Request) -> Reply:
        key = self.keys.authenticate(request, "notes:read")
        return json_reply(200, {"notes": [note for note in self.notes if note["owner"] == key.owner]})

    def keys_get_note(self, request: Request) -> Reply:
        key = self.keys.authenticate(request, "notes:read")
        note_id = request.path.rsplit("/", 1)[1]
        for note in self.notes:
            if str(note["id"]) == note_id and note["owner"] == key.owner:  # only the owner's notes
                return json_reply(200, note)
        raise HTTPError(404, "not_found", f"You have no note {note_id[:20]!r}.")

    def keys_add_note(self, request: Request) -> Reply:
        """A write: needs a key with the notes:write scope (403 otherwise)."""
        key = self.keys.authenticate(request, "notes:write")
        text = request.json().get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 500:
            raise HTTPError(400, "invalid_request", 'Send {"text": "..."} with 1 to 500 characters.')
        with self._lock:
            self._note_ids += 1  # ids keep counting when the oldest notes have been dropped
            note = {"id": self._note_ids, "owner": key.owner, "text": text}
            self.notes.append(note)
        return json_reply(201, note, [("Location", f"/keys/notes/{note['id']}")])

    def keys_revoke_current(self, request: Request) -> Reply:
        """Revoke the key that makes this call: the last step of a rotation."""
        key = self.keys.authenticate(request, None)
        self.keys.revoke(key)
        return json_reply(200, {"revoked": key.key_id})

    def login(self, request: Request) -> Reply:
        """JSON user name and password in, a token response out (like RFC 6749 §5.1)."""
        body = request.json()
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise HTTPError(400, "invalid_request", 'Send {"username": "...", "password": "..."} as strings.')
        scope = body.get("scope", "profile notes:read")
        # Separated by one SP each, nothing else (RFC 6749 §3.3), as at the OAuth endpoints.
        if not isinstance(scope, str) or not SCOPE.fullmatch(scope) or not set(scope.split(" ")) <= LOGIN_SCOPES:
            raise HTTPError(400, "invalid_scope", f"scope is a space-separated list of: {' '.join(sorted(LOGIN_SCOPES))}.")
        resources = self.tokens.resources
        resource = body.get("resource", self.tokens.audience)  # which API the token is for (RFC 8707)
        if not isinstance(resource, str) or resource not in resources:
            raise HTTPError(400, "invalid_target", f"resource is one of: {', '.join(sorted(resources))}.")
        jkt = binding.token_endpoint_key(self, request)  # with a DPoP proof, a DPoP-bound token (RFC 9449 §5)
        if not self.passwords.check(username, password):
            # 400, not 401: 401 would mean "send an Authorization header", which does not apply here.
            raise HTTPError(400, "invalid_grant", "Wrong user name or password.")
        with binding.bound(binding.confirmation(request, None, jkt)):
            return json_reply(200, self.tokens.issue(username, scope, audience=resource), NO_STORE)

    def me(self, request: Request) -> Reply:
        """A bearer-token resource (RFC 6750), or DPoP (RFC 9449): a valid access token with the profile scope."""
        claims = binding.verify(self, request, "profile")
        return json_reply(200, {"username": claims["sub"], "scope": claims["scope"]})

    def reports(self, request: Request) -> Reply:
        """A machine-to-machine resource: a client-credentials token with reports:read (Bearer, DPoP or mTLS-bound)."""
        claims = binding.verify(self, request, "reports:read", audience=self.issuer + "/reports", offer_dpop=True)
        return json_reply(200, {"client_id": claims["sub"], "reports": ["2026-10 usage", "2026-11 usage"]})

    def mtls_whoami(self, request: Request) -> Reply:
        """Mutual TLS: the client proved itself with a certificate during the TLS handshake."""
        if request.client_certificate is None:
            # No HTTP scheme exists for this, so no 401 challenge: the fix is at the TLS layer.
            raise HTTPError(403, "client_certificate_required", "Connect over HTTPS with a client certificate "
                            "from the practice CA: requests.get(url, cert=(cert_file, key_file), ...).")
        return json_reply(200, {"client_certificate": request.client_certificate, "scheme": "mutual TLS"})

    def limited(self, request: Request) -> Reply:
        """Three requests per 10 s per API key; then 429 with Retry-After in seconds, or as a date on /limited/date."""
        key = self.keys.authenticate(request, None)
        wait = self.rate_limiter.wait_for(f"{key.key_id} {request.path}")
        if wait:
            if request.path.endswith("/date"):
                # rounded up: a client that waits until this second must find the window open
                retry_after = format_datetime(datetime.fromtimestamp(math.ceil(self.clock.now() + wait),
                                                                     timezone.utc), usegmt=True)
            else:
                retry_after = str(math.ceil(wait))
            raise HTTPError(429, "rate_limited", f"{self.rate_limiter.limit} requests per "
                            f"{self.rate_limiter.window:.0f} s per key. Retry after the time in Retry-After.",
                            [("Retry-After", retry_after)])
        return json_reply(200, {"key_id": key.key_id, "ok": True})

    def digest_whoami(self, request: Request) -> Reply:
        """HTTP Digest (RFC 7616): SHA-256, or MD5 with ?algorithm=MD5."""
        username = self.digest.authenticate(request)
        return json_reply(200, {"username": username, "scheme": "Digest"})

    def signed_order(self, request: Request) -> Reply:
        """HMAC-signed request: the signature covers method, path, time, request id and body."""
        key_id = self.signatures.verify(request)
        order = request.json()
        with self._lock:
            self._order_ids += 1
            order_id = self._order_ids
            self.orders.append({"id": order_id, "key_id": key_id, "order": order})
        return json_reply(201, {"id": order_id, "accepted": order})

    def aws_whoami(self, request: Request) -> Reply:
        """AWS Signature Version 4: who signed this request, in the Authorization header or a presigned URL?"""
        return json_reply(200, self.aws.verify(request))

    def aws_order(self, request: Request) -> Reply:
        """A SigV4-signed write: the signature covers the method, path, query, signed headers and body."""
        signer = self.aws.verify(request)
        order = json_body(request)
        with self._lock:
            self._order_ids += 1
            order_id = self._order_ids
            self.orders.append({"id": order_id, "key_id": signer["access_key_id"], "order": order})
        return json_reply(201, {"id": order_id, "accepted": order})

    def redirect_same_host(self, request: Request) -> Reply:
        return Reply(302, b"", [("Location", self.issuer + "/headers")])

    def redirect_other_host(self, request: Request) -> Reply:
        return Reply(302, b"", [("Location", self.other_origin + "/headers")])

    def received_headers(self, request: Request) -> Reply:
        """Which credentials reached this host? Schemes and names only: never echo a secret."""
        authorization = request.header("Authorization")
        scheme = known_scheme(authorization)  # only a known scheme name: any other word may be the secret
        return json_reply(200, {
            "host": request.header("Host"),
            "authorization": (f"{scheme} (credentials hidden)" if scheme else "(credentials hidden)")
            if authorization else None,
            "x-api-key": "(hidden)" if request.header("X-API-Key") else None,
            "proxy-authorization": "(hidden)" if request.header("Proxy-Authorization") else None,  # for a proxy only
        })

    def jwks(self, request: Request) -> Reply:
        """The public keys that verify this server's tokens (RFC 7517)."""
        return published(self.tokens.jwks())


def _allowed(methods: dict[str, Route]) -> list[str]:
    """The methods a path accepts: HEAD wherever GET is (RFC 9110 §9.1: a server MUST support both)."""
    return [*methods, "HEAD"] if "GET" in methods else list(methods)


def _with_placeholder(path: str) -> str:
    """/keys/notes/7 -> /keys/notes/<id>: the one kind of variable path this API has."""
    parent, _, last = path.rpartition("/")
    return f"{parent}/<id>" if last.isdigit() else path
