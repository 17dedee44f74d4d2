"""Bearer-token auth for requests: `BearerAuth`, and `RefreshingBearerAuth`, which renews its token.

Both are `requests.auth.AuthBase` subclasses, like requests' own HTTPBasicAuth: set one
as `session.auth` and every request through the session carries the token. Unlike a
header in `session.headers`, an auth object wins over a ~/.netrc entry on the first request
(on a redirect, requests reads netrc again: notebook 07).
They work with any OAuth 2.0 token endpoint (RFC 6749 §6) and nothing here knows the
practice API.

Both refuse to send a token without TLS: a URL must be https://, or http:// to this machine by
its IP literal (127.0.0.1, [::1]), as the practice API's loopback server is (RFC 6750 §5.3).

Threads: requests promises no thread safety for a `Session` (psf/requests#2766). Give each
thread its own Session, and set the same `RefreshingBearerAuth` on all of them: its lock
makes them refresh once between them.

Runs and processes: `on_tokens=` hands every new token state to your code, `resume()` starts
from a saved one, and `store=` (client/token_store.py) makes several processes refresh once
between them. When the login is over, SignInAgain says so; `sign_out()` ends it on purpose.
"""
from __future__ import annotations

import ipaddress
import math
import re
import string
import contextlib
import logging
import threading
import time
from typing import Callable, ContextManager, Protocol
from urllib.parse import quote_plus, urlsplit

import requests
from requests.auth import AuthBase


log = logging.getLogger(__name__)  # DEBUG lines say what the auth does, never with a token or secret


class InsecureTransportError(ValueError):
    """A token or client secret would cross the network without TLS: refused before anything is sent."""


def require_tls(url: str, what: str = "a bearer token") -> None:
    """Raise InsecureTransportError unless `url` is https://, or http:// to a loopback IP literal.

    Anyone on the path of plain http reads a bearer token and replays it: "Clients MUST always
    use TLS (https)" (RFC 6750 §5.3), and the token endpoint too (RFC 6749 §3.2, §10.3). Traffic
    to 127.0.0.1 or [::1] never leaves the machine. The name `localhost` is refused: a hosts
    file or resolver may point it elsewhere, and the literal cannot be (RFC 8252 §8.3).
    """
    parts = urlsplit(url)
    if parts.scheme == "https" or parts.scheme == "http" and _is_loopback_literal(parts.hostname):
        return
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    raise InsecureTransportError(
        f"Refusing to send {what} to {parts.scheme}://{host}: without TLS anyone on the way can read it and "
        f"use it (RFC 6750 §5.3, RFC 6749 §3.2). Use an https:// URL. Plain http:// is allowed only to this "
        f"machine by its IP literal, 127.0.0.1 or [::1] (not localhost, which a name lookup may send elsewhere).")


def _is_loopback_literal(host: str | None) -> bool:
    """127.0.0.0/8 or ::1 written as an IP address, not a name that resolves to one."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return address.is_loopback if address.version == 4 else address == ipaddress.IPv6Address("::1")


class BearerAuth(AuthBase):
    """Send `Authorization: Bearer <token>` (RFC 6750 §2.1) with every request, over TLS only."""

    def __init__(self, token: str) -> None:
        check_access_token(token)
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        require_tls(request.url)
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<token hidden>)"  # a repr must never print the token


# RFC 6750 §2.1's b64token, 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", is stricter
# than what servers issue: RFC 6749 Appendix A.12 makes access_token 1*VSCHAR, and real tokens hold "!"
# (Salesforce) or "%". Refused are only the characters that break the header: controls (CR, LF, NUL,
# tab), DEL, the space (it would end the credentials) and anything outside ASCII.
ACCESS_TOKEN = re.compile(r"[\x21-\x7e]+")
# RFC 6749 Appendix A.17: refresh-token = 1*VSCHAR, VSCHAR = %x20-7E
VSCHARS = re.compile(r"[\x20-\x7e]+")


def check_access_token(token: object) -> None:
    """ValueError unless `token` can follow "Bearer " in a header: printable ASCII, no space.

    A token with a space, a CR/LF or a NUL would end the header, or put the rest of it on a new line
    (a header of the attacker's choice). RFC 6750 §2.1's b64token is stricter than RFC 6749 A.12's
    1*VSCHAR, which servers use: see ACCESS_TOKEN. The message never holds the token: it goes into logs.
    """
    if isinstance(token, str) and ACCESS_TOKEN.fullmatch(token):
        return
    if not isinstance(token, str):
        hint = (f" Pass the access_token string (tokens[\"access_token\"]), not a {type(token).__name__}.")
    elif token[:7].lower() == "bearer ":
        hint = " Pass the token alone: \"Bearer \" is added for you."
    elif token != token.strip():
        hint = " It has a space or a line break at an end (copied with the line end?)."
    else:
        hint = ""
    raise ValueError("The access token is not a string of the characters a header can carry after "
                     "\"Bearer \" (printable ASCII, no space, no line break: RFC 6750 §2.1, RFC 6749 "
                     "Appendix A.12). It was not used."
                     + hint)


def check_refresh_token(token: object) -> None:
    """ValueError unless `token` is 1*VSCHAR (RFC 6749 Appendix A.17): printable ASCII, no CR/LF/NUL."""
    if not isinstance(token, str) or not VSCHARS.fullmatch(token):
        raise ValueError("The refresh token is not a string of printable ASCII characters (RFC 6749 "
                         "Appendix A.17). It was not used.")


class TokenRefreshError(Exception):
    """The token endpoint refused the refresh token: the user has to log in again."""


class SignInAgain(TokenRefreshError):
    """The login is over (the refresh token was refused, spent, or signed out elsewhere): sign in again.

    When it is raised, the refresh token is gone from memory, and from the store if there is one:
    nothing will send it again.
    """


class SignOutError(Exception):
    """The server did not confirm the revocation: nothing was deleted, so sign_out() can be tried again."""


class TokenStore(Protocol):
    """What RefreshingBearerAuth needs from a token store (client/token_store.py has two).

    save() and delete() are called while lock(key) is held, so the lock must be reentrant, as
    both stores' locks are.
    """

    def lock(self, key: tuple) -> ContextManager: ...
    def load(self, key: tuple) -> dict | None: ...
    def save(self, key: tuple, state: dict) -> None: ...
    def delete(self, key: tuple) -> None: ...


class TokenSaveError(Exception):
    """`on_tokens` raised: the tokens are in use in this process, but were not saved.

    After a refresh, the server has already spent the old refresh token (it rotates), so the
    saved copy is stale. The new state is not lost: `auth.state()` has it, and the next refresh
    calls `on_tokens` again. The original exception is this one's `__cause__`.
    """


class RefreshingBearerAuth(AuthBase):
    """Bearer auth that keeps its access token fresh.

    - Before a request, it refreshes when the token expires within `margin` seconds, or within
      half its lifetime if that is shorter: a token issued for 20 s is not refreshed before
      every request.
    - After a 401 whose Bearer challenge says `error="invalid_token"` (RFC 6750 §3.1), or a bare
      401 (no challenge at all, or a Bearer challenge with no `error`: a server that does not say
      why), it refreshes and retries that request once; a second 401 goes back to the caller. It
      never loops, and a bare 401 to the very token a 401 made it fetch is not refreshed again
      (an endpoint that always answers a bare 401 would cost a refresh per request); only
      `error="invalid_token"` is. Other errors are not about the token's age (`insufficient_scope`,
      `invalid_request`), and a 401 that asks only for another scheme (`Basic`, `DPoP`) is not
      answered with a bearer token: neither refreshes. A body that cannot be rewound (a generator)
      is not sent twice: the caller gets the 401, and the next request carries the fresh token.
    - One lock guards the refresh. Give each thread its own Session (a Session is not
      thread-safe) and set this one auth object on all of them: they refresh once, not once
      each. With rotating refresh tokens, a second refresh with the same token would look like
      theft to the server and end the login.

    `tokens` is a token response: `access_token`, `token_type`, `refresh_token`, and usually
    `expires_in`. An access token must be printable ASCII without a space (RFC 6749 Appendix A.12; see
    ACCESS_TOKEN) and a refresh token printable ASCII (RFC 6749 Appendix A.17): a CR, LF or NUL in one would break the header it goes into,
    so it is refused (ValueError, or SignInAgain after a refresh) by a message that never holds it. The token type must be Bearer (any case): a client MUST NOT use a token whose
    type it does not understand (RFC 6749 §7.1), and a DPoP token sent as Bearer is refused.
    Tokens issued to an OAuth client are refreshed by that client: pass `client_id` for a
    public client, and `client_secret` too for a confidential one: HTTP Basic, with both
    form-encoded first as RFC 6749 §2.3.1 says, so that a `:` in the id, or a `+` or `%` in
    either, reaches the server intact.
    An answer to a refresh that cannot be used (not JSON, no access_token, another token_type) raises
    SignInAgain (a TokenRefreshError) and drops the refresh token: a rotating server has spent the one we sent, and
    sending it again would be a replay that ends the login (RFC 9700 §4.14.2). An `expires_in` that
    is not a finite number above 0 is treated as absent (it is only RECOMMENDED).
    `expires_in` counts from when the server generated the response (RFC 6749 §5.1), so the clock
    is read just before each refresh request: `expires_at` may come early by the network delay,
    never late. For the first `tokens`, pass `requested_at=`, the time you sent the login
    (default: now, which is late by that login's delay; the margin covers a short one).
    `now` is the clock to compare expiry with (`time.time` unless you are testing).

    Tokens that outlive the process: `on_tokens(state)` is called with the token state after the
    first token (here, at construction) and after every refresh, and `resume(token_url, state)`
    builds the auth again from a saved state in the next run. The state is a dict of JSON types:
    `access_token`, `refresh_token` (None if there is none), `expires_at` (seconds since the epoch,
    absolute, so that a state saved an hour ago is known to be stale; None if the server gave no
    `expires_in`), `scope` (None if the server did not say) and `token_type`. It holds secrets:
    keep it in the system keyring or a file only you can read, never in a log.
    `on_tokens` runs under the refresh lock, so a save and the swap in memory cannot interleave
    with another thread's refresh. Save it there: with a rotating server, the old refresh token is
    spent the moment the server answers, and a run that resumes from the old state is refused
    (or, worse, trips reuse detection and ends the login). If `on_tokens` raises, the new tokens
    are still used (the old ones are spent) and TokenSaveError says so; the next refresh calls it
    again, and `state()` returns the state to save by hand.

    Several processes (a cron job and a CLI, two workers): pass `store=` (FileTokenStore or
    KeyringTokenStore from client/token_store.py, or any object with lock/load/save/delete) and
    `store_key=(issuer, client_id, user)`. Then every refresh holds `store.lock(key)`, and reads
    the store again first: if another process has refreshed meanwhile, its tokens are taken instead
    of refreshing (our refresh token is spent: sending it would be the replay that ends the login).
    Every new state is saved there (before `on_tokens`, if you give both), and an entry that another
    process deleted (signed out, or refused) means SignInAgain here too. When the server refuses
    the refresh token (`invalid_grant`), the entry is deleted and SignInAgain says to sign in again.
    `from_store()` resumes from the store; `sign_out()` revokes the refresh token (RFC 7009) and
    deletes the entry.

    The token requests go through a private Session with `trust_env = False`, so that no
    ~/.netrc entry for the token host is ever sent with the refresh token. That also turns off
    what requests reads from the environment for these calls: the proxy variables (HTTPS_PROXY,
    HTTP_PROXY, ALL_PROXY, NO_PROXY), the CA-bundle variables (REQUESTS_CA_BUNDLE,
    CURL_CA_BUNDLE) and netrc. Pass what you need explicitly: `verify="/path/to/ca.pem"` for a
    private CA, `proxies={"https": "http://proxy.example:3128"}` for a proxy.
    The token endpoint must answer itself: a redirect is not followed (it would carry the
    refresh token and client credentials to wherever `Location` points) and raises HTTPError.
    """

    def __init__(self, token_url: str, tokens: dict, *, client_id: str | None = None,
                 client_secret: str | None = None, margin: float = 30, timeout: float = 5,
                 verify: bool | str = True, proxies: dict[str, str] | None = None,
                 requested_at: float | None = None, now: Callable[[], float] = time.time,
                 on_tokens: Callable[[dict], object] | None = None, store: TokenStore | None = None,
                 store_key: tuple | None = None) -> None:
        self._configure(token_url, client_id=client_id, client_secret=client_secret, margin=margin,
                        timeout=timeout, verify=verify, proxies=proxies, now=now, on_tokens=on_tokens,
                        store=store, store_key=store_key)
        with self._lock, self._store_lock():
            self._use(*self._from_response(tokens, now() if requested_at is None else requested_at))
            self._save(first=True)

    @classmethod
    def resume(cls, token_url: str, state: dict, **options) -> RefreshingBearerAuth:
        """The auth again, from a `state` that `on_tokens` saved (or `state()` returned).

        `options` are those of the constructor except `requested_at`: `expires_at` in the state
        is already absolute. A state whose token expires within the margin (or within half of
        what is left of it, when that is shorter) refreshes before the first request. `on_tokens`
        is not called here (the state came from where it was saved), only after each refresh.
        A state that is not one (a field missing or of the wrong type) raises ValueError.
        """
        if "requested_at" in options:
            raise TypeError("resume() takes no requested_at: the state's expires_at is already absolute.")
        auth = cls.__new__(cls)
        auth._configure(token_url, **options)
        with auth._lock:
            auth._use_saved(_saved_state(state))
        return auth

    @classmethod
    def from_store(cls, token_url: str, store: TokenStore, store_key: tuple,
                   **options) -> RefreshingBearerAuth | None:
        """resume() from the state saved in `store` under `store_key`; None if there is none (sign in)."""
        state = store.load(store_key)
        return None if state is None else cls.resume(token_url, state, store=store, store_key=store_key, **options)

    def _configure(self, token_url: str, *, client_id: str | None = None, client_secret: str | None = None,
                   margin: float = 30, timeout: float = 5, verify: bool | str = True,
                   proxies: dict[str, str] | None = None, now: Callable[[], float] = time.time,
                   on_tokens: Callable[[dict], object] | None = None, store: TokenStore | None = None,
                   store_key: tuple | None = None) -> None:
        """The options both constructors share."""
        if client_secret is not None and client_id is None:
            raise ValueError("client_secret needs its client_id: HTTP Basic sends both.")
        if (store is None) != (store_key is None):
            raise ValueError("store and store_key go together: the key is (issuer, client_id, user).")
        require_tls(token_url, "the refresh token")
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.margin = margin
        self.timeout = timeout
        self.verify = verify
        self.proxies = dict(proxies or {})
        self.now = now
        self.on_tokens = on_tokens
        self.store = store
        self.store_key = store_key
        self._unsaved = False  # the last save failed: the store holds an older (spent) state than ours
        self._token_after_401: str | None = None  # the token a 401 made us refresh for (bare 401s: once)
        self.refreshes = 0
        self._lock = threading.Lock()
        # Its own session: the refresh call must not use this auth, nor anything from the environment.
        self._token_session = requests.Session()
        self._token_session.trust_env = False

    def state(self) -> dict:
        """The token state (secrets included) as on_tokens receives it: a new dict of JSON types."""
        return dict(self._state)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        require_tls(request.url)
        token = self.access_token
        if self.now() >= self.refresh_at:
            token = self.refresh(stale_token=token)
        request.headers["Authorization"] = f"Bearer {token}"
        request.register_hook("response", self._retry_once_after_401)
        return request

    def refresh(self, stale_token: str | None = None) -> str:
        """Get a new access token with the refresh token; return it.

        `stale_token` is the token the caller found too old. If another thread has replaced it
        in the meantime, or (with a store) another process has, its new token is returned without
        a second refresh. Without `stale_token`, it refreshes whatever the expiry says.
        """
        with self._lock:
            if stale_token is not None and stale_token != self.access_token and self.access_token:
                return self.access_token
            with self._store_lock():  # other processes: one refresh at a time, and read what they saved
                if self.store is not None and self._take_stored(stale_token):
                    log.debug("Another process refreshed: using the tokens it saved, without a refresh.")
                    return self.access_token
                log.debug("Refreshing the access token at %s.", self.token_url)
                return self._refresh()

    def _refresh(self) -> str:
        """The token request itself; call it holding the locks."""
        if not self._refresh_token:
            self._forget()
            raise SignInAgain("There is no refresh token (none was issued, or the last refresh failed), "
                              "so log in again.")
        form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        if self._client_secret is None and self.client_id is not None:
            form["client_id"] = self.client_id  # a public client identifies itself
        requested_at = self.now()  # expires_in counts from about now, not from when the answer arrives
        response = self._token_session.post(self.token_url, data=form, auth=self._client_auth(),
                                            timeout=self.timeout, verify=self.verify, proxies=self.proxies,
                                            allow_redirects=False)
        if 300 <= response.status_code < 400:
            raise requests.HTTPError(f"{response.status_code}: the token endpoint answered with a redirect, which "
                                     f"is not followed. Use the endpoint's own URL (its metadata names it), not "
                                     f"{self.token_url}", response=response)
        if response.status_code == 400 and _error_code(response) == "invalid_grant":
            said = self._without_secrets(_description(response))
            self._forget()  # refused: sending it again would only be refused again
            raise SignInAgain(f"The refresh token was refused, so log in again. The server said: {said}")
        response.raise_for_status()
        try:
            self._use(*self._from_response(response.json(), requested_at))
        except ValueError as error:
            # The server may have rotated: the refresh token we sent is spent, and the new one is in an
            # answer we cannot use. Sending the spent one again would be a replay, which ends the whole
            # login (RFC 9700 §4.14.2). So it is dropped, and the caller is told now, with the reason.
            reason = self._without_secrets(str(error))
            self._forget()
            raise SignInAgain(f"The token endpoint's answer to the refresh could not be used, so log in "
                              f"again. {reason}") from None
        self.refreshes += 1
        self._save()
        return self.access_token

    def _store_lock(self) -> ContextManager:
        return contextlib.nullcontext() if self.store is None else self.store.lock(self.store_key)

    def _take_stored(self, stale_token: str | None) -> bool:
        """Read the store (under its lock); take what another process saved. True if no refresh is needed."""
        if self._unsaved:
            return False  # the store is behind us (its refresh token is the one we spent): never take it
        saved = self.store.load(self.store_key)
        if saved is None:  # another process signed out, or was refused: the login is over
            self._forget()
            raise SignInAgain("The saved sign-in is gone from the token store (another process signed out, or "
                              "its refresh token was refused), so log in again.")
        saved = _saved_state(saved)
        if saved == self._state:
            return False  # nobody refreshed since we did: ours is the refresh token to use
        self._use_saved(saved)  # another process refreshed: our refresh token is spent, theirs is current
        return stale_token is not None and saved["access_token"] != stale_token and self.now() < self.refresh_at

    def _use_saved(self, state: dict) -> None:
        # The state says when the token dies, not how long it lived: what is left stands in for
        # the lifetime, so a token saved an hour ago, or one about to die, refreshes first.
        left = math.inf if state["expires_at"] is None else max(state["expires_at"] - self.now(), 0)
        self._use(state, lifetime=left)

    def _forget(self) -> None:
        """The login is over: drop the tokens here (state() holds no secret), and the entry in the store.

        The next request raises SignInAgain instead of sending anything.
        """
        self._refresh_token = None
        self.access_token = None
        self.refresh_at = -math.inf
        self._state = {}
        if self.store is not None:
            self.store.delete(self.store_key)

    def _save(self, first: bool = False) -> None:
        """Save the state to the store, then hand it to on_tokens (under the locks); if either raises,
        keep the tokens and say so."""
        if self.on_tokens is None and self.store is None:
            return
        try:
            if self.store is not None:
                self.store.save(self.store_key, self.state())
            if self.on_tokens is not None:
                self.on_tokens(self.state())
        except Exception as error:
            self._unsaved = True
            reason = self._without_secrets(f"{type(error).__name__}: {error}")
            spent = ("" if first else " The old refresh token is spent: a run that resumes from the old "
                     "saved state will be refused.")
            raise TokenSaveError(f"Saving failed, so the {'first' if first else 'new'} tokens were not saved "
                                 f"({reason}). They are in use in this process.{spent} Fix the store and save "
                                 f"auth.state(), or let the next refresh save again.") from error
        self._unsaved = False

    def sign_out(self, revocation_url: str) -> None:
        """Revoke the refresh token at the server (RFC 7009), then forget it here and in the store.

        The request is the refresh's, with `token=` and `token_type_hint=refresh_token` (§2.1), and the
        same client authentication. The server answers 200 for a token it revoked and for one it did not
        know (§2.2), so 200 is success either way; anything else raises SignOutError and deletes nothing,
        so that sign_out() can be tried again (a 503 may carry Retry-After, §2.2.1).
        Access tokens already issued: revoking a refresh token SHOULD also invalidate the access tokens
        of the same grant when the server supports that (§2.1), but a resource server that validates
        JWTs by their signature alone keeps accepting them until `exp`: only one that introspects (RFC
        7662) or shares the revocation list knows. The practice API revokes the whole family, access
        tokens included, and its API checks that list. Here, the access token is forgotten too.
        """
        require_tls(revocation_url, "the refresh token")
        with self._lock, self._store_lock():
            if self.store is not None and not self._unsaved:  # after a failed save, the store's is the spent one
                saved = self.store.load(self.store_key)
                if saved is not None:
                    self._use_saved(_saved_state(saved))  # another process may have rotated it: revoke the newest
            token = self._refresh_token or self.access_token  # no refresh token: revoke the access token
            if not token:
                return self._forget()  # signed out already: nothing left to revoke
            form = {"token": token, "token_type_hint": "refresh_token" if self._refresh_token else "access_token"}
            if self._client_secret is None and self.client_id is not None:
                form["client_id"] = self.client_id
            response = self._token_session.post(revocation_url, data=form, auth=self._client_auth(),
                                                timeout=self.timeout, verify=self.verify, proxies=self.proxies,
                                                allow_redirects=False)
            if response.status_code != 200:
                said = self._without_secrets(_description(response))
                raise SignOutError(f"The revocation endpoint answered {response.status_code} ({said}), so the token "
                                   f"may still work, and nothing was deleted: try sign_out() again later.")
            self._forget()  # no request sends it again: the next one raises SignInAgain
            log.debug("Signed out: the server revoked the refresh token, and it is deleted here.")

    def _client_auth(self) -> tuple[str, str] | None:
        """client_secret_basic: the id and secret form-encoded, then HTTP Basic (RFC 6749 §2.3.1)."""
        if self._client_secret is None:
            return None
        return quote_plus(self.client_id), quote_plus(self._client_secret)

    def _from_response(self, tokens: dict, requested_at: float) -> tuple[dict, float]:
        """The state from a token response, and the token's lifetime; ValueError if it cannot be used."""
        if not isinstance(tokens, dict):
            raise ValueError("The token response is not a JSON object (RFC 6749 §5.1). The tokens were not used.")
        # token_type is REQUIRED and case-insensitive (RFC 6749 §5.1); a type we do not know is never used (§7.1).
        token_type = tokens.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            got = "no token_type" if token_type is None else f"token_type {token_type!r}"
            raise ValueError(f"The token response has {got}, not 'Bearer' (every token response says its type: "
                             f"RFC 6749 §5.1). This class sends bearer tokens only, and a client must not use a "
                             f"token type it does not understand (§7.1). The tokens were not used.")
        access_token = tokens.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ValueError("The token response has no access_token string (REQUIRED, RFC 6749 §5.1). "
                             "The tokens were not used.")
        check_access_token(access_token)
        # A server may keep the old refresh token (no rotation) and leave it out of the response.
        refresh_token = tokens.get("refresh_token", getattr(self, "_refresh_token", None))
        if refresh_token is not None and not isinstance(refresh_token, str):
            raise ValueError("The token response's refresh_token is not a string. The tokens were not used.")
        if refresh_token is not None:
            check_refresh_token(refresh_token)
        # scope may be left out when it is the one asked for (RFC 6749 §5.1), and a refresh keeps
        # the original scope unless it says otherwise (§6).
        scope = tokens.get("scope", getattr(self, "scope", None))
        if scope is not None and not isinstance(scope, str):
            raise ValueError("The token response's scope is not a string (RFC 6749 §3.3). The tokens were not used.")
        lifetime = _lifetime(tokens.get("expires_in"))
        return {"access_token": access_token, "refresh_token": refresh_token,
                "expires_at": requested_at + lifetime if lifetime < math.inf else None,
                "scope": scope, "token_type": "Bearer"}, lifetime

    def _use(self, state: dict, lifetime: float) -> None:
        """Swap in a checked state (under the lock). Expiry first, access_token last: a thread that
        reads the new token without the lock then reads its expiry too."""
        expires_at = math.inf if state["expires_at"] is None else state["expires_at"]
        self.expires_at = expires_at
        self.refresh_at = expires_at - min(self.margin, lifetime / 2)  # a short life keeps half of itself
        self.scope = state["scope"]
        self._refresh_token = state["refresh_token"]
        self._state = state
        self.access_token = state["access_token"]

    def _without_secrets(self, text: str) -> str:
        """`text` from the server, with any of our secrets it repeats hidden: it goes into an exception."""
        for secret in (self._refresh_token, self.access_token, self._client_secret):
            if secret:
                text = text.replace(secret, "<hidden>")
        return text

    def _retry_once_after_401(self, response: requests.Response, **kwargs) -> requests.Response:
        """Response hook: on a 401 that a fresh token may cure, refresh and resend it once."""
        if response.status_code != 401 or not _refresh_may_help(response):
            return response
        if getattr(response.request, "retried_after_refresh", False):
            return response  # the fresh token was refused too: do not loop
        sent = response.request.headers.get("Authorization", "")
        if not sent.startswith("Bearer "):
            # requests removed the token on a redirect to another host: that host's 401 is not
            # about our token, and resending the token there would hand it to a stranger.
            return response
        stale = sent.removeprefix("Bearer ")
        if stale == self._token_after_401 and not _says_invalid_token(response):
            # A 401 made us fetch this very token, and the server still says a bare 401: it is not
            # about the token's age (a refresh per request, forever). invalid_token would be.
            log.debug("%s %s: a bare 401 to the token a 401 renewed; no second refresh.",
                      response.request.method, urlsplit(response.request.url).path)
            return response
        log.debug("%s %s answered 401: a fresh token may help, so one refresh and one retry.",
                  response.request.method, urlsplit(response.request.url).path)
        token = self.refresh(stale_token=stale)
        self._token_after_401 = token
        if not _rewind_body(response.request):
            return response  # a generator was read to the end: sending it again would send nothing
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


def _lifetime(expires_in) -> float:
    """Seconds the access token lives, from `expires_in`; infinity if it is absent or not usable.

    expires_in is only RECOMMENDED (RFC 6749 §5.1): without it, only a 401 says the token has expired.
    A value that is not a finite number above 0 ("abc", NaN, "inf", -60, true) is treated as absent, and so is
    0: a token dead on arrival would make every request refresh first, without end; a 401 still refreshes.
    """
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float, str)):
        return math.inf
    try:
        seconds = float(expires_in)
    except (ValueError, OverflowError):
        return math.inf
    return seconds if math.isfinite(seconds) and seconds > 0 else math.inf


def _saved_state(state) -> dict:
    """A copy of a saved token state, checked field by field; ValueError says what is wrong.

    It comes from a file or a keyring, which anyone with the user's rights may have edited: a
    state that is not exactly one is refused here rather than half-used later.
    """
    if not isinstance(state, dict):
        raise ValueError("A saved token state is a dict (a JSON object), as on_tokens received it.")
    problems = []
    token_type = state.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        problems.append("token_type is not 'Bearer'")
    if not isinstance(state.get("access_token"), str) or not ACCESS_TOKEN.fullmatch(state["access_token"]):
        problems.append("access_token is not a bearer token (printable ASCII, no space: RFC 6750 §2.1)")
    if state.get("refresh_token") is not None and (not isinstance(state["refresh_token"], str)
                                                   or not VSCHARS.fullmatch(state["refresh_token"])):
        problems.append("refresh_token is neither a string of printable ASCII nor null")
    expires_at = state.get("expires_at")
    if expires_at is not None and not _is_finite_number(expires_at):
        problems.append("expires_at is neither a finite number (seconds since the epoch) nor null")
    if state.get("scope") is not None and not isinstance(state["scope"], str):
        problems.append("scope is neither a string nor null")
    missing = [name for name in STATE_FIELDS if name not in state]
    if missing:
        problems.append(f"{', '.join(missing)} missing")
    if problems:
        raise ValueError(f"The saved token state cannot be used: {'; '.join(problems)}. Sign in again.")
    copy = {name: state[name] for name in STATE_FIELDS} | {"token_type": "Bearer"}
    if copy["expires_at"] is not None:
        copy["expires_at"] = float(copy["expires_at"])
    return copy


def _is_finite_number(value) -> bool:
    """A JSON number a float can hold: json.loads turns 1e400 into inf, but 10**400 stays an int, and
    math.isfinite on it raises OverflowError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


STATE_FIELDS = ("access_token", "refresh_token", "expires_at", "scope", "token_type")


def _rewind_body(request: requests.PreparedRequest) -> bool:
    """Put a streamed body (a file) back where it started, as requests does on a 307; False if it cannot be."""
    if request.body is None or isinstance(request.body, (bytes, str)):
        return True  # bytes in memory are sent again whole
    try:
        requests.utils.rewind_body(request)  # seeks to the position requests recorded when it prepared the body
    except requests.exceptions.UnrewindableBodyError:
        return False
    return True


def _refresh_may_help(response: requests.Response) -> bool:
    """Is this 401 one a fresh bearer token may cure?

    Yes if a Bearer challenge says error=invalid_token (RFC 6750 §3.1: expired, revoked,
    malformed), or if the 401 does not say why: no challenge at all (RFC 9110 §15.5.2 asks for
    one, not every server sends it), or Bearer challenges with no `error`. No if the Bearer
    challenge names another error (insufficient_scope, invalid_request: a new token of the same
    grant fixes neither), or if only other schemes (Basic, DPoP) are asked for.
    """
    challenges = _parse_challenges(response.headers.get("WWW-Authenticate", ""))
    bearer = [params for scheme, params in challenges if scheme == "bearer"]
    if not bearer:
        return not challenges
    return _says_invalid_token(response) or all("error" not in params for params in bearer)


def _says_invalid_token(response: requests.Response) -> bool:
    """Does a Bearer challenge of this 401 say error="invalid_token" (RFC 6750 §3.1)?"""
    challenges = _parse_challenges(response.headers.get("WWW-Authenticate", ""))
    return any(scheme == "bearer" and params.get("error") == "invalid_token" for scheme, params in challenges)


def _error_body(response: requests.Response) -> dict:
    """The JSON object of an error answer (RFC 6749 §5.2), or {} if the body is not one (not JSON, a list)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(response: requests.Response) -> str | None:
    return _error_body(response).get("error")


def _description(response: requests.Response) -> str:
    return str(_error_body(response).get("error_description", response.reason))


# -- WWW-Authenticate (RFC 9110 §11.6.1, §11.3) -----------------------------------------------------
#   WWW-Authenticate = [ challenge *( OWS "," OWS challenge ) ]
#   challenge  = auth-scheme [ 1*SP ( token68 / [ auth-param *( OWS "," OWS auth-param ) ] ) ]
#   auth-param = token BWS "=" BWS ( token / quoted-string )
# Challenges and their parameters are separated by the same commas, so the list is split first
# (outside quoted strings), then each piece is either "name=value", a parameter of the challenge
# before it, or "scheme [rest]", the start of a new challenge.

TCHAR = set(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")  # RFC 9110 §5.6.2
TOKEN68 = set(string.ascii_letters + string.digits + "-._~+/")  # RFC 9110 §11.2, then "=" padding
WHITESPACE = " \t"


def _parse_challenges(header: str) -> list[tuple[str, dict[str, str]]]:
    """The challenges of a WWW-Authenticate value, as `(scheme, params)` pairs, in order.

    Private, this file's own (it is copied alone): the public reader is `helpers.parse_challenges`
    (client/challenges.py), which returns Challenges and says what it skipped; the two agree
    (tests/test_client_challenges.py).

    Schemes and parameter names are lower-cased: both are case-insensitive (RFC 9110 §11.1,
    §11.2). Values keep their case; a quoted-string is unquoted. A token68 (as in
    `Negotiate <blob>`) is kept under the name "", and takes no parameters after it (RFC 9110
    §11.3). Only spaces may follow the scheme (1*SP): after a tab the scheme is kept and the rest of
    its list element is skipped. The header comes from the network, so
    anything that does not parse is skipped, never raised on; a parameter repeated in one
    challenge keeps its first value (§11.2 allows it only once).
    """
    challenges: list[tuple[str, dict[str, str]]] = []
    params: dict[str, str] | None = None  # the parameters of the last challenge, if it parsed
    for piece in _split_list(header):
        name, equals, _ = piece.partition("=")
        if equals and _is_token(name.rstrip(WHITESPACE)):  # "name =": a parameter, well-formed or not
            param = _auth_param(piece)
            if param is not None and params is not None:
                params.setdefault(*param)
            continue
        scheme = piece.split(" ", 1)[0].split("\t", 1)[0]
        if not _is_token(scheme):
            params = None  # junk: the parameters after it belong to no challenge we know
            continue
        params = {}
        challenges.append((scheme.lower(), params))
        rest = piece[len(scheme):].lstrip(" ")
        if rest.startswith("\t"):
            continue  # only spaces may follow the scheme (1*SP, §11.3): the scheme stays, the rest is skipped
        param = _auth_param(rest)
        if param is not None:
            params[param[0]] = param[1]
        elif _is_token68(rest):
            params[""] = rest
            params = None  # a token68 takes no parameters (RFC 9110 §11.3)
    return challenges


def _split_list(text: str) -> list[str]:
    """The non-empty, stripped pieces between commas that are not inside a quoted-string."""
    pieces, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return [piece.strip(WHITESPACE) for piece in pieces if piece.strip(WHITESPACE)]


def _auth_param(piece: str) -> tuple[str, str] | None:
    """`(name, value)` if `piece` is `token BWS "=" BWS (token / quoted-string)`, else None."""
    name, equals, value = piece.partition("=")
    name, value = name.rstrip(WHITESPACE), value.lstrip(WHITESPACE)
    if not equals or not _is_token(name):
        return None
    if value.startswith('"'):
        value = _unquote(value)
    elif not _is_token(value):
        return None
    return None if value is None else (name.lower(), value)


def _unquote(quoted: str) -> str | None:
    """The content of a quoted-string that makes up all of `quoted`, its quoted-pairs undone; else None."""
    chars, escaped = [], False
    for position, char in enumerate(quoted[1:], start=1):
        if not _in_quoted(char):
            return None  # a control character: not qdtext nor quoted-pair (RFC 9110 §5.6.4)
        if escaped:
            chars.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return "".join(chars) if position == len(quoted) - 1 else None  # nothing may follow
        else:
            chars.append(char)
    return None  # no closing quote


def _in_quoted(char: str) -> bool:
    """HTAB / SP / VCHAR / obs-text: what a quoted-string may hold, quoted-pairs included (§5.6.4)."""
    return char in "\t " or 0x21 <= ord(char) <= 0x7E or ord(char) >= 0x80


def _is_token(text: str) -> bool:
    return bool(text) and all(char in TCHAR for char in text)


def _is_token68(text: str) -> bool:
    body = text.rstrip("=")
    return bool(body) and all(char in TOKEN68 for char in body)
