"""Findings of the practice server's attack review, one test (or table) each.

- a replay landing between "mark the code used / spend the refresh token" and issuing must not
  leave a live token in a revoked family;
- every error_description stays within RFC 6749 §5.2's character set;
- 303 after the POST of the sign-in form (RFC 9700 §4.12.2);
- expired codes, device codes, refresh tokens, families and revoked jti's are forgotten;
- scope is split on SP only (RFC 6749 §3.3); an empty client_id counts as omitted (§3.1);
- HTML pages answer with the right status, a lockout included;
- a device that honours the interval after slow_down is never told slow_down again (RFC 8628 §3.5).
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from helpers.practice_api import tokens as token_module
from helpers.practice_api.tokens import TokenService
from tests.test_oauth import (ADA, ALLOW, CLI_REDIRECT, DEVICE_GRANT, NOTES_WEB, REPORTS_JOB, TIMEOUT, WEB_REDIRECT,
                              assert_error, assert_token_response, authorize, authorize_params, bearer, device_form,
                              exchange, get_code, poll, refresh, start_device, token_request, user_tokens)

DESCRIPTION = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")  # RFC 6749 §5.2 error_description
NASTY = 'é"\\§\t'


# -- the race: a replay between the check and the issue --------------------------------------------

def replay_during_issue(monkeypatch, replay) -> None:
    """Make `replay()` run inside the first TokenService.issue() call that names a family, before it
    issues: where a concurrent request can land, since the lock is released between the two."""
    original, done = TokenService.issue, []

    def issue(self, *args, **kwargs):
        if kwargs.get("family") and not done:
            done.append(replay())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TokenService, "issue", issue)


def test_a_code_replayed_while_the_first_exchange_issues_leaves_no_live_token(http, api, monkeypatch):
    code, verifier, params = get_code(http, api)
    replay_during_issue(monkeypatch, lambda: exchange(http, api, "notes-cli", code, verifier, params["redirect_uri"]))
    first = exchange(http, api, "notes-cli", code, verifier, params["redirect_uri"])
    assert first.status_code == 400 and first.json()["error"] == "invalid_grant", first.text
    if first.status_code == 200:  # would be a token that escaped the revocation
        assert bearer(http, api, "/me", first.json()["access_token"]).status_code == 401


def test_a_refresh_token_replayed_while_its_rotation_issues_leaves_no_live_token(http, api, monkeypatch):
    refresh_token = user_tokens(http, api)["refresh_token"]
    # a thief replays the token (already marked spent) while the owner's rotation is being served
    replay_during_issue(monkeypatch, lambda: refresh(http, api, refresh_token, "notes-cli"))
    rotated = refresh(http, api, refresh_token, "notes-cli")
    assert rotated.status_code == 400 and rotated.json()["error"] == "invalid_grant", rotated.text


def test_issue_refuses_a_revoked_family(api):
    service = api.app.tokens
    first = service.issue("ada", "profile", family="f1", client_id="notes-cli")
    service.revoke_family("f1")
    with pytest.raises(token_module.HTTPError) as refused:
        service.issue("ada", "profile", family="f1", client_id="notes-cli")
    assert refused.value.error == "invalid_grant"
    assert set(service.families["f1"].access_token_ids) <= set(service.revoked_access_tokens)
    assert service.families["f1"].access_token_ids == [
        service._signed_claims(first["access_token"], None)["jti"]]


# -- error_description's character set --------------------------------------------------------------

def error_answers(http, api) -> list[requests.Response]:
    """Every error path of the OAuth endpoints and /me this test can reach, with hostile input."""
    post = lambda path, **kw: http.post(api.url(path), timeout=TIMEOUT, allow_redirects=False, **kw)  # noqa: E731
    answers = [
        post("/oauth/token", data={"grant_type": NASTY}),
        post("/oauth/token", data={"grant_type": ""}),
        post("/oauth/token", data={"grant_type": "client_credentials", "client_secret": "x"}, auth=REPORTS_JOB),
        post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("reports-job", NASTY)),
        post("/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic " + NASTY}),
        post("/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": NASTY + " x"}),
        post("/oauth/token", data={"grant_type": "client_credentials", "client_id": NASTY}),
        post("/oauth/token", data={"grant_type": "client_credentials", "scope": NASTY}, auth=REPORTS_JOB),
        post("/oauth/token", data={"grant_type": "authorization_code", "client_id": "notes-cli", "code": NASTY,
                                   "code_verifier": NASTY}),
        post("/oauth/token", data={"grant_type": "authorization_code", "client_id": "notes-cli", "code": NASTY}),
        post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": NASTY}),
        post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "x", "scope": NASTY,
                                   "client_id": "notes-cli"}),
        post("/oauth/token", data={"grant_type": DEVICE_GRANT, "client_id": "notes-tv", "device_code": NASTY}),
        post("/oauth/token", data={"grant_type": DEVICE_GRANT, "client_id": "notes-cli", "device_code": NASTY}),
        post("/oauth/token", data=NASTY.encode("utf-8"), headers={"Content-Type": "text/plain"}),
        post("/oauth/token", data=b"a=%ff", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        post("/oauth/device_authorization", data={"client_id": "notes-tv", "scope": NASTY}),
        post("/oauth/device_authorization", data={"client_id": "notes-cli"}),
        post("/oauth/revoke", data={"token": ""}),
        post("/oauth/revoke", data={"token": "x", "client_id": NASTY}),
        post("/oauth/introspect", data={"token": "x"}),
        post("/oauth/introspect", data={"token": "x", "client_secret": NASTY}),
        post("/oauth/introspect", data={"token": "x"}, auth=REPORTS_JOB),
        post("/oauth/introspect", data={"token": "x"}, auth=NOTES_WEB),
    ]
    code, verifier, params = get_code(http, api)
    answers += [exchange(http, api, "notes-cli", code, verifier, NASTY),
                exchange(http, api, "notes-cli", code, "x", params["redirect_uri"]),
                exchange(http, api, "notes-cli", code, verifier, params["redirect_uri"])]
    for value in [NASTY, "Bearer " + NASTY, "Bearer a.b.c", "Basic " + NASTY, "Bearer " + "x" * 5000,
                  "Bearer eyJhbGciOiJcdTAwZTkiLCJ0eXAiOiJhdCtqd3QifQ.e30.x",  # alg "é"
                  "Bearer eyJhbGciOiJcIlxcIiwidHlwIjoiYXQrand0In0.e30.x"]:  # alg "\"\\"
        answers.append(http.get(api.url("/me"), headers={"Authorization": value.encode("utf-8")}, timeout=TIMEOUT))
    for changes in [{"response_type": NASTY}, {"scope": NASTY}, {"code_challenge_method": NASTY},
                    {"code_challenge": NASTY}, {"response_type": None}]:
        answers.append(authorize(http, api, authorize_params(**changes)))
    repeated = authorize_params()
    answers.append(http.get(api.url("/oauth/authorize"), timeout=TIMEOUT, allow_redirects=False,
                            params=[*repeated.items(), (NASTY, "1"), (NASTY, "2"), ("scope", "profile")]))
    answers.append(authorize(http, api, authorize_params(), {"decision": "deny"}))
    return answers


def descriptions(response: requests.Response) -> list[str]:
    found = []
    if response.headers.get("Content-Type") == "application/json" and response.content:
        found.append(response.json().get("error_description", ""))
    if "Location" in response.headers:
        found += parse_qs(urlsplit(response.headers["Location"]).query).get("error_description", [])
    challenge = response.headers.get("WWW-Authenticate", "")
    found += re.findall(r'error_description="([^"]*)"', challenge)
    assert challenge.count('"') % 2 == 0, challenge
    return found


def test_every_error_description_stays_in_the_rfc_6749_character_set(http, any_api):
    seen = 0
    for response in error_answers(http, any_api):
        assert response.status_code in (302, 303, 400, 401, 403, 413, 415), (response.status_code, response.text)
        for description in descriptions(response):
            seen += 1
            assert DESCRIPTION.fullmatch(description), (response.request.method, response.request.url, description)
    assert seen >= 35


# -- 303 after the form POST ---------------------------------------------------------------------------

@pytest.mark.parametrize("form, expected", [(ALLOW, "code"), ({"decision": "deny"}, "error")])
def test_the_answer_to_the_sign_in_form_is_303(http, api, form, expected):
    """RFC 9700 §4.12.2: never 307 (it would resend the password); SHOULD be 303."""
    response = authorize(http, api, authorize_params("notes-web"), form)
    assert response.status_code == 303
    assert expected in parse_qs(urlsplit(response.headers["Location"]).query)


def test_an_error_redirect_from_a_get_stays_302(http, api):
    response = authorize(http, api, authorize_params(response_type="token"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(CLI_REDIRECT + "?error=unsupported_response_type")


# -- purging -------------------------------------------------------------------------------------------

def test_expired_codes_and_device_codes_are_forgotten(http, api):
    oauth = api.app.oauth
    authorize(http, api, authorize_params(), ALLOW)  # a code never used
    start_device(http, api)
    used, verifier, params = get_code(http, api)
    assert exchange(http, api, "notes-cli", used, verifier, params["redirect_uri"]).status_code == 200
    assert (len(oauth.codes), len(oauth.devices)) == (2, 1)
    api.clock.advance(601)
    get_code(http, api)
    start_device(http, api)
    # the used code is kept: a replay must still revoke; the expired device code too: it is told expired_token
    assert (len(oauth.codes), len(oauth.devices)) == (2, 2)
    assert_error(exchange(http, api, "notes-cli", used, verifier, params["redirect_uri"]), 400, "invalid_grant",
                 "already used")
    api.clock.advance(token_module.REFRESH_TOKEN_SECONDS)
    get_code(http, api)
    assert len(oauth.codes) == 1


def test_expired_refresh_tokens_families_and_revoked_ids_are_forgotten(http, api):
    service = api.app.tokens
    kept = user_tokens(http, api)
    revoked = user_tokens(http, api)
    http.post(api.url("/oauth/revoke"), data={"token": revoked["refresh_token"], "client_id": "notes-cli"},
              timeout=TIMEOUT).raise_for_status()
    assert len(service.refresh_tokens) == 2 and len(service.families) == 2 and len(service.revoked_access_tokens) == 1
    api.clock.advance(token_module.ACCESS_TOKEN_SECONDS + token_module.LEEWAY_SECONDS + 1)
    service.issue("grace", "profile", client_id="notes-cli")
    assert len(service.revoked_access_tokens) == 0  # its token is refused as expired anyway
    assert bearer(http, api, "/me", revoked["access_token"]).status_code == 401
    assert len(service.families) == 3  # their refresh tokens still live
    api.clock.advance(token_module.REFRESH_TOKEN_SECONDS)
    service.issue("grace", "profile", client_id="notes-cli", refresh=False)
    assert len(service.refresh_tokens) == 0 and len(service.families) == 1
    assert_error(refresh(http, api, kept["refresh_token"], "notes-cli"), 400, "invalid_grant", "not known")


# -- scope: SP only ----------------------------------------------------------------------------------

@pytest.mark.parametrize("scope", ["profile\tnotes:read", "profile\u00a0notes:read", "profile\x1cnotes:read",
                                   "profile\nnotes:read", " profile", "profile ", "profile  notes:read", " "])
def test_scope_is_split_on_single_spaces_only(http, api, scope):
    """RFC 6749 §3.3: scope-token *( SP scope-token ); no other whitespace separates."""
    response = authorize(http, api, authorize_params(scope=scope))
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["invalid_scope"]
    assert_error(token_request(http, api, {"grant_type": "client_credentials", "scope": scope.replace(
        "profile", "reports:read").replace("notes:read", "reports:read")}, REPORTS_JOB), 400, "invalid_scope", "")
    tokens = user_tokens(http, api)
    assert_error(token_request(http, api, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                           "client_id": "notes-cli", "scope": scope}), 400, "invalid_scope", "")


# -- an empty client_id counts as omitted (RFC 6749 §3.1) -----------------------------------------------

def test_an_empty_client_id_beside_basic_counts_as_omitted(http, api):
    response = token_request(http, api, {"grant_type": "client_credentials", "client_id": ""}, REPORTS_JOB)
    assert_token_response(response, refresh_token=False)


def test_an_empty_client_id_on_a_login_refresh_counts_as_omitted(http, api):
    login = http.post(api.url("/login"), json={**ADA, "scope": "profile"}, timeout=TIMEOUT)
    assert login.status_code == 200, login.text
    response = token_request(http, api, {"grant_type": "refresh_token", "client_id": "",
                                         "refresh_token": login.json()["refresh_token"]})
    assert_token_response(response)


# -- HTML pages -----------------------------------------------------------------------------------------

def test_a_locked_out_user_gets_an_html_429_on_the_device_page(http, api):
    started = start_device(http, api)
    for attempt in range(5):
        page = device_form(http, api, {"user_code": started["user_code"], "username": "ada",
                                       "password": f"guess-{attempt}", "decision": "approve"})
        assert page.status_code == 400
    locked = device_form(http, api, {"user_code": started["user_code"], **ALLOW})
    assert locked.status_code == 429
    assert locked.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Too many attempts</h1>" in locked.text
    assert 1 <= int(locked.headers["Retry-After"]) <= 60


def test_a_repeated_state_gets_an_error_redirect_without_state(http, api):
    """RFC 6749 §4.1.2.1 echoes "the exact value received": with two, there is none to echo. The client
    cannot match the answer to its request and drops it, which is right for a request it did not make."""
    params = authorize_params()
    response = http.get(api.url("/oauth/authorize"), params=[*params.items(), ("state", "other")],
                        allow_redirects=False, timeout=TIMEOUT)
    got = parse_qs(urlsplit(response.headers["Location"]).query)
    assert response.status_code == 302 and got["error"] == ["invalid_request"] and "state" not in got
    assert "state appeared more than once" in got["error_description"][0]


# -- slow_down -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fast_polls", [1, 2])
def test_a_device_that_honours_the_new_interval_is_never_told_slow_down_again(http, api, fast_polls):
    started = start_device(http, api)
    assert_error(poll(http, api, started["device_code"]), 400, "authorization_pending", "")
    interval = started["interval"]
    for _ in range(fast_polls):  # each too-soon poll gets one slow_down, and 5 s more from then on
        api.clock.advance(1)
        assert_error(poll(http, api, started["device_code"]), 400, "slow_down", f"wait {interval + 5} s")
        interval += 5
    for _ in range(5):
        api.clock.advance(interval)
        assert_error(poll(http, api, started["device_code"]), 400, "authorization_pending", "")
    assert device_form(http, api, {"user_code": started["user_code"], **ALLOW}).status_code == 200
    api.clock.advance(interval)
    assert_token_response(poll(http, api, started["device_code"]))


def test_the_web_client_redirect_is_303_too(http, api):
    response = authorize(http, api, authorize_params("notes-web"), ALLOW)
    assert response.status_code == 303 and response.headers["Location"].startswith(WEB_REDIRECT + "?code=")
