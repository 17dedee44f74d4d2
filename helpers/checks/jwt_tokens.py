"""Checks for notebook 03, JWT bearer tokens.

The checks sign their own test tokens with the practice API's published demo key, so they
need no API: a good token, and each classic forgery.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import requests

from helpers import signing_key
from helpers.checks.feedback import PRACTICE_URL, not_yet, placeholder, right

__all__ = ["bearer_session", "verify_token", "seconds_left"]

ISSUER = PRACTICE_URL
AUDIENCE = PRACTICE_URL + "/me"


def bearer_session(session: Any) -> None:
    """03, exercise 1: a Session whose every request carries `Authorization: Bearer <token>`."""
    if placeholder(session):
        return
    if getattr(requests.session, "auth_token", None) is not None:
        return not_yet("requests.session.auth_token sets an attribute on a function; requests never reads it. "
                       "Create a session with requests.Session() and set session.auth = BearerAuth(token).")
    if not isinstance(session, requests.Session):
        return not_yet(f"expected a requests.Session, got a {type(session).__name__}.")
    if session.auth is None:
        if "Authorization" in session.headers:
            return not_yet("a header in session.headers works until a ~/.netrc entry silently replaces it "
                           "(requests: auth= beats ~/.netrc beats headers=). Set session.auth = BearerAuth(token) instead.")
        return not_yet("session.auth is not set. Set session.auth = BearerAuth(token).")
    if isinstance(session.auth, tuple):
        return not_yet("a tuple in session.auth means Basic auth (user, password). A token needs BearerAuth(token).")
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare(method="GET", url=AUDIENCE, auth=session.auth)
    except Exception as error:  # the learner's auth object failed: report it, do not crash
        return not_yet(f"session.auth raised {type(error).__name__}: {error}")
    scheme, _, token = prepared.headers.get("Authorization", "").partition(" ")
    if not scheme:
        return not_yet("no Authorization header was added. Does your auth's __call__ set it and return the request?")
    if scheme.lower() != "bearer":
        return not_yet(f"the Authorization header uses the {scheme!r} scheme; tokens go after 'Bearer '.")
    if token.count(".") != 2:
        return not_yet("the header carries something that is not a JWT. Send tokens['access_token'], the whole string.")
    right("every request through this session carries the access token as a Bearer token.")


def verify_token(function: Any) -> None:
    """03, exercise 2: `verify(token, jwks)` returns the claims of a good token and refuses every forgery."""
    if placeholder(function):
        return
    if not callable(function):
        return not_yet("pass the function itself: checks.verify_token(verify).")
    import jwt

    jwks = _jwks()
    good = _sign(_claims())
    try:
        claims = function(good, jwks)
    except jwt.InvalidAudienceError:
        return not_yet("your function refused a valid token: it has an aud claim, so pass audience=AUDIENCE.")
    except jwt.InvalidIssuerError:
        return not_yet(f"your function refused a valid token: its issuer is {ISSUER!r}.")
    except Exception as error:
        return not_yet(f"your function refused a valid token: {type(error).__name__}: {error}")
    if claims is None:
        return not_yet("your function returned None for a valid token. Replace the `...` with code that "
                       "returns what jwt.decode() gives.")
    if not isinstance(claims, dict) or claims.get("sub") != "ada":
        return not_yet(f"for a valid token, return the claims dict that jwt.decode() gives, not {type(claims).__name__}.")

    forgeries = [
        ("a token whose payload was changed after signing", _tampered(good),
         "verify the signature: never options={'verify_signature': False} in an API"),
        ("an unsigned token (alg=none)", _unsigned(_claims()), "list only RS256 in algorithms="),
        ("an HS256 token signed with the public key (key confusion)", _hs256_with_public_key(_claims()),
         "list only RS256 in algorithms="),
        ("a token for another API (aud)", _sign(_claims(aud="https://notes.practice.test")), "pass audience="),
        ("a token from another issuer (iss)", _sign(_claims(iss="https://evil.test")), "pass issuer="),
        ("an expired token", _sign(_claims(iat=time.time() - 600, exp=time.time() - 300)), "keep exp checking on"),
        ("a token without exp", _sign(_claims(exp=None)), 'require it: options={"require": ["exp", "iat"]}'),
    ]
    for described, token, fix in forgeries:
        try:
            function(token, jwks)
        except jwt.InvalidTokenError:
            continue
        except Exception as error:
            return not_yet(f"for {described}, your function raised {type(error).__name__} ({error}); let PyJWT "
                           "raise its InvalidTokenError instead, so that callers can catch one kind of error.")
        return not_yet(f"your function accepted {described}. Fix: {fix}.")
    right("it accepts the real token and refuses all 6 forgeries, and a token without exp.")


def seconds_left(function: Any) -> None:
    """03, exercise 3: read `exp` without verifying, to decide when to refresh."""
    if placeholder(function):
        return
    if not callable(function):
        return not_yet("pass the function itself: checks.seconds_left(seconds_left).")
    import jwt

    for described, offset in [("a token that expires in 120 s", 120), ("a token that expired 60 s ago", -60)]:
        token = _sign(_claims(iat=time.time() - 10, exp=time.time() + offset))
        try:
            got = function(token)
        except jwt.InvalidTokenError as error:
            return not_yet(f"for {described}, decoding raised {type(error).__name__}. You only read exp here, to plan "
                           "a refresh, so decode without verifying: options={'verify_signature': False}. "
                           "The API still verifies the token.")
        except Exception as error:
            return not_yet(f"for {described}, your function raised {type(error).__name__}: {error}")
        if got is None:
            return not_yet("your function returned None. Replace the `...` with code that returns a number.")
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return not_yet(f"for {described}, it returned {got!r}; return a number of seconds.")
        if got > 10**9:
            return not_yet("that is exp itself, seconds since 1970. Subtract time.time() to get the seconds left.")
        if abs(got - offset) > 2:
            return not_yet(f"for {described}, it returned {got}; expected about {offset}.")
    right("reading exp without verifying is fine for planning a refresh; trusting other unverified claims is not.")


# -- test tokens, signed with the practice API's published demo key -----------------------

def _claims(**changes) -> dict:
    now = time.time()
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ada", "iat": int(now), "exp": int(now) + 300,
              "scope": "profile notes:read", "jti": "check"}
    claims.update(changes)
    return {name: int(value) if isinstance(value, float) else value
            for name, value in claims.items() if value is not None}


def _sign(claims: dict) -> str:
    import jwt

    return jwt.encode(claims, signing_key.private_key(), algorithm="RS256", headers={"kid": signing_key.KEY_ID})


def _jwks() -> dict:
    import jwt

    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.private_key().public_key(), as_dict=True)
    return {"keys": [{**jwk, "kid": signing_key.KEY_ID, "use": "sig", "alg": "RS256"}]}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(header: dict, claims: dict) -> str:
    return _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())


def _unsigned(claims: dict) -> str:
    return _segments({"alg": "none", "typ": "JWT", "kid": signing_key.KEY_ID}, claims) + "."


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "profile notes:read admin"
    return header + "." + _b64url(json.dumps(claims).encode()) + "." + signature


def _hs256_with_public_key(claims: dict) -> str:
    from cryptography.hazmat.primitives import serialization

    public_pem = signing_key.private_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = _segments({"alg": "HS256", "typ": "JWT", "kid": signing_key.KEY_ID}, claims)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)
