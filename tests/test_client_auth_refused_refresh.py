"""RefreshingBearerAuth: a token response it refuses, and expires_in values that are not a usable lifetime.

A server that rotates refresh tokens has already spent the old one when it answers (RFC 9700 §4.14.2):
a 200 answer the client cannot use (a token_type it does not know, RFC 6749 §7.1; no access_token; not
JSON) must not leave the spent refresh token in place, or the next refresh replays it and the server
revokes the whole login. So the refresh token is dropped and TokenRefreshError says to log in again.
expires_in is RECOMMENDED (RFC 6749 §5.1): a value that is not a finite number >= 0 is treated as absent.
"""
from __future__ import annotations

import math

import pytest
import requests
import responses

from helpers import RefreshingBearerAuth, TokenRefreshError

TOKEN_URL = "https://auth.example.test/token"
API = "https://api.example.test/notes"
TOKENS = {"access_token": "old", "token_type": "Bearer", "refresh_token": "r1", "expires_in": 60}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


REFUSED = {
    "token_type mac": {"json": {"access_token": "new", "token_type": "mac", "refresh_token": "r2"}},
    "no token_type": {"json": {"access_token": "new", "refresh_token": "r2"}},
    "no access_token": {"json": {"token_type": "Bearer", "refresh_token": "r2"}},
    "access_token not a string": {"json": {"access_token": 12, "token_type": "Bearer", "refresh_token": "r2"}},
    "empty access_token": {"json": {"access_token": "", "token_type": "Bearer", "refresh_token": "r2"}},
    "refresh_token not a string": {"json": {"access_token": "new", "token_type": "Bearer", "refresh_token": ["r2"]}},
    "a JSON list": {"json": [{"access_token": "new", "token_type": "Bearer"}]},
    # RFC 6750 §2.1 b64token, RFC 6749 A.17 VSCHAR: a line break in a token would split the header it goes into
    "access_token with CR LF": {"json": {"access_token": "new\r\nX-Evil: 1", "token_type": "Bearer",
                                         "refresh_token": "r2"}},
    "access_token with a space": {"json": {"access_token": "new token", "token_type": "Bearer",
                                           "refresh_token": "r2"}},
    "refresh_token with NUL": {"json": {"access_token": "new", "token_type": "Bearer", "refresh_token": "r2\x00"}},
    "not JSON": {"body": "<html>ok</html>"},
}


@pytest.mark.parametrize("answer", list(REFUSED))
def test_a_refused_token_response_drops_the_refresh_token_and_says_log_in_again(answer):
    clock = Clock()
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS, now=clock)
    clock.t += 60  # expired
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        token_endpoint = mock.post(TOKEN_URL, status=200, **REFUSED[answer])
        api = mock.get(API, body="ok")
        with pytest.raises(TokenRefreshError, match="log in again") as refused:
            requests.get(API, auth=auth, timeout=5)
        assert "r1" not in str(refused.value) and "r2" not in str(refused.value)
        # the next request does not send the spent refresh token again (a replay would end the login)
        with pytest.raises(TokenRefreshError, match="log in again"):
            requests.get(API, auth=auth, timeout=5)
        with pytest.raises(TokenRefreshError, match="log in again"):
            auth.refresh()
        assert token_endpoint.call_count == 1 and api.call_count == 0
    # the refused answer's token was not used, and nothing of the login is left (item 9 of issue 17)
    assert auth.access_token is None and auth.state() == {}


def test_the_reason_is_in_the_error():
    clock = Clock()
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS, now=clock)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json=REFUSED["token_type mac"]["json"])
        with pytest.raises(TokenRefreshError, match="token_type 'mac'"):
            auth.refresh()


def test_a_refused_refresh_token_is_not_sent_again():
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS, now=Clock())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        endpoint = mock.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
        for _ in range(2):
            with pytest.raises(TokenRefreshError, match="log in again"):
                auth.refresh()
        assert endpoint.call_count == 1


def test_a_good_refresh_still_works_and_rotates():
    clock = Clock()
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS, now=clock)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json={"access_token": "new", "token_type": "bearer", "refresh_token": "r2", "expires_in": 60})
        assert auth.refresh() == "new"
        assert "refresh_token=r1" in mock.calls[0].request.body
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json={"access_token": "newer", "token_type": "Bearer", "expires_in": 60})
        assert auth.refresh() == "newer"
        assert "refresh_token=r2" in mock.calls[0].request.body


@pytest.mark.parametrize("expires_in", ["nan", "inf", "-inf", math.nan, math.inf, -60, -0.5, "abc", [1], {}, True, "",
                                        None, 1e400])
def test_an_expires_in_that_is_not_a_finite_number_at_least_0_is_treated_as_absent(expires_in):
    auth = RefreshingBearerAuth(TOKEN_URL, {**TOKENS, "expires_in": expires_in}, now=Clock())
    assert auth.expires_at == math.inf and auth.refresh_at == math.inf


@pytest.mark.parametrize("expires_in, expires_at", [(3600, 4600), ("3600", 4600), (0.5, 1000.5), (60.0, 1060)])
def test_a_finite_expires_in_is_used(expires_in, expires_at):
    auth = RefreshingBearerAuth(TOKEN_URL, {**TOKENS, "expires_in": expires_in}, now=Clock())
    assert auth.expires_at == expires_at and auth.refresh_at < math.inf


def test_expires_in_0_does_not_send_a_token_request_before_every_request():
    clock = Clock()
    auth = RefreshingBearerAuth(TOKEN_URL, {**TOKENS, "expires_in": 0}, now=clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        token_endpoint = mock.post(TOKEN_URL, json={**TOKENS, "access_token": "new", "expires_in": 0})
        mock.get(API, body="ok")
        for _ in range(5):
            requests.get(API, auth=auth, timeout=5).raise_for_status()
            clock.t += 1
        assert token_endpoint.call_count == 0
        auth.refresh()  # a refreshed token with expires_in 0 does not start a refresh loop either
        for _ in range(5):
            requests.get(API, auth=auth, timeout=5).raise_for_status()
            clock.t += 1
        assert token_endpoint.call_count == 1
        assert [call.request.headers["Authorization"] for call in mock.calls if call.request.method == "GET"] == \
               ["Bearer old"] * 5 + ["Bearer new"] * 5
