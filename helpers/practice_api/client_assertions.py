"""JWT assertions signed by the client (RFC 7523): one checker for both of their uses.

Read this next to notebook 09. A client, or a service account, proves who it is with a short JWT
signed by its private key; the authorization server holds only the public key it registered.
Nothing secret crosses the wire, and a stolen assertion is useless a few minutes later.

- **Client authentication** (`private_key_jwt`, RFC 7523 §2.2, OpenID Connect Core §9): the token
  request carries `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
  and `client_assertion`, in place of a client secret.                            `authenticate`
- **The JWT bearer grant** (RFC 7523 §2.1): the assertion *is* the grant, as a Google service
  account uses it: `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and `assertion`. `grant`

What `AssertionChecker.check` enforces, for both (RFC 7523 §3, with the tightening of
draft-ietf-oauth-rfc7523bis-11 §4):
- the signature, with the algorithm of the registered key, from a fixed list (`SIGNING_ALGORITHMS`;
  never `none`, never the algorithm the token names alone), and the key its `kid` names;
- `typ`: a client assertion may say `client-authentication+jwt` (rfc7523bis-11 §4, explicit typing;
  absent or `JWT` is accepted too, since most libraries send that); a grant assertion must NOT say
  it, so that a client assertion can never be replayed as a grant. Any other `typ` (an access token,
  a DPoP proof, an ID token) is refused: RFC 8725 §3.11;
- `iss` (and `sub` for client authentication) = the client, `sub` for a grant equal to `iss` if sent.
  A deliberate departure for the grant: RFC 7523 §3 item 2 says the JWT "MUST contain a sub",
  but Google's service accounts, which this grant imitates, send none: google-auth's
  `service_account.Credentials._make_authorization_grant_assertion` signs iss, scope, aud
  (token_uri), iat and exp, and adds sub only when given `subject=` (domain-wide delegation). This
  server takes a missing sub to mean the service account itself and refuses any other sub (it does
  no delegation), so a client that follows the RFC (sub = iss) and one that follows Google both work;
- `aud`: for client authentication, the issuer identifier and nothing else. rfc7523bis-11 §4
  replaces RFC 7523 §3 item 3 (case b): the aud value "MUST use the issuer identifier [RFC8414] of
  the authorization server as its sole value", "the token endpoint URL ... MUST NOT be used", and
  the server "MUST reject any JWT that does not contain its issuer identifier as its sole audience
  value" (the audience-injection fix; RFC 7523 §3 allowed the token endpoint URL). So `"<issuer>"`
  and `["<issuer>"]` pass, and an array with anything more is refused. (Drafts before July 2025 also
  said "MUST be a JSON string, and not a single-valued JSON array"; the working group dropped that,
  so this server does not refuse the one-element array; FAPI 2.0 asks clients to send the string.)
  For the grant (case a), the issuer or the token endpoint URL (`token_uri`, as Google sends it);
- `exp` required and near: at most one hour after `iat` (or after now, if there is no `iat`). RFC
  7523 §3 item 4 lets the server refuse a JWT whose `exp` is unreasonably far in the future; one hour
  is Google's limit for service-account assertions and Okta's for client assertions, and what
  Authlib's `PrivateKeyJWT` sends (iat + 3600), so a shorter limit would refuse the library the
  notebook teaches. The `jti` rule below is what stops a replay within that hour;
- `iat` optional for client authentication (RFC 7523 §3 item 6: MAY), required for the grant (its
  lifetime is measured from it, as Google requires); never in the future; `nbf` honoured (§3 item 5);
- `jti` required (RFC 7523 §3 item 7 makes it optional; OpenID Connect Core §9 makes it REQUIRED)
  and never accepted twice while the assertion could still be accepted: the replay cache keeps
  each id until `exp` plus the leeway (the future skew the checks tolerate).
Each refusal says why, and echoes nothing of the assertion beyond short, printable names.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from helpers.practice_api import demo_keys
from helpers.practice_api.clock import Clock, is_numeric_date
from helpers.practice_api.replay_cache import ReplayCache
from helpers.practice_api.wsgi import HTTPError, printable

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"  # RFC 7523 §2.1
SIGNING_ALGORITHMS = ("ES256", "RS256")  # token_endpoint_auth_signing_alg_values_supported
CLIENT_AUTHENTICATION_TYP = "client-authentication+jwt"  # draft-ietf-oauth-rfc7523bis-11 §4
CLIENT_ASSERTION_SECONDS = 3600  # see the module docstring: exp
GRANT_ASSERTION_SECONDS = 3600
LEEWAY_SECONDS = 5  # tolerated clock difference with the client, both ways
MAX_ASSERTION_LENGTH = 8192
MAX_JTI_LENGTH = 256
_NEEDS_JTI = ("The {name} needs a jti: a unique id of up to %d characters, so that it can be used only once."
              % MAX_JTI_LENGTH)


@dataclass(frozen=True)
class ServiceAccount:
    """A service account (Google's name): a robot identity with a key pair, and no OAuth client of its own.

    Its key file (`demo_keys.service_account_key_file`) holds the private key; the server keeps the
    public half (`jwks`, by `private_key_id`) and what the account may ask for (`scope`).
    """

    email: str  # the assertion's iss, and the subject of its tokens
    client_id: str  # the `client_id` claim of its access tokens (RFC 9068 §2.2)
    jwks: dict
    scope: str


DEMO_SERVICE_ACCOUNTS = {account.email: account for account in [
    ServiceAccount(demo_keys.SERVICE_ACCOUNT_EMAIL, demo_keys.SERVICE_ACCOUNT_CLIENT_ID, demo_keys.SERVICE_ACCOUNT_JWKS,
                   demo_keys.SERVICE_ACCOUNT_SCOPE),
]}


@dataclass(frozen=True)
class Rules:
    """What one use of assertions requires (see the module docstring)."""

    name: str  # "client assertion" or "assertion": how refusals name it
    audiences: frozenset[str]
    single_audience: bool  # the issuer as the sole aud value (rfc7523bis-11 §4, RFC 7523 §3 item 3 b)
    max_lifetime: int
    require_iat: bool
    require_sub: bool
    typs: frozenset[str | None]  # accepted `typ` values, lower-cased; None: no typ
    error: Callable[[str], HTTPError]  # invalid_client (401) or invalid_grant (400)


def client_authentication_rules(issuer: str, error: Callable[[str], HTTPError]) -> Rules:
    return Rules("client assertion", frozenset({issuer}), True, CLIENT_ASSERTION_SECONDS, False, True,
                 frozenset({None, "jwt", CLIENT_AUTHENTICATION_TYP, "application/" + CLIENT_AUTHENTICATION_TYP}),
                 error)


def grant_rules(issuer: str, token_endpoint: str) -> Rules:
    return Rules("assertion", frozenset({issuer, token_endpoint}), False, GRANT_ASSERTION_SECONDS, True, False,
                 frozenset({None, "jwt"}), invalid_grant)


def invalid_grant(description: str) -> HTTPError:
    return HTTPError(400, "invalid_grant", description)  # RFC 6749 §5.2, RFC 7521 §4.1.1


@functools.lru_cache(maxsize=64)
def _public_key(jwk_json: str):
    """A registered public JWK, parsed once (PyJWT is imported only when an assertion arrives)."""
    import jwt
    return jwt.PyJWK(json.loads(jwk_json)).key


class AssertionChecker:
    """Checks signed JWT assertions and remembers their `jti` values, as long as they matter."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.seen = ReplayCache(clock)  # (iss, jti), each until its assertion can no longer be accepted

    def check(self, assertion: str, rules: Rules, jwks_of: Callable[[str], Mapping[str, Any] | None]) -> dict:
        """The claims of `assertion` once every rule holds, or raise `rules.error(reason)`.

        `jwks_of(iss)` gives the JWK Set registered for the issuer the assertion names, or None.
        """
        import jwt

        fail = rules.error
        if len(assertion) > MAX_ASSERTION_LENGTH:
            raise fail(f"The {rules.name} is longer than {MAX_ASSERTION_LENGTH} characters.")
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.DecodeError:
            raise fail(f"The {rules.name} is not a JWT (three base64url parts of JSON objects, separated by "
                       "dots).") from None
        except jwt.InvalidTokenError:  # PyJWT's header checks: kid not a string, an unknown crit
            raise fail(f"The {rules.name}'s header is malformed.") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in SIGNING_ALGORITHMS:
            raise fail(f"The {rules.name} must be signed with one of {', '.join(SIGNING_ALGORITHMS)}; "
                       "alg=none and other algorithms are refused.")
        if "crit" in header or "b64" in header:  # RFC 7515 §4.1.11: this server understands no extension
            raise fail(f"The {rules.name}'s header names a critical extension (crit) this server does not "
                       "understand.")
        typ = header.get("typ")
        if typ is not None and not isinstance(typ, str):  # a JSON object or list here is not a media type
            raise fail(f"The {rules.name}'s typ must be a string, a media type (RFC 7515 section 4.1.9).")
        if (typ.lower() if typ is not None else None) not in rules.typs:
            raise fail(f"The {rules.name}'s typ {printable(repr(str(typ)[:40]))} is not accepted here: "
                       + ("send client-authentication+jwt (draft-ietf-oauth-rfc7523bis-11 section 4)."
                          if rules.require_sub else "a client authentication JWT or other typed JWT is not "
                          "a grant (RFC 8725 section 3.11)."))
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise fail(f"The {rules.name} has no iss claim naming the client (RFC 7523 section 3).")
        jwks = jwks_of(issuer)
        if jwks is None:
            raise fail(f"The {rules.name}'s iss names no client or service account with a registered public key.")
        key_id = header.get("kid")
        keys = [k for k in jwks.get("keys", []) if key_id is None or k.get("kid") == key_id]
        if len(keys) != 1:
            raise fail(f"No key registered for this client has the kid {printable(repr(str(key_id)[:60]))}."
                       if key_id is not None else f"Name the signing key in the {rules.name}'s kid header.")
        if keys[0].get("alg") != algorithm:  # the registered key decides the algorithm (RFC 8725 §3.1)
            raise fail(f"The key {printable(repr(str(key_id)[:60]))} signs with {keys[0].get('alg')}, not "
                       f"{algorithm}.")
        try:
            claims = jwt.decode(assertion, _public_key(json.dumps(keys[0], sort_keys=True)), algorithms=[algorithm],
                                options={"verify_aud": False, "verify_iss": False, "verify_exp": False,
                                         "verify_iat": False, "verify_nbf": False})
        except jwt.InvalidSignatureError:
            raise fail(f"The {rules.name}'s signature does not match the client's registered key.") from None
        except jwt.exceptions.InvalidJTIError:  # PyJWT checks that jti is a string
            raise fail(_NEEDS_JTI.format(name=rules.name)) from None
        except jwt.exceptions.InvalidSubjectError:  # and that sub is one
            raise fail(f"The {rules.name}'s sub must be a string.") from None
        except jwt.InvalidTokenError:
            raise fail(f"The {rules.name} is malformed.") from None
        return self._claims(claims, rules)

    def _claims(self, claims: dict, rules: Rules) -> dict:
        fail, now = rules.error, self.clock.now()
        issuer = claims["iss"]
        subject = claims.get("sub")
        if rules.require_sub and subject != issuer:
            raise fail(f"The {rules.name}'s sub must equal its iss: both are the client_id (RFC 7523 section 3).")
        if subject is not None and subject != issuer:
            raise fail("The assertion's sub names another subject: this server grants a service account tokens "
                       "for itself only (no delegation).")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        if rules.single_audience and len(audiences) != 1:
            raise fail(f"The {rules.name}'s aud must be the issuer identifier as its sole value, "
                       f"{' '.join(sorted(rules.audiences))} (draft-ietf-oauth-rfc7523bis-11 section 4).")
        if not any(isinstance(a, str) and a in rules.audiences for a in audiences):
            wanted = " or ".join(sorted(rules.audiences))
            raise fail(f"The {rules.name}'s aud must be {wanted} (RFC 7523 section 3"
                       + (", draft-ietf-oauth-rfc7523bis-11 section 4)." if rules.single_audience else ")."))
        for name in ("exp", "iat", "nbf"):
            if name in claims and not is_numeric_date(claims[name]):
                raise fail(f"The {rules.name}'s {name} must be a number of seconds since the epoch.")
        if "exp" not in claims:
            raise fail(f"The {rules.name} has no exp claim: it must expire (RFC 7523 section 3).")
        if rules.require_iat and "iat" not in claims:
            raise fail(f"The {rules.name} has no iat claim: this server measures its lifetime from it.")
        exp, iat = claims["exp"], claims.get("iat")
        if exp <= now - LEEWAY_SECONDS:
            raise fail(f"The {rules.name} has expired: make a new one for each request.")
        if iat is not None and iat > now + LEEWAY_SECONDS:
            raise fail(f"The {rules.name} was issued in the future (iat): check the clock.")
        if "nbf" in claims and claims["nbf"] > now + LEEWAY_SECONDS:
            raise fail(f"The {rules.name} is not valid yet (nbf is in the future).")
        if exp - (iat if iat is not None else now) > rules.max_lifetime + LEEWAY_SECONDS:
            raise fail(f"The {rules.name} lives too long: exp may be at most {rules.max_lifetime} s after "
                       + ("iat." if rules.require_iat else "iat (or now)."))
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise fail(_NEEDS_JTI.format(name=rules.name))
        if not self.seen.first_use((issuer, jti), exp + LEEWAY_SECONDS):
            raise fail(f"This {rules.name} (its jti) was already used: make a new one for each request.")
        return claims


def authenticate(checker: AssertionChecker, form: Mapping[str, str], clients: Mapping[str, Any], issuer: str,
                 error: Callable[[str], HTTPError]):
    """The client a `private_key_jwt` token request authenticates (RFC 7523 §2.2), or raise `error`.

    `clients` maps client ids to registered clients; those with a `jwks` may use this method.
    """
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise error(f"client_assertion_type must be {CLIENT_ASSERTION_TYPE} (RFC 7523 section 2.2).")
    assertion = form.get("client_assertion")
    if not assertion:
        raise error("client_assertion is missing: send the signed JWT (RFC 7523 section 2.2).")

    def jwks_of(client_id: str):
        client = clients.get(client_id)
        return getattr(client, "jwks", None)

    claims = checker.check(assertion, client_authentication_rules(issuer, error), jwks_of)
    if form.get("client_id", "") not in ("", claims["iss"]):  # RFC 7523 §3; empty counts as omitted
        raise error("client_id in the body does not match the client assertion's iss.")
    return clients[claims["iss"]]


def grant(checker: AssertionChecker, form: Mapping[str, str], accounts: Mapping[str, ServiceAccount],
          issuer: str) -> tuple[ServiceAccount, str | None]:
    """The service account a JWT bearer grant (RFC 7523 §2.1) names, and the scope it asks for.

    The scope may come as the form's `scope` (RFC 7521 §4.1) or as a `scope` claim in the assertion,
    where Google's service accounts put it; if both are sent they must be the same. None: not asked.
    Raises invalid_grant (400, RFC 7521 §4.1.1) for an assertion that fails any check.
    """
    assertion = form.get("assertion")
    if not assertion:
        raise HTTPError(400, "invalid_request", "assertion is missing: send the signed JWT (RFC 7523 section 2.1).")
    rules = grant_rules(issuer, issuer + "/oauth/token")
    claims = checker.check(assertion, rules, lambda email: getattr(accounts.get(email), "jwks", None))
    claimed = claims.get("scope")
    if claimed is not None and not isinstance(claimed, str):
        raise invalid_grant("The assertion's scope claim must be one string of space-separated scopes.")
    asked = form.get("scope") or None  # an empty parameter counts as omitted (RFC 6749 §3.1)
    if claimed and asked and claimed != asked:
        raise HTTPError(400, "invalid_request", "scope is in the form and in the assertion, with different values: "
                        "send it once.")
    return accounts[claims["iss"]], asked or claimed or None
