"""The practice API's OAuth 2.0 authorization server, as RFC 9700 (the security BCP) asks.

Read this next to notebook 04. What it enforces, and where:
- client authentication with HTTP Basic (`client_secret_basic`, RFC 6749 §2.3.1); public
  clients (a CLI, a TV) send only `client_id`;                               `authenticate_client`
- exact redirect URIs, compared as strings (RFC 9700 §2.1); for the loopback redirects of
  native apps (public clients) any port, as RFC 8252 §7.3 asks, and nothing else may differ;
  with `openid`, redirect_uri is required (OIDC Core §3.1.2.1);                 `_redirect_uri`
- errors redirected back to the client, except a bad client or redirect URI, which
  must never be redirected (RFC 6749 §4.1.2.1);                                    `authorize`
- 303, never 307, after the POST of the sign-in form, so that the password is not sent
  on to the client (RFC 9700 §4.12.2); a GET's error redirect stays 302;           `authorize`
- every error_description within RFC 6749 §5.2's characters: echoes pass `printable`;
- PKCE with S256 only (RFC 7636, RFC 9700 §2.1.1): no `plain`, no missing challenge;
- codes that live 60 s and work once; a reused code revokes what it bought (RFC 6749 §4.1.2);
- the device grant (RFC 8628) with `authorization_pending`, `slow_down`, `access_denied`,
  `expired_token`;                                                          `device_token`
- revocation (RFC 7009), introspection for registered resource servers (RFC 7662), and
  metadata for discovery (RFC 8414).                                     `revoke`, `introspect`
Machine-to-machine (notebook 09) lives in modules of its own, hooked in here: `private_key_jwt` and the
JWT bearer grant (RFC 7523) in `client_assertions`, DPoP proofs (RFC 9449) in `dpop`, and what a token
is bound to (DPoP key, TLS client certificate: RFC 8705) in `binding`.
OpenID Connect (the nonce, the ID token, UserInfo, notebook 08) is in `oidc.py`; this module calls it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import parse_qsl, unquote_plus, urlencode

from helpers.practice_api import binding, client_assertions, demo, demo_keys, dpop, oidc
from helpers.practice_api.basic_auth import PasswordChecker
from helpers.practice_api.throttle import FailedAttempts
from helpers.practice_api.tokens import UNREVOCABLE
from helpers.practice_api.wsgi import HTTPError, Reply, Request, json_reply, printable, published

CODE_SECONDS = 60
DEVICE_CODE_SECONDS = 600
DEVICE_INTERVAL = 5
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
AUTHORIZE_PARAMETERS = {"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                        "code_challenge_method", "nonce", "prompt", "max_age", "request", "request_uri",
                        "response_mode"}
RESPONSE_MODES = ["query"]  # the code comes back in the query of the redirect URI (RFC 6749 §4.1.2)
USER_SCOPES = {"profile", "notes:read"}
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels, no look-alikes (RFC 8628 §6.1)
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1
NO_STORE = [("Cache-Control", "no-store")]
MAX_REDIRECT_URI_LENGTH = 2000
# scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 §3.3)
SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
SAFE_URI = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space: what a URI is made of (RFC 3986 §2)
LOOPBACK_REDIRECT = re.compile(r"(http://(?:127\.0\.0\.1|\[::1\]))(?::([1-9][0-9]{0,4}))?(/.*)", re.DOTALL)


@dataclass(frozen=True)
class Client:
    """A registered client, named as in RFC 7591. Public clients have no secret."""

    client_id: str
    secret_sha256: str | None
    grant_types: tuple[str, ...]
    scope: str
    redirect_uris: tuple[str, ...] = ()
    # For a resource server: the audiences (paths under the issuer) of the tokens it may introspect.
    # Empty: this client may not call the introspection endpoint (RFC 7662 §4).
    introspects: tuple[str, ...] = ()
    # For private_key_jwt (RFC 7523 §2.2): the public keys the client registered (RFC 7591 §2 `jwks`).
    jwks: dict | None = None
    # For tls_client_auth (RFC 8705 §2.1.2): the e-mail name its client certificate must carry.
    tls_client_auth_san_email: str | None = None
    # tls_client_certificate_bound_access_tokens (RFC 8705 §3.4): tokens bound to the client certificate.
    certificate_bound: bool = False

    @property
    def public(self) -> bool:
        return self.secret_sha256 is None and self.jwks is None and self.tls_client_auth_san_email is None

    @property
    def auth_method(self) -> str:
        """How this client authenticates at the token endpoint (RFC 7591 §2 names)."""
        if self.jwks:
            return "private_key_jwt"
        if self.tls_client_auth_san_email:
            return "tls_client_auth"
        return "none" if self.public else "client_secret_basic"


# The secrets themselves are in helpers/practice_api/demo.py, for learners; the server keeps hashes.
DEMO_CLIENTS = {c.client_id: c for c in [
    Client("reports-job", "48568d86647548e8d22b63479f0ae21b385cec98446482ab5b717de069e8cccb",
           ("client_credentials",), "reports:read"),
    Client("notes-web", "4f8a7c83fdf6dfe6fe45b50d2ae534f8be058d113cf64c00daedc4152165a6ec",
           ("authorization_code", "refresh_token"), "profile notes:read", ("https://notes-web.test/callback",)),
    Client("notes-cli", None, ("authorization_code", "refresh_token"), "profile notes:read",
           ("http://127.0.0.1/callback",)),
    Client("notes-tv", None, (DEVICE_GRANT, "refresh_token"), "profile notes:read"),
    # A web app that signs its users in with OpenID Connect (notebook 08, `oidc.py`).
    Client("notes-signin", "d35cf7879a0652e11f680c348910bf50b479869127ed0990dda82e96467ea2c3",
           ("authorization_code", "refresh_token"), "openid profile email notes:read",
           ("http://127.0.0.1:8400/signin/callback",)),
    # The practice API itself, as a resource server serving /me and /reports.
    Client("notes-api", "7952ea26abd653126465c885348e4fd26471c7db709b7cf481267af1d8815975", (), "",
           introspects=("/me", "/reports")),
    # No secret at all: it signs a client assertion with its private key (RFC 7523 §2.2, notebook 09).
    Client(demo_keys.REPORTS_SIGNER_CLIENT_ID, None, ("client_credentials",), "reports:read",
           jwks=demo_keys.REPORTS_SIGNER_JWKS),
    # Its TLS client certificate authenticates it, and binds its tokens (RFC 8705 §2.1, §3; loopback only).
    Client("reports-mtls", None, ("client_credentials",), "reports:read",
           tls_client_auth_san_email=demo.CLIENT_CERTIFICATE_EMAIL, certificate_bound=True),
]}


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    code_challenge: str
    expires_at: float
    redirect_uri_sent: bool = True  # if the client named it, it must name it again (RFC 6749 §4.1.3)
    nonce: str | None = None  # with scope openid: for the ID token (OIDC Core §3.1.2.1)
    auth_time: float = 0.0  # when the user signed in on the form: the ID token's auth_time
    family: str = field(default_factory=lambda: secrets.token_hex(16))
    used: bool = False


@dataclass
class DeviceAuthorization:
    client_id: str
    scope: str
    user_code: str
    expires_at: float
    interval: int = DEVICE_INTERVAL
    last_poll: float | None = None
    status: str = "pending"  # pending, approved, denied, used
    username: str | None = None


class AuthorizationServer:
    """The OAuth endpoints. `tokens` is the app's TokenService, `passwords` its PasswordChecker."""

    def __init__(self, app, passwords: PasswordChecker) -> None:
        self.app = app  # for the clock, the issuer and the token service
        self.passwords = passwords
        self.clients = DEMO_CLIENTS
        self.codes: dict[str, AuthorizationCode] = {}  # sha256(code) -> record
        self.devices: dict[str, DeviceAuthorization] = {}  # sha256(device_code) -> record
        self.code_guesses = FailedAttempts(app.clock, limit=5, window=60)
        self.assertions = client_assertions.AssertionChecker(app.clock)  # and their jti replay cache
        self.service_accounts = client_assertions.DEMO_SERVICE_ACCOUNTS
        self._lock = threading.Lock()

    @property
    def tokens(self):
        return self.app.tokens

    def now(self) -> float:
        return self.app.clock.now()

    def _purge(self) -> None:
        """Forget expired codes and device codes, so that a server running for days does not grow.

        A used code is kept as long as the family of tokens it bought lives (see
        `TokenService._purge`): rotation keeps that family alive long after the code expired, and a
        replay must still revoke it (RFC 6749 §4.1.2). It is also kept CODE_SECONDS past its expiry,
        for an exchange whose tokens are still being issued. An expired device code is kept
        DEVICE_CODE_SECONDS more, so that a device still polling is told expired_token (RFC 8628
        §3.5), not invalid_grant. Call with the lock held.
        """
        now = self.now()
        self.tokens.purge()  # first, so that a dead family's used code goes with it
        families = self.tokens.families
        for digest in [d for d, r in self.codes.items() if r.expires_at + (CODE_SECONDS if r.used else 0) <= now
                       and not (r.used and r.family in families)]:
            del self.codes[digest]
        for digest in [d for d, r in self.devices.items() if r.expires_at + DEVICE_CODE_SECONDS <= now]:
            del self.devices[digest]

    # -- discovery (RFC 8414) ---------------------------------------------------------

    def metadata(self, request: Request) -> Reply:
        """GET /.well-known/oauth-authorization-server (RFC 8414 §3)."""
        return published(self.metadata_document())

    def metadata_document(self) -> dict:
        """The RFC 8414 metadata; the OpenID Provider's document is built from it (`oidc.py`)."""
        issuer = self.app.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/oauth/authorize",
            "token_endpoint": issuer + "/oauth/token",
            "device_authorization_endpoint": issuer + "/oauth/device_authorization",
            "revocation_endpoint": issuer + "/oauth/revoke",
            "introspection_endpoint": issuer + "/oauth/introspect",
            "jwks_uri": issuer + "/.well-known/jwks.json",
            "scopes_supported": sorted(USER_SCOPES | oidc.OIDC_SCOPES | {"reports:read"}),
            "response_types_supported": ["code"],
            "response_modes_supported": RESPONSE_MODES,
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token", DEVICE_GRANT,
                                      client_assertions.JWT_BEARER_GRANT],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt", "tls_client_auth",
                                                      "none"],
            "token_endpoint_auth_signing_alg_values_supported": list(client_assertions.SIGNING_ALGORITHMS),
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt", "tls_client_auth",
                                                           "none"],
            "revocation_endpoint_auth_signing_alg_values_supported": list(client_assertions.SIGNING_ALGORITHMS),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "dpop_signing_alg_values_supported": list(dpop.ALGORITHMS),  # RFC 9449 §5.1
            "tls_client_certificate_bound_access_tokens": True,  # RFC 8705 §3.3 (on the loopback HTTPS server)
        }

    # -- client authentication (RFC 6749 §2.3) --------------------------------------------

    def authenticate_client(self, request: Request, form: dict[str, str]) -> Client:
        """The client making this request: HTTP Basic or a client assertion (private_key_jwt, see
        `client_assertions`) for confidential clients, client_id for public ones. One method only."""
        if "client_assertion" in form or "client_assertion_type" in form:
            if request.header("Authorization") or form.get("client_secret"):
                raise _invalid_client("Use one way to authenticate the client, not two: HTTP Basic or a client "
                                      "assertion (RFC 6749 section 2.3).")
            return client_assertions.authenticate(self.assertions, form, self.clients, self.app.issuer,
                                                  _invalid_client)
        if form.get("client_secret"):  # an empty parameter counts as omitted (RFC 6749 §3.1)
            raise _invalid_client("Send the client secret with HTTP Basic (client_secret_basic), not in the "
                                  "form body: RFC 6749 section 2.3.1 does not recommend that.")
        header = request.header("Authorization")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "basic":
                raise _invalid_client("Authenticate the client with HTTP Basic.")
            try:
                client_id, _, secret = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise _invalid_client("The Basic credentials are malformed.") from None
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)  # form-encoded first (§2.3.1)
            client = self.clients.get(client_id)
            if client is None or client.secret_sha256 is None or not hmac.compare_digest(
                    hashlib.sha256(secret.encode("utf-8")).hexdigest(), client.secret_sha256):
                raise _invalid_client("Unknown client or wrong client secret.")
            if form.get("client_id", "") not in ("", client_id):  # empty counts as omitted (RFC 6749 §3.1)
                raise _invalid_client("client_id in the body does not match the authenticated client.")
            return client
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            raise _invalid_client("Unknown client. Public clients send client_id; confidential ones use HTTP Basic.")
        if client.tls_client_auth_san_email:  # its client_id, and the TLS client certificate (RFC 8705 §2.1)
            return binding.tls_client(request, client, _invalid_client)
        if not client.public:
            how = "a client assertion (private_key_jwt)" if client.jwks else "HTTP Basic"
            raise _invalid_client(f"{client.client_id} is a confidential client: authenticate with {how}.")
        return client

    # -- the authorization endpoint (RFC 6749 §4.1.1) --------------------------------------

    def authorize(self, request: Request) -> Reply:
        pairs = parse_qsl(request.query, keep_blank_values=True)
        # An empty parameter counts as omitted (RFC 6749 §3.1).
        params = {name: value for name, value in pairs if value != ""}
        names = [name for name, _ in pairs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if {"client_id", "redirect_uri"} & set(repeated):
            return _error_page(400, "Invalid request", "client_id and redirect_uri must appear once.")
        client = self.clients.get(params.get("client_id", ""))
        if client is None:  # never redirect to an unverified URI (RFC 6749 §4.1.2.1)
            return _error_page(400, "Unknown client", "The client_id is missing or not registered.")
        if "redirect_uri" not in params and oidc.OPENID in params.get("scope", "").split(" "):
            # OIDC Core §3.1.2.1: REQUIRED with openid. Unconfirmed, so no redirect (RFC 6749 §4.1.2.1).
            return _error_page(400, "Invalid request", "redirect_uri is required with scope openid "
                               "(OpenID Connect Core §3.1.2.1): send the one registered, exactly.")
        redirect_uri = self._redirect_uri(client, params.get("redirect_uri"))
        if redirect_uri is None:
            return _error_page(400, "Invalid redirect URI",
                               "The redirect_uri is missing or does not exactly match a registered one.")
        state = params.get("state") if "state" not in repeated else None

        # After the POST of the login form, 303: it makes the browser GET the redirect URI and never
        # resend the form with the password (RFC 9700 §4.12.2). A GET may keep 302.
        status = 303 if request.method == "POST" else 302

        def fail(error: str, description: str) -> Reply:
            return _redirect(redirect_uri, {"error": error, "error_description": description, "state": state,
                                            "iss": self.app.issuer}, status)

        if repeated:  # RFC 6749 §3.1: parameters MUST NOT be included more than once
            # Only names this endpoint knows are echoed: error_description allows printable ASCII
            # without '"' and '\' (RFC 6749 §5.2), and what the client sent may hold anything.
            known = [name for name in repeated if name in AUTHORIZE_PARAMETERS]
            which = f"{', '.join(known)} appeared more than once" if known else "a parameter appeared more than once"
            return fail("invalid_request", f"Send each parameter once: {which}.")
        if "response_type" not in params:
            return fail("invalid_request", "response_type is missing; send response_type=code.")
        if params.get("response_type") != "code":
            return fail("unsupported_response_type", "Only response_type=code is supported (no implicit grant).")
        if params.get("response_mode", "query") not in RESPONSE_MODES:
            # OAuth 2.0 Multiple Response Type Encoding Practices §2.1: the client would wait for a
            # form_post or a fragment that never comes. Refused, as the metadata says.
            return fail("invalid_request", "Only response_mode=query is supported (response_modes_supported).")
        if "authorization_code" not in client.grant_types:
            return fail("unauthorized_client", "This client may not use the authorization code grant.")
        scope = _scope(params.get("scope"), client.scope)
        if scope is None:
            return fail("invalid_scope", f"Ask for some of: {client.scope}.")
        problem = oidc.authentication_problem(params) if oidc.OPENID in scope.split(" ") else None
        if problem:  # an OpenID Connect request: the nonce, prompt=none, request objects
            return fail(*problem)
        challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
        if not challenge:
            return fail("invalid_request", "PKCE is required: send code_challenge and code_challenge_method=S256.")
        if method != "S256":
            return fail("invalid_request", "Only code_challenge_method=S256 is accepted (plain is not).")
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge):
            return fail("invalid_request", "code_challenge must be BASE64URL(SHA256(code_verifier)), 43 characters.")

        if request.method == "GET":
            return _login_page(client.client_id, scope, request.query)
        form = request.form()
        if form.get("decision") == "deny":
            return fail("access_denied", "The user denied the request.")
        if form.get("decision") != "approve":  # consent is a button press, never a default
            return _login_page(client.client_id, scope, request.query, error="Press Allow or Deny.", status=400)
        refusal = self._sign_in_refusal(form, lambda error: _login_page(client.client_id, scope, request.query,
                                                                        error=error, status=400))
        if refusal is not None:
            return refusal
        username = form.get("username", "")
        code = secrets.token_urlsafe(32)
        with self._lock:
            self.codes[_sha256(code)] = AuthorizationCode(client.client_id, redirect_uri, scope, username, challenge,
                                                          self.now() + CODE_SECONDS, "redirect_uri" in params,
                                                          nonce=params.get("nonce"), auth_time=self.now())
            self._purge()
        return _redirect(redirect_uri, {"code": code, "state": state, "iss": self.app.issuer}, status)

    def _sign_in_refusal(self, form: dict[str, str], form_again: Callable[[str], Reply]) -> Reply | None:
        """The page that refuses the user name and password in a sign-in form, or None if they are right.

        Both sign-in pages (authorization code and device) check the password this way. A wrong one
        gets `form_again(message)`, the same form with the message: 400, not 401, because a 401 MUST
        carry a WWW-Authenticate challenge (RFC 9110 §15.5.2). A lock-out gets a page for the person, not JSON.
        """
        try:
            checked = self.passwords.check(form.get("username", ""), form.get("password", ""))
        except HTTPError as error:
            return _refusal_page(error)
        return None if checked else form_again("Wrong user name or password.")

    def _redirect_uri(self, client: Client, given: str | None) -> str | None:
        """The registered redirect URI the request names, or None.

        The string itself is compared (RFC 9700 §2.1, OIDC Core §3.1.2.1), never pieces from
        `urlsplit`, which quietly drops TAB, CR and LF and lowercases the scheme. The one allowed
        difference is the port of a loopback redirect URI of a native app (RFC 8252 §7.3): a public
        client here. A web app with a secret (notes-signin) registers its port and must send it:
        RFC 9700 §2.1 allows the variable port for native apps only. See `_same_but_loopback_port`.
        """
        if given is None:
            return client.redirect_uris[0] if len(client.redirect_uris) == 1 else None
        if len(given) > MAX_REDIRECT_URI_LENGTH or not SAFE_URI.fullmatch(given):
            return None  # a control character, a space or non-ASCII: never echo it into Location
        for registered in client.redirect_uris:
            if given == registered or client.public and _same_but_loopback_port(registered, given):
                return given
        return None

    # -- the token endpoint (RFC 6749 §3.2) ---------------------------------------------

    def token(self, request: Request) -> Reply:
        form = request.form()
        grant_type = form.get("grant_type")
        if not grant_type:  # an empty parameter counts as omitted (RFC 6749 §3.1)
            raise HTTPError(400, "invalid_request", "grant_type is missing.")
        known = {"client_credentials", "authorization_code", "refresh_token", DEVICE_GRANT,
                 client_assertions.JWT_BEARER_GRANT}
        if grant_type not in known:
            raise HTTPError(400, "unsupported_grant_type",
                            f"This server does not support {printable(repr(grant_type[:60]))}.")
        # A DPoP proof first (RFC 9449 §5): refused for its nonce, the request must not have spent its
        # client assertion's jti, since the client sends it again. See `binding` for what tokens are bound to.
        jkt = binding.token_endpoint_key(self.app, request)
        if grant_type == client_assertions.JWT_BEARER_GRANT:
            with binding.bound(binding.confirmation(request, None, jkt)):
                return self._jwt_bearer(request, form)  # the assertion authenticates: no client (RFC 7523 §3.1)
        if grant_type == "refresh_token" and not authentication_attempted(request, form):
            with binding.bound(binding.confirmation(request, None, jkt)):
                return self._refresh(form, None)  # tokens from /login belong to no OAuth client
        client = self.authenticate_client(request, form)
        if grant_type not in client.grant_types:
            raise HTTPError(400, "unauthorized_client", f"{client.client_id} may not use the {grant_type} grant.")
        handler = {"client_credentials": self._client_credentials, "authorization_code": self._authorization_code,
                   "refresh_token": self._refresh, DEVICE_GRANT: self._device_code}[grant_type]
        with binding.bound(binding.confirmation(request, client, jkt)):
            return handler(form, client)

    def _client_credentials(self, form: dict[str, str], client: Client) -> Reply:
        scope = _scope(form.get("scope"), client.scope)
        if scope is None:
            raise HTTPError(400, "invalid_scope", f"{client.client_id} may ask for: {client.scope}.")
        # No refresh token: the client can always ask again with its credentials (RFC 6749 §4.4.3).
        issued = self.tokens.issue(client.client_id, scope, audience=self.app.issuer + "/reports",
                                   client_id=client.client_id, refresh=False)
        return json_reply(200, issued, NO_STORE)

    def _jwt_bearer(self, request: Request, form: dict[str, str]) -> Reply:
        """A service account's signed assertion for a token (RFC 7523 §2.1; checks in `client_assertions.grant`).

        Client authentication is optional with this grant (RFC 7521 §4.1); a service account has no
        OAuth client, so this server takes none, and says so rather than ignore credentials sent.
        """
        if request.header("Authorization") or "client_assertion" in form or form.get("client_secret"):
            raise HTTPError(400, "invalid_request", "The JWT bearer grant authenticates with its assertion alone: "
                            "send no client authentication with it.")
        account, asked = client_assertions.grant(self.assertions, form, self.service_accounts, self.app.issuer)
        if form.get("client_id", "") not in ("", account.client_id):
            raise HTTPError(400, "invalid_request", "client_id does not match the service account of the assertion.")
        scope = _scope(asked, account.scope)
        if scope is None:
            raise HTTPError(400, "invalid_scope", f"This service account may ask for: {account.scope}.")
        issued = self.tokens.issue(account.email, scope, audience=self.app.issuer + "/reports",
                                   client_id=account.client_id, refresh=False)  # it can always sign anew
        return json_reply(200, issued, NO_STORE)

    def _authorization_code(self, form: dict[str, str], client: Client) -> Reply:
        code, verifier = form.get("code"), form.get("code_verifier")
        if not code:
            raise HTTPError(400, "invalid_request", "code is missing.")
        if not verifier:
            raise HTTPError(400, "invalid_request", "code_verifier is missing: PKCE is required.")
        with self._lock:
            record = self.codes.get(_sha256(code))
            if record is None or record.client_id != client.client_id:
                raise _invalid_grant("The authorization code is not known for this client.")
            if record.used:
                # Someone replays a code: revoke everything it bought (RFC 6749 §4.1.2).
                self.tokens.revoke_family(record.family)
                raise _invalid_grant("The authorization code was already used; the tokens issued for it are revoked.")
            record.used = True
        if record.expires_at <= self.now():
            raise _invalid_grant("The authorization code has expired (codes live 60 s).")
        if form.get("redirect_uri", "") != (record.redirect_uri if record.redirect_uri_sent else ""):
            raise _invalid_grant("redirect_uri must be the one sent to the authorization endpoint.")
        if not VERIFIER.fullmatch(verifier):
            raise HTTPError(400, "invalid_request", "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
        if not hmac.compare_digest(_s256(verifier), record.code_challenge):
            raise _invalid_grant("The code_verifier does not match the code_challenge (PKCE).")
        issued = self.tokens.issue(record.username, record.scope, family=record.family, client_id=client.client_id)
        if oidc.OPENID in record.scope.split(" "):  # sign-in: the ID token too (OIDC Core §3.1.3.3)
            issued["id_token"] = self.app.oidc.id_token(record, issued["access_token"])
        return json_reply(200, issued, NO_STORE)

    def _refresh(self, form: dict[str, str], client: Client | None) -> Reply:
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            raise HTTPError(400, "invalid_request", "refresh_token is missing.")
        scope = form.get("scope") or None
        if scope is not None and not SCOPE.fullmatch(scope):
            raise HTTPError(400, "invalid_scope", "scope is scope names separated by single spaces (RFC 6749 section 3.3).")
        # No id_token, even with openid: a refresh is no new sign-in, and OIDC Core §12.2 lets the
        # response leave it out ("might not contain an id_token"). The first ID token said who signed in.
        issued = self.tokens.refresh(refresh_token, client.client_id if client else None, scope)
        return json_reply(200, issued, NO_STORE)

    # -- the device grant (RFC 8628) ----------------------------------------------------

    def device_authorization(self, request: Request) -> Reply:
        form = request.form()
        client = self.authenticate_client(request, form)
        if DEVICE_GRANT not in client.grant_types:
            raise HTTPError(400, "unauthorized_client", f"{client.client_id} may not use the device grant.")
        scope = _scope(form.get("scope"), client.scope)
        if scope is None:
            raise HTTPError(400, "invalid_scope", f"{client.client_id} may ask for: {client.scope}.")
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
        user_code = f"{user_code[:4]}-{user_code[4:]}"
        with self._lock:
            self._purge()
            self.devices[_sha256(device_code)] = DeviceAuthorization(client.client_id, scope, user_code,
                                                                     self.now() + DEVICE_CODE_SECONDS)
        verification_uri = self.app.issuer + "/device"
        return json_reply(200, {
            "device_code": device_code, "user_code": user_code, "verification_uri": verification_uri,
            "verification_uri_complete": verification_uri + "?" + urlencode({"user_code": user_code}),
            "expires_in": DEVICE_CODE_SECONDS, "interval": DEVICE_INTERVAL}, NO_STORE)

    def _device_code(self, form: dict[str, str], client: Client) -> Reply:
        device_code = form.get("device_code")
        if not device_code:
            raise HTTPError(400, "invalid_request", "device_code is missing.")
        now = self.now()
        with self._lock:
            record = self.devices.get(_sha256(device_code))
            if record is None or record.client_id != client.client_id:
                raise _invalid_grant("The device code is not known for this client.")
            if record.expires_at <= now:
                raise HTTPError(400, "expired_token", "The device code has expired. Start again.")
            too_soon = record.last_poll is not None and now - record.last_poll < record.interval
            record.last_poll = now
            if record.status == "pending" and too_soon:
                record.interval += 5  # RFC 8628 §3.5: and the client must wait 5 s longer from now on
                raise HTTPError(400, "slow_down", f"Polling too fast: wait {record.interval} s between requests.")
            if record.status == "pending":
                raise HTTPError(400, "authorization_pending", "The user has not approved yet. Keep polling.")
            if record.status == "denied":
                raise HTTPError(400, "access_denied", "The user denied the request.")
            if record.status == "used":
                raise _invalid_grant("This device code was already used: each one is exchanged for tokens once.")
            record.status = "used"
        issued = self.tokens.issue(record.username, record.scope, client_id=client.client_id)
        return json_reply(200, issued, NO_STORE)

    def device_page(self, request: Request) -> Reply:
        """GET /device: where the user types the code shown on the device; POST: approve or deny.

        Allow appears only next to the client's id and the scopes it asks for (RFC 8628 §5.4:
        a user tricked into typing an attacker's code must be able to notice). Every failed lookup
        of a code, GET or POST, counts toward the guessing limit (RFC 8628 §5.1).
        """
        if request.method == "GET":
            typed = dict(parse_qsl(request.query)).get("user_code", "")
            if not typed:
                return _device_page("")
            form = {"user_code": typed}
        else:
            form = request.form()
            typed = form.get("user_code", "")
        guesser = f"user-code guesses from {request.remote_address}"
        wait = self.code_guesses.retry_after(guesser)
        if wait:  # user codes are short: guessing them must be slow (RFC 8628 §5.1)
            return _html(429, "Too many wrong codes", f"<p>Wait {wait} s, then try again.</p>",
                         [("Retry-After", str(wait))])
        user_code = typed.upper().replace("-", "").replace(" ", "")
        with self._lock:
            record = next((r for r in self.devices.values()
                           if r.user_code.replace("-", "") == user_code and r.status == "pending"
                           and r.expires_at > self.now()), None)
        if record is None:
            self.code_guesses.record_failure(guesser)
            return _device_page(typed, error="That code is not valid (or has expired).", status=400)
        decision = form.get("decision")
        if request.method == "GET" or decision == "continue":
            return _device_page(record.user_code, record)
        if decision == "deny":
            record.status = "denied"
            return _html(200, "Request denied", "<p>The device will not get access. You can close this page.</p>")
        if decision != "approve":  # consent is a button press, never a default
            return _device_page(record.user_code, record, error="Press Allow or Deny.", status=400)
        refusal = self._sign_in_refusal(form, lambda error: _device_page(record.user_code, record, error=error,
                                                                         status=400))
        if refusal is not None:
            return refusal
        record.status, record.username = "approved", form.get("username", "")
        return _html(200, "Device approved", f"<p>{html.escape(record.client_id)} can now access your account "
                                             "with the scopes it asked for. Return to your device.</p>")

    # -- revocation (RFC 7009) ------------------------------------------------------------

    def revoke(self, request: Request) -> Reply:
        form = request.form()
        token = form.get("token")
        if not token:
            raise HTTPError(400, "invalid_request", "token is missing.")
        # A service account has no OAuth client to authenticate as: its tokens cannot be revoked here.
        service_clients = {account.client_id for account in self.service_accounts.values()}
        if form.get("client_id") in service_clients:
            raise HTTPError(400, "unauthorized_client", UNREVOCABLE)
        # Any credential is checked as at the token endpoint (RFC 7009 §2.1); only a request with none
        # is anonymous (a token from /login). See `authentication_attempted`.
        attempted = authentication_attempted(request, form)
        client_id = self.authenticate_client(request, form).client_id if attempted else None
        self.tokens.revoke(token, client_id, unrevocable=service_clients)
        return Reply(200, b"", [("Cache-Control", "no-store")])  # 200 even for unknown tokens (RFC 7009 §2.2)

    # -- introspection (RFC 7662) ----------------------------------------------------------

    def introspect(self, request: Request) -> Reply:
        """POST /oauth/introspect: is this token active, and what does it carry?

        Only an authenticated client registered as a resource server may ask (RFC 7662 §2.1,
        §4): an open endpoint would let anyone test stolen or guessed tokens. Who gets what:
        - bad or missing client authentication: 401 invalid_client (RFC 7662 §2.3, RFC 6749 §5.2);
        - an authenticated client not registered for introspection: 403. Its credentials are
          valid, so not 401; and §2.2's `active: false` is the answer to a "properly authorized"
          call about a token, not to a caller that may not call at all (§4: "specifically
          authorized to call the introspection endpoint"). `active: false` would tell it that every
          token is dead, a false statement about the token where the truth is about the caller;
        - a registered resource server: 200 and what `TokenService.introspect` says, `active: false`
          for any token it may not use or know about (§2.2), refresh tokens included.
        """
        form = request.form()
        if not request.header("Authorization") and not form.get("client_secret"):
            raise _invalid_client("The introspection endpoint needs client authentication: HTTP Basic with a "
                                  "resource server's client_id and secret (RFC 7662 section 2.1).")
        client = self.authenticate_client(request, form)
        if not client.introspects:
            raise HTTPError(403, "unauthorized_client",
                            f"{client.client_id} is not registered for token introspection.")
        token = form.get("token")
        if not token:
            raise HTTPError(400, "invalid_request", "token is missing.")
        # token_type_hint is only a hint (RFC 7662 §2.1): it changes nothing in the answer.
        audiences = [self.app.issuer + path for path in client.introspects]
        return json_reply(200, self.tokens.introspect(token, audiences), NO_STORE)


# -- small pieces ------------------------------------------------------------------------

def authentication_attempted(request: Request, form: dict[str, str]) -> bool:
    """Whether a request carries any client credential: Basic (any Authorization header), a client
    assertion (private_key_jwt sends no client_id, RFC 7523 §2.2), a client_secret, or a client_id
    (public clients, tls_client_auth). Such a request is authenticated, and refused if that fails
    (RFC 6749 §5.2 invalid_client), never treated as anonymous: only a request with none of them is
    (a refresh or revocation of a token from /login, which belongs to no OAuth client)."""
    return bool(form.get("client_id") or request.header("Authorization") or "client_assertion" in form
                or "client_assertion_type" in form or form.get("client_secret"))


def _scope(requested: str | None, allowed: str) -> str | None:
    """The granted scope: what was asked for if allowed, all that is allowed if nothing was asked."""
    if not requested:  # omitted, or empty, which counts as omitted (RFC 6749 §3.1)
        return oidc.default_scope(allowed)
    if not SCOPE.fullmatch(requested):  # separated by one SP each, nothing else (RFC 6749 §3.3)
        return None
    asked = requested.split(" ")
    return " ".join(dict.fromkeys(asked)) if set(asked) <= set(allowed.split()) else None


def _same_but_loopback_port(registered: str, given: str) -> bool:
    """True if both are the same loopback redirect URI (RFC 8252 §7.3) but for the port.

    Only `http://127.0.0.1` or `http://[::1]`, in these exact characters, then an optional
    `:<port>` (1-65535, no leading zero), then a path that must be the registered one to the
    letter. `localhost` is not a loopback literal here (RFC 8252 §8.3).
    """
    want, got = LOOPBACK_REDIRECT.fullmatch(registered), LOOPBACK_REDIRECT.fullmatch(given)
    if want is None or got is None or got.group(2) is not None and int(got.group(2)) > 65535:
        return False
    return (got.group(1), got.group(3)) == (want.group(1), want.group(3))


def _s256(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _invalid_client(description: str) -> HTTPError:
    return HTTPError(401, "invalid_client", description, [("WWW-Authenticate", 'Basic realm="practice"')])


def _invalid_grant(description: str) -> HTTPError:
    return HTTPError(400, "invalid_grant", description)


def _redirect(uri: str, params: dict[str, str | None], status: int = 302) -> Reply:
    """A redirect (302, or 303 after a POST) to the redirect URI with `params` added to its query,
    which is kept (RFC 6749 §3.1.2)."""
    query = urlencode({name: value for name, value in params.items() if value is not None})
    separator = "" if uri.endswith(("?", "&")) else "&" if "?" in uri else "?"
    return Reply(status, b"", [("Location", uri + separator + query), ("Cache-Control", "no-store")])


def _html(status: int, title: str, body: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}<p><small>Practice API (demo only)</small></p></body></html>")
    return Reply(status, page.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8"),
                                                ("Cache-Control", "no-store"), ("X-Frame-Options", "DENY"),
                                                *(headers or [])])


def _error_page(status: int, title: str, message: str) -> Reply:
    return _html(status, title, f"<p>{html.escape(message)}</p>")


def _refusal_page(error: HTTPError) -> Reply:
    """The password check's refusal (429 while locked out, with Retry-After) as an HTML page."""
    title = "Too many attempts" if error.status == 429 else "Request refused"
    return _html(error.status, title, f"<p>{html.escape(error.description)}</p>", error.headers)


def _login_page(client_id: str, scope: str, query: str, error: str = "", status: int = 200) -> Reply:
    notice = f"<p role='alert'><strong>{html.escape(error)}</strong></p>" if error else ""
    return _html(status, "Sign in to the practice API", f"""{notice}
<p><strong>{html.escape(client_id)}</strong> asks to access your account: <code>{html.escape(scope)}</code></p>
<form method="post" action="/oauth/authorize?{html.escape(query)}">
<label>User name <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button name="decision" value="approve">Allow</button> <button name="decision" value="deny">Deny</button>
</form>""")


def _device_page(user_code: str, record: DeviceAuthorization | None = None, error: str = "",
                 status: int = 200) -> Reply:
    """The code form; with the code's `record`, what it asks for and the Allow and Deny buttons."""
    notice = f"<p role='alert'><strong>{html.escape(error)}</strong></p>" if error else ""
    code_field = f'<label>Code shown on your device <input name="user_code" value="{html.escape(user_code)}"></label>'
    if record is None:
        return _html(status, "Connect a device", f"""{notice}
<form method="post" action="/device">
{code_field}
<button name="decision" value="continue">Continue</button>
</form>""")
    return _html(status, "Connect a device", f"""{notice}
<p><strong>{html.escape(record.client_id)}</strong> asks to access your account: <code>{html.escape(record.scope)}</code></p>
<p>Allow only if you started this on your own device and it shows the same code.</p>
<form method="post" action="/device">
{code_field}
<label>User name <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button name="decision" value="approve">Allow</button> <button name="decision" value="deny">Deny</button>
</form>""")
