"""Review RV3 of notebooks 06-07's checks: answers that used to get a ✓ (or a vague hint) and must not."""
from __future__ import annotations

import nbformat
import pytest
import requests
from urllib3.util import Retry

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.checks.other_schemes import SIGN_CASES
from helpers.serving.tls import make_local_pki
from signing_common import run  # noqa: F401  (a fixture)
from test_checks_https_limits import GOOD
from test_checks_other_schemes import make_sign

NOTEBOOK_07 = "notebooks/07-other-schemes-and-traps.ipynb"


# -- 06 exercise 3: header names are case-insensitive (RFC 9110 §5.1), in any mix of cases ------------

def test_redact_api_key_refuses_a_redactor_that_knows_only_two_spellings(feedback):
    def two_spellings(line):
        name, colon, value = line.partition(":")
        return f"{name}: [REDACTED]" if colon and name in ("X-API-Key", "x-api-key") else line

    assert_not_yet(feedback(checks.redact_api_key, two_spellings), "Header names are case-insensitive")


@pytest.mark.parametrize("spelling", ["X-Api-Key", "X-API-KEY"])
def test_redact_api_key_refuses_a_redactor_that_misses_one_mixed_case_spelling(feedback, spelling):
    def misses(line):
        name, colon, value = line.partition(":")
        return f"{name}: [REDACTED]" if colon and name.lower() == "x-api-key" and name != spelling else line

    assert_not_yet(feedback(checks.redact_api_key, misses), "case-insensitive")


# -- 06 exercise 2: the policy must retry GET, back off for real, and retry no 4xx but 429 ------------

@pytest.mark.parametrize("changes, hint", [
    ({"allowed_methods": ["TRACE"]}, "GET is not in allowed_methods"),
    ({"allowed_methods": ["DELETE"]}, "GET is not in allowed_methods"),
    ({"backoff_max": 0.01}, "backoff_max=0.01"),
    ({"status_forcelist": range(400, 600)}, "401"),
    ({"status_forcelist": [401, 429, 503]}, "401"),
    ({"status_forcelist": [403, 429, 503]}, "403"),
])
def test_retry_policy_refuses(feedback, changes, hint):
    assert_not_yet(feedback(checks.retry_policy, Retry(**{**GOOD, **changes})), hint)


@pytest.mark.parametrize("changes", [{"allowed_methods": ["GET", "HEAD"]}, {"backoff_max": 10},
                                     {"status_forcelist": [429, 500, 502, 503, 504]}])
def test_retry_policy_still_accepts(feedback, changes):
    assert_right(feedback(checks.retry_policy, Retry(**{**GOOD, **changes})))


# -- 06 exercise 1: verify=None turns the certificate check off ---------------------------------------

def test_tls_session_verify_none_says_it_turns_checks_off(feedback, tmp_path):
    pki = make_local_pki(tmp_path)
    session = requests.Session()
    session.verify, session.cert, session.trust_env = None, pki.client_cert, False
    output = feedback(checks.tls_session, session)
    assert_not_yet(output, "session.verify = None turns certificate checks off")
    assert "PEM file" not in output


# -- 07 exercise 1 -----------------------------------------------------------------------------------

def test_exercise_1_says_how_many_requests_the_check_runs():
    words = {6: "six", 7: "seven", 8: "eight"}
    text = next(cell.source for cell in nbformat.read(NOTEBOOK_07, as_version=4).cells
                if cell.cell_type == "markdown" and "Exercise 1: a signing function" in cell.source)
    assert f"runs your function on {words[len(SIGN_CASES)]} requests" in " ".join(text.split())


def test_sign_with_a_fixed_method_is_told_to_sign_the_requests_own_method(run):
    assert_not_yet(run(checks.sign, make_sign(method=lambda request: "POST")), "the request's own method")


def test_sign_with_a_fixed_path_is_told_to_sign_the_requests_own_path(run):
    assert_not_yet(run(checks.sign, make_sign(path=lambda request: "/signed/orders")),
                   "You signed the path /signed/orders, but this request goes to /signed/orders/7")
