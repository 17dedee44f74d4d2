"""A whole session with DEBUG logging on, through RedactSecrets: no secret reaches a handler.

The session is the one a real CLI runs, on the loopback server so that urllib3 really logs each
request line: sign-in with a code (PKCE) caught on a loopback redirect, the token exchange, a proactive
refresh, a revoked access token (401, refresh, retry), a confidential client's credentials, sign-out.
The secrets: the password, the code and its verifier, every access and refresh token, the client secret.
Every record any logger emits (root, urllib3, requests, helpers) is captured after the filter: its
formatted message, its args and its exception text.

The test can fail: without the filter, the same session leaks the code (urllib3 logs the redirect's
request line, query string and all) and the tokens (an application's careless debug lines).
"""
from __future__ import annotations

import base64
import hashlib
import logging
import secrets

import pytest
import requests

from helpers import (FileTokenStore, RedactSecrets, RedirectListener, RefreshingBearerAuth, api_session,
                     serve_practice_api)
from helpers.practice_api import demo

PASSWORD = demo.password_of("ada")
REPORTS_JOB = ("reports-job", str(demo.client("reports-job")["client_secret"]))
app_log = logging.getLogger("notes")  # the application's own logger


class Capture(logging.Handler):
    """Everything a handler would write: the formatted line, the args left after the filters, the traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.seen: list[str] = []
        self.args: list[str] = []  # repr(record.args) after the filters: a redacting filter leaves none

    def emit(self, record: logging.LogRecord) -> None:
        self.seen += [self.format(record), record.exc_text or ""]
        self.args.append(repr(record.args))


@pytest.fixture
def debug_logging():
    """DEBUG on for root, urllib3 and requests; a capture handler on root; everything put back after."""
    loggers = [logging.getLogger(name) for name in ("", "urllib3", "requests", "helpers", "notes")]
    levels = [logger.level for logger in loggers]
    capture = Capture()
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(capture)
    yield capture
    logging.getLogger().removeHandler(capture)
    for logger, level in zip(loggers, levels):
        logger.setLevel(level)


def whole_session(api, tmp_path) -> list[str]:
    """Run the session; return every secret it handled."""
    held = [PASSWORD, REPORTS_JOB[1]]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    held.append(verifier)
    with RedirectListener() as listener, api_session() as session:
        params = {"response_type": "code", "client_id": "notes-cli", "redirect_uri": listener.redirect_uri,
                  "scope": "profile notes:read", "state": secrets.token_urlsafe(16),
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        # the login form, then the 303 to the loopback redirect, followed as a browser would
        session.post(api.url("/oauth/authorize"), params=params,
                     data={"username": "ada", "password": PASSWORD, "decision": "approve"}).raise_for_status()
        code = listener.params["code"]
        held.append(code)
        response = session.post(api.url("/oauth/token"), data={
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": listener.redirect_uri, "client_id": "notes-cli"})
        response.raise_for_status()
        tokens = response.json()
        app_log.debug("token response: %s", tokens)  # careless, as real code is

    def saved(state: dict) -> None:
        held.extend([state["access_token"], state["refresh_token"]])
        app_log.debug("saved the tokens %r", state)  # careless too

    store = FileTokenStore(tmp_path / "tokens.json")
    auth = RefreshingBearerAuth(api.url("/oauth/token"), tokens, client_id="notes-cli", now=api.clock.now,
                                store=store, store_key=(api.app.issuer, "notes-cli", "ada"), on_tokens=saved)
    with api_session(auth=auth) as session:
        session.get(api.url("/me")).raise_for_status()
        api.clock.advance(290)  # inside the margin: a proactive refresh
        session.get(api.url("/me")).raise_for_status()
        requests.post(api.url("/oauth/revoke"), data={"token": auth.access_token, "client_id": "notes-cli"},
                      timeout=5).raise_for_status()  # the server revokes the access token (not with our auth)
        response = session.get(api.url("/me"))  # 401 invalid_token: a refresh and one retry
        assert response.status_code == 200 and len(response.history) == 1
        auth.sign_out(api.url("/oauth/revoke"))
    with api_session(auth=REPORTS_JOB) as session:  # a confidential client: its secret in HTTP Basic
        report = session.post(api.url("/oauth/token"), data={"grant_type": "client_credentials"})
        report.raise_for_status()
        held.append(report.json()["access_token"])
        app_log.debug("client %s", {"client_id": REPORTS_JOB[0], "client_secret": REPORTS_JOB[1]})
    try:
        raise RuntimeError(f"upstream said: bad header Authorization: Bearer {held[-1]}")
    except RuntimeError:
        app_log.exception("the call failed")  # a traceback that quotes a token
    assert auth.refreshes == 2
    return [secret for secret in held if secret]


def test_a_whole_session_at_debug_leaks_no_secret_through_redact_secrets(debug_logging, tmp_path):
    debug_logging.addFilter(RedactSecrets(known=[REPORTS_JOB[1]]))  # the secret it configured; tokens by pattern
    with serve_practice_api() as api:
        held = whole_session(api, tmp_path)
    lines = debug_logging.seen
    assert len(held) >= 10 and len(lines) > 40 and len(debug_logging.args) > 20
    assert [line for line in lines if any(secret in line for secret in held)] == []
    # a handler that formats the record itself (or a JSON handler that writes its args) sees no secret
    # either: the filter folds the args into the redacted message (the control shows they held secrets)
    assert [args for args in debug_logging.args if any(secret in args for secret in held)] == []
    # it really went through the places that leak: urllib3's request line with the code, the careless lines
    assert any("GET /callback?code=[REDACTED]" in line for line in lines)
    assert any(line.startswith("notes DEBUG saved the tokens") and "[REDACTED]" in line for line in lines)
    assert any(line.startswith("helpers.client.auth DEBUG Refreshing") for line in lines)


def test_without_the_filter_the_same_session_leaks(debug_logging, tmp_path):
    """The control: the assertion above can fail."""
    with serve_practice_api() as api:
        held = whole_session(api, tmp_path)
    leaked = {secret for secret in held for line in debug_logging.seen if secret in line}
    assert len(leaked) >= 5  # the code, tokens, the client secret ...
    # and the args themselves carry secrets, so the args check above can fail
    leaked_in_args = {secret for secret in held for args in debug_logging.args if secret in args}
    assert len(leaked_in_args) >= 3
    # the helpers' own lines hold no secret even without a filter
    own = [line for line in debug_logging.seen if line.startswith("helpers.")]
    assert own and [line for line in own if any(secret in line for secret in held)] == []
