"""The session checks name a credential put in the URL, whatever form the URL part takes (issue 14, item 7).

A learner who sends the token, the key or the password in the query string, through a query
string given to session.params as text, or who passes the URL (or the response of a call made
with it) instead of a session, used to get only "session.auth is not set" or "expected a
requests.Session". RFC 6750 §2.3 and §5.3 discourage the query form: URLs end up in logs and history.
"""
from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
import requests

from conftest import assert_not_yet
from helpers import checks
from helpers.practice_api import demo

PASSWORD = demo.password_of("ada")
NEW_KEY = next(str(key["key"]) for key in demo.API_KEYS if key["key_id"] == "rw-2")


@pytest.fixture
def token(api, http) -> str:
    response = http.post(api.url("/login"), json={"username": "ada", "password": PASSWORD}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def session_with_params(params) -> requests.Session:
    session = requests.Session()
    session.params = params
    return session


@pytest.mark.parametrize("form", ["str", "bytes", "leading ?", "nested list"])
def test_bearer_session_names_a_token_in_a_query_string_in_params(feedback, token, form):
    params = {"str": f"access_token={token}", "bytes": f"access_token={token}".encode("ascii"),
              "leading ?": f"?access_token={token}", "nested list": {"access_token": [token]}}[form]
    out = feedback(checks.bearer_session, session_with_params(params))
    assert_not_yet(out, "the token is in the URL ('access_token=' in session.params)")
    assert "RFC 6750 §5.3" in out


def test_bearer_session_names_a_token_under_any_parameter_name(feedback, token):
    out = feedback(checks.bearer_session, session_with_params(f"t={token}"))
    assert_not_yet(out, "the token is in the URL ('t=' in session.params)")


@pytest.mark.parametrize("shape", ["url", "response"])
def test_bearer_session_names_a_token_in_the_url_passed_instead_of_a_session(feedback, api, http, token, shape):
    url = api.url("/me") + "?access_token=" + token
    answer = url if shape == "url" else http.get(url, timeout=5)
    out = feedback(checks.bearer_session, answer)
    assert_not_yet(out, "the token is in the URL ('access_token=' in the query string)")
    assert "RFC 6750 §2.3" in out and "§5.3" in out
    assert "bearer = requests.Session()" in out and "BearerAuth(fresh['access_token'])" in out
    assert token not in out


def test_bearer_session_names_a_token_in_the_path_of_a_url(feedback, api, token):
    out = feedback(checks.bearer_session, api.url("/me/" + token))
    assert_not_yet(out, "the token is in the URL (in the path)")


def test_bearer_session_a_url_without_a_token_is_still_not_a_session(feedback, api):
    out = feedback(checks.bearer_session, api.url("/me"))
    assert_not_yet(out, "expected a requests.Session, got a str.")


@pytest.mark.parametrize("params", [f"api_key={NEW_KEY}", f"key={NEW_KEY}".encode("ascii"), f"x={quote(NEW_KEY)}"])
def test_key_session_names_a_key_in_a_query_string_in_params(feedback, params):
    out = feedback(checks.key_session, session_with_params(params))
    assert_not_yet(out, "session.params puts the key (")
    assert "in the URL of every request" in out


@pytest.mark.parametrize("shape", ["url", "response"])
def test_key_session_names_a_key_in_the_url_passed_instead_of_a_session(feedback, api, http, shape):
    url = api.url("/keys/notes") + "?api_key=" + NEW_KEY
    answer = url if shape == "url" else http.get(url, timeout=5)
    out = feedback(checks.key_session, answer)
    assert_not_yet(out, "the key is in the URL ('api_key=' in the query string)")
    assert "session = requests.Session(); session.auth = APIKeyAuth(NEW_KEY)" in out
    assert NEW_KEY not in out


@pytest.mark.parametrize("params", [f"password={quote(PASSWORD)}", f"user=ada&pw={quote(PASSWORD)}".encode()])
def test_basic_session_names_a_password_in_a_query_string_in_params(feedback, params):
    out = feedback(checks.basic_session, session_with_params(params))
    assert_not_yet(out, "session.params puts the credentials in the URL of every request")


@pytest.mark.parametrize("url", [f"https://ada:{quote(PASSWORD, safe='')}@api.practice.test/basic/whoami",
                                 f"https://api.practice.test/basic/whoami?password={quote(PASSWORD)}"])
def test_basic_session_names_credentials_in_the_url_passed_instead_of_a_session(feedback, url):
    out = feedback(checks.basic_session, url)
    assert_not_yet(out, "the credentials are in the URL")
    assert "session = requests.Session(); session.auth = (username, password)" in out


def test_basic_session_names_credentials_in_the_url_of_a_response(feedback, api, http):
    encoded = base64.b64encode(f"ada:{PASSWORD}".encode()).decode()
    response = http.get(api.url("/basic/whoami") + "?auth=" + quote(encoded), timeout=5)
    out = feedback(checks.basic_session, response)
    assert_not_yet(out, "the credentials are in the URL")


def test_tls_session_a_response_is_still_named_a_response(feedback, api, http):
    out = feedback(checks.tls_session, http.get(api.url("/basic/whoami"), timeout=5))
    assert_not_yet(out, "that is a response. Pass the session you configured")


@pytest.mark.parametrize("where", ["header", "cookie"])
def test_bearer_session_names_a_token_sent_elsewhere_than_authorization(feedback, token, where):
    session = requests.Session()
    if where == "header":
        session.headers["X-Access-Token"] = token
    else:
        session.cookies.set("access_token", token, domain="api.practice.test")
    out = feedback(checks.bearer_session, session)
    place = "the X-Access-Token header" if where == "header" else "a cookie"
    assert_not_yet(out, f"the token is in {place}, and an API that takes bearer tokens reads the Authorization header")
    assert "session.auth = BearerAuth(token)" in out and token not in out


@pytest.mark.parametrize("where", ["header", "cookie"])
def test_key_session_names_a_key_sent_elsewhere_than_x_api_key(feedback, where):
    session = requests.Session()
    if where == "header":
        session.headers["Api-Key"] = NEW_KEY
    else:
        session.cookies.set("api_key", NEW_KEY, domain="api.practice.test")
    out = feedback(checks.key_session, session)
    place = "the Api-Key header" if where == "header" else "a cookie"
    assert_not_yet(out, f"the key is in {place}; this API reads it from X-API-Key only")
    assert "session.auth = APIKeyAuth(NEW_KEY)" in out


@pytest.mark.parametrize("check, fix, where", [
    (checks.bearer_session, "session.auth = BearerAuth(token)", "the Authorization header"),
    (checks.key_session, "session.auth = APIKeyAuth(NEW_KEY)", "the X-API-Key header"),
    (checks.basic_session, "session.auth = (username, password)", "the Authorization header"),
])
def test_a_session_without_auth_is_told_where_the_credential_goes_and_not_in_a_url(feedback, check, fix, where):
    """A session that made one call with the credential in its URL keeps no trace of it: the message
    for a session without auth says where the credential goes, and that a URL is not the place."""
    out = feedback(check, requests.Session())
    assert_not_yet(out, f"session.auth is not set. Set {fix}")
    assert where in out and "not in a URL" in out and "logs" in out
