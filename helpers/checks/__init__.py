"""One check per exercise. Each prints "✓ Right: ..." or "✗ Not yet: ..." with what to change.

Checks never raise at the learner: a wrong answer is feedback, not a traceback. They
read the learner's objects and the demo credentials. Where only a real request can tell
right from wrong (an auth object that sends the whole token dict, a call without a
timeout), a check sends it to the in-process practice API and judges what arrived;
nothing ever leaves the kernel.
One module per notebook; notebooks call them as `checks.<name>(...)`. What they share (the wording,
running the learner's function, fake responses, where a credential went) lives in feedback.py.
Each check's module is imported the first time a notebook asks for it (PEP 562), so a notebook's setup
pays only for its own checks, not for the other ten notebooks' (cryptography, PyJWT, ...).
"""
from __future__ import annotations

import importlib

# Each check and the module (of this package) it lives in.
_CHECKS = {
    # notebook 00
    "challenge_realm": "start_here", "unauthenticated_call": "start_here",
    "recorded_failures": "start_here", "scheme_calls": "start_here",
    # notebook 01
    "basic_header": "basic_auth", "basic_session": "basic_auth", "retry_after": "basic_auth",
    # notebook 02
    "key_session": "api_keys", "next_step": "api_keys", "read_notes": "api_keys",
    # notebook 03
    "bearer_session": "jwt_tokens", "seconds_left": "jwt_tokens", "verify_token": "jwt_tokens",
    # notebook 04
    "exchange_code": "oauth", "next_interval": "oauth", "pkce_pair": "oauth",
    # notebook 05
    "basic_authorization": "raw_http", "check_basic": "raw_http", "parse_challenge": "raw_http",
    # notebook 06
    "redact_api_key": "https_limits", "retry_policy": "https_limits", "tls_session": "https_limits",
    # notebook 07
    "should_follow": "other_schemes", "sign": "other_schemes", "sigv4_signer": "other_schemes",
    # notebook 08
    "account_key": "oidc", "validate_id_token": "oidc",
    # notebook 09
    "client_assertion": "m2m", "dpop_proof": "m2m",
    # notebook 10
    "token_file_load": "capstone", "token_file_save": "capstone",
}

__all__ = sorted(_CHECKS)


def __getattr__(name: str):
    """Import a check's module the first time the check is asked for, and keep the check here."""
    if name not in _CHECKS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_CHECKS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
