"""BearerAuth and RefreshingBearerAuth against both transports, and under threads."""
from __future__ import annotations

import threading

import pytest
import requests
import responses

from helpers import BearerAuth, RefreshingBearerAuth, TokenRefreshError, serve_practice_api, start_practice_api

PASSWORD = "analytical:engine:1843"


@pytest.fixture(params=["in-process", "loopback"])
def api(request):
    if request.param == "in-process":
        handle = start_practice_api()
        yield handle
        handle.stop()
    else:
        with serve_practice_api() as handle:
            yield handle
    assert handle.app.errors == []


def login(api, **options) -> dict:
    response = requests.post(api.url("/login"), json={"username": "ada", "password": PASSWORD, **options}, timeout=5)
    response.raise_for_status()
    return response.json()


def token_requests(api) -> list:
    return [call for call in api.calls if call.path == "/oauth/token"]


def test_bearer_auth_sends_the_header_and_hides_the_token(api):
    tokens = login(api)
    auth = BearerAuth(tokens["access_token"])
    response = requests.get(api.url("/me"), auth=auth, timeout=5)
    assert response.status_code == 200 and response.json()["username"] == "ada"
    assert api.calls[-1].header("authorization") == "Bearer " + tokens["access_token"]
    assert tokens["access_token"] not in repr(auth)


def test_refreshes_shortly_before_expiry_not_earlier(api):
    auth = RefreshingBearerAuth(api.url("/oauth/token"), login(api), now=api.clock.now, margin=30)
    with requests.Session() as session:
        session.auth = auth
        api.clock.advance(260)  # 40 s left: outside the margin
        assert session.get(api.url("/me"), timeout=5).status_code == 200
        assert auth.refreshes == 0
        api.clock.advance(15)  # 25 s left: inside
        assert session.get(api.url("/me"), timeout=5).status_code == 200
        assert auth.refreshes == 1
        assert len(token_requests(api)) == 1


def test_retries_once_after_401_invalid_token(api):
    tokens = {k: v for k, v in login(api).items() if k != "expires_in"}
    auth = RefreshingBearerAuth(api.url("/oauth/token"), tokens, now=api.clock.now)
    api.clock.advance(400)
    response = requests.get(api.url("/me"), auth=auth, timeout=5)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert auth.refreshes == 1
    assert [c.path for c in api.calls[-3:]] == ["/me", "/oauth/token", "/me"]


def test_never_loops_when_the_fresh_token_is_refused_too(api):
    # A token with only notes:read is refused by /me with 403, not retried: not an invalid_token.
    narrow = RefreshingBearerAuth(api.url("/oauth/token"), login(api, scope="notes:read"), now=api.clock.now)
    assert requests.get(api.url("/me"), auth=narrow, timeout=5).status_code == 403
    assert narrow.refreshes == 0
    # A token for another API: 401 invalid_token; the refreshed token is for the same API, so the
    # retry fails too, and the caller gets that 401 after exactly one refresh.
    other = RefreshingBearerAuth(api.url("/oauth/token"), login(api, resource="https://notes.practice.test"),
                                 now=api.clock.now)
    response = requests.get(api.url("/me"), auth=other, timeout=5)
    assert response.status_code == 401 and len(response.history) == 1
    assert other.refreshes == 1


def test_a_refused_refresh_token_raises_a_clear_error(api):
    first = login(api)
    requests.post(api.url("/oauth/token"), data={"grant_type": "refresh_token",
                                                 "refresh_token": first["refresh_token"]}, timeout=5).raise_for_status()
    auth = RefreshingBearerAuth(api.url("/oauth/token"), first, now=api.clock.now, margin=400)
    with pytest.raises(TokenRefreshError, match="log in again"):
        requests.get(api.url("/me"), auth=auth, timeout=5)


def test_two_threads_on_one_session_refresh_once(api):
    auth = RefreshingBearerAuth(api.url("/oauth/token"), login(api), now=api.clock.now)
    session = requests.Session()
    session.auth = auth
    api.clock.advance(290)  # every request now wants a refresh
    start = threading.Barrier(2)
    statuses: list[int] = []

    def worker():
        start.wait()
        for _ in range(5):
            statuses.append(session.get(api.url("/me"), timeout=5).status_code)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 10
    assert auth.refreshes == 1, "a second refresh with a spent token would end the login"
    assert len(token_requests(api)) == 1


def test_repr_hides_tokens(api):
    tokens = login(api)
    text = repr(RefreshingBearerAuth(api.url("/oauth/token"), tokens))
    assert tokens["access_token"] not in text and tokens["refresh_token"] not in text


def test_refreshes_tokens_of_a_public_and_a_confidential_oauth_client(api):
    from helpers import demo

    web = demo.client("notes-web")
    for client_id, secret in [("notes-tv", None), (web["client_id"], web["client_secret"])]:
        issued = api.app.tokens.issue("ada", "profile", client_id=client_id)  # as the token endpoint would
        auth = RefreshingBearerAuth(api.url("/oauth/token"), issued, client_id=client_id, client_secret=secret,
                                    now=api.clock.now)
        api.clock.advance(290)
        assert requests.get(api.url("/me"), auth=auth, timeout=5).status_code == 200
        assert auth.refreshes == 1
        sent = api.calls[-2]
        assert sent.path == "/oauth/token"
        assert ("authorization" in sent.headers) == (secret is not None)
        assert (b"client_id=" in sent.body) == (secret is None)


def test_never_resends_the_token_to_another_host_after_a_redirect():
    """requests strips Authorization on a redirect to another host; that host's 401 must not bring it back."""
    auth = RefreshingBearerAuth("https://api.example.test/oauth/token",
                                {"access_token": "SECRET-TOKEN", "refresh_token": "r1"})
    challenge = {"WWW-Authenticate": 'Bearer realm="other", error="invalid_token"'}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("https://api.example.test/files/1", status=302,
                 headers={"Location": "https://other.example.test/files/1"})
        mock.get("https://other.example.test/files/1", status=401, headers=challenge)
        token_endpoint = mock.post("https://api.example.test/oauth/token", json={"access_token": "NEW"})
        response = requests.get("https://api.example.test/files/1", auth=auth, timeout=5)
        sent = [call.request.headers.get("Authorization") for call in mock.calls]
    assert response.status_code == 401
    assert sent == ["Bearer SECRET-TOKEN", None]  # the other host never saw a token
    assert token_endpoint.call_count == 0 and auth.refreshes == 0
