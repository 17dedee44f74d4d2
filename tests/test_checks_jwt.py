"""Checks of notebook 03: the right answer passes, typical wrong answers get their hint."""
from __future__ import annotations

import time

import jwt
import pytest
import requests

from helpers import BearerAuth, checks

AUDIENCE = "https://api.practice.test/me"
ISSUER = "https://api.practice.test"
A_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2ln"


def session_with(**settings) -> requests.Session:
    session = requests.Session()
    for name, value in settings.items():
        setattr(session, name, value)
    return session


def test_bearer_session_right(feedback):
    assert feedback(checks.bearer_session, session_with(auth=BearerAuth(A_JWT))).startswith("✓ Right")


@pytest.mark.parametrize("answer, hint", [
    (..., "replace the `...`"),
    (None, "replace the `...`"),
    (requests.Session(), "session.auth is not set"),
    (session_with(auth=(A_JWT, "")), "a tuple in session.auth means Basic"),
    (session_with(auth=BearerAuth("opaque-or-truncated")), "not a JWT"),
    ("Bearer " + A_JWT, "expected a requests.Session"),
])
def test_bearer_session_wrong(feedback, answer, hint):
    output = feedback(checks.bearer_session, answer)
    assert output.startswith("✗ Not yet") and hint in output, output


def test_bearer_session_headers_instead_of_auth(feedback):
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + A_JWT
    assert "netrc" in feedback(checks.bearer_session, session)


def test_bearer_session_the_auth_token_idiom(feedback):
    requests.session.auth_token = A_JWT
    try:
        output = feedback(checks.bearer_session, requests.Session())
    finally:
        del requests.session.auth_token
    assert output.startswith("✗ Not yet") and "requests never reads it" in output


def right_verify(token, jwks):
    keys = jwt.PyJWKSet.from_dict(jwks)
    kid = jwt.get_unverified_header(token).get("kid")
    if kid not in [key.key_id for key in keys.keys]:
        raise jwt.InvalidTokenError("unknown kid")
    return jwt.decode(token, keys[kid], algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                      options={"require": ["exp", "iat", "sub"]})


def no_signature(token, jwks):
    return jwt.decode(token, options={"verify_signature": False})


def no_audience(token, jwks):
    return jwt.decode(token, jwt.PyJWKSet.from_dict(jwks).keys[0], algorithms=["RS256"])


def no_issuer(token, jwks):
    return jwt.decode(token, jwt.PyJWKSet.from_dict(jwks).keys[0], algorithms=["RS256"], audience=AUDIENCE,
                      options={"require": ["exp"]})


def exp_not_required(token, jwks):
    return jwt.decode(token, jwt.PyJWKSet.from_dict(jwks).keys[0], algorithms=["RS256"], audience=AUDIENCE,
                      issuer=ISSUER)


def key_error(token, jwks):
    return jwt.decode(token, jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]],
                      algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER, options={"require": ["exp"]})


def test_verify_token_right(feedback):
    assert feedback(checks.verify_token, right_verify).startswith("✓ Right")


@pytest.mark.parametrize("answer, hint", [
    (..., "replace the `...`"),
    (lambda token, jwks: None, "returned None"),
    (no_signature, "payload was changed"),
    (no_audience, "pass audience="),
    (no_issuer, "another issuer"),
    (exp_not_required, "without exp"),
])
def test_verify_token_wrong(feedback, answer, hint):
    output = feedback(checks.verify_token, answer)
    assert output.startswith("✗ Not yet") and hint in output, output


def test_verify_token_wrapping_errors_in_other_exceptions_is_named(feedback):
    def wraps(token, jwks):
        try:
            return right_verify(token, jwks)
        except jwt.InvalidTokenError as error:
            raise ValueError("bad token") from error

    output = feedback(checks.verify_token, wraps)
    assert output.startswith("✗ Not yet") and "raised ValueError" in output and "InvalidTokenError" in output


def right_seconds_left(token):
    return jwt.decode(token, options={"verify_signature": False})["exp"] - time.time()


@pytest.mark.parametrize("answer, hint", [
    (..., "replace the `...`"),
    (lambda token: jwt.decode(token, options={"verify_signature": False})["exp"], "that is exp itself"),
    (lambda token: jwt.decode(token)["exp"] - time.time(), "decode without verifying"),
    (lambda token: str(jwt.decode(token, options={"verify_signature": False})["exp"] - time.time()),
     "return a number"),
    (lambda token: max(0, jwt.decode(token, options={"verify_signature": False})["exp"] - time.time()),
     "expected about -60"),
])
def test_seconds_left_wrong(feedback, answer, hint):
    output = feedback(checks.seconds_left, answer)
    assert output.startswith("✗ Not yet") and hint in output, output


def test_seconds_left_right(feedback):
    assert feedback(checks.seconds_left, right_seconds_left).startswith("✓ Right")
