"""Review RV1's findings on the checks of notebooks 01-03: each test failed on the checks before the fix."""
from __future__ import annotations

import email.utils
import re
import time

import jwt
import pytest
import requests

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.checks import jwt_tokens
from helpers.practice_api import demo
from helpers.practice_api import tokens as practice_tokens
from test_checks_api_keys import APIKeyAuth
from test_checks_jwt import AUDIENCE, ISSUER, key_for, right_verify

READ_KEY = demo.api_key("ro-1")


# -- 02, exercise 1: a netrc password that went along (finding 3) ----------------------------

def netrc_for(tmp_path, monkeypatch):
    path = tmp_path / "netrc"
    path.write_text("machine api.practice.test login ada password analytical:engine:1843\n", encoding="utf-8")
    monkeypatch.setenv("NETRC", str(path))


def test_read_notes_refuses_a_call_that_sent_a_netrc_password_along(feedback, api, tmp_path, monkeypatch):
    netrc_for(tmp_path, monkeypatch)
    response = requests.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY}, timeout=5)
    assert response.status_code == 200 and response.request.headers["Authorization"].startswith("Basic ")
    output = feedback(checks.read_notes, response)
    assert_not_yet(output, "also carried an Authorization header")
    assert "auth=APIKeyAuth(READ_KEY)" in output


def test_read_notes_published_solution_is_right_with_a_netrc_entry(feedback, api, tmp_path, monkeypatch):
    netrc_for(tmp_path, monkeypatch)
    response = requests.get(api.url("/keys/notes"), auth=APIKeyAuth(READ_KEY), timeout=5)
    assert "Authorization" not in response.request.headers
    assert_right(feedback(checks.read_notes, response), "read-only key ro-1")


# -- 02, exercise 2: rw-1 (finding 7) --------------------------------------------------------

def test_key_session_rw1_message_says_what_section_5_did(feedback):
    session = requests.Session()
    session.auth = APIKeyAuth(demo.api_key("rw-1"))
    output = feedback(checks.key_session, session)
    assert_not_yet(output, "rotated away from")
    assert "was revoked in section 5" not in output and "rw-2 (NEW_KEY)" in output


# -- 03, exercise 2: typ allow-list and client_id (findings 4 and 5) --------------------------

def typ_denylist(token, jwks):
    if str(jwt.get_unverified_header(token).get("typ", "")).upper() == "JWT":
        raise jwt.InvalidTokenError("typ")
    return jwt.decode(token, key_for(token, jwks), algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                      options={"require": ["exp", "iat", "sub"]}, leeway=5)


def typ_exact(token, jwks, allowed):
    if jwt.get_unverified_header(token).get("typ") not in allowed:
        raise jwt.InvalidTokenError("typ")
    return jwt.decode(token, key_for(token, jwks), algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                      options={"require": ["exp", "iat", "sub"]}, leeway=5)


def test_verify_token_refuses_a_typ_denylist(feedback):
    output = feedback(checks.verify_token, typ_denylist)
    assert_not_yet(output, 'accept only typ "at+jwt" or "application/at+jwt"')


@pytest.mark.parametrize("typ", [None, "id_token+jwt"])
def test_verify_token_refuses_a_function_that_lets_one_more_typ_in(feedback, typ):
    output = feedback(checks.verify_token, lambda token, jwks: typ_exact(token, jwks, {"at+jwt", typ}))
    assert_not_yet(output, "not an access token")


def test_verify_token_right_for_the_rfc_9068_allow_list(feedback):
    assert_right(feedback(checks.verify_token, lambda token, jwks: typ_exact(
        token, jwks, {"at+jwt", "application/at+jwt"})))


def rfc9068_strict(token, jwks):
    claims = right_verify(token, jwks)
    if not isinstance(claims.get("client_id"), str):
        raise jwt.MissingRequiredClaimError("client_id")
    return claims


def test_verify_token_accepts_a_function_that_requires_client_id(feedback):
    assert_right(feedback(checks.verify_token, rfc9068_strict))
    assert_right(feedback(checks.verify_token, lambda token, jwks: jwt.decode(
        token, key_for(token, jwks), algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER, leeway=5,
        options={"require": list(practice_tokens.REQUIRED_CLAIMS)}) if jwt.get_unverified_header(token).get("typ") == "at+jwt"
        else (_ for _ in ()).throw(jwt.InvalidTokenError("typ"))))


def test_the_checks_tokens_carry_the_practice_apis_client_id():
    assert jwt_tokens.LOGIN_CLIENT_ID == practice_tokens.LOGIN_CLIENT_ID
    assert set(practice_tokens.REQUIRED_CLAIMS) <= set(jwt_tokens._claims())


# -- 03, exercise 1: what RFC 6750 §5.3 says (finding 8) --------------------------------------

def session_with_params(params):
    session = requests.Session()
    session.params = params
    return session


def test_bearer_session_token_in_url_quotes_rfc_6750_and_9700_rightly(feedback):
    output = feedback(checks.bearer_session, session_with_params({"access_token": "x"}))
    assert_not_yet(output, "SHOULD NOT be passed in page URLs (RFC 6750 §5.3)")
    assert "MUST NOT pass access tokens in a query parameter (RFC 9700 §4.3.2)" in output
    assert "never go there" not in output and "proxy" not in output


def test_bearer_session_client_secret_in_url_gets_no_refresh_token_message(feedback):
    output = feedback(checks.bearer_session, session_with_params({"client_secret": "x"}))
    assert_not_yet(output, "a credential is in the URL ('client_secret='")
    assert "refresh" not in output and "proxy" not in output


def test_bearer_session_refresh_token_in_url_names_the_refresh_token(feedback):
    output = feedback(checks.bearer_session, session_with_params({"refresh_token": "x"}))
    assert_not_yet(output, "the refresh token is in the URL")
    assert "token endpoint" in output


# -- 01, exercise 3: timezones and full-width digits (finding 11) -----------------------------

def mktime_reader(response):
    value = response.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    parsed = email.utils.parsedate(value)
    return None if parsed is None else max(0.0, time.mktime(parsed) - time.time())  # local time: the bug


def regex_reader(response):
    from datetime import datetime, timezone
    value = response.headers.get("Retry-After", "").strip()
    if re.fullmatch(r"\d+", value):  # \d matches '３' too
        return float(int(value))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def test_retry_after_refuses_local_time_even_when_the_kernel_runs_in_utc(feedback, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        output = feedback(checks.retry_after, mktime_reader)
        assert time.strftime("%Z") == "UTC"  # the kernel's zone is back
    finally:
        monkeypatch.undo()
        time.tzset()
    assert_not_yet(output, "off by a timezone's offset")


def test_retry_after_refuses_full_width_digits(feedback):
    assert_not_yet(feedback(checks.retry_after, regex_reader), "'Retry-After: ３０' (full-width digits)")


# -- 01, exercise 1: user:password@ (finding 12) ----------------------------------------------

def test_basic_session_userinfo_message_says_where_the_password_stays(feedback):
    output = feedback(checks.basic_session, "https://ada:pw@api.practice.test/basic/whoami")
    assert_not_yet(output, "response.url, raise_for_status() messages")
    assert "server logs" not in output


# -- 03, exercise 1: a session class that adds the token itself (doubt) ------------------------

from test_checks_jwt import tokens  # noqa: E402,F401  (the fixture: a real token response)


def test_bearer_session_right_for_authlibs_oauth2session(feedback, tokens):
    from authlib.integrations.requests_client import OAuth2Session
    with OAuth2Session(token=tokens) as session:  # it passes auth= on each call; session.auth stays None
        assert session.auth is None
        assert_right(feedback(checks.bearer_session, session), "answered 200")


def test_bearer_session_refuses_a_session_class_whose_request_adds_no_token(feedback, tokens):
    class Plain(requests.Session):
        def request(self, *args, **kwargs):
            return super().request(*args, **kwargs)
    output = feedback(checks.bearer_session, Plain())
    assert_not_yet(output, "no Authorization header was added")


def test_bearer_session_refuses_a_session_class_that_prints_the_token(feedback, tokens):
    from authlib.integrations.requests_client import OAuth2Session

    class Chatty(OAuth2Session):
        def request(self, *args, **kwargs):
            response = super().request(*args, **kwargs)
            print(response.request.headers["Authorization"])
            return response
    with Chatty(token=tokens) as session:
        output = feedback(checks.bearer_session, session)
    assert_not_yet(output, "printed the access token")
    assert tokens["access_token"] not in output
