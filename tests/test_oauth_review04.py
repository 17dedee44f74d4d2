"""Review 04 of the practice server: an expired device code is still told expired_token after a purge
(RFC 8628 §3.5), /login splits scope like the OAuth endpoints (RFC 6749 §3.3), a 404 echoes only what
error_description may hold (RFC 6749 §5.2), and a revoke without client_id says what is missing."""
from __future__ import annotations

import re

from tests.test_oauth import TIMEOUT, assert_error, poll, start_device, user_tokens

DESCRIPTION = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")  # RFC 6749 §5.2 error_description


def test_an_expired_device_code_is_told_expired_token_after_another_request_purged(http, api):
    device = start_device(http, api)
    api.clock.advance(device["expires_in"] + 1)
    start_device(http, api)  # purges what has expired
    assert_error(poll(http, api, device["device_code"]), 400, "expired_token", "expired")


def test_an_expired_device_code_is_forgotten_in_the_end(http, api):
    device = start_device(http, api)
    api.clock.advance(2 * device["expires_in"] + 1)
    start_device(http, api)
    assert len(api.app.oauth.devices) == 1
    assert_error(poll(http, api, device["device_code"]), 400, "invalid_grant", "not known")


def test_login_splits_scope_on_space_only(http, api):
    from helpers.practice_api import demo
    for scope in ["profile\tnotes:read", "profile\u00a0notes:read", "profile  notes:read", " profile"]:
        response = http.post(api.url("/login"), json={"username": "ada", "password": demo.password_of("ada"),
                                                      "scope": scope}, timeout=TIMEOUT)
        assert_error(response, 400, "invalid_scope", "space-separated")


def test_login_still_takes_a_space_separated_scope(http, api):
    from helpers.practice_api import demo
    response = http.post(api.url("/login"), json={"username": "ada", "password": demo.password_of("ada"),
                                                  "scope": "profile notes:read"}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "profile notes:read"


def test_a_404_echoes_only_printable_ascii(http, api):
    response = http.get(api.url("/nowhere/%C3%A9%22%5C%C2%A7"), timeout=TIMEOUT)
    assert response.status_code == 404
    description = response.json()["error_description"]
    assert DESCRIPTION.fullmatch(description), description
    assert "/nowhere/" in description


def test_a_revoke_without_client_id_says_a_public_client_must_send_it(http, api):
    tokens = user_tokens(http, api)
    response = http.post(api.url("/oauth/revoke"), data={"token": tokens["refresh_token"]}, timeout=TIMEOUT)
    assert_error(response, 400, "unauthorized_client", "send its client_id")
    response = http.post(api.url("/oauth/revoke"), data={"token": tokens["access_token"]}, timeout=TIMEOUT)
    assert_error(response, 400, "unauthorized_client", "send its client_id")


def test_a_revoke_by_another_client_still_says_another_client(http, api):
    tokens = user_tokens(http, api)
    response = http.post(api.url("/oauth/revoke"), data={"token": tokens["refresh_token"], "client_id": "notes-tv"},
                         timeout=TIMEOUT)
    assert_error(response, 400, "unauthorized_client", "another client")
