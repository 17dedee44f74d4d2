"""The demo credentials: public, published in the README, and good only for the practice API.

Learners type these into notebooks, curl and Postman. Real credentials never go into
code or notebooks; notebook 06 shows where they go instead.
"""
from __future__ import annotations

from helpers.practice_api import demo_keys

# Where the in-process practice API answers. `.test` is reserved and never resolves (RFC 6761 §6.2), so a
# request meant for the practice API can never reach a real host. On loopback the server's own URL is used.
BASE_URL = "https://api.practice.test"
OTHER_ORIGIN = "https://other.practice.test"  # "another host" for the redirect demos: served by the same app

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

# OAuth 2.0 clients (notebook 04), with the field names of RFC 7591. Public clients have no secret.
CLIENTS: list[dict[str, object]] = [
    {"client_id": "reports-job", "client_secret": "practice_secret_rLH63G1LnEYG7SErSjZ-FX-7T6kTV6g3",
     "grant_types": ["client_credentials"], "redirect_uris": [], "scope": "reports:read",
     "token_endpoint_auth_method": "client_secret_basic"},
    {"client_id": "notes-web", "client_secret": "practice_secret_qT9oSk3A6yJj_b2hsM6fQicyyrkWaUk1",
     "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": ["https://notes-web.test/callback"],
     "scope": "profile notes:read", "token_endpoint_auth_method": "client_secret_basic"},
    {"client_id": "notes-cli", "grant_types": ["authorization_code", "refresh_token"],
     "redirect_uris": ["http://127.0.0.1/callback"], "scope": "profile notes:read",
     "token_endpoint_auth_method": "none"},  # a loopback redirect: any port (RFC 8252 §7.3)
    {"client_id": "notes-tv", "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
     "redirect_uris": [], "scope": "profile notes:read", "token_endpoint_auth_method": "none"},
    # An OpenID Connect relying party (notebook 08): a web app that signs its users in. A confidential
    # web app, not a native one: its redirect URI, port included, is matched exactly (RFC 9700 §2.1).
    {"client_id": "notes-signin", "client_secret": "practice_secret_rlC5E5r_BqV6Vg_eQODjvJYH1GEhKJQv",
     "grant_types": ["authorization_code", "refresh_token"],
     "redirect_uris": ["http://127.0.0.1:8400/signin/callback"],
     "scope": "openid profile email notes:read", "token_endpoint_auth_method": "client_secret_basic"},
    # The practice API acting as a resource server: it gets no tokens, it only asks the authorization
    # server about tokens it receives, at POST /oauth/introspect (RFC 7662, notebook 03).
    {"client_id": "notes-api", "client_secret": "practice_secret_72c2na0vdlZXBElBDrzFaMe_zUj3-9ta",
     "grant_types": [], "redirect_uris": [], "scope": "", "token_endpoint_auth_method": "client_secret_basic"},
    # A confidential client with no shared secret (notebook 09): it signs a short JWT with its private key
    # (private_key_jwt, RFC 7523 §2.2); the server holds only the public half, registered as `jwks`.
    {"client_id": demo_keys.REPORTS_SIGNER_CLIENT_ID, "grant_types": ["client_credentials"], "redirect_uris": [],
     "scope": "reports:read", "token_endpoint_auth_method": "private_key_jwt",
     "token_endpoint_auth_signing_alg": "ES256", "jwks": demo_keys.REPORTS_SIGNER_JWKS,
     "private_key": demo_keys.REPORTS_SIGNER_PRIVATE_KEY},
    # No secret either: it authenticates with the TLS client certificate of the loopback HTTPS server
    # (tls_client_auth, RFC 8705 §2.1), and its tokens work only over a connection with that certificate
    # (RFC 8705 §3). Its certificate is `api.client_cert` of `serve_practice_api(tls=True)` (notebook 06).
    {"client_id": "reports-mtls", "grant_types": ["client_credentials"], "redirect_uris": [],
     "scope": "reports:read", "token_endpoint_auth_method": "tls_client_auth",
     "tls_client_auth_san_email": "ada-laptop@practice.test", "tls_client_certificate_bound_access_tokens": True},
]

# The e-mail name (subjectAltName) of the client certificate that `python -m helpers.server --tls` and
# `serve_practice_api(tls=True)` make (notebook 06). reports-mtls registered it (RFC 8705 §2.1.2).
CLIENT_CERTIFICATE_EMAIL = "ada-laptop@practice.test"

# A service account's key file for the JWT bearer grant (RFC 7523 §2.1, notebook 09), in Google Cloud's shape.
SERVICE_ACCOUNT_KEY_FILE: dict[str, str] = demo_keys.service_account_key_file(BASE_URL)


def client(client_id: str) -> dict[str, object]:
    """The demo client with this id, for checks and tests."""
    for entry in CLIENTS:
        if entry["client_id"] == client_id:
            return entry
    raise KeyError(f"no demo client {client_id!r}; the demo clients are {[c['client_id'] for c in CLIENTS]}")


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


def credentials(base_url: str = BASE_URL) -> dict[str, list]:
    """Every demo credential, in the shape `python -m helpers.server` prints; key files name `base_url`."""
    return {"users": USERS, "api_keys": API_KEYS, "clients": CLIENTS,
            "service_accounts": [demo_keys.service_account_key_file(base_url)], "aws": AWS}


# HMAC request signing (notebook 07): both sides hold the same secret, so here it is.
SIGNING_KEYS: list[dict[str, str]] = [
    {"key_id": "orders-client", "secret": "Xw1l7XzYOQnJoOrDAnerMDCJklRy1-s5WglIgiSqqA8"},
]

# AWS Signature Version 4 (notebook 07): access keys as AWS IAM issues them, for the practice service in
# one region. DEMO ONLY: an AWS secret access key is a shared secret, so here it is, as for HMAC above.
# The ASIA key is temporary (as from AWS STS): it works only with its session token.
AWS: dict = {
    "region": "eu-west-1", "service": "practice",
    "whoami": "/aws/whoami",  # GET: who signed this request (Authorization header or presigned query)
    "endpoint": "/aws/orders",  # POST a JSON object: the protected write
    "credentials": [
        {"access_key_id": "AKIAPRACTICEDEMO0001", "secret_access_key": "/vFEQA1IzZko6OZ3dlBU+a4zkewkTZ1mxyX7F331",
         "user": "ada"},  # a long-term key
        {"access_key_id": "ASIAPRACTICEDEMO0002", "secret_access_key": "9/0PhqLu9UwbcAmek5i/+mvWfuLu3cWCemkVLw0j",
         "session_token": "mVMDFOcBlo47nhpe3ppa/ZKDENQJh3fyJBbhLDX5kfSbFEzE4gutPRSZ5ZpFNrYiefIv85+v5lTfC6x5R06VGg65fL1"
                          "tJKnO5nnrSab662aXgs8Sxh+K+VCR77p+57kO",
         "user": "ada"},  # temporary credentials: need X-Amz-Security-Token
    ],
}
