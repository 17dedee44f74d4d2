"""RefreshingBearerAuth's tokens outlive the process: on_tokens saves them, resume() picks them up.

With a rotating server (RFC 9700 §4.14.2), a refresh spends the old refresh token the moment the server
answers, so the new state has to be saved right then, under the refresh lock; a run that resumes from an
old state is refused, and its replay ends the whole login. `expires_at` is absolute (RFC 6749 §5.1's
expires_in counts from the response), so a state saved an hour ago is known to be stale.
"""
from __future__ import annotations

import json
import threading

import pytest
import requests
import responses

from helpers import RefreshingBearerAuth, TokenRefreshError, TokenSaveError

from conftest import ada_login, token_calls  # tests/ is on sys.path

TOKEN_URL = "https://auth.example.test/token"
API = "https://api.example.test/notes"
TOKENS = {"access_token": "a1", "token_type": "Bearer", "refresh_token": "r1", "expires_in": 60,
          "scope": "notes:read"}
FIELDS = {"access_token", "refresh_token", "expires_at", "scope", "token_type"}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


# -- on_tokens ---------------------------------------------------------------------------------------

def test_on_tokens_gets_the_first_state_at_construction_with_an_absolute_expiry():
    saved = []
    RefreshingBearerAuth(TOKEN_URL, TOKENS, requested_at=990.0, now=Clock(), on_tokens=saved.append)
    assert saved == [{"access_token": "a1", "refresh_token": "r1", "expires_at": 1050.0, "scope": "notes:read",
                      "token_type": "Bearer"}]


def test_on_tokens_gets_every_refresh_with_the_rotated_refresh_token_and_the_kept_scope():
    saved = []
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS, now=(clock := Clock()), on_tokens=saved.append)
    clock.t = 2000.0
    with responses.RequestsMock() as mock:
        # no scope in the answer: the same as before (RFC 6749 §5.1, §6)
        mock.post(TOKEN_URL, json={"access_token": "a2", "token_type": "bearer", "refresh_token": "r2",
                                   "expires_in": 300})
        mock.post(TOKEN_URL, json={"access_token": "a3", "token_type": "Bearer", "expires_in": 300,
                                   "scope": "notes:read profile"})  # no refresh_token: the server kept r2
        auth.refresh()
        auth.refresh()
    assert [(s["access_token"], s["refresh_token"], s["scope"], s["expires_at"]) for s in saved] == [
        ("a1", "r1", "notes:read", 1060.0), ("a2", "r2", "notes:read", 2300.0),
        ("a3", "r2", "notes:read profile", 2300.0)]
    assert all(set(state) == FIELDS and state["token_type"] == "Bearer" for state in saved)
    assert auth.state() == saved[-1] and auth.state() is not auth.state()  # a copy each time


def test_the_state_is_json_and_a_token_without_expires_in_has_expires_at_null():
    saved = []
    RefreshingBearerAuth(TOKEN_URL, {"access_token": "a1", "token_type": "Bearer"}, on_tokens=saved.append)
    assert json.loads(json.dumps(saved[0], allow_nan=False)) == {
        "access_token": "a1", "refresh_token": None, "expires_at": None, "scope": None, "token_type": "Bearer"}


def test_on_tokens_runs_under_the_refresh_lock_after_the_swap_and_once_for_eight_threads():
    clock = Clock()
    seen, made = [], []

    def on_tokens(state):
        # the swap is done (a request made now would carry the token being saved), and no other
        # refresh can start until the save returns
        auth = made[0] if made else None
        seen.append((state["refresh_token"], auth and auth._lock.locked(),
                     auth and auth.access_token == state["access_token"]))

    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS, now=clock, on_tokens=on_tokens)
    made.append(auth)
    clock.t += 60
    start = threading.Barrier(8)

    def worker():
        with requests.Session() as session:
            session.auth = auth
            start.wait()
            session.get(API, timeout=5).raise_for_status()

    with responses.RequestsMock() as mock:
        endpoint = mock.post(TOKEN_URL, json={**TOKENS, "access_token": "a2", "refresh_token": "r2"})
        mock.get(API, body="ok")
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert endpoint.call_count == 1
    assert seen == [("r1", None, None), ("r2", True, True)]


def test_an_on_tokens_failure_after_a_refresh_keeps_the_new_tokens_and_says_so():
    """The server spent r1 when it answered: the new tokens must not be lost, and r1 never sent again."""
    clock = Clock()
    store = {"fail": False, "saved": None}

    def on_tokens(state):
        if store["fail"]:
            raise OSError(f"disk full while writing {state['refresh_token']}")  # a careless message
        store["saved"] = state

    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS, now=clock, on_tokens=on_tokens)
    store["fail"] = True
    clock.t += 60
    with responses.RequestsMock() as mock:
        endpoint = mock.post(TOKEN_URL, json={**TOKENS, "access_token": "a2", "refresh_token": "r2"})
        api = mock.get(API, body="ok")
        with pytest.raises(TokenSaveError, match="not saved") as failed:
            requests.get(API, auth=auth, timeout=5)
        assert isinstance(failed.value.__cause__, OSError)
        assert "r2" not in str(failed.value) and "a2" not in str(failed.value)
        assert auth.state()["refresh_token"] == "r2"  # nothing lost: the caller can save it by hand
        requests.get(API, auth=auth, timeout=5).raise_for_status()  # the new token is in use
        assert endpoint.call_count == 1 and api.call_count == 1
        assert mock.calls[-1].request.headers["Authorization"] == "Bearer a2"
    assert store["saved"]["refresh_token"] == "r1"  # the store is behind, as the error said
    store["fail"] = False
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json={**TOKENS, "access_token": "a3", "refresh_token": "r3"})
        auth.refresh()
        assert "refresh_token=r2" in mock.calls[0].request.body  # never r1 again
    assert store["saved"]["refresh_token"] == "r3"  # the next refresh saved again


def test_an_on_tokens_failure_at_construction_raises_token_save_error():
    def on_tokens(state):
        raise PermissionError("read-only file system")

    with pytest.raises(TokenSaveError, match="first tokens were not saved.*read-only") as failed:
        RefreshingBearerAuth(TOKEN_URL, TOKENS, on_tokens=on_tokens)
    assert isinstance(failed.value.__cause__, PermissionError) and "spent" not in str(failed.value)


# -- resume -----------------------------------------------------------------------------------------

def test_resume_with_a_fresh_state_sends_the_saved_token_and_does_not_call_on_tokens():
    saved = []
    state = {"access_token": "a1", "refresh_token": "r1", "expires_at": 1600.0, "scope": None,
             "token_type": "Bearer"}
    auth = RefreshingBearerAuth.resume(TOKEN_URL, state, now=Clock(), on_tokens=saved.append)
    with responses.RequestsMock() as mock:
        mock.get(API, body="ok")
        requests.get(API, auth=auth, timeout=5).raise_for_status()
        assert mock.calls[0].request.headers["Authorization"] == "Bearer a1"
    assert saved == [] and auth.refreshes == 0 and auth.expires_at == 1600.0 and auth.refresh_at == 1570.0


@pytest.mark.parametrize("left, refresh_at", [(-3600, -2600.0), (0, 1000.0), (10, 1005.0), (100, 1070.0)])
def test_resume_refreshes_a_stale_state_first_and_half_of_a_short_rest(left, refresh_at):
    state = {**TOKENS, "expires_at": 1000.0 + left}
    del state["expires_in"]
    auth = RefreshingBearerAuth.resume(TOKEN_URL, state, now=Clock(), margin=30)
    assert auth.refresh_at == refresh_at  # due at once (now is 1000) when nothing is left
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        endpoint = mock.post(TOKEN_URL, json={**TOKENS, "access_token": "a2"})
        mock.get(API, body="ok")
        requests.get(API, auth=auth, timeout=5).raise_for_status()
        assert endpoint.call_count == (1 if left <= 0 else 0)


def test_resume_takes_the_constructors_options(no_proxy_settings):
    state = {**TOKENS, "expires_at": 900.0}
    del state["expires_in"]
    saved = []
    auth = RefreshingBearerAuth.resume(TOKEN_URL, state, client_id="notes web", client_secret="s+cret",
                                       now=Clock(), on_tokens=saved.append)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json={**TOKENS, "access_token": "a2", "refresh_token": "r2"})
        auth.refresh()
        sent = mock.calls[0].request
    assert sent.headers["Authorization"] == requests.auth._basic_auth_str("notes+web", "s%2Bcret")
    assert "refresh_token=r1" in sent.body and [s["refresh_token"] for s in saved] == ["r2"]
    with pytest.raises(TypeError, match="requested_at"):
        RefreshingBearerAuth.resume(TOKEN_URL, state, requested_at=5)
    with pytest.raises(ValueError, match="client_id"):
        RefreshingBearerAuth.resume(TOKEN_URL, state, client_secret="s")
    with pytest.raises(ValueError, match="TLS"):
        RefreshingBearerAuth.resume("http://auth.example.test/token", state)


GOOD = {"access_token": "a1", "refresh_token": "r1", "expires_at": 1600, "scope": "x", "token_type": "bearer"}
BAD_STATES = {
    "not a dict": ["a1"],
    "DPoP token": {**GOOD, "token_type": "DPoP"},
    "no token_type": {k: v for k, v in GOOD.items() if k != "token_type"},
    "empty access_token": {**GOOD, "access_token": ""},
    "access_token a number": {**GOOD, "access_token": 7},
    "refresh_token a list": {**GOOD, "refresh_token": ["r1"]},
    "expires_at a string": {**GOOD, "expires_at": "1600"},
    "expires_at true": {**GOOD, "expires_at": True},
    "expires_at infinite": {**GOOD, "expires_at": float("inf")},
    "expires_at NaN": {**GOOD, "expires_at": float("nan")},
    "scope a list": {**GOOD, "scope": ["x"]},
    "expires_at missing": {k: v for k, v in GOOD.items() if k != "expires_at"},
}


@pytest.mark.parametrize("name", list(BAD_STATES))
def test_resume_refuses_a_state_that_is_not_one_and_says_sign_in_again(name):
    with pytest.raises(ValueError, match="Sign in again|is a dict") as refused:
        RefreshingBearerAuth.resume(TOKEN_URL, BAD_STATES[name])
    assert "r1" not in str(refused.value) and "a1" not in str(refused.value)


def test_a_resumed_state_keeps_only_the_known_fields_and_says_bearer():
    auth = RefreshingBearerAuth.resume(TOKEN_URL, {**GOOD, "extra": "x"}, now=Clock())
    assert auth.state() == {**GOOD, "token_type": "Bearer"}


# -- against the practice API -------------------------------------------------------------------------

def test_a_second_run_resumes_and_a_state_saved_an_hour_ago_refreshes_before_the_first_request(api):
    saved = {}
    first_run = RefreshingBearerAuth(api.url("/oauth/token"), ada_login(api), now=api.clock.now,
                                     on_tokens=lambda state: saved.update(state=state))
    requests.get(api.url("/me"), auth=first_run, timeout=5).raise_for_status()
    state_on_disk = json.loads(json.dumps(saved["state"]))
    api.clock.advance(3600)  # the program ran an hour later
    logins = len([call for call in api.calls if call.path == "/login"])
    second_run = RefreshingBearerAuth.resume(api.url("/oauth/token"), state_on_disk, now=api.clock.now,
                                             on_tokens=lambda state: saved.update(state=state))
    response = requests.get(api.url("/me"), auth=second_run, timeout=5)
    assert response.status_code == 200 and response.history == []  # refreshed first, no 401
    assert second_run.refreshes == 1 and len(token_calls(api)) == 1
    assert len([call for call in api.calls if call.path == "/login"]) == logins  # no new sign-in
    assert saved["state"]["refresh_token"] != state_on_disk["refresh_token"]
    assert saved["state"]["expires_at"] == pytest.approx(api.clock.now() + 300, abs=2)


def test_a_run_that_resumes_from_a_state_older_than_the_last_refresh_is_refused(api):
    """Why on_tokens must save every refresh: the old refresh token was spent, and its replay revokes
    the whole family (RFC 9700 §4.14.2), so even the run with the newest tokens has to sign in again."""
    first_state = {}
    auth = RefreshingBearerAuth(api.url("/oauth/token"), ada_login(api), now=api.clock.now,
                                on_tokens=lambda state: first_state.setdefault("state", state))  # saves once
    auth.refresh()
    stale = RefreshingBearerAuth.resume(api.url("/oauth/token"), first_state["state"], now=api.clock.now)
    with pytest.raises(TokenRefreshError, match="log in again"):
        stale.refresh()
    with pytest.raises(TokenRefreshError, match="log in again"):
        auth.refresh()  # the replay ended the login for everyone
