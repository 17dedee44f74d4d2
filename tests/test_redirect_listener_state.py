"""RedirectListener(expected_state=...): a stray GET /callback with the wrong state (another program, a web page
scanning loopback ports) gets a 400 and does not use the listener up; the real redirect still arrives."""
from __future__ import annotations

import secrets

import pytest

from helpers import RedirectListener


def get(http, url):
    return http.get(url, timeout=5)


@pytest.mark.parametrize("stray", ["?error=x", "?code=C", "?code=C&state=wrong", "?error=x&state=",
                                   "?code=C&state=S&state=S", "?code=C&state=S%00"])
def test_a_request_without_the_expected_state_is_refused_and_the_real_redirect_still_counts(http, stray):
    state = "S"
    with RedirectListener(expected_state=state) as listener:
        refused = get(http, listener.redirect_uri + stray)
        assert refused.status_code == 400
        assert "state" in refused.text
        real = get(http, listener.redirect_uri + "?code=REAL&state=S")
        assert real.status_code == 200 and "Signed in" in real.text
        assert listener.wait(timeout=5) == listener.redirect_uri + "?code=REAL&state=S"


def test_an_error_redirect_with_the_expected_state_is_delivered(http):
    state = secrets.token_urlsafe(32)
    with RedirectListener(expected_state=state) as listener:
        assert get(http, listener.redirect_uri + f"?error=access_denied&state={state}").status_code == 200
        assert listener.params == {"error": "access_denied", "state": state}


def test_expected_state_can_be_set_after_the_listener_is_made(http):
    with RedirectListener() as listener:
        listener.expected_state = "S"
        assert get(http, listener.redirect_uri + "?code=C&state=T").status_code == 400
        assert get(http, listener.redirect_uri + "?code=C&state=S").status_code == 200
        assert listener.params["code"] == "C"


def test_without_expected_state_the_first_redirect_still_counts(http):
    with RedirectListener() as listener:
        assert get(http, listener.redirect_uri + "?code=C").status_code == 200
        assert listener.params == {"code": "C"}
