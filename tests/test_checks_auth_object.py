"""feedback.auth_object_problem, as the two checks that share it use it: a class, the bare secret (str or bytes)
and a (user, password) tuple in session.auth each get their own hint, naming the check's own auth class."""
from __future__ import annotations

import pytest
import requests

from conftest import assert_not_yet
from helpers import BearerAuth, checks
from helpers.practice_api import demo
from helpers.checks.feedback import auth_object_problem
from test_checks_api_keys import APIKeyAuth

NEW_KEY = demo.api_key("rw-2")


def session_with(auth) -> requests.Session:
    session = requests.Session()
    session.auth = auth
    return session


@pytest.mark.parametrize("auth, hint", [
    (APIKeyAuth, "session.auth holds the class APIKeyAuth itself"),
    (NEW_KEY, "session.auth holds the key itself"),
    (NEW_KEY.encode(), "session.auth holds the key itself"),
    (("ada", NEW_KEY), "tuple means Basic authentication"),
])
def test_key_session_names_what_session_auth_holds(feedback, auth, hint):
    output = feedback(checks.key_session, session_with(auth))
    assert_not_yet(output, hint)
    assert "APIKeyAuth(NEW_KEY)" in output
    assert NEW_KEY not in output


@pytest.mark.parametrize("auth, hint", [
    (b"a-token", "session.auth holds the token itself"),
    (BearerAuth, "session.auth holds the class BearerAuth itself"),
])
def test_bearer_session_names_what_session_auth_holds(feedback, auth, hint):
    output = feedback(checks.bearer_session, session_with(auth))
    assert_not_yet(output, hint)
    assert "BearerAuth(fresh['access_token'])" in output


@pytest.mark.parametrize("auth", [APIKeyAuth(NEW_KEY), BearerAuth("a-token"), lambda request: request, None])
def test_an_auth_object_is_no_problem_here(auth):
    assert auth_object_problem(auth, secret="key", make="APIKeyAuth(NEW_KEY)", tuple_hint="tuple") == ""
