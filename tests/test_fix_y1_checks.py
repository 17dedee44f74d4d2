"""Round 3 walkthrough findings on the checks of notebooks 00-03 (Y1 a-e, g): each failed before the fix."""
from __future__ import annotations

import math

import pytest
import requests
import urllib3

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.checks.feedback import timeout_problem
from helpers.practice_api import demo
from test_checks_jwt import exp_not_required

PASSWORD = demo.password_of("ada")


# -- a. 00 exercise 1: `requests.get(...)` run without `response =` ------------------------------

def test_unauthenticated_call_names_a_response_it_already_judged(feedback, api):
    response = requests.get(api.url("/basic/whoami"))  # first try: no timeout=
    assert_not_yet(feedback(checks.unauthenticated_call, response), "no timeout=")
    requests.get(api.url("/basic/whoami"), timeout=5)  # the fix, without `response =`
    output = feedback(checks.unauthenticated_call, response)
    assert_not_yet(output, "this is your earlier response: assign `response = requests.get(...)`")
    assert "no timeout=" not in output


def test_unauthenticated_call_names_the_teaching_cells_loopback_response(feedback):
    from helpers import serve_practice_api
    with serve_practice_api() as server:  # notebook 00's last teaching cell before the exercise
        response = requests.get(server.url("/basic/whoami"), timeout=5)
    output = feedback(checks.unauthenticated_call, response)
    assert_not_yet(output, "this is the teaching cell's response")
    assert "assign `response = requests.get(...)`" in output


def test_unauthenticated_call_still_judges_a_new_response(feedback, api):
    first = requests.get(api.url("/basic/whoami"))
    assert_not_yet(feedback(checks.unauthenticated_call, first), "no timeout=")
    assert_right(feedback(checks.unauthenticated_call, requests.get(api.url("/basic/whoami"), timeout=5)))


# -- b. 00 exercise 1 with headers={"Authorization": ...} ----------------------------------------

def test_unauthenticated_call_with_an_authorization_header_names_the_header(feedback, api):
    response = requests.get(api.url("/basic/whoami"), headers={"Authorization": "Basic YWRhOng="}, timeout=5)
    assert_not_yet(feedback(checks.unauthenticated_call, response), "and any Authorization header")


# -- c. 01 exercise 1: session.auth set, and the credentials in session.params too ----------------

def test_basic_session_with_auth_and_params_says_remove_params(feedback):
    session = requests.Session()
    session.auth = ("ada", PASSWORD)
    session.params = {"password": PASSWORD}
    output = feedback(checks.basic_session, session)
    assert_not_yet(output, "remove session.params")
    assert "Set session.auth" not in output


def test_basic_session_with_only_params_still_says_set_auth(feedback):
    session = requests.Session()
    session.params = {"password": PASSWORD}
    assert_not_yet(feedback(checks.basic_session, session), "Set session.auth = (username, password)")


# -- d. 03 exercise 1: headers["Authorization"] = token, without "Bearer " -----------------------

@pytest.fixture
def token(api, http) -> str:
    response = http.post(api.url("/login"), json={"username": "ada", "password": PASSWORD}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_bearer_session_names_the_missing_scheme(feedback, token):
    session = requests.Session()
    session.headers["Authorization"] = token
    output = feedback(checks.bearer_session, session)
    assert_not_yet(output, '"Bearer", then one space, then the token (RFC 6750 §2.1)')
    assert token[:20] not in output


def test_bearer_session_with_the_scheme_in_the_header_gets_only_the_netrc_advice(feedback, token):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    output = feedback(checks.bearer_session, session)
    assert_not_yet(output, "~/.netrc")
    assert "RFC 6750 §2.1" not in output


# -- e. 03 exercise 2: the hint for a missing exp agrees with the solution -----------------------

def test_verify_token_hint_requires_what_the_solution_requires(feedback):
    assert_not_yet(feedback(checks.verify_token, exp_not_required), 'options={"require": ["exp", "iat", "sub"]}')


# -- g. a timeout of hours is no timeout for an interactive client -------------------------------

@pytest.mark.parametrize("timeout", [1e9, 3600, 61, (5, 1e9), (1e9, 5), urllib3.Timeout(connect=5, read=3600)])
def test_timeout_problem_refuses_a_timeout_of_more_than_a_minute(timeout):
    assert "timeout=5" in timeout_problem(timeout)


@pytest.mark.parametrize("timeout", [5, 60, 0.5, (3.05, 27), (5, 60), urllib3.Timeout(connect=3, read=27)])
def test_timeout_problem_accepts_a_timeout_of_seconds(timeout):
    assert timeout_problem(timeout) == ""


def test_timeout_problem_still_refuses_infinity():
    assert timeout_problem(math.inf) != ""


def test_unauthenticated_call_refuses_a_timeout_of_hours(feedback, api):
    response = requests.get(api.url("/basic/whoami"), timeout=1e9)
    assert_not_yet(feedback(checks.unauthenticated_call, response), "timeout=5")
