"""How the practice API stores and checks passwords.

A server never keeps passwords, only a slow, salted hash of each one. At login it
hashes what the client sent with the same salt and compares the two hashes in
constant time, so that the time a wrong guess takes says nothing about how close it was.

The stored form names its own recipe, like Django's:

    pbkdf2_sha256$<iterations>$<salt, base64>$<hash, base64>

so that a server can raise the cost later and still check older hashes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"

# OWASP's Password Storage Cheat Sheet asks for 600,000 iterations of PBKDF2-HMAC-SHA256
# (or argon2id/scrypt) in production. The practice API uses far fewer so that its tests and
# fuzzing stay fast; the format records the count, so a real server just sets a larger one.
DEMO_ITERATIONS = 20_000


def hash_password(password: str, *, iterations: int = DEMO_ITERATIONS, salt: bytes | None = None) -> str:
    """Return the string a server stores instead of `password`."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return "$".join([ALGORITHM, str(iterations), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """True when `password` hashes to `stored`. The comparison runs in constant time."""
    algorithm, iterations, salt, expected = stored.split("$")
    if algorithm != ALGORITHM:
        raise ValueError(f"unknown password hash algorithm {algorithm!r}")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), _unb64(salt), int(iterations))
    return hmac.compare_digest(digest, _unb64(expected))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)
