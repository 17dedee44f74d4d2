"""The server's side of HTTP Basic authentication (RFC 7617), as a careful server does it.

Read this next to notebook 01. In order, the server:
1. asks for credentials with a challenge when there are none (401 + WWW-Authenticate);
2. refuses malformed headers with 400 and says what is wrong, never a 500;
3. decodes base64, then UTF-8 (it announced charset="UTF-8"), then splits on the
   FIRST colon: the user-id cannot contain one, the password can;
4. refuses to check anything while the user name is locked out (429 + Retry-After);
5. compares password hashes in constant time, and spends the same time on unknown users
   (`PasswordChecker`, which `/login` uses too).
"""
from __future__ import annotations

import base64
import binascii
import unicodedata

from helpers.practice_api.passwords import verify_password
from helpers.practice_api.throttle import FailedAttempts
from helpers.practice_api.wsgi import HTTPError, known_scheme

REALM = "practice"
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'
MAX_HEADER_LENGTH = 4096


def parse_basic(header: str | None) -> tuple[str, str]:
    """Return (user-id, password) from an Authorization header, or raise HTTPError."""
    if header is None or not header.strip():
        raise _unauthorized("missing_credentials", "This endpoint needs HTTP Basic credentials: "
                            "send 'Authorization: Basic base64(user-id:password)'.")
    if len(header) > MAX_HEADER_LENGTH:
        raise HTTPError(400, "invalid_request",
                        f"The Authorization header is longer than {MAX_HEADER_LENGTH} characters.")
    scheme, space, token = header.strip().partition(" ")
    if scheme.lower() != "basic":  # auth-scheme names are case-insensitive (RFC 9110 §11.1)
        # Echo only a known scheme name: without a space the whole value may be a secret, and the
        # first word of "ada:my secret" or "sk_live_... extra" is part of one. Never echo those.
        if known_scheme(header):
            sent = f", not {scheme!r}"
        elif space:
            sent = ", not another scheme (its name is not shown: it may be part of a secret)"
        else:
            sent = ", and this header has no scheme before the credentials"
        raise _unauthorized("invalid_scheme", f"This endpoint uses the Basic scheme{sent}.")
    token = token.strip()
    try:
        raw = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPError(400, "invalid_request",
                        "The Basic credentials are not valid base64.") from None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, "invalid_request",
                        'The credentials are not valid UTF-8, and this server said '
                        'charset="UTF-8". In requests, pass bytes: auth=(user.encode("utf-8"), '
                        'password.encode("utf-8")).') from None
    if ":" not in decoded:
        raise HTTPError(400, "invalid_request",
                        "The decoded credentials have no ':' between user-id and password.")
    user_id, password = decoded.split(":", 1)
    if any(unicodedata.category(ch) == "Cc" for ch in decoded):
        raise HTTPError(400, "invalid_request",
                        "The user-id and password must not contain control characters "
                        "(RFC 7617 §2).")
    # charset="UTF-8" also means both sides normalize to NFC (RFC 7617 §2.1), so that "ü" typed
    # as one code point or as "u" + combining diaeresis is the same password.
    return unicodedata.normalize("NFC", user_id), unicodedata.normalize("NFC", password)


class PasswordChecker:
    """Checks a user name and password against stored hashes, with a lockout."""

    def __init__(self, password_hashes: dict[str, str], dummy_hash: str, attempts: FailedAttempts) -> None:
        self.password_hashes = password_hashes
        self.dummy_hash = dummy_hash
        self.attempts = attempts

    def check(self, username: str, password: str) -> bool:
        """True for the right password. Raises HTTPError 400 for text that is not Unicode, 429 while
        locked out."""
        if not (_encodable(username) and _encodable(password)):
            # json.loads lets a lone surrogate like "\ud800" through; it has no UTF-8 form to hash.
            raise HTTPError(400, "invalid_request",
                            "The user name and password must be valid Unicode text "
                            "(no lone surrogates such as \\ud800).")
        wait = self.attempts.retry_after(username)
        if wait:
            raise HTTPError(429, "too_many_attempts",
                            f"Too many failed logins for {username[:40]!r}."
                            f" Wait {wait} s (Retry-After), then try again.",
                            [("Retry-After", str(wait))])
        stored = self.password_hashes.get(username)
        ok = verify_password(password, stored or self.dummy_hash) and stored is not None
        if ok:
            self.attempts.clear(username)
        else:
            self.attempts.record_failure(username)
        return ok


def authenticate_basic(header: str | None, passwords: PasswordChecker) -> str:
    """Return the user name a Basic Authorization header proves, or raise HTTPError (400, 401 or 429)."""
    username, password = parse_basic(header)
    if not passwords.check(username, password):
        raise _unauthorized("invalid_credentials", "Wrong user name or password.")
    return username


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unauthorized(error: str, description: str) -> HTTPError:
    return HTTPError(401, error, description, [("WWW-Authenticate", CHALLENGE)])
