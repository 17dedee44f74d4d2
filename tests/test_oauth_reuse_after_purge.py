"""Reuse detection outlives every purge while the family it protects can still produce working tokens.

Rotation gives each new refresh token 24 h, so a family lives on long after its first refresh token
(and its code) expired. A spent refresh token or a used code that comes back must still revoke the
family (RFC 9700 §4.14.2, RFC 6749 §4.1.2 and §10.4); a family whose every token is dead is forgotten
with its spent digests and its used code, so that memory stays bounded.
"""
from __future__ import annotations

import hashlib

from helpers.practice_api import tokens as token_module
from helpers.practice_api.tokens import TokenService
from tests.test_oauth import assert_error, bearer, exchange, get_code, refresh, user_tokens
from tests.test_tokens import tokens_of

DAY = token_module.REFRESH_TOKEN_SECONDS
HOUR = 3600


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def rotate(http, api, refresh_token: str, client_id: str | None = None) -> dict:
    response = refresh(http, api, refresh_token, client_id)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_stolen_refresh_token_replayed_more_than_24_h_after_it_was_issued_revokes_the_family(http, api):
    r1 = tokens_of(http, api)["refresh_token"]
    api.clock.advance(HOUR)
    attacker = rotate(http, api, r1)  # the attacker uses the stolen R1 first
    api.clock.advance(DAY - HOUR + 1)  # R1's 24 h are over; the attacker's R2 lives on
    api.app.tokens.issue("bob", "profile")  # any issue purges
    assert_error(refresh(http, api, r1), 400, "invalid_grant", "already used")  # the real client comes back
    assert_error(refresh(http, api, attacker["refresh_token"]), 400, "invalid_grant", "revoked")


def test_a_spent_refresh_token_revokes_a_family_rotated_for_days(http, api):
    first = user_tokens(http, api)
    current = first
    for _ in range(6):  # every 12 h for three days: the family outlives each of its refresh tokens
        api.clock.advance(DAY // 2)
        current = rotate(http, api, current["refresh_token"], "notes-cli")
    get_code(http, api)  # purges codes, and the tokens' records
    api.app.tokens.issue("bob", "profile")
    assert_error(refresh(http, api, first["refresh_token"], "notes-cli"), 400, "invalid_grant", "already used")
    assert_error(refresh(http, api, current["refresh_token"], "notes-cli"), 400, "invalid_grant", "revoked")
    assert bearer(http, api, "/me", current["access_token"]).status_code == 401


def test_a_code_replayed_after_24_h_while_its_family_lives_revokes_the_family(http, api):
    code, verifier, params = get_code(http, api)
    response = exchange(http, api, "notes-cli", code, verifier, params["redirect_uri"])
    assert response.status_code == 200, response.text
    current = response.json()
    for _ in range(3):  # 36 h of rotation: the code expired long ago, its family did not
        api.clock.advance(DAY // 2)
        current = rotate(http, api, current["refresh_token"], "notes-cli")
    api.clock.advance(1)
    get_code(http, api)  # purges
    assert_error(exchange(http, api, "notes-cli", code, verifier, params["redirect_uri"]), 400, "invalid_grant",
                 "already used")
    assert_error(refresh(http, api, current["refresh_token"], "notes-cli"), 400, "invalid_grant", "revoked")
    assert bearer(http, api, "/me", current["access_token"]).status_code == 401


def test_a_family_is_kept_with_its_spent_digests_while_alive_and_purged_once_dead(http, api):
    service = api.app.tokens
    r1 = tokens_of(http, api)["refresh_token"]
    family = service.refresh_tokens[digest(r1)].family
    r2 = rotate(http, api, r1)["refresh_token"]
    api.clock.advance(token_module.ACCESS_TOKEN_SECONDS + token_module.LEEWAY_SECONDS + 1)
    service.issue("bob", "profile", refresh=False)  # purges: R2 still lives, so R1's record stays
    assert {digest(r1), digest(r2)} <= set(service.refresh_tokens) and family in service.families
    api.clock.advance(DAY)  # R2 has expired unspent, and every access token of the family too
    service.issue("bob", "profile", refresh=False)
    assert family not in service.families
    assert [r for r in service.refresh_tokens.values() if r.family == family] == []
    assert_error(refresh(http, api, r1), 400, "invalid_grant", "not known")  # nothing of it works any more


def test_a_used_code_is_purged_with_its_dead_family(http, api):
    oauth, service = api.app.oauth, api.app.tokens
    code, verifier, params = get_code(http, api)
    current = exchange(http, api, "notes-cli", code, verifier, params["redirect_uri"]).json()
    family = oauth.codes[digest(code)].family
    api.clock.advance(DAY // 2)
    rotate(http, api, current["refresh_token"], "notes-cli")
    api.clock.advance(DAY - HOUR)  # past the code's old limit (expiry + 24 h): kept, its family still lives
    get_code(http, api)
    assert digest(code) in oauth.codes and family in service.families
    api.clock.advance(HOUR + token_module.LEEWAY_SECONDS + 1)  # its last refresh and access tokens died
    get_code(http, api)
    assert digest(code) not in oauth.codes and family not in service.families
    assert [r for r in service.refresh_tokens.values() if r.family == family] == []


def test_a_used_code_whose_exchange_failed_is_forgotten(http, api):
    """No family was ever issued for it: nothing to revoke, nothing to keep."""
    oauth = api.app.oauth
    code, verifier, params = get_code(http, api)
    assert_error(exchange(http, api, "notes-cli", code, "x" * 43, params["redirect_uri"]), 400, "invalid_grant",
                 "PKCE")
    api.clock.advance(DAY + HOUR)
    get_code(http, api)
    assert digest(code) not in oauth.codes


def test_a_replay_and_a_purge_between_spending_and_issuing_leave_nothing_alive(http, api, monkeypatch):
    """While a refresh is issuing the new pair, the family has no live refresh token: a replay that revokes
    it and a purge landing in that gap must not make the family forgotten, and so issued into afresh."""
    service = api.app.tokens
    r1 = tokens_of(http, api)["refresh_token"]
    r2 = rotate(http, api, r1)["refresh_token"]
    api.clock.advance(HOUR)  # every access token issued so far has expired
    original, done = TokenService.issue, []

    def issue(self, *args, **kwargs):
        if kwargs.get("family") and not done:
            done.append(refresh(http, api, r2))  # the replay: revokes the family
            original(self, "bob", "profile", refresh=False)  # another request: purges
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TokenService, "issue", issue)
    assert_error(refresh(http, api, r2), 400, "invalid_grant", "revoked")
    assert_error(done[0], 400, "invalid_grant", "already used")
    assert [r for r in service.refresh_tokens.values() if not r.spent and r.expires_at > api.clock.now()
            and service.families[r.family].revoked is False and r.subject == "ada"] == []
