"""What a learner's function prints while a check runs it (feedback.run) is shown with the verdict,
unless it holds a secret: then only how much, and a "Right" becomes "Not yet" (review RV1, finding 6).

Each check family that calls run() is covered through feedback.py: basic_auth, api_keys, jwt_tokens,
oauth, https_limits, other_schemes.
"""
from __future__ import annotations

import math

from conftest import assert_not_yet, assert_right
from test_checks_basics_basic_auth import solution as retry_after_seconds  # notebook 01's solution
from helpers import checks
from helpers.practice_api import demo
from test_checks_https_limits import right_redact
from test_checks_oauth import right_next_interval
from test_checks_other_schemes import good_should_follow


def seconds_left(token_response, requested_at, now):
    expires_in = token_response.get("expires_in")
    return math.inf if expires_in is None else requested_at + expires_in - now


def next_step(response):
    status = response.status_code
    if 200 <= status < 300:
        return "ok"
    return {401: "fix-key", 403: "need-scope", 429: "slow-down"}.get(status, "error")


def printing(function, what):
    """`function`, printing what `what(*args)` gives first: a learner's debug print."""
    def printed(*args):
        print(what(*args))
        return function(*args)
    return printed


def test_a_seconds_left_that_prints_the_token_response_is_refused(feedback):
    out = feedback(checks.seconds_left, printing(seconds_left, lambda response, *_: response))
    assert_not_yet(out, "printed or logged a secret")
    assert "not shown" in out
    assert "demo-refresh-token" not in out and "8pPq0Qm7v1Jb2f5yZ" not in out


def test_a_seconds_left_that_prints_only_the_lifetime_is_right_and_shows_it(feedback):
    out = feedback(checks.seconds_left, printing(seconds_left, lambda response, *_: f"lifetime {response.get('expires_in')}"))
    assert_right(out, "expires_in")
    assert "«lifetime 300»" in out and "«lifetime None»" in out


def test_a_debug_print_is_shown_with_a_not_yet_too(feedback):
    def wrong(token_response, requested_at, now):
        print("now is", now)
        return token_response.get("expires_in")
    out = feedback(checks.seconds_left, wrong)
    assert_not_yet(out, "lifetime")
    assert "«now is 1000100.0»" in out


def test_retry_after_printing_a_demo_password_is_refused(feedback):
    out = feedback(checks.retry_after, printing(retry_after_seconds, lambda _: demo.password_of("ada")))
    assert_not_yet(out, "printed or logged a secret")
    assert demo.password_of("ada") not in out


def test_retry_after_debug_print_is_shown(feedback):
    out = feedback(checks.retry_after, printing(retry_after_seconds, lambda r: f"got {r.status_code}"))
    assert_right(out, "Retry-After")
    assert "«got 429»" in out


def test_next_step_printing_a_demo_key_is_refused(feedback):
    out = feedback(checks.next_step, printing(next_step, lambda _: demo.api_key("rw-2")))
    assert_not_yet(out, "printed or logged a secret")


def test_next_step_debug_print_is_shown(feedback):
    out = feedback(checks.next_step, printing(next_step, lambda r: f"status {r.status_code}"))
    assert_right(out, "2xx")
    assert "«status 200»" in out


def test_oauth_next_interval_debug_print_is_shown_and_a_printed_client_secret_refused(feedback):
    out = feedback(checks.next_interval, printing(right_next_interval, lambda response, interval: f"wait {interval}"))
    assert_right(out, "")
    assert "«wait" in out
    secret = str(demo.client("notes-web")["client_secret"])
    out = feedback(checks.next_interval, printing(right_next_interval, lambda *_: secret))
    assert_not_yet(out, "printed or logged a secret")


def test_https_limits_redact_printing_the_raw_line_shows_no_key(feedback):
    # The key is the check's own, handed as a plain line: hidden, though only the check could refuse it.
    out = feedback(checks.redact_api_key, printing(right_redact, lambda line: line))
    assert "not shown" in out and "practice_ro_" not in out


def test_other_schemes_should_follow_debug_print_is_shown(feedback):
    out = feedback(checks.should_follow, printing(good_should_follow, lambda old, new: "checked"))
    assert_right(out, "")
    assert "«checked»" in out


def test_a_check_without_prints_adds_nothing(feedback):
    out = feedback(checks.seconds_left, seconds_left)
    assert_right(out, "expires_in")
    assert "printed" not in out


def test_a_printed_argument_is_not_shown_even_when_no_list_of_secrets_holds_it(capsys):
    # A check may hand a password of its own (with spaces, not a demo one): printed, it is never quoted back.
    from helpers.checks import feedback as shared
    shared.run(lambda username, password: print(username, password), "charles", "<difference engine> 1822?")
    shared.right("done.")
    out = capsys.readouterr().out
    assert "may hold a secret" in out and "difference engine" not in out
