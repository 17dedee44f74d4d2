"""The server's side of API keys: how the practice API checks `X-API-Key`.

Read this next to notebook 02. The server:
1. refuses a key in the URL (400), under any parameter name: URLs end up in logs, proxies and
   browser history;
2. asks for a key when there is none (401), and says where it goes when the client put it
   in `Authorization` instead;
3. stores only a SHA-256 hash of each key. A fast hash is enough here, unlike for
   passwords: keys are long random strings, so there is nothing to guess;
4. answers 401 for an unknown or revoked key, 403 for a known key without the scope.

Keys are revoked, never deleted, so that a revoked key gets a precise answer. Two keys of
one owner can be active at once: that is how a key is rotated without downtime.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl

from helpers.practice_api.wsgi import HTTPError, Request

HEADER = "X-API-Key"
CHALLENGE = f'APIKey realm="practice", header="{HEADER}"'  # no standard scheme exists for API keys
QUERY_NAMES = {"api_key", "apikey", "key", "api-key", "x-api-key", "access_key"}
MAX_KEY_LENGTH = 200


@dataclass
class KeyRecord:
    key_id: str
    owner: str
    scopes: tuple[str, ...]
    revoked: bool = False


# sha256(key) -> record. The keys themselves are in helpers/practice_api/demo.py, for learners only.
DEMO_KEYS = {
    "58b9e0c6ea15521ea9c8836e5215a730950ca08953caad70eaadc5db1be37df6": KeyRecord("ro-1", "ada", ("notes:read",)),
    "112cf6bd3de3334292c410a2dc18428befe862001f10c8fcba123dfb023c806c":
        KeyRecord("rw-1", "ada", ("notes:read", "notes:write")),
    "3deb6b35d88507451c2656473277d123513815aff12c497661dac96171b22f9a":
        KeyRecord("rw-2", "ada", ("notes:read", "notes:write")),
    "e497efd08676ddf0efb810d5e79206db647f2b7275f3d373fe26c12981729dbe":
        KeyRecord("rw-0", "ada", ("notes:read", "notes:write"), revoked=True),
}


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyStore:
    """Looks keys up by hash and enforces scopes."""

    def __init__(self, records: dict[str, KeyRecord]) -> None:
        # copies, so that revoking a key in one practice API leaves the others alone
        self.records = {digest: KeyRecord(**vars(record)) for digest, record in records.items()}
        self._lock = threading.Lock()

    def authenticate(self, request: Request, scope: str | None) -> KeyRecord:
        """Return the record of the key in X-API-Key if it grants `scope`, or raise HTTPError."""
        # A key in the URL, by its parameter name or by its value (?token=<a key> is just as logged).
        in_url = [name for name, value in parse_qsl(request.query, keep_blank_values=True)
                  if name.lower() in QUERY_NAMES or self._is_a_key(value)]
        if in_url:
            raise HTTPError(400, "invalid_request", f"Never put an API key in the URL ('{in_url[0][:40]}=' in the "
                            f"query string): URLs are written to logs. Send it in the {HEADER} header.")
        key = request.header(HEADER)
        if key is None:
            authorization = request.header("Authorization")
            hint = (f" You sent an Authorization header; this API reads the key from {HEADER} only."
                    if authorization else "")
            raise _unauthorized("missing_key", f"Send your API key in the {HEADER} header.{hint}")
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
            raise HTTPError(400, "invalid_request", f"The {HEADER} header does not hold a well-formed key.")
        record = self.records.get(key_hash(key))
        if record is None:
            raise _unauthorized("invalid_key", "This API key is not known. Check for a typo or a truncated copy.")
        if record.revoked:
            raise _unauthorized("revoked_key", f"This API key ({record.key_id}) was revoked. Use its replacement.")
        if scope is not None and scope not in record.scopes:
            raise HTTPError(403, "insufficient_scope", f"This key ({record.key_id}) may not do this: it needs the "
                            f"'{scope}' scope and has {', '.join(record.scopes)}.")
        return record

    def _is_a_key(self, value: str) -> bool:
        """Whether a value is one of this server's keys, revoked ones included (a leak all the same)."""
        value = value.strip()
        return 0 < len(value) <= MAX_KEY_LENGTH and key_hash(value) in self.records

    def revoke(self, record: KeyRecord) -> None:
        with self._lock:
            record.revoked = True


def _unauthorized(error: str, description: str) -> HTTPError:
    return HTTPError(401, error, description, [("WWW-Authenticate", CHALLENGE)])
