"""Review 03 follow-ups: a token with a line break in exercise 1's check, the capped margin in its hints,
and RefreshingBearerAuth counting expires_in from before the token request (RFC 6749 §5.1)."""
from __future__ import annotations

import pytest
import requests
import responses

from conftest import assert_not_yet
from helpers import BearerAuth, RefreshingBearerAuth, checks
from helpers.practice_api import demo


@pytest.fixture
def tokens(api, http) -> dict:
    response = http.post(api.url("/login"), json={"username": "ada", "password": demo.password_of("ada")}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def session_with(auth) -> requests.Session:
    session = requests.Session()
    session.auth = auth
    return session


# -- 1: a header HTTP/1.1 cannot carry is named, not raised out of the check ------------------------

UNSENDABLE = {
    "a newline after the token (copied with the line end)": lambda token: token + "\n",
    "CR LF after the token": lambda token: token + "\r\n",
    "a newline inside the token": lambda token: token[:20] + "\n" + token[20:],
    "a NUL byte": lambda token: token + "\x00",
    "an ellipsis from a shortened display (not Latin-1)": lambda token: token[:40] + "\u2026",
    "a non-Latin-1 letter": lambda token: token + "\u0100",
}


class HandWrittenBearer(requests.auth.AuthBase):
    """A learner's own bearer auth, which checks nothing (helpers' BearerAuth refuses these tokens itself)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


@pytest.mark.parametrize("name", UNSENDABLE)
def test_bearer_session_names_a_header_http_cannot_carry(feedback, tokens, name):
    output = feedback(checks.bearer_session,
                      session_with(HandWrittenBearer(UNSENDABLE[name](tokens["access_token"]))))
    assert_not_yet(output, "line break")
    assert "HTTP/1.1" in output
    assert tokens["access_token"] not in output and tokens["access_token"][:40] not in output


def test_bearer_session_names_a_refusal_of_the_transport_too(feedback, tokens, monkeypatch):
    """Whatever the transport refuses to encode (ValueError, UnicodeEncodeError) becomes a hint, not a crash."""
    def refuse(self, request, **kwargs):
        raise UnicodeEncodeError("latin-1", request.headers["Authorization"], 0, 1, "ordinal not in range(256)")
    monkeypatch.setattr(requests.Session, "send", refuse)
    output = feedback(checks.bearer_session, session_with(BearerAuth(tokens["access_token"])))
    assert_not_yet(output, "line break")
    assert tokens["access_token"] not in output


# -- 2: the margin hint says what RefreshingBearerAuth does ------------------------------------------

def test_seconds_left_margin_hint_names_the_cap(feedback):
    def with_margin(response, requested_at, now):
        return requested_at + response["expires_in"] - now - 30
    output = feedback(checks.seconds_left, with_margin)
    assert_not_yet(output, "min(margin, lifetime / 2)")


# -- 4: expires_in counts from before the request went out ------------------------------------------

class SlowClock:
    """A clock that a token request moves forward by `delay` seconds, as a slow network would."""

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start

    def __call__(self) -> float:
        return self.time


@responses.activate
def test_refresh_counts_expires_in_from_before_the_post():
    clock = SlowClock()

    def slow_token_endpoint(request):
        clock.time += 7  # the response is generated now; it arrives 7 s after the request left
        return 200, {}, '{"access_token": "new", "token_type": "Bearer", "expires_in": 300}'

    responses.add_callback(responses.POST, "https://auth.example/token", callback=slow_token_endpoint)
    auth = RefreshingBearerAuth("https://auth.example/token",
                                {"access_token": "old", "token_type": "Bearer", "refresh_token": "r1",
                                 "expires_in": 300}, now=clock)
    requested = clock()
    auth.refresh()
    assert auth.expires_at == requested + 300  # not requested + 7 + 300
    assert auth.refresh_at == requested + 300 - 30


def test_initial_tokens_count_from_requested_at():
    auth = RefreshingBearerAuth("https://auth.example/token",
                                {"access_token": "a", "token_type": "Bearer", "refresh_token": "r", "expires_in": 60},
                                requested_at=900.0, now=lambda: 1000.0)
    assert auth.expires_at == 960.0
    assert auth.refresh_at == 930.0


def test_initial_tokens_without_requested_at_count_from_now():
    auth = RefreshingBearerAuth("https://auth.example/token",
                                {"access_token": "a", "token_type": "Bearer", "refresh_token": "r", "expires_in": 60},
                                now=lambda: 1000.0)
    assert auth.expires_at == 1060.0
