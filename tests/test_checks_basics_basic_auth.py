"""Notebook 01's checks against plausible wrong and insecure answers, next to the right ones.

Retry-After (RFC 9110 §10.2.3) is delay-seconds (digits only) or an HTTP-date; anything else
says nothing usable, and the function returns None so that the caller waits its own default.
0.0 would mean "retry at once", the very thing a 429 asks a client not to do."""
from __future__ import annotations

import email.utils
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.practice_api import demo
from helpers.checks.feedback import fake_response

ADA = ("ada", demo.password_of("ada"))


# -- retry_after (exercise 3) ------------------------------------------------------------------

def solution(response):
    """The notebook's solution."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def at(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize("value, expected", [
    ("30", 30.0), ("0", 0.0), (" 30 ", 30.0), (lambda: at(30), 30.0), (lambda: at(-3600), 0.0),
    (lambda: time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(time.time() + 60)), 60.0),
    ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0), ("99999999999999", 99999999999999.0),
    (None, None), ("", None), ("soon", None), ("-30", None), ("+30", None), ("nan", None), ("inf", None),
    ("1e3", None), ("٣٠", None), ("Mon, 32 Jan 2026 00:00:00 GMT", None),
], ids=["seconds", "zero", "spaces", "date", "past-date", "asctime", "rfc850-past", "huge", "missing", "empty",
        "junk", "negative", "plus-sign", "nan", "inf", "exponent", "arabic-digits", "impossible-date"])
def test_the_solution_reads_each_form(value, expected):
    value = value() if callable(value) else value  # dates are made when the test runs, not when it is collected
    got = solution(fake_response(429, {} if value is None else {"Retry-After": value}))
    assert got == expected if expected is None or expected == 0 else abs(got - expected) <= 2, (value, got)


def test_the_solution_is_accepted(feedback):
    assert_right(feedback(checks.retry_after, solution), "None when the header is missing or unreadable")


def zero_when_unreadable(response):
    """Today's published solution: an unreadable value gives 0.0, 'retry at once'."""
    got = solution(response)
    return 0.0 if got is None else got


def max_zero_of_float(response):
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return solution(response)


def float_first(response):
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return solution(response)


def via_a_datetime(response):
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        now = datetime.now(timezone.utc)
        return (now + timedelta(seconds=int(value)) - now).total_seconds()
    return solution(response)


def caps_itself(response):
    got = solution(response)
    return None if got is None else min(got, 120.0)


def default_one_second(response):
    got = solution(response)
    return 1.0 if got is None else got


def raises_on_junk(response):
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    if value.isdigit():
        return float(value)
    moment = email.utils.parsedate_to_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def naive_asctime(response):
    value = response.headers.get("Retry-After", "")
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except ValueError:
        return None
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def float_of_what_is_not_a_date(response):
    """Reads delay-seconds with float(): '1.5', '1e3' and 'infinity' pass as seconds."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return solution(response)
    return seconds if seconds >= 0 and seconds == seconds else None


def digits_in_any_script(response):
    """str.isdigit() without str.isascii(): '²' and '３０' are digits to it, and float() raises on '²'."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    return solution(response)


WRONG = [  # (function, the hint the check must give)
    (zero_when_unreadable, "returned 0.0, which means 'retry at once'"),
    (max_zero_of_float, "'Retry-After: -30', which is not delay-seconds"),
    (float_first, "'Retry-After: -30'"),
    (via_a_datetime, "raised OverflowError"),
    (caps_itself, "the caller caps the wait (max_wait)"),
    (default_one_second, "it returned 1.0. That is not a Retry-After value"),
    (raises_on_junk, "should give None, not an exception"),
    (naive_asctime, "tzinfo=timezone.utc"),
    (float_of_what_is_not_a_date, "'Retry-After: 1.5'"),
    (digits_in_any_script, "'Retry-After: ²'"),
]


@pytest.mark.parametrize("function, hint", WRONG, ids=[function.__name__ for function, _ in WRONG])
def test_wrong_readings_are_refused(feedback, function, hint):
    assert_not_yet(feedback(checks.retry_after, function), hint)


def test_nan_is_refused(feedback):
    def nan_passes(response):
        value = response.headers.get("Retry-After", "")
        return float(value) if value in ("nan", "inf") else solution(response)

    assert_not_yet(feedback(checks.retry_after, nan_passes), "'Retry-After: nan', which float() reads as a number")


def test_messages_never_depend_on_the_python_version(feedback):
    """The hint for a naive datetime comes from the case, not from TypeError's wording."""
    def raises_own_type_error(response):
        if "Retry-After" in response.headers and ":" in response.headers["Retry-After"] \
                and "," not in response.headers["Retry-After"]:
            raise TypeError("something else entirely")
        return solution(response)

    assert_not_yet(feedback(checks.retry_after, raises_own_type_error), "tzinfo=timezone.utc")


# -- basic_session (exercise 1) ----------------------------------------------------------------

def test_session_without_certificate_checks_is_refused(feedback):
    session = requests.Session()
    session.auth = ADA
    session.verify = False
    assert_not_yet(feedback(checks.basic_session, session), "session.verify = False")


@pytest.mark.parametrize("params", [{"password": ADA[1]}, {"user": "ada", "pwd": "x"}, [("p", ADA[1])]])
def test_session_with_credentials_in_the_url_is_refused(feedback, params):
    session = requests.Session()
    session.auth = ADA
    session.params = params
    assert_not_yet(feedback(checks.basic_session, session), "session.params puts the credentials in the URL")


def test_session_with_a_ca_bundle_is_accepted(feedback, tmp_path):
    session = requests.Session()
    session.auth = ADA
    session.verify = str(tmp_path / "company-ca.pem")
    assert_right(feedback(checks.basic_session, session))


@pytest.mark.parametrize("value", ["1.5", "1e3", "²", "３０", "+30", " 30 "[1:] + "s"])
def test_the_solution_reads_what_is_not_delay_seconds_as_none(value):
    """delay-seconds = 1*DIGIT (RFC 9110 §10.2.3), ASCII digits: anything else here is no number of seconds."""
    assert solution(fake_response(429, {"Retry-After": value})) is None


def test_superscript_two_is_explained_not_a_traceback(feedback):
    output = feedback(checks.retry_after, digits_in_any_script)
    assert_not_yet(output, "raised ValueError")
    assert "value.isascii()" in output


@pytest.mark.parametrize("verify", [0, "", None], ids=["zero", "empty-string", "none"])
def test_session_with_any_false_verify_is_refused(feedback, verify):
    """requests turns the certificate check off for any false value; session.verify = None too."""
    session = requests.Session()
    session.auth = ADA
    session.verify = verify
    assert_not_yet(feedback(checks.basic_session, session), f"session.verify = {verify!r} turns off")


class Basic(requests.auth.HTTPBasicAuth):
    """ada's credentials, in a class of the learner's."""

    def __init__(self) -> None:
        super().__init__(*ADA)


def test_session_whose_auth_prints_the_password_is_refused(feedback):
    class Chatty(Basic):
        def __call__(self, request):
            print("logging in as", self.username, self.password)
            return super().__call__(request)

    session = requests.Session()
    session.auth = Chatty()
    assert_not_yet(feedback(checks.basic_session, session), "printed or logged ada's password")


def test_session_whose_auth_prints_the_header_is_refused(feedback):
    class Chatty(Basic):
        def __call__(self, request):
            request = super().__call__(request)
            print(request.headers["Authorization"])
            return request

    session = requests.Session()
    session.auth = Chatty()
    assert_not_yet(feedback(checks.basic_session, session), "printed or logged ada's password")


def test_session_whose_auth_logs_the_password_is_refused(feedback, capsys):
    """A logging handler keeps the stream it was given: redirecting sys.stderr alone does not catch it."""
    import logging
    import sys

    handler = logging.StreamHandler(sys.__stderr__)
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    class Logs(Basic):
        def __call__(self, request):
            logging.getLogger("learner").info("using %s:%s", self.username, self.password)
            return super().__call__(request)

    session = requests.Session()
    session.auth = Logs()
    try:
        assert_not_yet(feedback(checks.basic_session, session), "printed or logged ada's password")
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
    assert root.handlers.count(handler) == 0 and logging.getLogger("learner").handlers == []


def test_session_whose_auth_shows_the_password_in_its_repr_gets_a_warning(feedback):
    class Shows(Basic):
        def __repr__(self):
            return f"Shows({self.username!r}, {self.password!r})"

    session = requests.Session()
    session.auth = Shows()
    output = feedback(checks.basic_session, session)
    assert_right(output, "repr(session.auth) shows the password")


def test_session_with_the_tuple_gets_no_repr_warning(feedback):
    """The tuple is the exercise's answer: requests keeps it as it is, and the check does not nag about it."""
    session = requests.Session()
    session.auth = ADA
    assert "repr" not in feedback(checks.basic_session, session)
