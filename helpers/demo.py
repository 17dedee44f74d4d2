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

# Filled in by later notebooks (API keys in 02, OAuth clients in 04).
API_KEYS: list[dict[str, object]] = []
CLIENTS: list[dict[str, object]] = []


def password_of(username: str) -> str:
    """The demo password of `username`, for checks and tests."""
    for user in USERS:
        if user["username"] == username:
            return user["password"]
    raise KeyError(f"no demo user {username!r}; the demo users are {[u['username'] for u in USERS]}")


def credentials() -> dict[str, list]:
    """Every demo credential, in the shape `python -m helpers.server` prints."""
    return {"users": USERS, "api_keys": API_KEYS, "clients": CLIENTS}
