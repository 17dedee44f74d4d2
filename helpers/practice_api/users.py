"""The practice API's user store: user names and password hashes, never passwords.

A real service keeps these rows in a database. The passwords that produce them are
published for learners in `helpers.practice_api.demo`; this module, like a real server, never sees them.
"""
from __future__ import annotations

PASSWORD_HASHES: dict[str, str] = {
    "ada": "pbkdf2_sha256$20000$NgvMM6pcguoFP2ET5hJBgg==$zUpWlzf7tCTPvX5qVIP16G8BQ6bHjAnZ9SDdoG64e10=",
    "grace": "pbkdf2_sha256$20000$3z/3B8/J0KJFH1F0AveF+g==$OLNecgfeLhHrrfFwAsyDFhaleMAezOVAw9VjFSkLTRs=",
}

# Checked when the user name is unknown, so that "no such user" takes as long as
# "wrong password" and response times do not reveal which user names exist.
DUMMY_HASH = "pbkdf2_sha256$20000$drpPZ03PCahOWBzax3KDYA==$4tNNx++rtBSIiXKUQymEVMhXABOYcwr5/3Fu3XE/XHA="

# What the OpenID Provider (oidc.py, notebook 08) says about each user, by scope (OIDC Core §5.1, §5.4).
# The user name is the `sub`: unique at this issuer, never reassigned, ASCII and at most 255 characters
# (OIDC Core §2). `preferred_username` and `email` are none of that: the user may change them (Core §5.1
# says a client MUST NOT rely on preferred_username being unique), and until the user proves they own an
# email address, `email_verified` is false. So preferred_username differs from sub here, as it often does
# elsewhere, and `OpenIDProvider.change_email` shows an email changing hands.
PROFILES: dict[str, dict[str, object]] = {
    "ada": {"name": "Ada Lovelace", "preferred_username": "ada.lovelace", "email": "ada@practice.test",
            "email_verified": True},
    "grace": {"name": "Grace Hopper", "preferred_username": "grace.hopper", "email": "grace@practice.test",
              "email_verified": True},
}
