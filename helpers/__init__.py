"""Helpers for the series "HTTP API authentication with Python requests".

Notebooks import only the names below (`from helpers import ...`):
- the practice API: start_practice_api (in-process), serve_practice_api (loopback);
- viewers and checks: show, show_jwt, checks, check_environment;
- client-side auth: BearerAuth, RefreshingBearerAuth (and the errors they raise: TokenRefreshError,
  SignInAgain, TokenSaveError, SignOutError, InsecureTransportError), require_tls, RedactSecrets,
  DPoPAuth (09), AWSSigV4Auth (07: AWS Signature Version 4, signed with botocore);
- reading a 401: parse_challenges (every challenge of WWW-Authenticate), recognise_scheme (00);
- a token store for a program's tokens between runs: FileTokenStore, KeyringTokenStore (and their
  errors: TokenStoreError, InsecureTokenFileError, TokenStoreLockTimeout);
- a Session with a timeout on every call and urllib3 retries: api_session;
- loopback tools for the client's side of a flow: RedirectListener (04), serve_tunnel_proxy (06);
- the server's side of a password check, to read in notebook 05.

Which layer may import which (tests/test_layers.py reads the imports and enforces it):
- practice_api/  the server; imports no serving, client, viewers or checks;
- serving/       how clients reach the server; imports practice_api, nothing learner-facing;
- client/        code to copy into a project; imports nothing else from helpers;
- viewers.py     show(), show_jwt(); reads requests objects, imports neither server nor transport;
- checks/        the exercises' feedback; may use viewers, client and the server's public facts (the
                 demo credentials, hashes and key, and the rules a check must apply as the server
                 does: tests/test_layers.py lists them), never the app or a transport;
- environment/   the version check and `python -m helpers.environment`; imports only serving (to start
                 the practice API as a notebook does), and that only inside the checks that need it;
- server.py      only the entry point of `python -m helpers.server` (the code is serving/cli.py).

The names load lazily, on first use (PEP 562: the module __getattr__ below), so that the pre-workshop
check can run and report what is missing: `python -m helpers.environment` imports this package first,
and an eager import of every layer would turn a missing requests or cryptography, or a Python too old
for urllib3, into a traceback instead of its ✗ line.
"""
from __future__ import annotations

import importlib

# Each public name and the module it lives in (`from helpers import show` works as with eager imports).
_PUBLIC = {
    "PasswordChecker": "helpers.practice_api.basic_auth", "parse_basic": "helpers.practice_api.basic_auth",
    "hash_password": "helpers.practice_api.passwords", "verify_password": "helpers.practice_api.passwords",
    "DUMMY_HASH": "helpers.practice_api.users", "PASSWORD_HASHES": "helpers.practice_api.users",
    "start_practice_api": "helpers.serving.inprocess", "serve_practice_api": "helpers.serving.loopback",
    "RedirectListener": "helpers.serving.redirect_listener", "serve_tunnel_proxy": "helpers.serving.tunnel_proxy",
    "BearerAuth": "helpers.client.auth", "InsecureTransportError": "helpers.client.auth",
    "RefreshingBearerAuth": "helpers.client.auth", "TokenRefreshError": "helpers.client.auth",
    "TokenSaveError": "helpers.client.auth", "SignInAgain": "helpers.client.auth",
    "SignOutError": "helpers.client.auth", "require_tls": "helpers.client.auth",
    "FileTokenStore": "helpers.client.token_store", "KeyringTokenStore": "helpers.client.token_store",
    "TokenStoreError": "helpers.client.token_store", "InsecureTokenFileError": "helpers.client.token_store",
    "TokenStoreLockTimeout": "helpers.client.token_store", "api_session": "helpers.client.session",
    "RedactSecrets": "helpers.client.redaction", "DPoPAuth": "helpers.client.dpop",
    "parse_challenges": "helpers.client.challenges", "recognise_scheme": "helpers.client.challenges",
    "AWSSigV4Auth": "helpers.client.sigv4",
    "show": "helpers.viewers", "show_jwt": "helpers.viewers",
    "check_environment": "helpers.environment",
}
_SUBPACKAGES = {"checks"}  # `from helpers import checks`: the package itself

__all__ = sorted([*_PUBLIC, *_SUBPACKAGES])


def __getattr__(name: str):
    """Import a public name's module the first time the name is asked for, and keep the name here."""
    if name in _SUBPACKAGES:
        value = importlib.import_module(f"{__name__}.{name}")
    elif name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
