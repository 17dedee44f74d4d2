"""Review 03 (issue 12): the mistakes notebook 03's checks used to call right.

Exercise 1: certificate checking turned off in ways other than verify=False, the refresh token
(or another credential) in every URL, the access token copied into another header or a cookie,
an auth that prints the token. Exercise 2: a kid the JWK Set lacks (a KeyError is a 500 in an
API), a leeway just under the only expired token's age, extra algorithms, nbf/iat checks off.
Exercise 3: reading a JWT's exp when expires_in is missing.
"""
from __future__ import annotations

import math

import jwt
import pytest
import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from conftest import assert_not_yet, assert_right
from helpers import BearerAuth, checks
from helpers.practice_api import demo

AUDIENCE = "https://api.practice.test/me"
ISSUER = "https://api.practice.test"


@pytest.fixture
def tokens(api, http) -> dict:
    response = http.post(api.url("/login"), json={"username": "ada", "password": demo.password_of("ada")}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(params=["REQUESTS_CA_BUNDLE set", "REQUESTS_CA_BUNDLE unset"])
def ca_environment(request, monkeypatch):
    """The check must judge the same with and without the CA variables (they change what requests merges)."""
    if request.param.endswith("unset"):
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    else:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())


def session_with(**settings) -> requests.Session:
    session = requests.Session()
    for name, value in settings.items():
        setattr(session, name, value)
    return session


class NoVerifyAdapter(HTTPAdapter):
    """Forces verify=False on every request, whatever the session says."""

    def send(self, request, **kwargs):
        kwargs["verify"] = False
        return super().send(request, **kwargs)


class PrintingAuth(AuthBase):
    """A learner's auth that prints ("logs") the token it sends."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request):
        print("sending", self.token)
        request.headers["Authorization"] = "Bearer " + self.token
        return request


def mounted(session: requests.Session, adapter: HTTPAdapter) -> requests.Session:
    session.mount("https://", adapter)
    return session


WRONG_SESSIONS = {
    "verify=0": (lambda t: session_with(auth=BearerAuth(t["access_token"]), verify=0), "certificate check"),
    "verify=''": (lambda t: session_with(auth=BearerAuth(t["access_token"]), verify=""), "certificate check"),
    "verify=None": (lambda t: session_with(auth=BearerAuth(t["access_token"]), verify=None), "certificate check"),
    "an adapter forcing verify=False": (
        lambda t: mounted(session_with(auth=BearerAuth(t["access_token"])), NoVerifyAdapter()), "certificate check"),
    "the refresh token in session.params": (
        lambda t: session_with(auth=BearerAuth(t["access_token"]), params={"refresh_token": t["refresh_token"]}),
        "the URL"),
    "client_secret in session.params": (
        lambda t: session_with(auth=BearerAuth(t["access_token"]), params={"client_secret": "s3cr3t-value"}),
        "the URL"),
    "api_key in session.params": (
        lambda t: session_with(auth=BearerAuth(t["access_token"]), params={"api_key": "k3y-value"}), "the URL"),
    "key in session.params": (
        lambda t: session_with(auth=BearerAuth(t["access_token"]), params={"key": "k3y-value"}), "the URL"),
    "code in session.params": (
        lambda t: session_with(auth=BearerAuth(t["access_token"]), params={"code": "c0de-value"}), "the URL"),
    "the access token under another name in the URL": (
        lambda t: session_with(auth=BearerAuth(t["access_token"]), params={"x": t["access_token"]}), "the URL"),
    "the access token in another header too": (
        lambda t: session_with(auth=BearerAuth(t["access_token"]), headers={"X-Access-Token": t["access_token"]}),
        "X-Access-Token"),
    "the access token in a cookie too": (
        lambda t: _with_cookie(session_with(auth=BearerAuth(t["access_token"])), t["access_token"]), "cookie"),
    "an auth that prints the token": (lambda t: session_with(auth=PrintingAuth(t["access_token"])), "printed"),
}


def _with_cookie(session: requests.Session, token: str) -> requests.Session:
    session.cookies.set("session", token, domain="api.practice.test")
    return session


@pytest.mark.parametrize("name", WRONG_SESSIONS)
def test_bearer_session_refuses(feedback, ca_environment, tokens, name):
    build, hint = WRONG_SESSIONS[name]
    output = feedback(checks.bearer_session, build(tokens))
    assert_not_yet(output, hint)
    assert tokens["access_token"] not in output and tokens["refresh_token"] not in output


@pytest.mark.parametrize("verify", [True, requests.certs.where()], ids=["True", "a CA bundle path"])
def test_bearer_session_accepts_checked_certificates(feedback, ca_environment, tokens, verify):
    assert_right(feedback(checks.bearer_session, session_with(auth=BearerAuth(tokens["access_token"]),
                                                              verify=verify)))


def test_bearer_session_quiet_auth_that_prints_something_else_is_right(feedback, tokens):
    class Chatty(PrintingAuth):
        def __call__(self, request):
            print("sending a request")
            request.headers["Authorization"] = "Bearer " + self.token
            return request

    assert_right(feedback(checks.bearer_session, session_with(auth=Chatty(tokens["access_token"]))))


# -- exercise 2 --------------------------------------------------------------------------------

def _decode(token, key, algorithms=("RS256",), **options):
    settings = {"require": ["exp", "iat", "sub"], **options.pop("options", {})}
    return jwt.decode(token, key, algorithms=list(algorithms), audience=AUDIENCE, issuer=ISSUER, options=settings,
                      **options)


def guarded_key(token, jwks):
    keys = jwt.PyJWKSet.from_dict(jwks)
    kid = jwt.get_unverified_header(token).get("kid")
    if kid not in [key.key_id for key in keys.keys]:
        raise jwt.InvalidTokenError("unknown kid")
    return keys[kid]


def right_verify(token, jwks):
    if str(jwt.get_unverified_header(token).get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        raise jwt.InvalidTokenError("not an access token (RFC 9068 §4)")
    return _decode(token, guarded_key(token, jwks), leeway=5)


def unguarded_kid(token, jwks):
    """keys[kid] without a guard: a KeyError (a 500 in an API) for a kid the JWK Set lacks."""
    return _decode(token, jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token).get("kid")])


def leeway_290(token, jwks):
    return _decode(token, guarded_key(token, jwks), leeway=290)


def rs256_and_ps256(token, jwks):
    return _decode(token, guarded_key(token, jwks), algorithms=["RS256", "PS256"])


def rs256_es256_rs512(token, jwks):
    return _decode(token, guarded_key(token, jwks), algorithms=["RS256", "ES256", "RS512"])


def nbf_check_off(token, jwks):
    return _decode(token, guarded_key(token, jwks), options={"verify_nbf": False})


def iat_check_off(token, jwks):
    return _decode(token, guarded_key(token, jwks), options={"verify_iat": False})


def test_verify_token_right_still_passes(feedback):
    assert_right(feedback(checks.verify_token, right_verify))


@pytest.mark.parametrize("answer, hint", [
    (unguarded_kid, "kid"),
    (leeway_290, "leeway="),
    (rs256_and_ps256, 'algorithms=["RS256"]'),
    (rs256_es256_rs512, 'algorithms=["RS256"]'),
    (nbf_check_off, "nbf"),
    (iat_check_off, "iat"),
], ids=lambda value: getattr(value, "__name__", None))
def test_verify_token_refuses(feedback, answer, hint):
    assert_not_yet(feedback(checks.verify_token, answer), hint)


def test_verify_token_unguarded_kid_is_told_it_would_crash(feedback):
    output = feedback(checks.verify_token, unguarded_kid)
    assert_not_yet(output, "KeyError")
    assert "500" in output and "InvalidTokenError" in output


# -- exercise 3 --------------------------------------------------------------------------------

def falls_back_to_exp(token_response, requested_at, now):
    """ex3.py: expires_in when present, else the JWT's exp: a client MUST NOT read it (RFC 9068 §6)."""
    if "expires_in" in token_response:
        return requested_at + token_response["expires_in"] - now
    try:
        return jwt.decode(token_response["access_token"], options={"verify_signature": False})["exp"] - now
    except jwt.InvalidTokenError:
        return math.inf


def test_seconds_left_refuses_reading_exp_when_expires_in_is_missing(feedback):
    output = feedback(checks.seconds_left, falls_back_to_exp)
    assert_not_yet(output, "without expires_in")
    assert "exp claim" in output


def test_seconds_left_right_still_passes(feedback):
    def right(token_response, requested_at, now):
        expires_in = token_response.get("expires_in")
        return math.inf if expires_in is None else requested_at + expires_in - now

    assert_right(feedback(checks.seconds_left, right))


def test_seconds_left_counts_from_the_request_not_the_arrival(feedback):
    """RFC 6749 §5.1: expires_in counts from when the response was generated; a client reads its clock
    just before it sends the request (early, the safe side), not on arrival (late by the network delay)."""
    def counts_from_arrival(token_response, requested_at, now):
        return token_response["expires_in"]

    output = feedback(checks.seconds_left, counts_from_arrival)
    assert_not_yet(output, "requested_at")
    assert "arrived" not in output


# -- exercise 2: typ at+jwt (RFC 9068 §4), now that the practice API types its access tokens -----

def untyped_verify(token, jwks):
    """right_verify without the typ check that RFC 9068 §4 makes a MUST for resource servers."""
    return _decode(token, guarded_key(token, jwks), leeway=5)


def test_verify_token_right_with_the_typ_check(feedback):
    assert_right(feedback(checks.verify_token, right_verify))


def test_verify_token_refuses_a_jwt_that_is_not_an_access_token(feedback):
    """An ID token or any other JWT from the same issuer, signed with the same key: typ tells them apart."""
    assert_not_yet(feedback(checks.verify_token, untyped_verify), "at+jwt")
