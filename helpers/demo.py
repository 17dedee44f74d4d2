"""The demo credentials: public, published in the README, and good only for the practice API.

Learners type these into notebooks, curl and Postman. Real credentials never go into
code or notebooks; notebook 06 shows where they go instead.
"""
from __future__ import annotations

USERS: list[dict[str, str]] = [
    # The colons are on purpose: a password may contain ':' (RFC 7617 §2).
    {"username": "ada", "password": "analytical:engine:1843"},
    # Non-ASCII on purpose: see "Passwords beyond ASCII" in notebook 01.
    {"username": "grace", "password": "Grüße-€-cobol-1959"},
]

# API keys (notebook 02): ada's keys for the notes API. rw-1 and rw-2 are both active, as during
# a rotation; rw-0 was revoked.
API_KEYS: list[dict[str, object]] = [
    {"key": "practice_ro_I7H0P6vXjFOogKzzeJbijcVc4jjHOKCa", "scopes": ["notes:read"], "key_id": "ro-1"},
    {"key": "practice_rw_ES9rCgm1Z5QfhmFdpkQmYz5FtpXWeTBn", "scopes": ["notes:read", "notes:write"], "key_id": "rw-1"},
    {"key": "practice_rw_rD00kIIj90vFyj84JhM5B_Pzol9WJkYe", "scopes": ["notes:read", "notes:write"], "key_id": "rw-2"},
    {"key": "practice_rw_jj3UyBpwHQdJrDi8Kic5UM8fVmAqE2JR", "scopes": ["notes:read", "notes:write"], "key_id": "rw-0",
     "revoked": True},
]

# OAuth clients: filled in by notebook 04.
CLIENTS: list[dict[str, object]] = []


def api_key(key_id: str) -> str:
    """The demo key with this id (ro-1, rw-1, rw-2, rw-0), for checks and tests."""
    for entry in API_KEYS:
        if entry["key_id"] == key_id:
            return str(entry["key"])
    raise KeyError(f"no demo key {key_id!r}; the demo keys are {[k['key_id'] for k in API_KEYS]}")


def password_of(username: str) -> str:
    """The demo password of `username`, for checks and tests."""
    for user in USERS:
        if user["username"] == username:
            return user["password"]
    raise KeyError(f"no demo user {username!r}; the demo users are {[u['username'] for u in USERS]}")


def credentials() -> dict[str, list]:
    """Every demo credential, in the shape `python -m helpers.server` prints."""
    return {"users": USERS, "api_keys": API_KEYS, "clients": CLIENTS}
