"""Checks of notebook 03: the right answer passes; each plausible wrong or insecure answer gets its own hint.

Exercise 1's check sends the learner's request to the practice API, so its tests run one
(the `api` fixture) and log in for real tokens.
"""
from __future__ import annotations

import math
import time

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from requests.auth import AuthBase

from conftest import assert_not_yet, assert_right
from helpers import BearerAuth, RefreshingBearerAuth, checks
from helpers.practice_api import demo

AUDIENCE = "https://api.practice.test/me"
ISSUER = "https://api.practice.test"


# -- exercise 1: a session that sends the token -------------------------------------------------

@pytest.fixture
def tokens(api, http) -> dict:
    """A real token response from the practice API's /login."""
    response = http.post(api.url("/login"), json={"username": "ada", "password": demo.password_of("ada")}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def session_with(**settings) -> requests.Session:
    session = requests.Session()
    for name, value in settings.items():
        setattr(session, name, value)
    return session


class SchemeAuth(AuthBase):
    """Sends `Authorization: <scheme> <token>`: a learner's own auth class."""

    def __init__(self, scheme: str, token: str) -> None:
        self.scheme, self.token = scheme, token

    def __call__(self, request):
        request.headers["Authorization"] = f"{self.scheme} {self.token}"
        return request


class TokenInQuery(AuthBase):
    """Puts the token in the URL, as RFC 6750 §2.3 allows and §5.3 advises against."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request):
        request.prepare_url(request.url, {"access_token": self.token})
        return request


def test_bearer_session_right(feedback, tokens):
    assert_right(feedback(checks.bearer_session, session_with(auth=BearerAuth(tokens["access_token"]))),
                 "the practice API answered 200")


def test_bearer_session_lower_case_scheme_is_right(feedback, tokens):
    """RFC 9110 §11.1: the auth scheme is case-insensitive, and the practice API agrees."""
    assert_right(feedback(checks.bearer_session, session_with(auth=SchemeAuth("bearer", tokens["access_token"]))))


def test_bearer_session_refreshing_auth_is_right(feedback, api, tokens):
    auth = RefreshingBearerAuth(api.url("/oauth/token"), tokens, now=api.clock.now)
    assert_right(feedback(checks.bearer_session, session_with(auth=auth)))


WRONG_SESSIONS = {
    # name: (build the answer from a token response, the hint)
    "placeholder": (lambda t: ..., "replace the `...`"),
    "not a session": (lambda t: "Bearer " + t["access_token"], "expected a requests.Session"),
    "the class itself": (lambda t: requests.Session, "Call it"),
    "no auth": (lambda t: requests.Session(), "session.auth is not set"),
    "headers= instead of auth (netrc trap)": (
        lambda t: session_with(headers={"Authorization": "Bearer " + t["access_token"]}), "netrc"),
    "basic tuple": (lambda t: session_with(auth=(t["access_token"], "")), "a tuple in session.auth means Basic"),
    "the token itself as auth": (lambda t: session_with(auth=t["access_token"]), "holds the token itself"),
    "the class as auth": (lambda t: session_with(auth=BearerAuth), "the class BearerAuth itself"),
    # a learner's own class: helpers' BearerAuth refuses these two at construction (test_client_review17c)
    "the whole token response": (lambda t: session_with(auth=SchemeAuth("Bearer", t)), "the whole token response"),
    "Bearer twice": (lambda t: session_with(auth=SchemeAuth("Bearer", "Bearer " + t["access_token"])),
                     "'Bearer' twice"),
    "the refresh token": (lambda t: session_with(auth=BearerAuth(t["refresh_token"])), "refresh token"),
    "another scheme": (lambda t: session_with(auth=SchemeAuth("Token", t["access_token"])), "'Token' scheme"),
    "certificate check off": (lambda t: session_with(auth=BearerAuth(t["access_token"]), verify=False),
                              "session.verify = False"),
    "token in session.params": (lambda t: session_with(params={"access_token": t["access_token"]}),
                                "the token is in the URL"),
    "token in the URL by the auth": (lambda t: session_with(auth=TokenInQuery(t["access_token"])),
                                     "the token is in the URL"),
    "token in the URL and the header": (
        lambda t: session_with(auth=BearerAuth(t["access_token"]), params={"access_token": t["access_token"]}),
        "the token is in the URL"),
}


@pytest.mark.parametrize("name", WRONG_SESSIONS)
def test_bearer_session_wrong(feedback, tokens, name):
    build, hint = WRONG_SESSIONS[name]
    output = feedback(checks.bearer_session, build(tokens))
    assert_not_yet(output, hint)
    assert tokens["access_token"] not in output and tokens["refresh_token"] not in output


def test_bearer_session_expired_token_is_refused_by_the_api(feedback, api, tokens):
    """The check asks the practice API, so a token that the API's clock has expired is not "✓ Right"."""
    api.clock.advance(310)
    output = feedback(checks.bearer_session, session_with(auth=BearerAuth(tokens["access_token"])))
    assert_not_yet(output, "The token has expired")
    assert "log in again" in output


def test_bearer_session_the_auth_token_idiom(feedback):
    requests.session.auth_token = "a token"
    try:
        output = feedback(checks.bearer_session, requests.Session())
    finally:
        del requests.session.auth_token
    assert_not_yet(output, "requests never reads it")


def test_bearer_session_without_a_practice_api_says_so(feedback, tokens):
    with responses.RequestsMock():  # on top of the practice API: nothing answers, requests raises ConnectionError
        output = feedback(checks.bearer_session, session_with(auth=BearerAuth(tokens["access_token"])))
    assert_not_yet(output, "Run the Setup cell")


# -- exercise 2: verify like an API -------------------------------------------------------------

def key_for(token, jwks) -> jwt.PyJWK:
    keys = jwt.PyJWKSet.from_dict(jwks)
    kid = jwt.get_unverified_header(token).get("kid")
    if kid not in [key.key_id for key in keys.keys]:
        raise jwt.InvalidTokenError("unknown kid")
    return keys[kid]


REQUIRE = {"require": ["exp", "iat", "sub"]}


def right_verify(token, jwks):
    if str(jwt.get_unverified_header(token).get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        raise jwt.InvalidTokenError("not an access token (RFC 9068 §4)")
    return jwt.decode(token, key_for(token, jwks), algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                      options=REQUIRE, leeway=5)


def no_algorithms(token, jwks):
    return jwt.decode(token, key_for(token, jwks), audience=AUDIENCE, issuer=ISSUER, options=REQUIRE)


def extra_hs256(token, jwks):
    return jwt.decode(token, key_for(token, jwks), algorithms=["RS256", "HS256"], audience=AUDIENCE, issuer=ISSUER,
                      options=REQUIRE)


def alg_from_the_header(token, jwks):
    return jwt.decode(token, key_for(token, jwks), algorithms=[jwt.get_unverified_header(token)["alg"]],
                      audience=AUDIENCE, issuer=ISSUER, options=REQUIRE)


def pem_with_extra_hs256(token, jwks):
    """Turns the JWK into PEM, and lists HS256: only PyJWT's own refusal stops the key confusion."""
    pem = key_for(token, jwks).key.public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return jwt.decode(token, pem, algorithms=["RS256", "HS256"], audience=AUDIENCE, issuer=ISSUER, options=REQUIRE)


def no_signature(token, jwks):
    return jwt.decode(token, options={"verify_signature": False})


def no_audience(token, jwks):
    return jwt.decode(token, key_for(token, jwks), algorithms=["RS256"], issuer=ISSUER, options=REQUIRE)


def audience_check_off(token, jwks):
    return jwt.decode(token, key_for(token, jwks), algorithms=["RS256"], issuer=ISSUER,
                      options={**REQUIRE, "verify_aud": False})


def no_issuer(token, jwks):
    return jwt.decode(token, key_for(token, jwks), algorithms=["RS256"], audience=AUDIENCE, options=REQUIRE)


def exp_check_off(token, jwks):
    return jwt.decode(token, key_for(token, jwks), algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                      options={**REQUIRE, "verify_exp": False})


def leeway_of_an_hour(token, jwks):
    return jwt.decode(token, key_for(token, jwks), algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                      options=REQUIRE, leeway=3600)


def exp_not_required(token, jwks):
    return jwt.decode(token, key_for(token, jwks), algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)


def test_verify_token_right(feedback):
    assert_right(feedback(checks.verify_token, right_verify))


@pytest.mark.parametrize("answer, hint", [
    (..., "replace the `...`"),
    (lambda token, jwks: None, "returned None"),
    (no_algorithms, "not from you"),
    (alg_from_the_header, "never read from the token's header"),
    (extra_hs256, "HS256 is on your algorithms= list"),
    (pem_with_extra_hs256, "PyJWT refused to use the RSA public key as an HMAC secret"),
    (no_signature, "payload was changed"),
    (no_audience, "pass audience="),
    (audience_check_off, "a token for another API"),
    (no_issuer, "another issuer"),
    (exp_check_off, "an expired token"),
    (leeway_of_an_hour, "leeway="),
    (exp_not_required, "without exp"),
], ids=lambda value: getattr(value, "__name__", None))
def test_verify_token_wrong(feedback, answer, hint):
    assert_not_yet(feedback(checks.verify_token, answer), hint)


def test_verify_token_wrapping_errors_in_other_exceptions_is_named(feedback):
    def wraps(token, jwks):
        try:
            return right_verify(token, jwks)
        except jwt.InvalidTokenError as error:
            raise ValueError("bad token") from error

    output = feedback(checks.verify_token, wraps)
    assert_not_yet(output, "raised ValueError")
    assert "InvalidTokenError" in output


# -- exercise 3: when to refresh, from expires_in -----------------------------------------------

def right_seconds_left(token_response, requested_at, now):
    expires_in = token_response.get("expires_in")
    if expires_in is None:
        return math.inf
    return requested_at + expires_in - now


def reads_exp(token_response, requested_at, now):
    """The old answer: decode the access token for its exp. RFC 9068 §6: a client MUST NOT."""
    return jwt.decode(token_response["access_token"], options={"verify_signature": False})["exp"] - now


def reads_exp_when_it_can(token_response, requested_at, now):
    try:
        return reads_exp(token_response, requested_at, now)
    except jwt.InvalidTokenError:
        return right_seconds_left(token_response, requested_at, now)


def the_sooner_of_both(token_response, requested_at, now):
    try:
        return min(reads_exp(token_response, requested_at, now), right_seconds_left(token_response, requested_at, now))
    except jwt.InvalidTokenError:
        return right_seconds_left(token_response, requested_at, now)


def test_seconds_left_right(feedback):
    assert_right(feedback(checks.seconds_left, right_seconds_left), "expires_in")


@pytest.mark.parametrize("answer, hint", [
    (..., "replace the `...`"),
    (lambda token_response, requested_at, now: token_response.get("id_token"), "returns a number"),
    (reads_exp, "MUST NOT inspect"),
    (reads_exp_when_it_can, "the exp claim inside the access token"),
    (the_sooner_of_both, "the exp claim inside the access token"),
    (lambda token_response, requested_at, now: token_response["expires_in"], "count from requested_at"),
    (lambda token_response, requested_at, now: requested_at + token_response["expires_in"], "Subtract now"),
    (lambda token_response, requested_at, now: requested_at + token_response["expires_in"] - time.time(),
     "the `now` it is given"),
    (lambda token_response, requested_at, now: now + token_response["expires_in"] - now, "count from requested_at"),
    (lambda token_response, requested_at, now: requested_at + token_response["expires_in"] - now - 30,
     "no margin here"),
    (lambda token_response, requested_at, now: max(0, right_seconds_left(token_response, requested_at, now)),
     "negative"),
    (lambda token_response, requested_at, now: str(right_seconds_left(token_response, requested_at, now)),
     "return a number"),
    (lambda token_response, requested_at, now: requested_at + token_response["expires_in"] - now,
     "only RECOMMENDED"),
    (lambda token_response, requested_at, now: (requested_at + token_response["expires_in"] - now
                                               if "expires_in" in token_response else None), "math.inf"),
    (lambda token_response, requested_at, now: (requested_at + token_response["expires_in"] - now
                                               if "expires_in" in token_response else 0), "math.inf"),
], ids=lambda value: getattr(value, "__name__", None))
def test_seconds_left_wrong(feedback, answer, hint):
    assert_not_yet(feedback(checks.seconds_left, answer), hint)


def test_seconds_left_stub_asks_for_code(feedback):
    def seconds_left(token_response, requested_at, now):
        ...  # your code here

    assert_not_yet(feedback(checks.seconds_left, seconds_left), "replace the `...`")
