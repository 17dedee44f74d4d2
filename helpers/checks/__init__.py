"""One check per exercise. Each prints "✓ Right: ..." or "✗ Not yet: ..." with what to change.

Checks never raise at the learner: a wrong answer is feedback, not a traceback. They
read the learner's objects and the demo credentials. Where only a real request can tell
right from wrong (an auth object that sends the whole token dict, a call without a
timeout), a check sends it to the in-process practice API and judges what arrived;
nothing ever leaves the kernel.
One module per notebook; notebooks call them as `checks.<name>(...)`. What they share (the wording,
running the learner's function, fake responses, where a credential went) lives in feedback.py.
"""
from helpers.checks.api_keys import key_session, next_step, read_notes  # noqa: F401  (notebook 02)
from helpers.checks.capstone import token_file_load, token_file_save  # noqa: F401  (notebook 10)
from helpers.checks.basic_auth import basic_header, basic_session, retry_after  # noqa: F401  (notebook 01)
from helpers.checks.jwt_tokens import bearer_session, seconds_left, verify_token  # noqa: F401  (notebook 03)
from helpers.checks.m2m import client_assertion, dpop_proof  # noqa: F401  (notebook 09)
from helpers.checks.https_limits import redact_api_key, retry_policy, tls_session  # noqa: F401  (notebook 06)
from helpers.checks.oauth import exchange_code, next_interval, pkce_pair  # noqa: F401  (notebook 04)
from helpers.checks.oidc import account_key, validate_id_token  # noqa: F401  (notebook 08)
from helpers.checks.other_schemes import should_follow, sign, string_to_sign  # noqa: F401  (notebook 07)
from helpers.checks.raw_http import basic_authorization, check_basic, parse_challenge  # noqa: F401  (notebook 05)
from helpers.checks.start_here import challenge_realm, unauthenticated_call  # noqa: F401  (notebook 00)
