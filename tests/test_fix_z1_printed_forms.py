"""An auth object that prints its secret in another form (URL-encoded, hex, base64) is caught by the
Basic and Bearer session checks too, not only the verbatim secret (review RV5 #2)."""
from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
import requests
from requests.auth import HTTPBasicAuth

from conftest import assert_not_yet
from helpers import BearerAuth, checks
from helpers.practice_api import demo
from test_checks_jwt import tokens  # noqa: F401  (a fixture: a real token response)

SHOW = {"URL-encoded": lambda secret: quote(secret, safe=""),
        "hex": lambda secret: secret.encode().hex(),
        "base64": lambda secret: base64.b64encode(secret.encode()).decode()}


class LoudBasic(HTTPBasicAuth):
    """Basic auth that prints the password in another form while it signs: a learner's debug print."""

    def __init__(self, username, password, show):
        super().__init__(username, password)
        self.show = show

    def __call__(self, request):
        print("password:", self.show(self.password))
        return super().__call__(request)


class LoudBearer(BearerAuth):
    def __init__(self, token, show):
        super().__init__(token)
        self.show = show

    def __call__(self, request):
        print("token:", self.show(self.token))
        return super().__call__(request)


@pytest.mark.parametrize("form", SHOW)
def test_a_basic_auth_object_printing_the_password_in_another_form_is_refused(feedback, form):
    session = requests.Session()
    session.auth = LoudBasic("ada", demo.password_of("ada"), SHOW[form])
    assert_not_yet(feedback(checks.basic_session, session), "printed or logged ada's password")


@pytest.mark.parametrize("form", SHOW)
def test_a_bearer_auth_object_printing_the_token_in_another_form_is_refused(feedback, tokens, form):  # noqa: F811
    session = requests.Session()
    session.auth = LoudBearer(tokens["access_token"], SHOW[form])
    output = feedback(checks.bearer_session, session)
    assert output.startswith("✗ Not yet: "), output
    assert "print" in output and tokens["access_token"] not in output
