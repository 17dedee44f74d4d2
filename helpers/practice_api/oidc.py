"""The practice API as an OpenID Provider: OpenID Connect on top of the OAuth server in `oauth.py`.

Read this next to notebook 08. OAuth 2.0 lets a client call an API; OpenID Connect adds sign-in: the
client (the "relying party") also gets an ID token, a JWT that says who signed in, when, and for
which client. What this module adds, and where:
- discovery: `/.well-known/openid-configuration` is the RFC 8414 metadata of `oauth.py`, built by the
  same function, plus the fields of OIDC Discovery 1.0 §3, so the two documents cannot disagree;
                                                                                     `configuration`
- the `nonce` of the authorization request (OIDC Core §3.1.2.1), required with `openid`; `prompt=none`
  and request objects refused as Core asks;                                `authentication_problem`
- the ID token next to the access token in the code flow's token response (§3.1.3.3), with the
  claims of §2 and `at_hash` (§3.1.3.6);                                                `id_token`
- the UserInfo endpoint (§5.3): an access token granted `openid` in (Bearer, or DPoP with its proof
  for a DPoP-bound one, RFC 9449 §7.1), the claims its scopes allow out (§5.4);        `userinfo`
- signing key rotation lives in `tokens.py` (`publish_signing_key`, `sign_with`, `retire_signing_key`),
  because both kinds of token share the keys of one JWKS.

An ID token is for the client, not for an API: its `aud` is the client_id and its `typ` is `JWT`, so
`tokens.py` refuses it as an access token (RFC 9068 §4, RFC 8725 §3.11), at /me and at UserInfo too.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import re
from typing import TYPE_CHECKING

from helpers.practice_api import binding, users
from helpers.practice_api.wsgi import HTTPError, Reply, Request, json_reply, media_type, published

if TYPE_CHECKING:
    from helpers.practice_api.oauth import AuthorizationCode

OPENID = "openid"  # the scope that makes an OAuth request an OpenID Connect one (OIDC Core §3.1.2.1)
# The claims each scope asks for (OIDC Core §5.4), of those this provider knows. `sub` comes always.
CLAIMS_BY_SCOPE = {"profile": ("name", "preferred_username"), "email": ("email", "email_verified")}
OIDC_SCOPES = {OPENID, *CLAIMS_BY_SCOPE}
ID_TOKEN_TYPE = "JWT"  # not at+jwt: an ID token must never pass for an access token (RFC 8725 §3.11)
ID_TOKEN_SECONDS = 300  # as short as the access token: the client checks it once, at sign-in
# Every claim this provider issues: in the ID token (Core §2, §3.1.3.6), then at UserInfo (§5.1).
CLAIMS_SUPPORTED = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                    "name", "preferred_username", "email", "email_verified"]
# A nonce has the syntax of `state` (RFC 6749 Appendix A.5: 1*VSCHAR, printable ASCII with space). It is
# echoed into the ID token unchanged, so a control character or an unbounded length has no place in it.
# 255 leaves room for what real clients send (a random value of 128 bits or more is 22 to 64
# characters; Core §15.5.2 suggests a hash of a session cookie) and keeps every ID token small.
MAX_NONCE_LENGTH = 255
NONCE = re.compile(rf"[\x20-\x7e]{{1,{MAX_NONCE_LENGTH}}}")
NO_STORE = [("Cache-Control", "no-store")]
PROMPT_VALUES = ("none", "login", "consent", "select_account")  # Core §3.1.2.1 defines these four
PROMPT = re.compile(rf"(?:{'|'.join(PROMPT_VALUES)})(?: (?:{'|'.join(PROMPT_VALUES)}))*")
MAX_AGE = re.compile(r"[0-9]+")  # seconds (Core §3.1.2.1); ASCII digits only, so no sign, no 1e3, no ٣


def default_scope(allowed: str) -> str:
    """The scope granted when the client asks for none (RFC 6749 §3.3): all it may have, but `openid`.

    Without `openid` in the request, what a provider does is "entirely unspecified" (OIDC Core
    §3.1.2.1): sign-in happens only when the client asks for it, with the nonce it then must send.
    """
    return " ".join(scope for scope in allowed.split() if scope != OPENID)


def authentication_problem(params: dict[str, str]) -> tuple[str, str] | None:
    """(error, error_description) for an authentication request (its scope has openid) this provider
    refuses, or None. `params` are the request's non-empty parameters.

    - `request` and `request_uri` (request objects, Core §6): not supported, and an OP that does not
      support them MUST say so (§6.1, §6.2), not ignore them: the client meant what is inside.
    - `prompt` (Core §3.1.2.1): a "space delimited, case sensitive list of ASCII string values", parsed
      as strictly as `scope` (RFC 6749 §3.3): one SP between values, none before or after, only the
      four values Core defines. `none`: no login page may be shown, and this provider keeps no session
      in which the user is already signed in, so the answer is always login_required (§3.1.2.6).
      `none` with another value is an error (§3.1.2.1).
    - `max_age`: a number of seconds, so a non-negative integer. Every sign-in here is a fresh one,
      and `auth_time` is always in the ID token, so any max_age is met.
    - the nonce, see `nonce_problem`.
    """
    if "request" in params:
        return "request_not_supported", "Request objects (the request parameter) are not supported."
    if "request_uri" in params:
        return "request_uri_not_supported", "The request_uri parameter is not supported."
    if "prompt" in params:
        if not PROMPT.fullmatch(params["prompt"]):
            return "invalid_request", ("prompt is a list of values separated by one space each: "
                                       f"{', '.join(PROMPT_VALUES)}.")
        prompt = params["prompt"].split(" ")
        if "none" in prompt:
            if len(prompt) > 1:
                return "invalid_request", "prompt=none cannot be combined with other prompt values."
            return "login_required", "The user must sign in: this provider keeps no session to use silently."
    if "max_age" in params and not MAX_AGE.fullmatch(params["max_age"]):
        return "invalid_request", "max_age is a number of seconds: a non-negative integer, digits only."
    problem = nonce_problem(params.get("nonce"))
    return ("invalid_request", problem) if problem else None


def nonce_problem(nonce: str | None) -> str | None:
    """Why the authorization endpoint refuses this `nonce` of a request with `openid`, or None.

    OIDC Core §3.1.2.1 makes `nonce` OPTIONAL in the code flow. This provider REQUIRES it, stricter
    than Core: it is what binds the ID token to *this* request in *this* browser session ("to associate
    a Client session with an ID Token, and to mitigate replay attacks", §3.1.2.1), and a client that
    forgets it should fail here, on the first try, not go on accepting replayed ID tokens. PKCE is required as well (RFC 9700 §2.1.1); the nonce does not
    replace it. The nonce is never echoed into a header or an error, only into the ID token.
    """
    if nonce is None:  # omitted, or empty, which counts as omitted (RFC 6749 §3.1)
        return "nonce is required with scope openid: send a fresh random value, and check it in the ID token."
    if not nonce.strip(" "):  # spaces only: nothing random to check (Core §15.5.2)
        return "nonce must contain a character other than space: send a fresh random value."
    if len(nonce) > MAX_NONCE_LENGTH:
        return f"nonce is longer than {MAX_NONCE_LENGTH} characters."
    if not NONCE.fullmatch(nonce):
        return "nonce must be printable ASCII: no control characters, nothing beyond ASCII."
    return None


def at_hash(access_token: str) -> str:
    """The left half of SHA-256 of the access token's ASCII octets, base64url without padding (Core §3.1.3.6).

    SHA-256 because the ID token is signed RS256: the hash of the `alg`'s own hash function.
    """
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:len(digest) // 2]).rstrip(b"=").decode("ascii")


class OpenIDProvider:
    """The OpenID Connect endpoints and the ID token. `app` is the PracticeAPI (issuer, clock, tokens)."""

    def __init__(self, app) -> None:
        self.app = app
        # This provider's own copy of the user profiles: change_email() must not reach another API.
        self.profiles: dict[str, dict[str, object]] = copy.deepcopy(users.PROFILES)

    # -- discovery (OIDC Discovery 1.0 §3, §4) ------------------------------------------

    def document(self) -> dict:
        """The OpenID Provider metadata: the RFC 8414 metadata and the fields OIDC Discovery adds."""
        issuer = self.app.issuer
        return {
            **self.app.oauth.metadata_document(),
            "userinfo_endpoint": issuer + "/oauth/userinfo",
            "subject_types_supported": ["public"],  # the same sub for every client (OIDC Core §8)
            "id_token_signing_alg_values_supported": ["RS256"],  # never "none" (Discovery §3)
            # Discovery §3: when omitted, request_uri support defaults to true; it is not supported here.
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "claims_parameter_supported": False,
            "claims_supported": CLAIMS_SUPPORTED,
        }

    def configuration(self, request: Request) -> Reply:
        """GET /.well-known/openid-configuration. Query parameters are ignored, as providers do:
        the document is one, the same for everyone (Discovery §4.1 defines no parameter)."""
        return published(self.document())  # cached like the RFC 8414 metadata, by the same rule

    # -- the ID token (OIDC Core §2, §3.1.3.3) -----------------------------------------------

    def id_token(self, code: "AuthorizationCode", access_token: str) -> str:
        """The ID token for the sign-in that produced `code`, issued with `access_token`.

        No `azp`: Core §2 (errata set 2) says it occurs only with extensions beyond Core, and
        encourages implementations not to use it; `aud` is this one client.
        """
        now = int(self.app.clock.now())
        claims = {"iss": self.app.issuer, "sub": code.username, "aud": code.client_id, "exp": now + ID_TOKEN_SECONDS,
                  "iat": now, "auth_time": int(code.auth_time), "nonce": code.nonce, "at_hash": at_hash(access_token)}
        return self.app.tokens.sign(claims, ID_TOKEN_TYPE)

    # -- UserInfo (OIDC Core §5.3) --------------------------------------------------------

    def userinfo(self, request: Request) -> Reply:
        """GET or POST /oauth/userinfo with `Authorization: Bearer <access token>` (RFC 6750 §2.1), or
        `Authorization: DPoP <token>` and a proof for a DPoP-bound one (RFC 9449 §7.1).

        The token must be an access token of this API granted `openid` (403 insufficient_scope
        otherwise); an ID token, an expired or revoked token, or none gets 401 with a challenge of
        the scheme it came with, as at /me: Bearer (RFC 6750 §3), or DPoP for `Authorization: DPoP`
        (RFC 9449 §7.1). The answer is `sub`, the same as in the ID token, and the claims of the
        token's scopes (§5.4), never more.
        """
        if request.method == "POST" and request.body and _is_form(request) and "access_token" in request.form():
            # RFC 6750 §2.2 (a form-body token) is optional for a server: this one does not take it.
            raise HTTPError(400, "invalid_request", "Send the access token in the Authorization header "
                            "('Authorization: Bearer <token>', or 'Authorization: DPoP <token>' and a "
                            "DPoP proof for a DPoP-bound one), not in the form body.",
                            [("WWW-Authenticate", _challenge("invalid_request"))])
        # Through `binding`, as at /me: a DPoP- or certificate-bound token is refused as a bare Bearer token
        # (RFC 9449 §7.1, RFC 8705 §3) and accepted with its proof or certificate (`Authorization: DPoP ...`).
        claims = binding.verify(self.app, request, OPENID)
        profile = self.profiles.get(claims["sub"])
        if profile is None:  # a signed token about nobody: only someone with the (public) demo key makes one
            raise HTTPError(401, "invalid_token", "The token's subject is not a user of this provider.",
                            [("WWW-Authenticate", _challenge("invalid_token"))])
        granted = claims["scope"].split(" ")
        answer = {"sub": claims["sub"]}
        for scope in granted:
            answer.update({name: profile[name] for name in CLAIMS_BY_SCOPE.get(scope, ())})
        return json_reply(200, answer, NO_STORE)

    def change_email(self, username: str, email: str) -> None:
        """The user typed a new address into their profile: it is unverified until they prove it is theirs.

        For notebook 08's "accounts keyed by email" attack: grace sets hers to ada's address, and a
        client that looks accounts up by `email` signs her in as ada. Key accounts by (`iss`, `sub`).
        """
        if username not in self.profiles:
            raise KeyError(f"no user {username!r}; the users are {sorted(self.profiles)}")
        self.profiles[username].update(email=email, email_verified=False)


def _is_form(request: Request) -> bool:
    """Is the body form fields? A POST to UserInfo may have no body at all (Core §5.3.1)."""
    parsed = media_type(request.header("Content-Type") or "")
    return parsed is not None and parsed[0] == "application/x-www-form-urlencoded"


def _challenge(error: str) -> str:
    """The RFC 6750 §3 challenge of a refusal (the realm is the one `tokens.py` names)."""
    return f'Bearer realm="practice", error="{error}"'
