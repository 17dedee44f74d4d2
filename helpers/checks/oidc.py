"""Checks for notebook 08, OpenID Connect.

No check calls the practice API. Exercise 1's check signs its own ID tokens with the practice
API's published demo key: a good one, and one for each attack the notebook shows (another
client's token, a replayed one, an expired one, alg none, key confusion, an access token, another
issuer's token, a token bound to another access token). Exercise 2's check hands the learner's
function the claims of ID tokens from two issuers, with the same e-mail address.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import time
from typing import Any

from helpers.checks.feedback import PRACTICE_URL, not_a_function, not_yet, placeholder, raised, right, run, unless_stub
from helpers.checks.jwt_tokens import (OCT_SECRETS, _b64url, _jwks, _jwks_with_oct, _segments, _tampered,
                                       _unsigned)
from helpers.practice_api import signing_key
from helpers.viewers import a_kind

__all__ = ["validate_id_token", "account_key"]

ISSUER = PRACTICE_URL  # the notebook's ISSUER: the in-process practice API, as its discovery document says
CLIENT_ID = "notes-signin"  # the notebook's CLIENT_ID: the demo OpenID Connect client
ID_TOKEN_TYPE = "JWT"  # the typ of the practice API's ID tokens (Core §2 names none; RFC 7519 §5.1)
# The nonce of the check's own "sign-in", and the access token that came with its ID token. Made up: the check
# never signs in. Letters, digits, '-' and '_' only, as secrets.token_urlsafe() makes them.
NONCE = "check-nonce-0f3kT7qLm2Zx9aBcD4eF5gH6iJ"
ACCESS_TOKEN = "check-access-token-Qw8rT1yU2iO3pA4sD5fG6hJ7kL"
STUB_CALL = "checks.validate_id_token(validate_id_token)"


AT_HASH_DIGESTS = {"256": "sha256", "384": "sha384", "512": "sha512"}  # RS256, ES384, PS512, HS256, ...


def at_hash(access_token: str, alg: str = "RS256") -> str:
    """Core §3.1.3.6: base64url, without padding, of the left half of the hash over the ASCII access
    token, where the hash is the one of the ID token's JOSE alg (RS256 and ES256: SHA-256; RS384: SHA-384).

    An alg that names no SHA-2 size (EdDSA, none) raises ValueError: there is no hash to pick."""
    name = AT_HASH_DIGESTS.get(alg[-3:]) if alg[:2] in ("RS", "ES", "PS", "HS") else None
    if name is None:
        raise ValueError(f"no at_hash hash for alg {alg!r} (Core §3.1.3.6 names the JOSE alg's hash)")
    digest = hashlib.new(name, access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


# -- exercise 1 -----------------------------------------------------------------------------

def validate_id_token(function: Any) -> None:
    """08, exercise 1: `validate_id_token(token, jwks, *, nonce, access_token)` returns the claims of a good
    ID token for CLIENT_ID from ISSUER, and raises jwt.InvalidTokenError for every other token.

    Each refusal below is a step of Core §3.1.3.7 (or §3.1.3.6 for at_hash), and each is what one plausible
    shortcut lets through: no audience=, no nonce compare, the algorithm taken from the header, the signature
    check off, no issuer=, exp not required, at_hash skipped, HS256 on the list.
    """
    if placeholder(unless_stub(function)) or not_a_function(function, STUB_CALL):
        return
    import jwt

    now = time.time()
    call = functools.partial(function, nonce=NONCE, access_token=ACCESS_TOKEN)
    for described, token in (("a valid ID token", _sign(_claims())),
                             ("a valid ID token whose aud is a list holding only your client_id",
                              _sign(_claims(aud=[CLIENT_ID]))),
                             ("a valid ID token with azp equal to your client_id", _sign(_claims(azp=CLIENT_ID)))):
        outcome = run(call, token, _jwks(), secrets=(token, ACCESS_TOKEN))
        if outcome.error is not None:
            return not_yet(_refused_good(described, outcome.error))
        if outcome.value is None:
            return not_yet("your function returned None for a valid ID token. Return the claims that jwt.decode() "
                           "gives, once every check has passed.")
        if not isinstance(outcome.value, dict) or outcome.value.get("sub") != "ada":
            return not_yet(f"for {described}, return the claims dict that jwt.decode() gives, not "
                           f"{a_kind(outcome.value)}.")

    attacks = _attacks(now)
    for described, token, jwks, fix in attacks:
        outcome = run(call, token, jwks, secrets=(token, ACCESS_TOKEN))
        if isinstance(outcome.error, jwt.InvalidTokenError):
            continue
        if outcome.error is not None:
            return not_yet(raised(described, outcome.error, _raised_hint(described, outcome.error),
                                  hide=(token, ACCESS_TOKEN, NONCE)))
        if "expired" in described:
            fix = _expiry_fix(call, now) or fix
        return not_yet(f"your function accepted {described}. {fix}")
    right(f"it accepts a good ID token and refuses all {len(attacks)} bad ones: each step of Core §3.1.3.7 "
          "(signature with a fixed algorithm, iss, aud, exp, iat, nonce), at_hash (§3.1.3.6), and this "
          "course's azp rule.")


FIXED_LIST = ('Fix the algorithm yourself, algorithms=["RS256"] (this provider signs with RS256 only, as its '
              "discovery document says): never the token's own alg, and no HS256 on the list (RFC 8725 §3.1).")
AUD = ("Pass audience=CLIENT_ID: an ID token is for the client named in its aud, and a token another app "
       "received must not sign anyone in to yours (Core §3.1.3.7, step 3).")
FROM_CONFIGURATION = ('Fix the algorithm from your configuration, algorithms=["RS256"], with no HS256 on the '
                      "list: never from the key set or the key. A PyJWK passed without algorithms= verifies "
                      "with the key's own alg, so any key in the set picks its algorithm (RFC 8725 §3.1).")
EC_FROM_CONFIGURATION = ('Fix the algorithm from your configuration, algorithms=["RS256"]: never from the '
                         "key set or the key. The EC key in the set says alg ES256, and a PyJWK passed without "
                         "algorithms= verifies with the key's own alg (RFC 8725 §3.1).")
ISSUER_IN = ("Compare iss exactly with ==, as issuer=ISSUER does: `claims['iss'] in ISSUER` is a substring test "
             "on a string, and any prefix of the issuer passes (Core §3.1.3.7, step 2).")
NONCE_FIX = ("Compare the token's nonce with the one your sign-in sent, and refuse a token without one: "
             "hmac.compare_digest(claims.get('nonce', '').encode(), nonce.encode()). That is what stops a "
             "replayed or injected ID token (Core §3.1.3.7, step 11; §15.5.2).")


def _attacks(now: float) -> list[tuple[str, str, dict, str]]:
    """(described, token, JWK Set, the fix) for each token the function must refuse."""
    jwks = _jwks()
    return [
        ("an ID token whose claims were changed after signing (sub is now grace)", _tampered(_sign(_claims()), sub="grace"), jwks,
         "Verify the signature: never options={'verify_signature': False}. Unverified claims prove nothing."),
        ("an unsigned ID token (alg none)", _unsigned(_claims(), typ=ID_TOKEN_TYPE), jwks, FIXED_LIST),
        ("an HS256 token signed with the provider's public key as the HMAC secret (key confusion)",
         _hs256_with_public_key(_claims()), jwks, FIXED_LIST),
        ("an HS256 token signed with a symmetric (oct) key slipped into the JWK Set", _hmac_token(_claims()),
         _jwks_with_oct("HS256"), FROM_CONFIGURATION),
        ("an ES256 token signed by an EC key slipped into the JWK Set", *_es256_forgery(), EC_FROM_CONFIGURATION),
        ("an ID token issued to another client (aud is another app)", _sign(_claims(aud="notes-web")), jwks, AUD),
        ("an ID token issued to a client whose id merely contains yours (aud is 'notes-signin-beta')",
         _sign(_claims(aud=CLIENT_ID + "-beta")), jwks,
         "Compare the audience exactly, as audience= does: `CLIENT_ID in claims['aud']` is a substring test "
         "when aud is a string."),
        ("an ID token for your client and another app that you do not trust (aud is a list of two)",
         _sign(_claims(aud=[CLIENT_ID, "notes-web"], azp=CLIENT_ID)), jwks,
         "Core §3.1.3.7, step 3: refuse a token that lists audiences your client does not trust. PyJWT's "
         "audience= only checks that yours is among them: check that every audience is CLIENT_ID."),
        ("an ID token whose azp (authorized party) is another client", _sign(_claims(azp="notes-web")), jwks,
         "Refuse an azp other than your client_id. That is this course's hardening, not Core's rule: since "
         "errata set 2, Core §2 says azp occurs only with extensions, and encourages RPs that use none to "
         "ignore it. A token that names another client as the party it was issued to is not for you."),
        ("an ID token from another issuer (a mix-up)", _sign(_claims(iss="https://login.other.test")), jwks,
         "Pass issuer=ISSUER: the issuer of the discovery document, compared exactly (Core §3.1.3.7, step 2)."),
        ("an ID token whose iss differs only by a trailing '/'", _sign(_claims(iss=ISSUER + "/")), jwks,
         "Compare iss exactly with the discovered issuer, as issuer= does: no normalising (Discovery §4.3)."),
        ("an ID token whose iss is a prefix of the issuer ('https://api.practice.tes')",
         _sign(_claims(iss=ISSUER[:-1])), jwks, ISSUER_IN),
        ("an ID token whose iss is the empty string", _sign(_claims(iss="")), jwks, ISSUER_IN),
        ("a replayed ID token: from another sign-in, with another nonce",
         _sign(_claims(nonce="another-sign-in-nonce-AAAAAAAAAAAAAAAA")), jwks, NONCE_FIX),
        ("an ID token without a nonce claim", _sign(_claims(nonce=None)), jwks, NONCE_FIX),
        ("an ID token issued with another access token (at_hash does not match)",
         _sign(_claims(at_hash=at_hash("another-access-token"))), jwks,
         "Compute at_hash from the access token (left half of its SHA-256, base64url without '=') and compare "
         "(Core §3.1.3.6): it binds the access token to this sign-in."),
        ("an ID token that expired 5 minutes ago", _sign(_claims(iat=now - 600, exp=now - 300)), jwks,
         "Keep exp checking on: no options={'verify_exp': False}."),
        ("an ID token that expired 2 minutes ago", _sign(_claims(iat=now - 420, exp=now - 120)), jwks,
         "Keep exp checking on, with a small leeway (a few seconds)."),
        ("an ID token without exp", _sign(_claims(exp=None)), jwks,
         'Require it: options={"require": ["exp", "iat", "sub"]}. PyJWT checks exp only when it is there.'),
        ("an ID token without iat", _sign(_claims(iat=None)), jwks,
         'Require it: options={"require": ["exp", "iat", "sub"]} (Core §2: exp, iat and sub are REQUIRED).'),
        ("an ID token without sub", _sign(_claims(sub=None)), jwks,
         'Require it: options={"require": ["exp", "iat", "sub"]}. sub is who signed in (Core §2).'),
        ("an ID token issued 10 minutes in the future", _sign(_claims(iat=now + 600, exp=now + 900)), jwks,
         "Keep iat checking on: no options={'verify_iat': False}."),
        ("an access token of this provider (typ at+jwt, aud the API), parsed as an ID token", _access_token(), jwks,
         AUD + " An access token is for the API (RFC 9068 §2.2): never a proof of sign-in."),
        ("an ID token whose kid is not in the JWK Set", _signed_by_a_stranger({"kid": "login-other-2026"}), jwks,
         "Look the key up by the token's kid, and refuse the token when none matches."),
        ("an ID token without a kid", _signed_by_a_stranger({}), jwks,
         "Look the key up by the token's kid, and refuse the token when none matches."),
    ]


def _refused_good(described: str, error: BaseException) -> str:
    import jwt

    if isinstance(error, TypeError) and ("nonce" in str(error) or "access_token" in str(error)):
        return (f"the check calls validate_id_token(token, jwks, nonce=..., access_token=...), and your function "
                f"does not take those: {type(error).__name__}: {error}")
    if isinstance(error, jwt.InvalidAudienceError):
        return f"your function refused {described}: its aud is your client_id, {CLIENT_ID!r} (audience=CLIENT_ID)."
    if isinstance(error, jwt.InvalidIssuerError):
        return f"your function refused {described}: its iss is {ISSUER!r} (issuer=ISSUER)."
    return f"your function refused {described}: {type(error).__name__}: {str(error)[:160]}"


def _raised_hint(described: str, error: BaseException) -> str:
    if "kid" in described:
        return (" In an app that is a 500, not a refusal. When no key in the JWK Set has the token's kid, raise "
                "jwt.InvalidTokenError.")
    if "nonce" in described:
        return (" Refuse it with jwt.InvalidTokenError: a token without a nonce, or with another one, is not "
                "the answer to your sign-in.")
    if "ES256" in described:
        return (" The EC key in the set made your function fail instead of refusing. Fix the algorithm from "
                'your configuration, algorithms=["RS256"], so that an ES256 token is refused before any key '
                "is used.")
    if "key confusion" in described:
        return (" PyJWT refused to use the RSA public key as an HMAC secret, which saved you this time. HS256 must "
                'not be on your list: algorithms=["RS256"].')
    return " Raise jwt.InvalidTokenError (or let PyJWT raise it), so that the caller catches one kind of error."


LEEWAY_PROBES = (600, 3600, 86400, 30 * 86400, 365 * 86400)  # seconds since exp, each probed in turn


def _expiry_fix(call: Any, now: float) -> str:
    """Why an expired token got in: a leeway larger than its age (some older token is refused), or no exp
    check at all (every one passes). The hint names the age at which the leeway ends."""
    import jwt

    for age in LEEWAY_PROBES:
        expired = _sign(_claims(iat=now - age - 300, exp=now - age))
        if isinstance(run(call, expired, _jwks()).error, jwt.InvalidTokenError):
            return (f"leeway= is far too large: a token expired {_duration(age)} ago is refused, so your leeway "
                    "lets tokens live for minutes or more past exp. It covers clock differences between "
                    "servers, a few seconds (leeway=5); more keeps stolen tokens alive.")
    return ""


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''}"
    return f"{seconds} s"


# -- exercise 2 -----------------------------------------------------------------------------

def account_key(function: Any) -> None:
    """08, exercise 2: `account_key(claims)` returns what the app keys its user accounts by: (iss, sub).

    An e-mail address can change, be reassigned, or be unverified, and two issuers can both assert
    the same one: keying by it lets one account be taken over through another (Core §5.7). sub is
    unique and never reassigned within its issuer (Core §2), so the pair is the key, not sub alone.
    """
    if placeholder(unless_stub(function)) or not_a_function(function, "checks.account_key(account_key)"):
        return
    ada = {"iss": ISSUER, "sub": "ada", "aud": CLIENT_ID, "email": "ada@practice.test", "email_verified": True}
    cases = [  # (first claims, second claims, same account?, what they are)
        ({"iss": ISSUER, "sub": "grace"}, {"iss": ISSUER, "sub": "grace", "name": "Grace Hopper"}, True,
         "two sign-ins of grace without the email scope (no email claim at all)"),
        (ada, {**ada, "email": "countess@practice.test"}, True,
         "two sign-ins of ada, who changed her e-mail address in between"),
        ({**ada, "preferred_username": "ada.lovelace"}, {**ada, "preferred_username": "countess"}, True,
         "two sign-ins of ada, who changed her user name (preferred_username) in between"),
        (ada, {**ada, "iss": "https://login.other.test", "sub": "u-7731"}, False,
         "ada, and someone whose other provider asserts ada's address, e-mail ada@practice.test"),
        (ada, {**ada, "sub": "mallory", "email_verified": False}, False,
         "ada, and another user of the same provider who typed ada's address and never verified it"),
        (ada, {**ada, "iss": "https://login.other.test"}, False,
         "ada, and a user of another provider whose sub is also 'ada' (a sub is unique only within its issuer)"),
        ({"iss": "https://login.example.test/x", "sub": "y"}, {"iss": "https://login.example.test/", "sub": "xy"},
         False, "two different (iss, sub) pairs whose strings, run together, are the same"),
        ({"iss": "https://login.example.test/tenant-a/v2.0", "sub": "u-1"},
         {"iss": "https://login.example.test/tenant-b/v2.0", "sub": "u-1"}, False,
         "two users of a multi-tenant provider: one host, two tenants (two issuers), the same sub"),
        ({"iss": ISSUER, "sub": "Ada"}, {"iss": ISSUER, "sub": "ada"}, False,
         "two users of one provider whose subs differ only in case ('Ada' and 'ada')"),
        ({"iss": "https://login.example.test", "sub": "u-1"}, {"iss": "https://login.example.test/", "sub": "u-1"},
         False, "two issuers that differ only by a trailing '/', with the same sub"),
    ]
    for first, second, same, described in cases:
        keys = []
        for claims in (first, second):
            outcome = run(function, dict(claims))
            if outcome.error is not None:
                hint = (" Not every ID token has an email claim (only with the email scope): key by iss and sub."
                        if isinstance(outcome.error, KeyError) else "")
                return not_yet(raised(described, outcome.error, hint))
            keys.append(outcome.value)
        if keys[0] is None:
            without = " Not every ID token has an email claim (only with the email scope)." if (
                "email" not in first) else ""
            return not_yet(f"for {described}, your function returned None.{without} Return the key: "
                           "(claims['iss'], claims['sub']).")
        try:
            {keys[0]: 1, keys[1]: 2}
        except TypeError:
            return not_yet(f"your function returned {a_kind(keys[0])}, which cannot be a dict key or a database "
                           "key. Return a tuple: (claims['iss'], claims['sub']).")
        if (keys[0] == keys[1]) != same:
            return not_yet(f"for {described}, your keys say {'one' if not same else 'two different'} "
                           f"account{'s' if same else ''}, not {'one' if same else 'two'}. {_key_hint(described)}")
    right("you key accounts by (iss, sub): stable, never reassigned, and unique across providers. E-mail stays a "
          "contact detail, shown to the user, never who they are.")


def _key_hint(described: str) -> str:
    if "preferred_username" in described:
        return ("preferred_username is a display name the user may change, and the RP MUST NOT rely on it being "
                "unique (Core §5.1). Key by (claims['iss'], claims['sub']).")
    if "tenant" in described:
        return ("The issuer is the whole iss string, path included: on a multi-tenant provider each tenant is an "
                "issuer of its own, and its subs are unique only there. Key by (claims['iss'], claims['sub']).")
    if "case" in described:
        return ("sub is a case-sensitive string (Core §2): 'Ada' and 'ada' are two users. Keep it as it came: "
                "(claims['iss'], claims['sub']).")
    if "trailing '/'" in described:
        return ("Issuers are compared exactly, as strings (Core §2, Discovery §4.3): with and without a trailing "
                "'/' they are two issuers. Do not normalise iss: (claims['iss'], claims['sub']).")
    if "run together" in described:
        return "Joining the strings loses where one ends: return the tuple (claims['iss'], claims['sub'])."
    if "also 'ada'" in described:
        return ("sub is unique within its issuer only (Core §2): two providers may both have a user 'ada'. Key "
                "by the pair, (claims['iss'], claims['sub']).")
    return ("An e-mail address can change, be unverified, or be asserted by another provider: it is not who the "
            "user is. Key by (claims['iss'], claims['sub']) (Core §5.7).")


# -- test tokens, signed with the practice API's published demo key -----------------------

def _claims(**changes: Any) -> dict:
    """The claims of the check's good ID token (Core §2), with `changes` (None removes a claim)."""
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "ada", "aud": CLIENT_ID, "exp": now + 300, "iat": now, "auth_time": now - 5,
              "nonce": NONCE, "at_hash": at_hash(ACCESS_TOKEN)}
    claims.update(changes)
    return {name: int(value) if isinstance(value, float) else value
            for name, value in claims.items() if value is not None}


def _sign(claims: dict, *, typ: str = ID_TOKEN_TYPE) -> str:
    import jwt

    return jwt.encode(claims, signing_key.private_key(), algorithm="RS256",
                      headers={"kid": signing_key.KEY_ID, "typ": typ})


def _access_token() -> str:
    """An access token as this provider issues them (RFC 9068 §2.2): typ at+jwt, aud the API, no nonce."""
    now = int(time.time())
    return _sign({"iss": ISSUER, "sub": "ada", "aud": ISSUER + "/me", "client_id": CLIENT_ID, "exp": now + 300,
                  "iat": now, "scope": "openid profile notes:read", "jti": "check"}, typ="at+jwt")


def _hs256_with_public_key(claims: dict) -> str:
    import hmac

    from cryptography.hazmat.primitives import serialization

    public_pem = signing_key.private_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = _segments({"alg": "HS256", "typ": ID_TOKEN_TYPE, "kid": signing_key.KEY_ID}, claims)
    return signing_input + "." + _b64url(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())


def _hmac_token(claims: dict) -> str:
    import jwt

    return jwt.encode(claims, OCT_SECRETS["HS256"], algorithm="HS256",
                      headers={"kid": "shared-hs256", "typ": ID_TOKEN_TYPE})


def _es256_forgery() -> tuple[str, dict]:
    """A token signed ES256 by a fixed EC key, and the JWK Set with that key added."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_key = ec.derive_private_key(int.from_bytes(OCT_SECRETS["HS256"], "big"), ec.SECP256R1())
    ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)
    key_set = {"keys": [*_jwks()["keys"], {**ec_jwk, "kid": "shared-es256", "use": "sig", "alg": "ES256"}]}
    token = jwt.encode(_claims(), ec_key, algorithm="ES256", headers={"kid": "shared-es256", "typ": ID_TOKEN_TYPE})
    return token, key_set


def _signed_by_a_stranger(header: dict) -> str:
    """A token with this header (plus alg RS256) whose signature no key of the JWK Set made."""
    signing_input = _segments({"alg": "RS256", "typ": ID_TOKEN_TYPE, **header}, _claims())
    return signing_input + "." + _b64url(hashlib.sha512(signing_input.encode()).digest() * 4)
