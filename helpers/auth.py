"""Bearer-token auth for requests: `BearerAuth`, and `RefreshingBearerAuth`, which renews its token.

Both are `requests.auth.AuthBase` subclasses, like requests' own HTTPBasicAuth: set one
as `session.auth` and every request through the session carries the token. Unlike a
header in `session.headers`, an auth object wins over a ~/.netrc entry on the first request
(on a redirect, requests reads netrc again: notebook 07).
They work with any OAuth 2.0 token endpoint (RFC 6749 §6) and nothing here knows the
practice API.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable

import requests
from requests.auth import AuthBase


class BearerAuth(AuthBase):
    """Send `Authorization: Bearer <token>` (RFC 6750 §2.1) with every request."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<token hidden>)"  # a repr must never print the token


class TokenRefreshError(Exception):
    """The token endpoint refused the refresh token: the user has to log in again."""


class RefreshingBearerAuth(AuthBase):
    """Bearer auth that keeps its access token fresh.

    - Before a request, it refreshes when the token expires within `margin` seconds.
    - After a 401 with `error="invalid_token"`, it refreshes and retries that request once;
      a second 401 goes back to the caller. It never loops.
    - One lock guards the refresh, so threads sharing a Session refresh once, not once each.
      With rotating refresh tokens, a second refresh with the same token would look like
      theft to the server and end the login.

    `tokens` is a token response: `access_token`, `refresh_token`, and usually `expires_in`.
    Tokens issued to an OAuth client are refreshed by that client: pass `client_id` for a
    public client, and `client_secret` too for a confidential one (sent with HTTP Basic).
    `now` is the clock to compare expiry with (`time.time` unless you are testing).
    """

    def __init__(self, token_url: str, tokens: dict, *, client_id: str | None = None,
                 client_secret: str | None = None, margin: float = 30, timeout: float = 5,
                 now: Callable[[], float] = time.time) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.margin = margin
        self.timeout = timeout
        self.now = now
        self.refreshes = 0
        self._lock = threading.Lock()
        self._token_session = requests.Session()  # its own session: the refresh call must not use this auth
        self._store(tokens)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.access_token
        if self.now() >= self.expires_at - self.margin:
            token = self.refresh(stale_token=token)
        request.headers["Authorization"] = f"Bearer {token}"
        request.register_hook("response", self._retry_once_after_401)
        return request

    def refresh(self, stale_token: str | None = None) -> str:
        """Get a new access token with the refresh token; return it.

        `stale_token` is the token the caller found too old. If another thread has replaced it
        in the meantime, its new token is returned without a second refresh.
        """
        with self._lock:
            if stale_token is not None and stale_token != self.access_token:
                return self.access_token
            form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
            client_auth = None
            if self._client_secret is not None:
                client_auth = (self.client_id, self._client_secret)  # client_secret_basic
            elif self.client_id is not None:
                form["client_id"] = self.client_id  # a public client identifies itself
            response = self._token_session.post(self.token_url, data=form, auth=client_auth, timeout=self.timeout)
            if response.status_code == 400 and _error_code(response) == "invalid_grant":
                raise TokenRefreshError(f"The refresh token was refused, so log in again. "
                                        f"The server said: {_description(response)}")
            response.raise_for_status()
            self._store(response.json())
            self.refreshes += 1
            return self.access_token

    def _store(self, tokens: dict) -> None:
        self.access_token = tokens["access_token"]
        # A server may keep the old refresh token (no rotation) and leave it out of the response.
        self._refresh_token = tokens.get("refresh_token", getattr(self, "_refresh_token", None))
        # expires_in is only RECOMMENDED (RFC 6749 §5.1). Without it, only a 401 tells us.
        expires_in = tokens.get("expires_in")
        self.expires_at = self.now() + float(expires_in) if expires_in is not None else math.inf

    def _retry_once_after_401(self, response: requests.Response, **kwargs) -> requests.Response:
        """Response hook: on 401 invalid_token, refresh and resend the request once."""
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status_code != 401 or 'error="invalid_token"' not in challenge:
            return response
        if getattr(response.request, "retried_after_refresh", False):
            return response  # the fresh token was refused too: do not loop
        sent = response.request.headers.get("Authorization", "")
        if not sent.startswith("Bearer "):
            # requests removed the token on a redirect to another host: that host's 401 is not
            # about our token, and resending the token there would hand it to a stranger.
            return response
        token = self.refresh(stale_token=sent.removeprefix("Bearer "))
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {token}"
        retry.retried_after_refresh = True
        response.content  # read the body so that the connection can be reused
        response.close()
        new_response = response.connection.send(retry, **kwargs)
        new_response.history.append(response)
        new_response.request = retry
        return new_response

    def __repr__(self) -> str:
        return f"RefreshingBearerAuth({self.token_url!r}, <tokens hidden>)"


def _error_code(response: requests.Response) -> str | None:
    try:
        return response.json().get("error")
    except ValueError:
        return None


def _description(response: requests.Response) -> str:
    try:
        return str(response.json().get("error_description", response.reason))
    except ValueError:
        return response.reason
