"""BearerAuth and RefreshingBearerAuth against both transports, and under threads."""
from __future__ import annotations

import base64
import hashlib
import threading

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import BearerAuth, RefreshingBearerAuth, TokenRefreshError, serve_practice_api, start_practice_api
from helpers.client.auth import TCHAR, _parse_challenges
from helpers.practice_api.oauth import Client

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
    auth = RefreshingBearerAuth(api.url("/oauth/token"), first, now=api.clock.now)
    api.clock.advance(290)  # inside the margin: it refreshes before the request, with the spent token
    with pytest.raises(TokenRefreshError, match="log in again"):
        requests.get(api.url("/me"), auth=auth, timeout=5)


def test_threads_with_a_session_each_share_one_auth_and_refresh_once(api):
    """requests promises no thread safety for a Session (psf/requests#2766): one Session per thread, one auth."""
    auth = RefreshingBearerAuth(api.url("/oauth/token"), login(api), now=api.clock.now)
    api.clock.advance(290)  # every request now wants a refresh
    start = threading.Barrier(2)
    statuses: list[int] = []

    def worker():
        with requests.Session() as session:  # this thread's own Session
            session.auth = auth  # the one auth object, whose lock guards the refresh
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
    from helpers.practice_api import demo

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
                                {"access_token": "SECRET-TOKEN", "token_type": "Bearer", "refresh_token": "r1"})
    challenge = {"WWW-Authenticate": 'Bearer realm="other", error="invalid_token"'}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("https://api.example.test/files/1", status=302,
                 headers={"Location": "https://other.example.test/files/1"})
        mock.get("https://other.example.test/files/1", status=401, headers=challenge)
        token_endpoint = mock.post("https://api.example.test/oauth/token", json={"access_token": "NEW", "token_type": "Bearer"})
        response = requests.get("https://api.example.test/files/1", auth=auth, timeout=5)
        sent = [call.request.headers.get("Authorization") for call in mock.calls]
    assert response.status_code == 401
    assert sent == ["Bearer SECRET-TOKEN", None]  # the other host never saw a token
    assert token_endpoint.call_count == 0 and auth.refreshes == 0


# -- client authentication: form-encoded, then Basic (RFC 6749 §2.3.1) ---------------------------

AWKWARD_ID, AWKWARD_SECRET = "partner:eu", "s3cret+with/plus="  # ':' in the id, '+', '/' and '=' in the secret


@pytest.fixture
def awkward_client(api):
    """A confidential client whose id and secret change under form-encoding; the practice API form-decodes."""
    client = Client(AWKWARD_ID, hashlib.sha256(AWKWARD_SECRET.encode()).hexdigest(), ("refresh_token",), "profile")
    api.app.oauth.clients = {**api.app.oauth.clients, AWKWARD_ID: client}  # this app only, not the demo table
    return client


def test_client_id_and_secret_are_form_encoded_before_basic(api, awkward_client):
    issued = api.app.tokens.issue("ada", "profile", client_id=AWKWARD_ID)
    auth = RefreshingBearerAuth(api.url("/oauth/token"), issued, client_id=AWKWARD_ID, client_secret=AWKWARD_SECRET,
                                now=api.clock.now)
    auth.refresh()  # raises if the server refused the client
    assert auth.refreshes == 1
    sent = token_requests(api)[-1].header("authorization")
    assert sent == "Basic " + base64.b64encode(b"partner%3Aeu:s3cret%2Bwith%2Fplus%3D").decode("ascii")


def test_a_client_secret_without_a_client_id_is_refused():
    with pytest.raises(ValueError, match="client_id"):
        RefreshingBearerAuth("https://api.practice.test/oauth/token", {"access_token": "a", "token_type": "Bearer", "refresh_token": "r"},
                             client_secret="s3cret")


# -- the WWW-Authenticate challenge (RFC 9110 §11.2, §11.6.1; RFC 6750 §3) -------------------------

@pytest.mark.parametrize("header, expected", [
    ('Bearer error="invalid_token"', [("bearer", {"error": "invalid_token"})]),
    ("Bearer error=invalid_token", [("bearer", {"error": "invalid_token"})]),  # a token, not a quoted-string
    ('bearer ERROR="invalid_token"', [("bearer", {"error": "invalid_token"})]),  # scheme and names: any case
    ('Bearer realm="notes", error="invalid_token", error_description="The token expired"',
     [("bearer", {"realm": "notes", "error": "invalid_token", "error_description": "The token expired"})]),
    ('Basic realm="x", Bearer error="invalid_token"',
     [("basic", {"realm": "x"}), ("bearer", {"error": "invalid_token"})]),
    ('Basic realm="a, b", Bearer realm="c,d" , error=invalid_token',  # commas inside quoted strings
     [("basic", {"realm": "a, b"}), ("bearer", {"realm": "c,d", "error": "invalid_token"})]),
    (r'Bearer realm="say \"hi\", then go", error="invalid_token"',  # escaped quotes (quoted-pair)
     [("bearer", {"realm": 'say "hi", then go', "error": "invalid_token"})]),
    (r'Bearer error="inv\alid_token"', [("bearer", {"error": "invalid_token"})]),  # any quoted-pair unescapes
    ("Bearer", [("bearer", {})]),
    ("Bearer, Basic", [("bearer", {}), ("basic", {})]),
    ("Negotiate YII2ZwYJKoZIhvcSAQICAQBuggEmMIIBIqADAgEFoQMCAQ6i==, Bearer error=invalid_token",
     [("negotiate", {"": "YII2ZwYJKoZIhvcSAQICAQBuggEmMIIBIqADAgEFoQMCAQ6i=="}), ("bearer", {"error": "invalid_token"})]),
    ("Bearer  realm = notes ,, error =\tinvalid_token", [("bearer", {"realm": "notes", "error": "invalid_token"})]),
    ('Bearer error="invalid_token", error="insufficient_scope"', [("bearer", {"error": "invalid_token"})]),
    (r'Basic realm="error=\"invalid_token\""', [("basic", {"realm": 'error="invalid_token"'})]),
    ("Bearer realm=a, B@sic, error=invalid_token", [("bearer", {"realm": "a"})]),  # after junk, no strays
    ("", []),
    (", ,", []),
    ('Bearer error="invalid_token', [("bearer", {})]),  # no closing quote: the parameter is dropped
    ("Bearer error=invalid token", [("bearer", {})]),  # a space inside a token value: not a parameter
    ('error="invalid_token"', []),  # a parameter with no scheme before it
    ("=, ==, Bearer =x, \"\", \x00\r\n", []),  # "Bearer =x" is a parameter (BWS), with no challenge
    ("Bearer ré=1, Bäsic realm=x", [("bearer", {})]),
])
def test_parse_challenges(header, expected):
    assert _parse_challenges(header) == expected


@pytest.mark.parametrize("challenge, retried", [
    ('Bearer error="invalid_token"', True),
    ("Bearer error=invalid_token", True),
    ('bearer realm="api", ERROR=invalid_token', True),
    ('Basic realm="x", Bearer error="invalid_token"', True),
    ('Bearer realm="a, b", error="invalid_token"', True),
    ('Bearer error="insufficient_scope"', False),
    ('Bearer realm="api", error="invalid_request"', False),
    ('Bearer realm="api"', True),  # a bare 401: the server does not say why, so one refresh may cure it
    (None, True),  # no challenge at all (RFC 9110 §15.5.2 asks for one; not every server sends it)
    ("", True),
    ('Basic realm="api", Bearer realm="api"', True),
    ('Basic realm="x"', False),  # asks for another scheme: a fresh bearer token is no answer
    (r'Basic realm="error=\"invalid_token\""', False),  # the words sit inside another scheme's realm
    ('DPoP error="invalid_token"', False),  # about a DPoP proof, not our bearer token
    ("Bearer error=Invalid_Token", False),  # error codes are case-sensitive (RFC 6750 §3.1)
    ('Bearer error="invalid_token', True),  # the broken parameter is dropped: a Bearer challenge without error
])
def test_retries_after_a_401_for_invalid_token_or_a_bare_401_only(challenge, retried):
    """RFC 6750 §3.1: invalid_token means a new token may work; a 401 that names no error is retried once too."""
    auth = RefreshingBearerAuth("https://api.example.test/oauth/token",
                                {"access_token": "OLD-TOKEN", "token_type": "Bearer", "refresh_token": "r1"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("https://api.example.test/files/1", status=401,
                 headers={} if challenge is None else {"WWW-Authenticate": challenge})
        mock.get("https://api.example.test/files/1", status=200, json={})
        mock.post("https://api.example.test/oauth/token", json={"access_token": "NEW-TOKEN", "token_type": "Bearer", "refresh_token": "r2"})
        response = requests.get("https://api.example.test/files/1", auth=auth, timeout=5)
    assert (response.status_code, auth.refreshes) == ((200, 1) if retried else (401, 0))


# -- the token session reads nothing from the environment; proxies and CA bundles are arguments ------

def test_the_token_calls_ignore_proxy_and_ca_bundle_variables_and_take_arguments(monkeypatch):
    from conftest import free_port

    dead_proxy = f"http://127.0.0.1:{free_port()}"  # nothing listens there: a request through it fails
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with serve_practice_api(tls=True) as api:
        for name in ("HTTPS_PROXY", "https_proxy"):
            monkeypatch.setenv(name, dead_proxy)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", api.ca_bundle)

        def refreshing(**options) -> RefreshingBearerAuth:
            issued = api.app.tokens.issue("ada", "profile", client_id="notes-tv")
            return RefreshingBearerAuth(api.url("/oauth/token"), issued, client_id="notes-tv", now=api.clock.now,
                                        **options)

        with pytest.raises(requests.exceptions.SSLError):
            refreshing().refresh()  # no proxy was used, and REQUESTS_CA_BUNDLE was not read
        auth = refreshing(verify=api.ca_bundle)
        auth.refresh()
        assert auth.refreshes == 1
        with pytest.raises(requests.exceptions.ProxyError):
            refreshing(verify=api.ca_bundle, proxies={"https": dead_proxy}).refresh()


HEADER_CHARS = 'Bb earrtokn=,"\\\t\x00\r\né=/+~' + "_-"


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(HEADER_CHARS, max_size=60) | st.text(max_size=60))
def test_parse_challenges_never_raises_and_gives_lowercase_tokens(header):
    challenges = _parse_challenges(header)
    for scheme, params in challenges:
        assert scheme and scheme == scheme.lower() and all(char in TCHAR for char in scheme)
        assert all(name == name.lower() and all(char in TCHAR for char in name) for name in params if name)
