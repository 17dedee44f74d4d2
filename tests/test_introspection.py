"""Token introspection (RFC 7662), every branch: who may ask, and what it answers.

The contract notebook 03 relies on: `POST /oauth/introspect` with the form field `token` (and
optionally `token_type_hint`), the caller authenticated with client_secret_basic as a client
registered for introspection (the demo client `notes-api`, the practice API acting as a resource
server). The answer is 200 JSON with `Cache-Control: no-store`; `{"active": false}` and nothing
else for anything not usable right now here, refresh tokens included: they are for the authorization
server only (RFC 6749 §1.5), so a resource server is told they are not active (RFC 7662 §2.2, §4).
"""
from __future__ import annotations

import jwt
import pytest
from test_oauth import (ADA, NOTES_WEB, PRIVATE_KEY, REPORTS_JOB, TIMEOUT, assert_error, assert_invalid_client,
                        revoke, token_request, user_tokens)

from helpers.practice_api import demo, signing_key, tokens

NOTES_API = ("notes-api", str(demo.client("notes-api")["client_secret"]))
ACTIVE_FIELDS = {"active", "scope", "client_id", "username", "sub", "token_type", "exp", "iat", "iss", "aud", "jti"}


def introspect(http, api, token: str | None, auth=NOTES_API, **data) -> "requests.Response":  # noqa: F821
    form = {"token": token, **data}
    return http.post(api.url("/oauth/introspect"), data={k: v for k, v in form.items() if v is not None},
                     auth=auth, timeout=TIMEOUT)


def answer_of(response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def assert_inactive(response) -> None:
    """RFC 7662 §2.2: an inactive token gets `active: false` and SHOULD get nothing else."""
    assert answer_of(response) == {"active": False}


def login(http, api, **body) -> dict:
    response = http.post(api.url("/login"), json={**ADA, **body}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_demo_client_is_a_confidential_resource_server():
    entry = demo.client("notes-api")
    assert entry == {"client_id": "notes-api", "client_secret": entry["client_secret"], "grant_types": [],
                     "redirect_uris": [], "scope": "", "token_endpoint_auth_method": "client_secret_basic"}
    secret = str(entry["client_secret"])
    assert secret.startswith("practice_secret_") and len(secret) == len("practice_secret_") + 32


def test_metadata_names_the_introspection_endpoint(http, api):
    """RFC 8414 §2 (introspection_endpoint, introspection_endpoint_auth_methods_supported)."""
    metadata = http.get(api.url("/.well-known/oauth-authorization-server"), timeout=TIMEOUT).json()
    assert metadata["introspection_endpoint"] == api.base_url + "/oauth/introspect"
    assert metadata["introspection_endpoint_auth_methods_supported"] == ["client_secret_basic"]


def test_an_access_token_from_login(http, api):
    issued = login(http, api)
    answer = answer_of(introspect(http, api, issued["access_token"], token_type_hint="access_token"))
    claims = jwt.decode(issued["access_token"], options={"verify_signature": False})
    assert answer == {"active": True, "scope": "profile notes:read", "client_id": tokens.LOGIN_CLIENT_ID,
                      "username": "ada", "sub": "ada", "token_type": "Bearer", "exp": claims["exp"],
                      "iat": claims["iat"], "iss": api.base_url, "aud": api.base_url + "/me", "jti": claims["jti"]}


def test_an_access_token_from_the_code_grant_names_its_client(http, api):
    issued = user_tokens(http, api, "notes-web")
    answer = answer_of(introspect(http, api, issued["access_token"]))
    assert set(answer) == ACTIVE_FIELDS
    assert answer["active"] is True and answer["client_id"] == "notes-web" and answer["username"] == "ada"
    assert answer["exp"] - answer["iat"] == 300


def test_a_client_credentials_token_has_no_username(http, api):
    """RFC 7662 §2.2: username is the resource owner's; a client-credentials token has none."""
    access_token = token_request(http, api, {"grant_type": "client_credentials"}, REPORTS_JOB).json()["access_token"]
    answer = answer_of(introspect(http, api, access_token))
    assert set(answer) == ACTIVE_FIELDS - {"username"}
    assert (answer["sub"], answer["client_id"], answer["aud"]) == ("reports-job", "reports-job",
                                                                   api.base_url + "/reports")


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token", "something_else"])
def test_a_refresh_token_is_never_active_to_a_resource_server(http, api, hint):
    """Review 03, finding 2: notes-api was told a refresh token is active, with a 24-hour exp and the
    aud /me, so an API built on introspection took it for an access token. RFC 6749 §1.5: refresh
    tokens "are never sent to resource servers"; RFC 7662 §4: the server "MUST determine whether or
    not the token can be used at the protected resource making the introspection call"; §2.2: if not,
    `active` is false. Whatever the hint (§2.1), and for a refresh token that still works."""
    issued = user_tokens(http, api, "notes-cli")
    assert_inactive(introspect(http, api, issued["refresh_token"], token_type_hint=hint))
    access = answer_of(introspect(http, api, issued["access_token"], token_type_hint=hint))
    assert access["active"] is True and access["token_type"] == "Bearer"  # a wrong hint hides nothing
    renewed = token_request(http, api, {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"],
                                        "client_id": "notes-cli"})
    assert renewed.status_code == 200, renewed.text  # it was a good refresh token all along


def test_a_refresh_token_from_login(http, api):
    issued = login(http, api)
    assert_inactive(introspect(http, api, issued["refresh_token"]))
    assert_inactive(introspect(http, api, issued["refresh_token"], token_type_hint="refresh_token"))


def test_a_revoked_access_token_is_inactive(http, api):
    issued = user_tokens(http, api, "notes-web")
    assert revoke(http, api, issued["access_token"], "notes-web").status_code == 200
    assert_inactive(introspect(http, api, issued["access_token"]))
    renewed = token_request(http, api, {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
                            NOTES_WEB)
    assert renewed.status_code == 200, renewed.text  # only the access token was revoked
    assert answer_of(introspect(http, api, renewed.json()["access_token"]))["active"] is True


def test_a_revoked_refresh_token_and_its_family_are_inactive(http, api):
    issued = user_tokens(http, api, "notes-cli")
    assert revoke(http, api, issued["refresh_token"], "notes-cli").status_code == 200
    assert_inactive(introspect(http, api, issued["refresh_token"]))
    assert_inactive(introspect(http, api, issued["access_token"]))


def test_a_spent_refresh_token_is_inactive(http, api):
    issued = login(http, api)
    renewed = token_request(http, api, {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    assert answer_of(introspect(http, api, renewed.json()["access_token"]))["active"] is True


def test_an_expired_access_token_is_inactive(http, api):
    issued = login(http, api)
    api.clock.advance(299)
    assert answer_of(introspect(http, api, issued["access_token"]))["active"] is True
    api.clock.advance(1)  # exp is now: the issuer needs no leeway for its own clock
    assert_inactive(introspect(http, api, issued["access_token"]))


def test_a_token_for_another_audience_is_inactive(http, api):
    """The caller is this API; a token meant for https://notes.practice.test (RFC 8707) is not for it:
    the caller may not introspect this token, so active is false (RFC 7662 §2.2)."""
    issued = login(http, api, resource="https://notes.practice.test")
    assert_inactive(introspect(http, api, issued["access_token"]))


def forged(api, **changes) -> str:
    claims = {"iss": api.base_url, "aud": api.base_url + "/me", "sub": "ada", "client_id": "notes-cli",
              "iat": int(api.clock.now()), "exp": int(api.clock.now()) + 300, "scope": "profile", "jti": "forged-1",
              **changes}
    typ = claims.pop("typ", "at+jwt")
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, PRIVATE_KEY, algorithm="RS256", headers={"kid": signing_key.KEY_ID, "typ": typ})


@pytest.mark.parametrize("token", [
    "unknown", "a.b.c", "é", "x" * 5000, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEifQ.", " ", "Bearer x",
])
def test_unknown_and_malformed_tokens_are_inactive(http, api, token):
    assert_inactive(introspect(http, api, token))


def test_tokens_with_a_wrong_claim_are_inactive(http, api):
    assert answer_of(introspect(http, api, forged(api)))["active"] is True  # the forger's control case
    for changes in ({"iss": "https://evil.test"}, {"aud": "https://evil.test"}, {"jti": None}, {"exp": None},
                    {"iat": int(api.clock.now()) + 3600}, {"exp": int(api.clock.now()) - 10}, {"client_id": None},
                    {"typ": "JWT"}, {"typ": None}, {"nbf": int(api.clock.now()) + 60}, {"scope": ["profile"]}):
        assert_inactive(introspect(http, api, forged(api, **changes)))
    hs256 = jwt.encode({"sub": "ada"}, "k" * 32, algorithm="HS256", headers={"kid": signing_key.KEY_ID})
    assert_inactive(introspect(http, api, hs256))


@pytest.mark.parametrize("auth, data, phrase", [
    pytest.param(None, {}, "HTTP Basic", id="no-client-authentication"),
    pytest.param(None, {"client_id": "notes-cli"}, "HTTP Basic", id="public-client"),
    pytest.param(("notes-api", "wrong"), {}, "wrong client secret", id="wrong-secret"),
    pytest.param(("nobody", "x"), {}, "wrong client secret", id="unknown-client"),
    pytest.param(None, {"client_id": "notes-api", "client_secret": "x"}, "not in the form body", id="secret-in-body"),
])
def test_bad_or_missing_client_authentication_is_401(http, api, auth, data, phrase):
    """RFC 7662 §2.1 (the endpoint requires authorization), §2.3 and RFC 6749 §5.2 (401 invalid_client)."""
    issued = login(http, api)
    response = introspect(http, api, issued["access_token"], auth, **data)
    assert_invalid_client(response, phrase)
    assert "active" not in response.text


def test_malformed_basic_credentials_are_401(http, api):
    response = http.post(api.url("/oauth/introspect"), data={"token": "x"}, headers={"Authorization": "Basic %%%"},
                         timeout=TIMEOUT)
    assert_invalid_client(response, "malformed")


@pytest.mark.parametrize("auth", [REPORTS_JOB, NOTES_WEB])
def test_a_client_not_registered_for_introspection_is_403(http, api, auth):
    """RFC 7662 §4: the server SHOULD require protected resources to be specifically authorized to call
    the introspection endpoint. The client is authenticated (so not the 401 of §2.3, which is for invalid
    credentials) but not allowed to call at all: 403 (RFC 9110 §15.5.4), not §2.2's `active: false`,
    which answers a properly authorized call about one token and would claim a live token is dead."""
    issued = user_tokens(http, api, "notes-web")
    response = introspect(http, api, issued["access_token"], auth)
    assert_error(response, 403, "unauthorized_client", "not registered for token introspection")
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize("token", [None, ""])
def test_a_missing_token_is_invalid_request(http, api, token):
    response = introspect(http, api, token, token_type_hint="access_token")
    assert_error(response, 400, "invalid_request", "token is missing.")


def test_the_resource_server_cannot_get_tokens(http, api):
    response = token_request(http, api, {"grant_type": "client_credentials"}, NOTES_API)
    assert_error(response, 400, "unauthorized_client", "notes-api may not use the client_credentials grant")


def test_introspection_on_loopback(http):
    from helpers import serve_practice_api

    with serve_practice_api() as server:
        issued = login(http, server)
        answer = answer_of(introspect(http, server, issued["access_token"]))
        assert answer["active"] is True and answer["iss"] == server.base_url
        assert server.app.errors == []
