"""Checks for notebook 03, JWT bearer tokens.

Exercise 1's check sends one request through the learner's session to the practice API
that the notebook's Setup cell started: only the API's own 200 counts as right. Exercises
2 and 3 need no API: the checks sign their own test tokens with the practice API's
published demo key (a good token, and each classic forgery).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests

from helpers.practice_api import signing_key
from helpers.checks.feedback import (MASK, PRACTICE_URL, auth_object_problem, holds_secret, not_a_function, not_yet,
                                     output_captured, placeholder, query_pairs, right, run, secret_elsewhere, sent_with,
                                     session_not_made, unless_stub, url_of, verify_off)
from helpers.viewers import a_kind

__all__ = ["bearer_session", "verify_token", "seconds_left"]

ISSUER = PRACTICE_URL
AUDIENCE = PRACTICE_URL + "/me"
ACCESS_TOKEN_TYPE = "at+jwt"  # the typ of the practice API's access tokens (RFC 9068 §2.1)
LOGIN_CLIENT_ID = "practice-login"  # the client_id claim of tokens from /login (tokens.LOGIN_CLIENT_ID)
JWT_LIKE = re.compile(r"(?<![\w-])eyJ[\w-]*\.[\w-]+\.[\w-]*")  # starts at a word's start: linear time
TOKEN_PARAMETERS = {"access_token", "token", "bearer", "jwt", "auth", "authorization", "id_token"}
# Other credentials that must never be in a URL either: this session needs none of them.
CREDENTIAL_PARAMETERS = {"refresh_token", "code", "key", "api_key", "apikey", "client_secret", "password"}
# RFC 6750 §5.3: bearer tokens "SHOULD NOT be passed in page URLs", because browsers, web servers and other
# software may not secure URLs in "the browser history, web server logs, and other data structures". The
# stricter rule, "Clients MUST NOT pass access tokens in a URI query parameter", is RFC 9700's countermeasure
# in §4.3.2 (Access Token in Browser History): section number and words from memory of the RFC, not checked
# against its text here.
URLS_ARE_KEPT = "browser history, web server logs and other software keep URLs"
IN_URL = ("the token is in the URL ({where}). " + URLS_ARE_KEPT[0].upper() + URLS_ARE_KEPT[1:] + ": bearer tokens "
          "SHOULD NOT be passed in page URLs (RFC 6750 §5.3), and clients MUST NOT pass access tokens in a query "
          "parameter (RFC 9700 §4.3.2). Send it in the Authorization header only: "
          "bearer.auth = BearerAuth(fresh['access_token']), and no token in params=.")
REFRESH_TOKEN_IN_URL = ("the refresh token is in the URL ({where}). " + URLS_ARE_KEPT[0].upper() + URLS_ARE_KEPT[1:]
                        + " (RFC 6750 §5.3), and a refresh token goes only to the token endpoint, never to an API "
                        "(RFC 6749 §1.5). This session needs the access token alone, in the Authorization header: "
                        "remove it from params=.")
CREDENTIAL_IN_URL = ("a credential is in the URL ({where}). " + URLS_ARE_KEPT[0].upper() + URLS_ARE_KEPT[1:]
                     + " (RFC 6750 §5.3 says it of tokens), so no secret belongs there. This session needs the "
                     "access token alone, in the Authorization header: remove it from params=.")
VERIFY_OFF = ("{what} turns off the certificate check: requests checks certificates only when verify is True or "
              "the path of a CA bundle, so anyone on the network path could pose as the API and collect the "
              "token. Leave verify alone (True is the default), or give it the path of a CA bundle (notebook 06).")
UNSENDABLE_HEADER = ("the Authorization header holds a line break (or a character HTTP/1.1 headers cannot carry), "
                     "so the request cannot be sent: a header is one line (CR, LF and NUL are invalid in it, "
                     "RFC 9110 §5.5) and http.client sends it as Latin-1. Was the token copied with its line end, "
                     "or from a shortened display? Pass fresh['access_token'] itself.")
NOT_A_SESSION_IN_URL = ("{what} is in the URL ({where}). RFC 6750 §2.3 says a token SHOULD NOT go there unless "
                        "neither a header nor the body can carry it, and §5.3 says why: browser history and server "
                        "logs keep URLs. Pass a session that sends the token in the Authorization header instead: "
                        "bearer = requests.Session(); bearer.auth = BearerAuth(fresh['access_token']).")
PRINTED = ("your session printed the access token while it sent the request: the output is saved into the "
           ".ipynb file, and from there into git. Never print or log a token; print the status code instead.")


# -- exercise 1 -----------------------------------------------------------------------------

def bearer_session(session: Any) -> None:
    """03, exercise 1: a Session whose every request carries `Authorization: Bearer <access token>`.

    It names the usual mistakes first (the practice API would refuse most of them with a bare
    400 or 401), then sends GET /me through the session: "Right" needs the API's 200.
    """
    if placeholder(session):
        return
    if getattr(requests.session, "auth_token", None) is not None:
        return not_yet("requests.session.auth_token sets an attribute on a function; requests never reads it. "
                       "Create a session with requests.Session() and set session.auth = BearerAuth(token).")
    if session_not_made(session, "bearer"):
        return
    if not isinstance(session, requests.Session):
        where = _token_in_url(url_of(session))
        if where:
            what = "a credential" if _names_a_credential(where) else "the token"
            return not_yet(NOT_A_SESSION_IN_URL.format(what=what, where=where))
        return not_yet(f"expected a requests.Session, got {a_kind(session)}.")
    where = _token_in_params(session.params)
    if where:
        return not_yet(_in_url(f"{where} in session.params"))
    # None too: on a Session (unlike a verify= keyword) it is the value used, and requests tests it for truth.
    if session.verify is None or verify_off(session.verify):
        return not_yet(VERIFY_OFF.format(what=f"session.verify = {session.verify!r}"))
    auth = session.auth
    # A session class of its own may add the token in its request() (Authlib's OAuth2Session passes
    # auth= on each call): judged on what its real request sends, as every session is in the end.
    adds_its_own = auth is None and type(session).request is not requests.Session.request
    if auth is None and not adds_its_own:
        if "Authorization" in session.headers:
            return not_yet("a header in session.headers works until a ~/.netrc entry silently replaces it "
                           "(requests: auth= beats ~/.netrc beats headers=). Set session.auth = BearerAuth(token) "
                           "instead." + _scheme_missing(session.headers["Authorization"]))
        place = secret_elsewhere(session, JWT_LIKE.search, skip=("authorization",))
        if place:
            return not_yet(f"the token is in {place}, and an API that takes bearer tokens reads the Authorization "
                           "header (RFC 6750 §2.1). Set session.auth = BearerAuth(token).")
        return not_yet("session.auth is not set. Set session.auth = BearerAuth(token): every request then carries "
                       "the token in the Authorization header, not in a URL, which browser history and server logs "
                       "keep (RFC 6750 §5.3).")
    problem = "" if adds_its_own else auth_object_problem(
        auth, secret="token", make="BearerAuth(fresh['access_token'])",
        tuple_hint="a tuple in session.auth means Basic auth (user, password). A token needs BearerAuth(token).")
    if problem:
        return not_yet(problem)
    failure, token = "", ""
    if not adds_its_own:
        with output_captured() as printed:  # what the learner's auth prints must not reach the notebook unseen
            try:
                prepared = session.prepare_request(requests.Request("GET", AUDIENCE))
            except Exception as error:  # the learner's auth object failed: report it, do not crash
                failure = f"session.auth raised {type(error).__name__}: {_masked(str(error))[:200]}"
        if failure:
            return not_yet(failure)
        token = _bearer_token(prepared.headers.get("Authorization"))
        if _shows_token(printed.getvalue(), token):
            return not_yet(PRINTED)
        problem = _sent_problem(prepared, token) or _authorization_problem(prepared.headers.get("Authorization"))
        if problem:
            return not_yet(problem)
    with output_captured() as printed:
        try:
            response = session.get(AUDIENCE, timeout=5)
        except requests.RequestException as error:
            failure = (f"the request to the practice API failed ({type(error).__name__}). Run the Setup cell, "
                       "which starts the practice API, then this cell again.")
        except ValueError:  # UnicodeEncodeError too: a header line that HTTP/1.1 cannot carry
            failure = UNSENDABLE_HEADER
    if failure:
        return not_yet(failure)
    if adds_its_own:
        token = _bearer_token(response.request.headers.get("Authorization"))
    if _shows_token(printed.getvalue(), token):
        return not_yet(PRINTED)
    problem = (_sent_problem(response.request, token) or _verify_problem(response)
               or (_authorization_problem(response.request.headers.get("Authorization")) if adds_its_own else ""))
    if problem:
        return not_yet(problem)
    if response.status_code == 200:
        return right("the practice API answered 200 to GET /me through this session: every request carries the "
                     "access token in the Authorization header, and none in the URL.")
    description = _error_description(response)
    hint = ""
    if "expired" in description or "revoked" in description:
        hint = " That token no longer works: log in again (fresh = login()) and send the new access token."
    not_yet(f"the practice API answered {response.status_code}: {description}{hint}")


def _bearer_token(header: str | None) -> str:
    """The credentials after the scheme in an Authorization header, or ''."""
    return (header or "").strip().partition(" ")[2].strip()


def _shows_token(printed: str, token: str) -> bool:
    """True when what the learner's code printed holds the token it sends, or any JWT, also in another form
    (hex, base64, a JWT in pieces: feedback.holds_secret)."""
    return holds_secret(printed, (token,) if token else ())


def _sent_problem(request: Any, token: str) -> str:
    """What puts a credential where it does not belong in a request about to go (or gone) out, or ''."""
    where = _token_in_url(getattr(request, "url", "") or "", token)
    if where:
        return _in_url(where)
    if not token:
        return ""
    for name, value in (getattr(request, "headers", None) or {}).items():
        if name.lower() != "authorization" and token in str(value):
            place = "a cookie" if name.lower() == "cookie" else f"the {name[:40]} header"
            return (f"the access token is also in {place}. Every copy of a token is one more place it can leak "
                    "from (logs, proxies, other hosts): send it once, in the Authorization header only.")
    return ""


def _verify_problem(response: requests.Response) -> str:
    """'' when the check's own request checked the server's certificate; otherwise the hint.

    Judged on the verify= that requests really passed to the transport (an adapter or a hook may
    have changed the session's), which must be True or the path of a CA bundle.
    """
    sent = sent_with(response)
    if sent is None:  # not the in-process practice API: the session's own setting was judged above
        return ""
    verify = sent.get("verify")
    if verify is True or (isinstance(verify, str) and verify):
        return ""
    return VERIFY_OFF.format(what=f"the check's request went out with verify={verify!r}: something in this session "
                                  "(an adapter, a hook) set it, and that")


def _in_url(where: str) -> str:
    """The hint for a credential at `where` in a URL: the refresh token, another credential, or the token."""
    if where.partition("=")[0].strip("'").lower() == "refresh_token":
        return REFRESH_TOKEN_IN_URL.format(where=where)
    return (CREDENTIAL_IN_URL if _names_a_credential(where) else IN_URL).format(where=where)


def _names_a_credential(where: str) -> bool:
    """True when `where` ("'refresh_token=' in ...") names a credential other than the access token."""
    return where.partition("=")[0].strip("'").lower() in CREDENTIAL_PARAMETERS


def _scheme_missing(header: Any) -> str:
    """'' when a hand-set Authorization header starts with the Bearer scheme; else a sentence naming it.

    The value itself is never quoted: it is the token.
    """
    text = header.decode("latin-1") if isinstance(header, bytes) else str(header)
    if text.partition(" ")[0].lower() == "bearer":  # the scheme is case-insensitive (RFC 9110 §11.1)
        return ""
    return (' Your header also lacks its scheme: the value is "Bearer", then one space, then the token '
            "(RFC 6750 §2.1); BearerAuth writes it so.")


def _authorization_problem(header: str | None) -> str:
    """What is wrong with an Authorization header that should be `Bearer <access token>`, or ''."""
    if not header:
        return "no Authorization header was added. Does your auth's __call__ set it and return the request?"
    if not _fits_a_header(header):
        return UNSENDABLE_HEADER
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":  # the scheme is case-insensitive (RFC 9110 §11.1): bearer is fine
        return f"the Authorization header uses the {scheme[:20]!r} scheme; tokens go after 'Bearer '."
    value = credentials.strip()
    if value.startswith("{"):
        return ("the header carries the whole token response (the dict), refresh token included. Send the access "
                "token alone: BearerAuth(fresh['access_token']).")
    if value.partition(" ")[0].lower() == "bearer":
        return ("the header says 'Bearer' twice: BearerAuth adds 'Bearer ' itself. Pass the token alone: "
                "BearerAuth(fresh['access_token']).")
    if not value or " " in value:
        return "after 'Bearer ' comes exactly one token, with no spaces (RFC 6750 §2.1)."
    if value.count(".") != 2:
        return ("the header carries something that is not this API's access token (a JWT: three parts separated "
                "by dots). Is it the refresh token? That one goes only to the token endpoint. Send "
                "fresh['access_token'], the whole string.")
    return ""


def _fits_a_header(value: str) -> bool:
    """Can HTTP/1.1 carry `value` in a header line: Latin-1, no CR, LF or NUL (RFC 9110 §5.5)?"""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not any(char in value for char in "\r\n\x00")


def _token_in_params(params: Any) -> str:
    """Where session.params would put a token in every URL ('access_token='), or ''."""
    for name, value in query_pairs(params):
        if _is_token_parameter(name, value):
            return f"'{name[:40]}='"
    return ""


def _token_in_url(url: str, token: str = "") -> str:
    """Where a prepared URL carries a token or another credential, or ''."""
    parts = urlsplit(url)
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _is_token_parameter(name, value) or (token and token in value):
            return f"'{name[:40]}=' in the query string"
    path = unquote(parts.path)
    if JWT_LIKE.search(path) or (token and token in path):
        return "in the path"
    return ""


def _is_token_parameter(name: str, value: str) -> bool:
    return name.lower() in TOKEN_PARAMETERS | CREDENTIAL_PARAMETERS or bool(JWT_LIKE.search(value))


def _masked(text: str) -> str:
    return JWT_LIKE.sub(MASK, text)


def _error_description(response: requests.Response) -> str:
    try:
        body = response.json()
        description = body.get("error_description") or body.get("error") or response.reason
    except (ValueError, AttributeError):
        description = response.reason
    return _masked(str(description or ""))[:200]


# -- exercise 2 -----------------------------------------------------------------------------

def verify_token(function: Any) -> None:
    """03, exercise 2: `verify(token, jwks)` returns the claims of a good token and refuses every forgery.

    Besides the classic forgeries, it hands the function a JWK Set that also holds a symmetric
    (`oct`) key, as a misconfigured or tampered key set might, and a token signed with it. With
    a PyJWK, PyJWT verifies with the key's own algorithm; only this case shows whether the
    function fixes the algorithm itself (`algorithms=["RS256"]`), as RFC 8725 §3.1 asks.
    """
    if placeholder(function) or not_a_function(function, "checks.verify_token(verify_with)"):
        return
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
        return not_yet(f"for a valid token, return the claims dict that jwt.decode() gives, not {a_kind(claims)}.")

    now = time.time()
    forgeries = [
        ("a token whose payload was changed after signing", _tampered(good, scope="profile notes:read admin"), jwks,
         "verify the signature: never options={'verify_signature': False} in an API"),
        ("an unsigned token (alg=none)", _unsigned(_claims()), jwks, 'list only RS256: algorithms=["RS256"]'),
        ("an HS256 token signed with the public key (key confusion)", _hs256_with_public_key(_claims()), jwks,
         'list only RS256: algorithms=["RS256"]'),
        (OCT_FORGERY, _hmac_token(_claims(), "HS256"), _jwks_with_oct("HS256"), ""),
        ("a token for another API (aud)", _sign(_claims(aud="https://notes.practice.test")), jwks,
         "pass audience=AUDIENCE, and keep the audience check on"),
        ("a token from another issuer (iss)", _sign(_claims(iss="https://evil.test")), jwks, "pass issuer=ISSUER"),
        *[(f"a token signed {alg}, an algorithm this issuer does not use, by a key added to the JWK Set",
           token, key_set,
           f"{alg} is on your algorithms= list, or algorithms= is left out (PyJWT then trusts the JWK's own alg). "
           'List only what this issuer signs with: algorithms=["RS256"]')
          for alg, token, key_set in _other_algorithm_forgeries()],
        ("an expired token", _sign(_claims(iat=now - 600, exp=now - 300)), jwks, ""),
        ("a token that expired a minute ago", _sign(_claims(iat=now - 360, exp=now - 60)), jwks, ""),
        ("a token without exp", _sign(_claims(exp=None)), jwks, 'require it, as the solution does: options={"require": ["exp", "iat", "sub"]}'),
        ("a token not valid before 10 minutes from now (nbf)", _sign(_claims(nbf=now + 600)), jwks,
         "keep nbf checking on: no options={'verify_nbf': False}"),
        ("a token issued 10 minutes in the future (iat)", _sign(_claims(iat=now + 600, exp=now + 900)), jwks,
         "keep iat checking on: no options={'verify_iat': False}"),
        ("a token whose kid is not in the JWK Set", _signed_by_a_stranger({"kid": "retired-2025"}), jwks, ""),
        ("a token without a kid", _signed_by_a_stranger({}), jwks, ""),
        ("a token whose kid is not a string", _signed_by_a_stranger({"kid": [signing_key.KEY_ID]}), jwks, ""),
        *[(f"a JWT of this issuer that is not an access token ({kind})", _sign(_claims(), typ=typ), jwks,
           'check the header: accept only typ "at+jwt" or "application/at+jwt" (RFC 9068 §4: any other value, or '
           "none, is refused), so that no other kind of JWT this issuer signs passes for an access token")
          for kind, typ in (('typ "JWT", as an ID token', "JWT"), ('typ "id_token+jwt"', "id_token+jwt"),
                            ("no typ header at all", None))],
    ]
    for described, token, key_set, fix in forgeries:
        verdict = _verdict(function, token, key_set)
        if verdict == "refused":
            continue
        if isinstance(verdict, Exception):
            return not_yet(_raised_hint(described, verdict))
        if described == OCT_FORGERY:
            return not_yet(_algorithm_hint(function))
        if "expired" in described:
            return not_yet(_expiry_hint(function, now, described))
        if "kid" in described:  # signed by a key outside the JWK Set, yet accepted
            return not_yet(f"your function accepted {described}, signed by a key the JWK Set does not hold. Look "
                           "the key up by the token's kid, and refuse the token when none matches.")
        return not_yet(f"your function accepted {described}. Fix: {fix}.")
    right(f"it accepts the real token and refuses all {len(forgeries)} bad ones, including tokens signed by keys "
          "slipped into the JWK Set: a symmetric one, and ones for algorithms this issuer does not use.")


OCT_FORGERY = "a token signed HS256 with a symmetric (oct) key of the JWK Set"


def _other_algorithm_forgeries() -> list[tuple[str, str, dict]]:
    """Tokens signed with algorithms this issuer does not use, each by a key added to the JWK Set.

    PyJWT verifies with the PyJWK's own algorithm, so only a function whose algorithms= lists
    that algorithm accepts the token: RS512 and PS256 with the demo RSA key under a kid of
    their own, ES256 with a fixed EC key.
    """
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    forgeries = []
    for alg in ("PS256", "RS512"):
        kid = f"{signing_key.KEY_ID}-{alg.lower()}"
        key_set = {"keys": [*_jwks()["keys"], {**_jwks()["keys"][0], "kid": kid, "alg": alg}]}
        token = jwt.encode(_claims(), signing_key.private_key(), algorithm=alg,
                           headers={"kid": kid, "typ": ACCESS_TOKEN_TYPE})
        forgeries.append((alg, token, key_set))
    ec_key = ec.derive_private_key(int.from_bytes(OCT_SECRETS["HS256"], "big"), ec.SECP256R1())
    ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)
    key_set = {"keys": [*_jwks()["keys"], {**ec_jwk, "kid": "shared-es256", "use": "sig", "alg": "ES256"}]}
    token = jwt.encode(_claims(), ec_key, algorithm="ES256", headers={"kid": "shared-es256", "typ": ACCESS_TOKEN_TYPE})
    forgeries.append(("ES256", token, key_set))
    return forgeries


def _signed_by_a_stranger(header: dict) -> str:
    """A token with this header (plus alg RS256) whose signature no key of the JWK Set made."""
    signing_input = _segments({"alg": "RS256", "typ": ACCESS_TOKEN_TYPE, **header}, _claims())
    return signing_input + "." + _b64url(hashlib.sha512(signing_input.encode()).digest() * 4)


def _verdict(function: Any, token: str, jwks: dict) -> Any:
    """'refused' (an InvalidTokenError), 'accepted', or the other exception the function raised."""
    import jwt

    try:
        function(token, jwks)
    except jwt.InvalidTokenError:
        return "refused"
    except Exception as error:
        return error
    return "accepted"


def _raised_hint(described: str, error: Exception) -> str:
    if "kid" in described:
        return (f"for {described}, your function raised {type(error).__name__}: in an API that is a 500, not a 401. "
                "Refuse it: when no key in the JWK Set has the token's kid, raise jwt.InvalidTokenError.")
    if described.endswith("(key confusion)"):
        # PyJWT tried HS256, so the function let HS256 in; only PyJWT's own guard stopped it.
        return (f"for {described}, your function raised {type(error).__name__}: PyJWT refused to use the RSA public "
                "key as an HMAC secret, which saved you this time. HS256 must not be on your list at all: "
                'algorithms=["RS256"], with the PyJWK from the JWK Set as the key.')
    return (f"for {described}, your function raised {type(error).__name__} ({_masked(str(error))[:120]}); let PyJWT "
            "raise its InvalidTokenError instead, so that callers can catch one kind of error.")


def _algorithm_hint(function: Any) -> str:
    """Which algorithm mistake let the oct-signed token in: HS256 on the list, or no list of one's own."""
    accepted_hs512 = _verdict(function, _hmac_token(_claims(), "HS512"), _jwks_with_oct("HS512")) == "accepted"
    start = (f"your function accepted {OCT_FORGERY}. A JWK Set is public: anyone who reads it can sign with a "
             "symmetric key in it. ")
    if not accepted_hs512:
        return start + 'HS256 is on your algorithms= list. List only what this issuer signs with: algorithms=["RS256"].'
    return start + ("The algorithm came from the key or the token, not from you. Pass a fixed list of what this "
                    'issuer signs with, algorithms=["RS256"]: not left out (PyJWT then trusts the JWK\'s own alg), '
                    "not every algorithm PyJWT knows, and never read from the token's header.")


def _expiry_hint(function: Any, now: float, described: str) -> str:
    """Why an expired token got in: expiry checking off, or a leeway far beyond clock differences."""
    long_expired = _sign(_claims(iat=now - 2 * 86400, exp=now - 86400))
    if _verdict(function, long_expired, _jwks()) == "refused":
        return (f"your function accepted {described}: leeway= is far too large. Leeway covers clock differences "
                "between servers, a few seconds (leeway=5); more keeps stolen tokens alive.")
    return "your function accepted an expired token. Keep exp checking on: no options={'verify_exp': False}."


# -- exercise 3 -----------------------------------------------------------------------------

def seconds_left(function: Any) -> None:
    """03, exercise 3: `seconds_left(token_response, requested_at, now)`, from `expires_in` alone.

    A client MUST NOT inspect the access token (RFC 9068 §6). So the check hands the function
    an opaque access token, and JWTs whose exp disagrees with expires_in: reading exp shows.
    The times are the check's own, as a test's would be, so that time.time() shows too.
    """
    if placeholder(unless_stub(function)) or not_a_function(function, "checks.seconds_left(seconds_left)"):
        return
    import jwt

    requested = 1_000_000.0  # just before the token request was sent, in the check's own time
    opaque = "8pPq0Qm7v1Jb2f5yZ-demo-opaque-token-TkA"
    cases = [  # (described, token response, now, expected, exp claim or None)
        ("an opaque access token (not a JWT) with expires_in 300, 100 s after it was requested",
         _token_response(opaque, 300), requested + 100, 200.0, None),
        ("a JWT access token with expires_in 300 whose exp claim is an hour later",
         _token_response(_sign(_claims(iat=requested, exp=requested + 3600)), 300), requested + 100, 200.0,
         requested + 3600),
        ("a JWT access token with expires_in 300 whose exp claim is a minute later",
         _token_response(_sign(_claims(iat=requested, exp=requested + 60)), 300), requested + 100, 200.0, requested + 60),
        ("a token that expired 100 s ago (expires_in 300, 400 s after it was requested)",
         _token_response(opaque, 300), requested + 400, -100.0, None),
        ("a token response without expires_in", _token_response(opaque, None), requested + 100, math.inf, None),
        ("a JWT access token without expires_in (its exp claim is an hour later)",
         _token_response(_sign(_claims(iat=requested, exp=requested + 3600)), None), requested + 100, math.inf,
         requested + 3600),
    ]
    for described, response, now, expected, exp in cases:
        outcome = run(function, dict(response), requested, now)
        got, error = outcome.value, outcome.error
        if isinstance(error, jwt.InvalidTokenError):
            return not_yet(f"for {described}, your function decoded the access token, and failed. A client MUST NOT "
                           "inspect the access token (RFC 9068 §6): it is for the API, and its format may change "
                           "at any time (this one is opaque). Use token_response['expires_in'], counted from "
                           "requested_at.")
        if isinstance(error, KeyError):
            if "expires_in" in response:
                return not_yet(f"for {described}, your function raised KeyError {error}.")
            return not_yet("for a token response without expires_in, your function raised KeyError. expires_in is "
                           "only RECOMMENDED (RFC 6749 §5.1): read it with .get(), and when it is missing return "
                           "math.inf; a 401 will tell you when the token dies, as RefreshingBearerAuth does.")
        if error:
            return not_yet(f"for {described}, your function raised {type(error).__name__}: {_masked(str(error))[:120]}")
        hint = _seconds_left_hint(got, response, requested, now, expected, exp)
        if hint:
            return not_yet(f"for {described}, it returned {_shown(got)}. {hint}")
    right("you read the token response's expires_in, counted from when you requested it, and left the access token "
          "opaque, as a client must (RFC 9068 §6).")


def _seconds_left_hint(got: Any, response: dict, requested: float, now: float, expected: float,
                       exp: float | None) -> str:
    """'' for the right answer; otherwise what the answer did instead."""
    if got is None and expected == math.inf:
        return ("Without expires_in the client cannot know, so return math.inf: then `seconds_left <= margin` is "
                "never true, and a 401 tells you when to refresh.")
    if got is None:
        return "Replace the `...` with code that returns a number of seconds."
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return "return a number of seconds (an int or a float)."
    if got == expected or (math.isfinite(expected) and abs(got - expected) < 1e-6):
        return ""
    if exp is not None and abs(got - (exp - now)) < 2:
        return ("That is the exp claim inside the access token. A client MUST NOT inspect the access token "
                "(RFC 9068 §6): it is meant for the API, which may change its format at any time. Use "
                "expires_in from the token response, counted from requested_at"
                + (", and math.inf when it is missing." if expected == math.inf else "."))
    if expected == math.inf:
        return ("Without expires_in the client cannot know when the token dies, so return math.inf: a 401 will "
                "tell you (RefreshingBearerAuth does the same).")
    expires_in = response["expires_in"]
    if abs(got - expires_in) < 1e-6:
        return "That is expires_in, the lifetime: count from requested_at, requested_at + expires_in - now."
    if abs(got - (requested + expires_in)) < 1e-6:
        return "That is the moment it expires. Subtract now to get the seconds left."
    if abs(got - (requested + expires_in - time.time())) < 60:
        return ("It looks like time.time() went in. Use the `now` it is given: the caller passes time.time(), and "
                "a test passes times of its own.")
    if expected < 0 and got == 0:
        return "Once the token has expired, return a negative number (-100 here), not 0: the caller sees how late."
    if 0 < expected - got <= 300:
        return ("Return the seconds left, no margin here: the caller subtracts its own margin when it decides to "
                "refresh (RefreshingBearerAuth refreshes when now >= expires_at - min(margin, lifetime / 2)).")
    return f"Expected {expected:g}: requested_at + expires_in - now."


def _shown(value: Any) -> str:
    return _masked(repr(value))[:60]


def _token_response(access_token: str, expires_in: int | None) -> dict:
    response = {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in,
                "refresh_token": "demo-refresh-token-not-a-real-one", "scope": "profile notes:read"}
    return {name: value for name, value in response.items() if value is not None}


# -- test tokens, signed with the practice API's published demo key -----------------------

# Symmetric keys for the forged JWK Sets: public, fixed, and as long as their hash (no PyJWT warning).
OCT_SECRETS = {"HS256": hashlib.sha256(b"practice: a symmetric key in a public JWK Set").digest(),
               "HS512": hashlib.sha512(b"practice: a symmetric key in a public JWK Set").digest()}


def _claims(**changes) -> dict:
    now = time.time()
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ada", "client_id": LOGIN_CLIENT_ID, "iat": int(now),
              "exp": int(now) + 300, "scope": "profile notes:read", "jti": "check"}  # RFC 9068 §2.2's claims
    claims.update(changes)
    return {name: int(value) if isinstance(value, float) else value
            for name, value in claims.items() if value is not None}


def _sign(claims: dict, typ: str | None = ACCESS_TOKEN_TYPE) -> str:
    """A token signed with the demo key; typ None leaves the typ header out (PyJWT drops a None typ)."""
    import jwt

    return jwt.encode(claims, signing_key.private_key(), algorithm="RS256",
                      headers={"kid": signing_key.KEY_ID, "typ": typ})


def _jwks() -> dict:
    import jwt

    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.private_key().public_key(), as_dict=True)
    jwk.pop("key_ops", None)
    return {"keys": [{**jwk, "kid": signing_key.KEY_ID, "use": "sig", "alg": "RS256"}]}


def _jwks_with_oct(algorithm: str) -> dict:
    """The API's JWK Set plus a symmetric key: what a misconfigured or tampered key set may hold."""
    oct_key = {"kty": "oct", "kid": f"shared-{algorithm.lower()}", "use": "sig", "alg": algorithm,
               "k": _b64url(OCT_SECRETS[algorithm])}
    return {"keys": [*_jwks()["keys"], oct_key]}


def _hmac_token(claims: dict, algorithm: str) -> str:
    import jwt

    return jwt.encode(claims, OCT_SECRETS[algorithm], algorithm=algorithm,
                      headers={"kid": f"shared-{algorithm.lower()}", "typ": ACCESS_TOKEN_TYPE})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(header: dict, claims: dict) -> str:
    return _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())


def _unsigned(claims: dict, typ: str = ACCESS_TOKEN_TYPE) -> str:
    """An alg=none token: a verifier that takes it accepts anyone's claims (RFC 8725 §2.1)."""
    return _segments({"alg": "none", "typ": typ, "kid": signing_key.KEY_ID}, claims) + "."


def _tampered(token: str, **changed: Any) -> str:
    """`token` with some claims changed after signing, its signature kept: a verifier must refuse it."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changed)
    return header + "." + _b64url(json.dumps(claims).encode()) + "." + signature


def _hs256_with_public_key(claims: dict) -> str:
    from cryptography.hazmat.primitives import serialization

    public_pem = signing_key.private_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = _segments({"alg": "HS256", "typ": ACCESS_TOKEN_TYPE, "kid": signing_key.KEY_ID}, claims)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)
