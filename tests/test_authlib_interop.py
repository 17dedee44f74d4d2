"""Authlib, a client this project did not write, against the practice API on loopback.

Notebook 04 recommends Authlib's `OAuth2Session` (FACTS.md, "OAuth client library"). These
tests run every flow the notebook teaches with it, over real HTTP on 127.0.0.1, and pin the
Authlib behaviour the notebook relies on or warns about:

- it talks to http://127.0.0.1 without AUTHLIB_INSECURE_TRANSPORT (unlike requests-oauthlib);
- `create_authorization_url` does NOT remember the state: pass `state=` to `fetch_token`;
- `fetch_token` given an error redirect does not raise the error: check `error` first;
- `fetch_token` does not check `iss` (RFC 9207): compare it yourself.
"""
from __future__ import annotations

import base64
import hashlib
import html
import re
import time
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc6749.errors import MismatchingStateException
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from helpers import serve_practice_api
from helpers.practice_api import demo

TIMEOUT = 5
ADA = {"username": "ada", "password": demo.password_of("ada")}
REPORTS_SECRET = str(demo.client("reports-job")["client_secret"])
WEB_SECRET = str(demo.client("notes-web")["client_secret"])
CLI_REDIRECT = "http://127.0.0.1:49152/callback"  # nothing listens there: the test plays the browser
WEB_REDIRECT = "https://notes-web.test/callback"


@pytest.fixture
def server(monkeypatch):
    """The practice API on loopback, with no environment that could make Authlib or requests lenient."""
    for name in ("AUTHLIB_INSECURE_TRANSPORT", "OAUTHLIB_INSECURE_TRANSPORT", "http_proxy", "HTTP_PROXY",
                 "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    api = serve_practice_api()
    try:
        yield api
    finally:
        api.stop()
    assert api.app.errors == [], "the practice API hit a bug (500):\n" + "\n".join(api.app.errors)


def session(server, client_id: str, **kwargs) -> OAuth2Session:
    client = OAuth2Session(client_id, token_endpoint=server.url("/oauth/token"), default_timeout=TIMEOUT, **kwargs)
    client.trust_env = False  # no ~/.netrc, no proxy
    return client


def cli_session(server, **kwargs) -> OAuth2Session:
    return session(server, "notes-cli", token_endpoint_auth_method="none", redirect_uri=CLI_REDIRECT,
                   scope="profile notes:read", code_challenge_method="S256", **kwargs)


def token_calls(server) -> list:
    return [call for call in server.calls if call.path == "/oauth/token"]


def form_of(call) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(call.body.decode()).items()}


def consent(http, url: str, form: dict | None = None) -> str:
    """What a browser does: open the authorization URL, fill in the form, send it. Returns the Location."""
    page = http.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert page.status_code == 200, page.text
    action = html.unescape(re.search(r'<form method="post" action="([^"]*)">', page.text).group(1))
    target = urljoin(url, action)
    assert target == url  # the form posts back to the same URL
    response = http.post(target, data={**ADA, "decision": "approve"} if form is None else form,
                         allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 303, response.text  # after the form POST (RFC 9700 §4.12.2)
    return response.headers["Location"]


def authorized_cli(server, http, **kwargs) -> tuple[OAuth2Session, dict]:
    """notes-cli after the whole authorization code flow with PKCE: (session, token)."""
    client = cli_session(server, **kwargs)
    verifier = generate_token(64)
    url, state = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    location = consent(http, url)
    token = client.fetch_token(authorization_response=location, code_verifier=verifier, state=state)
    return client, token


# -- discovery --------------------------------------------------------------------------------------

def test_authlib_accepts_the_metadata_of_a_loopback_issuer(server, http):
    metadata = http.get(server.url("/.well-known/oauth-authorization-server"), timeout=TIMEOUT).json()
    AuthorizationServerMetadata(metadata).validate()  # RFC 8414 checks; http is fine on loopback
    with pytest.raises(ValueError, match="https"):
        AuthorizationServerMetadata({**metadata, "issuer": "http://api.practice.test"}).validate()


# -- client credentials ----------------------------------------------------------------------------

def test_client_credentials_with_client_secret_basic(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    client = session(server, "reports-job", client_secret=REPORTS_SECRET,
                     token_endpoint_auth_method="client_secret_basic", scope="reports:read")
    token = client.fetch_token(grant_type="client_credentials")
    assert token["token_type"] == "Bearer" and token["scope"] == "reports:read"
    assert "refresh_token" not in token
    assert isinstance(token["expires_at"], int) and token["expires_at"] > time.time() + 200
    sent = token_calls(server)[-1]
    expected = base64.b64encode(f"reports-job:{REPORTS_SECRET}".encode()).decode()
    assert sent.header("Authorization") == f"Basic {expected}"
    assert form_of(sent) == {"grant_type": "client_credentials", "scope": "reports:read"}

    response = client.get(server.url("/reports"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json()["client_id"] == "reports-job"
    assert server.calls[-1].header("Authorization") == f"Bearer {token['access_token']}"
    assert client.get(server.url("/me"), timeout=TIMEOUT).status_code == 401  # another audience


def test_client_credentials_token_is_fetched_again_once_expired(server):
    updates = []
    client = session(server, "reports-job", client_secret=REPORTS_SECRET, scope="reports:read",
                     grant_type="client_credentials", update_token=lambda token, **kw: updates.append((token, kw)))
    first = dict(client.fetch_token())
    server.clock.advance(301 + 5)  # the API's clock: the old token is now expired there
    client.token["expires_at"] = int(time.time()) - 1  # and Authlib's clock is the real one
    response = client.get(server.url("/reports"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert len(token_calls(server)) == 2
    assert len(updates) == 1
    new, kwargs = updates[0]
    assert kwargs == {"access_token": first["access_token"]}
    assert new["access_token"] != first["access_token"]
    assert server.calls[-1].header("Authorization") == f"Bearer {new['access_token']}"


# -- authorization code + PKCE, public client on a loopback redirect (RFC 8252) ----------------------

def test_authorization_code_with_pkce_for_the_public_cli(server, http):
    client = cli_session(server)
    verifier = generate_token(64)
    url, state = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert query == {"response_type": "code", "client_id": "notes-cli", "redirect_uri": CLI_REDIRECT,
                     "scope": "profile notes:read", "state": state, "code_challenge": challenge,
                     "code_challenge_method": "S256"}

    location = consent(http, url)
    got = parse_qs(urlsplit(location).query)
    assert location.startswith(CLI_REDIRECT + "?")
    assert got["state"] == [state] and got["iss"] == [server.base_url]

    token = client.fetch_token(authorization_response=location, code_verifier=verifier, state=state)
    assert token["token_type"] == "Bearer" and token["scope"] == "profile notes:read"
    assert token["refresh_token"]
    sent = token_calls(server)[-1]
    assert sent.header("Authorization") is None  # a public client: client_id only
    assert form_of(sent) == {"grant_type": "authorization_code", "code": got["code"][0], "code_verifier": verifier,
                             "redirect_uri": CLI_REDIRECT, "client_id": "notes-cli"}

    me = client.get(server.url("/me"), timeout=TIMEOUT)
    assert me.status_code == 200
    assert me.json() == {"username": "ada", "scope": "profile notes:read"}


def test_authlib_refuses_a_redirect_with_another_state(server, http):
    client = cli_session(server)
    verifier = generate_token(64)
    url, state = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    location = consent(http, url).replace(f"state={state}", "state=forged-by-an-attacker")
    with pytest.raises(MismatchingStateException):
        client.fetch_token(authorization_response=location, code_verifier=verifier, state=state)
    assert token_calls(server) == []  # refused before anything was sent


def test_authlib_checks_the_state_only_when_given_it(server, http):
    """Authlib 1.9 does not keep the state from create_authorization_url: without `state=` in
    fetch_token (or OAuth2Session(state=...)) a forged state goes unnoticed. Notebook 04 must pass it."""
    client = cli_session(server)
    verifier = generate_token(64)
    url, state = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    assert client.state is None
    location = consent(http, url).replace(f"state={state}", "state=forged-by-an-attacker")
    token = client.fetch_token(authorization_response=location, code_verifier=verifier)  # no state=
    assert token["access_token"]


def test_authlib_does_not_check_iss(server, http):
    """RFC 9207: the server sends `iss` so that the client can detect a mix-up attack. Authlib 1.9's
    fetch_token ignores it: the application compares it with the issuer it started with."""
    client = cli_session(server)
    verifier = generate_token(64)
    url, state = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    location = consent(http, url)
    assert parse_qs(urlsplit(location).query)["iss"] == [server.base_url]
    mixed_up = location.replace("iss=http%3A%2F%2F127.0.0.1", "iss=https%3A%2F%2Fevil.test%2F127.0.0.1")
    assert mixed_up != location
    assert client.fetch_token(authorization_response=mixed_up, code_verifier=verifier, state=state)["access_token"]


def test_an_error_redirect_is_not_an_error_for_fetch_token(server, http):
    """Authlib 1.9 guesses the grant from the URL: without `code=` it sends a client_credentials
    request, so the user's access_denied comes back as the token endpoint's unauthorized_client.
    Check the callback's `error` parameter before calling fetch_token."""
    client = cli_session(server)
    verifier = generate_token(64)
    url, state = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    location = consent(http, url, {"decision": "deny"})
    assert parse_qs(urlsplit(location).query)["error"] == ["access_denied"]
    with pytest.raises(OAuthError) as raised:
        client.fetch_token(authorization_response=location, code_verifier=verifier, state=state)
    assert raised.value.error == "unauthorized_client"
    assert form_of(token_calls(server)[-1])["grant_type"] == "client_credentials"


# -- refresh, automatic refresh, revocation -----------------------------------------------------------

def test_refresh_token_rotates_through_authlib(server, http):
    updates = []
    client, first = authorized_cli(server, http, update_token=lambda token, **kw: updates.append((dict(token), kw)))
    first = dict(first)
    second = client.refresh_token()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert updates == [(dict(second), {"refresh_token": first["refresh_token"]})]
    sent = form_of(token_calls(server)[-1])
    assert sent["grant_type"] == "refresh_token" and sent["refresh_token"] == first["refresh_token"]
    assert sent["client_id"] == "notes-cli"
    assert client.get(server.url("/me"), timeout=TIMEOUT).status_code == 200
    # the spent refresh token is refused, and its reuse revokes the family (RFC 9700 §4.14.2)
    with pytest.raises(OAuthError) as raised:
        client.refresh_token(refresh_token=first["refresh_token"])
    assert raised.value.error == "invalid_grant"


def test_authlib_refreshes_an_expired_token_before_the_request(server, http):
    updates = []
    client, first = authorized_cli(server, http, update_token=lambda token, **kw: updates.append((dict(token), kw)))
    old_access, old_refresh = first["access_token"], first["refresh_token"]
    server.clock.advance(301 + 5)  # the API now refuses the old access token...
    expired = http.get(server.url("/me"), headers={"Authorization": f"Bearer {old_access}"}, timeout=TIMEOUT)
    assert expired.status_code == 401 and "expired" in expired.json()["error_description"]
    client.token["expires_at"] = int(time.time()) - 1  # ...and Authlib (real clock) sees it expired too

    me = client.get(server.url("/me"), timeout=TIMEOUT)
    assert me.status_code == 200 and me.json()["username"] == "ada"
    assert [call.path for call in server.calls[-2:]] == ["/oauth/token", "/me"]
    assert len(updates) == 1
    new, kwargs = updates[0]
    assert kwargs == {"refresh_token": old_refresh}  # Authlib names the token it replaced
    assert new["refresh_token"] != old_refresh  # and stores the rotated one
    assert server.calls[-1].header("Authorization") == f"Bearer {new['access_token']}"


def test_authlib_refreshes_within_its_leeway(server, http):
    client, first = authorized_cli(server, http, leeway=400)  # 300 s tokens are always "about to expire"
    assert client.get(server.url("/me"), timeout=TIMEOUT).status_code == 200
    assert [call.path for call in server.calls[-2:]] == ["/oauth/token", "/me"]
    assert client.token["refresh_token"] != first["refresh_token"]


def test_revoke_through_authlib(server, http):
    client, token = authorized_cli(server, http)
    response = client.revoke_token(server.url("/oauth/revoke"), token=token["refresh_token"],
                                   token_type_hint="refresh_token")
    assert response.status_code == 200 and response.content == b""
    sent = server.calls[-1]
    assert sent.path == "/oauth/revoke"
    assert form_of(sent) == {"token": token["refresh_token"], "token_type_hint": "refresh_token",
                             "client_id": "notes-cli"}
    me = client.get(server.url("/me"), timeout=TIMEOUT)  # the family went with it
    assert me.status_code == 401 and me.json()["error_description"] == "The token was revoked."
    with pytest.raises(OAuthError) as raised:
        client.refresh_token()
    assert raised.value.error == "invalid_grant"
    # RFC 7009 §2.2: revoking again, or revoking garbage, is still 200
    assert client.revoke_token(server.url("/oauth/revoke"), token="garbage").status_code == 200


# -- authorization code, confidential client (client_secret_basic) ---------------------------------

def test_authorization_code_for_the_confidential_web_client(server, http):
    client = session(server, "notes-web", client_secret=WEB_SECRET, token_endpoint_auth_method="client_secret_basic",
                     redirect_uri=WEB_REDIRECT, scope="profile notes:read", code_challenge_method="S256")
    verifier = generate_token(64)
    url, state = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    location = consent(http, url)
    assert location.startswith(WEB_REDIRECT + "?code=")
    token = client.fetch_token(authorization_response=location, code_verifier=verifier, state=state)
    sent = token_calls(server)[-1]
    expected = base64.b64encode(f"notes-web:{WEB_SECRET}".encode()).decode()
    assert sent.header("Authorization") == f"Basic {expected}"
    assert "client_secret" not in form_of(sent)
    me = client.get(server.url("/me"), timeout=TIMEOUT)
    assert me.json() == {"username": "ada", "scope": "profile notes:read"}
    rotated = client.refresh_token()
    assert rotated["refresh_token"] != token["refresh_token"]
    assert token_calls(server)[-1].header("Authorization") == f"Basic {expected}"
    revoked = client.revoke_token(server.url("/oauth/revoke"), token=rotated["access_token"],
                                  token_type_hint="access_token")
    assert revoked.status_code == 200
    assert server.calls[-1].header("Authorization") == f"Basic {expected}"
    assert client.get(server.url("/me"), timeout=TIMEOUT).status_code == 401
