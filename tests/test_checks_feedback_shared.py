"""The pieces every check shares (helpers/checks/feedback.py): one wording for "pass the function itself",
type names with their article (viewers.a_kind: "an int", not "a int"), fake responses, and running a
learner's function with its output captured and its exceptions turned into feedback."""
from __future__ import annotations

import pytest
import requests

from conftest import assert_not_yet
from helpers import checks
from helpers.checks import feedback as shared

# (check, how its exercise passes the function, a value the function returns, so passed by mistake)
FUNCTION_CHECKS = [
    (checks.retry_after, "checks.retry_after(retry_after_seconds)", None),
    (checks.next_step, "checks.next_step(next_step)", "ok"),
    (checks.verify_token, "checks.verify_token(verify_with)", None),
    (checks.seconds_left, "checks.seconds_left(seconds_left)", None),
    (checks.pkce_pair, "checks.pkce_pair(pkce_pair)", ("verifier", "challenge")),
    (checks.exchange_code, "checks.exchange_code(exchange_code)", None),
    (checks.next_interval, "checks.next_interval(next_interval)", None),
    (checks.basic_authorization, "checks.basic_authorization(basic_authorization)", None),
    (checks.parse_challenge, "checks.parse_challenge(parse_challenge)", None),
    (checks.check_basic, "checks.check_basic(check_basic)", None),
    (checks.redact_api_key, "checks.redact_api_key(redact_api_key)", "X-API-Key: [REDACTED]"),
    (checks.sign, "checks.sign(sign)", None),
    (checks.should_follow, "checks.should_follow(should_follow)", True),
    # 07, exercise 2 takes an object made from the learner's class (an AuthBase), so its message names a signer
    (checks.sigv4_signer, "checks.sigv4_signer(SigV4Signer(AWS_KEY_ID, AWS_SECRET, REGION, SERVICE))", None),
]
IDS = [check.__name__ for check, _, _ in FUNCTION_CHECKS]
WHAT = {checks.sigv4_signer: "signer"}  # what a check takes, where that is not a function


@pytest.mark.parametrize("check, call, result", FUNCTION_CHECKS, ids=IDS)
@pytest.mark.parametrize("answer, kind", [(5, "an int"), (["a", "list"], "a list"), (object(), "an object")])
def test_every_function_check_names_what_it_got_with_its_article(feedback, check, call, result, answer, kind):
    what = WHAT.get(check, "function")
    assert feedback(check, answer) == f"✗ Not yet: pass the {what} itself: {call}, not {kind}."


@pytest.mark.parametrize("check, call, result", [case for case in FUNCTION_CHECKS if case[2] is not None],
                         ids=[check.__name__ for check, _, result in FUNCTION_CHECKS if result is not None])
def test_a_function_check_given_what_the_function_returns_says_so(feedback, check, call, result):
    assert feedback(check, result) == f"✗ Not yet: pass the function itself, not what it returns: {call}."


@pytest.mark.parametrize("check, call, result", [case for case in FUNCTION_CHECKS if case[0] not in
                                                  (checks.sign, checks.sigv4_signer)],
                         ids=[name for name in IDS if name not in ("sign", "sigv4_signer")])
def test_a_class_is_not_the_function(feedback, check, call, result):
    class Answer:
        def __init__(self, *args):
            pass

    assert feedback(check, Answer) == f"✗ Not yet: pass the function itself: {call}, not a type."


def test_the_sigv4_signer_check_asks_for_an_object_made_from_the_class(feedback):
    class SigV4Signer:
        pass

    assert feedback(checks.sigv4_signer, SigV4Signer) == (
        "✗ Not yet: that is the class SigV4Signer itself; pass an object made from it: "
        "checks.sigv4_signer(SigV4Signer(AWS_KEY_ID, AWS_SECRET, REGION, SERVICE)).")


@pytest.mark.parametrize("answer, kind", [(5, "an int"), (["a", "list"], "a list"), (object(), "an object")])
def test_scheme_calls_names_what_it_got_with_its_article(feedback, answer, kind):
    """00, exercise 3 takes a dict of answers, not a function: its own wording, the same article rule."""
    assert feedback(checks.scheme_calls, answer) == (
        f"✗ Not yet: `answers` should be a dict, provider name -> (scheme, request), not {kind}.")


@pytest.mark.parametrize("check", [checks.basic_session, checks.key_session, checks.bearer_session,
                                   checks.tls_session])
@pytest.mark.parametrize("answer, kind", [(5, "an int"), ({"auth": "x"}, "a dict")])
def test_every_session_check_names_what_it_got_with_its_article(feedback, check, answer, kind):
    assert_not_yet(feedback(check, answer), f"expected a requests.Session, got {kind}.")


@pytest.mark.parametrize("check, name", [(checks.basic_session, "session"), (checks.key_session, "session"),
                                         (checks.bearer_session, "bearer"), (checks.tls_session, "session")])
def test_every_session_check_tells_the_class_from_a_session(feedback, check, name):
    assert feedback(check, requests.Session) == (f"✗ Not yet: that is the class itself. Call it: "
                                                 f"{name} = requests.Session().")


def test_retry_policy_names_what_it_got_with_its_article(feedback):
    assert_not_yet(feedback(checks.retry_policy, object()), "expected a urllib3.util.Retry, got an object.")


def test_fake_response_carries_the_reason_and_a_json_body():
    response = shared.fake_response(403, {"X-Test": "1"}, json={"error": "insufficient_scope"})
    assert (response.status_code, response.reason, response.ok) == (403, "Forbidden", False)
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": "insufficient_scope"}
    assert shared.fake_response(204).content == b""
    assert shared.fake_response(502, text="<html></html>").text == "<html></html>"


def test_run_captures_what_the_function_prints_and_keeps_what_it_raised(capsys):
    def noisy(value):
        print("secret", value)
        raise KeyError(value)

    outcome = shared.run(noisy, "x")
    assert isinstance(outcome.error, KeyError) and outcome.value is None
    assert outcome.printed == "secret x\n"
    assert capsys.readouterr() == ("", "")
    assert shared.run(len, "abc") == shared.Outcome(3, None, "")


def test_one_line_masks_and_shortens():
    error = ValueError("line one\n  line two with hunter2 " + "x" * 300)
    text = shared.one_line(error, ["hunter2"])
    assert text.startswith("line one line two with ••••••••") and text.endswith("…")
    assert len(text) == 161
