"""`helpers.checks`: right answers get "✓ Right", typical wrong answers get "✗ Not yet" and
the specific hint, and the untouched `...` placeholder gets its own nudge. Checks never raise."""
from __future__ import annotations

import base64
import email.utils
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.practice_api import demo

TIMEOUT = 5
ADA = ("ada", demo.password_of("ada"))
GRACE = ("grace", demo.password_of("grace"))
PLACEHOLDER_HINT = "replace the `...` in the cell"


def token_for(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")


# -- placeholders (every check) ---------------------------------------------------------

@pytest.mark.parametrize("check", [checks.unauthenticated_call, checks.challenge_realm, checks.basic_session,
                                   checks.basic_header, checks.retry_after])
@pytest.mark.parametrize("answer", [..., None])
def test_placeholder(feedback, check, answer):
    assert_not_yet(feedback(check, answer), PLACEHOLDER_HINT)


# -- unauthenticated_call ----------------------------------------------------------------

def test_unauthenticated_call_right(feedback, http, api):
    response = http.get(api.url("/basic/whoami"), timeout=TIMEOUT)
    output = feedback(checks.unauthenticated_call, response)
    assert_right(output, "401 Unauthorized")
    assert 'WWW-Authenticate: Basic realm="practice", charset="UTF-8"' in output


@pytest.mark.parametrize("auth", [ADA, ("ada", "wrong")])
def test_unauthenticated_call_with_credentials(feedback, http, api, auth):
    response = http.get(api.url("/basic/whoami"), auth=auth, timeout=TIMEOUT)
    assert_not_yet(feedback(checks.unauthenticated_call, response), "carried an Authorization header")


def test_unauthenticated_call_wrong_path(feedback, http, api):
    response = http.get(api.url("/basic/whoiam"), timeout=TIMEOUT)
    output = feedback(checks.unauthenticated_call, response)
    assert_not_yet(output, "404: no endpoint at https://api.practice.test/basic/whoiam")
    assert "The path is /basic/whoami" in output


def test_unauthenticated_call_wrong_method(feedback, http, api):
    response = http.post(api.url("/basic/whoami"), timeout=TIMEOUT)
    assert_not_yet(feedback(checks.unauthenticated_call, response), "expected 401 Unauthorized, got 405")


def test_unauthenticated_call_index_instead(feedback, http, api):
    response = http.get(api.url("/"), timeout=TIMEOUT)
    assert_not_yet(feedback(checks.unauthenticated_call, response), "expected 401 Unauthorized, got 200")


@pytest.mark.parametrize("answer, kind", [(401, "an int"), ({"error": "missing_credentials"}, "a dict"),
                                          ("https://api.practice.test/basic/whoami", "a str")])
def test_unauthenticated_call_not_a_response(feedback, answer, kind):
    output = feedback(checks.unauthenticated_call, answer)
    assert_not_yet(output, "should hold what requests.get(...) returns")
    assert output.endswith(f"not {kind}."), output


# -- challenge_realm ---------------------------------------------------------------------

def test_challenge_realm_right_from_real_header(feedback, http, api):
    header = http.get(api.url("/basic/whoami"), timeout=TIMEOUT).headers["WWW-Authenticate"]
    realm = re.search(r'realm="([^"]*)"', header).group(1)
    assert_right(feedback(checks.challenge_realm, realm), "the realm is 'practice'")


@pytest.mark.parametrize("answer", ['Basic realm="practice", charset="UTF-8"', 'basic realm="practice"'])
def test_challenge_realm_whole_header(feedback, answer):
    assert_not_yet(feedback(checks.challenge_realm, answer), "that is the whole header")


@pytest.mark.parametrize("answer", ['"practice"', '"practice'])
def test_challenge_realm_with_quotes(feedback, answer):
    assert_not_yet(feedback(checks.challenge_realm, answer), "drop the quotes")


@pytest.mark.parametrize("answer, hint", [
    ('realm="practice"', "keep only the value after realm="),
    ("realm=practice", "keep only the value after realm="),
    ('practice", charset="UTF-8', "runs into the next parameter"),
    (" practice", "whitespace"),
])
def test_challenge_realm_near_misses(feedback, answer, hint):
    assert_not_yet(feedback(checks.challenge_realm, answer), hint)


def test_basic_session_auth_as_one_string(feedback):
    session = requests.Session()
    session.auth = "ada:analytical:engine:1843"
    assert_not_yet(feedback(checks.basic_session, session), "takes a (user, password) tuple")


@pytest.mark.parametrize("answer, hint", [
    ("Authorization: Basic " + base64.b64encode(b"ada:analytical:engine:1843").decode(), "drop the 'Authorization: '"),
    ("Basic " + base64.encodebytes(b"ada:analytical:engine:1843").decode(), "encodebytes"),
    ("Basic  " + base64.b64encode(b"ada:analytical:engine:1843").decode(), "exactly one space"),
])
def test_basic_header_formatting_slips(feedback, answer, hint):
    assert_not_yet(feedback(checks.basic_header, answer), hint)


@pytest.mark.parametrize("answer", ["UTF-8", "Practice", "realm"])
def test_challenge_realm_wrong_value(feedback, answer):
    output = feedback(checks.challenge_realm, answer)
    assert_not_yet(output, f"{answer!r} is not the realm")
    assert "response.headers['WWW-Authenticate']" in output


@pytest.mark.parametrize("answer, name", [(b"practice", "bytes"), (["practice"], "list")])
def test_challenge_realm_not_a_str(feedback, answer, name):
    assert_not_yet(feedback(checks.challenge_realm, answer), f"should be a str, not a {name}")


# -- basic_session -------------------------------------------------------------------------

@pytest.mark.parametrize("auth", [ADA, requests.auth.HTTPBasicAuth(*ADA), (b"ada", ADA[1].encode("utf-8"))])
def test_basic_session_right(feedback, api, auth):
    session = requests.Session()
    session.auth = auth
    assert_right(feedback(checks.basic_session, session), "ada's Basic credentials")
    session.trust_env = False
    assert session.get(api.url("/basic/whoami"), timeout=TIMEOUT).json() == {"username": "ada", "scheme": "Basic"}


@pytest.mark.parametrize("answer", [requests.Session, requests.session])
def test_basic_session_uncalled_factory(feedback, answer):
    assert_not_yet(feedback(checks.basic_session, answer), "Call it: session = requests.Session()")


def test_basic_session_auth_token_attribute(feedback):
    session = requests.Session()
    session.auth_token = token_for(*ADA)  # the internet's favourite mistake: does nothing
    assert_not_yet(feedback(checks.basic_session, session), "requests ignores `session.auth_token`")


def test_basic_session_header_by_hand(feedback):
    session = requests.Session()
    session.headers["Authorization"] = "Basic " + token_for(*ADA)
    output = feedback(checks.basic_session, session)
    assert_not_yet(output, "~/.netrc entry silently replaces it")
    assert "session.auth = (username, password)" in output


def test_basic_session_without_auth(feedback):
    assert_not_yet(feedback(checks.basic_session, requests.Session()), "session.auth is not set")


def test_basic_session_wrong_user(feedback):
    session = requests.Session()
    session.auth = ("grace", ADA[1])
    assert_not_yet(feedback(checks.basic_session, session), "the user name is 'grace'; this exercise uses 'ada'")


def test_basic_session_wrong_password(feedback):
    session = requests.Session()
    session.auth = ("ada", "analytical-engine-1843")
    assert_not_yet(feedback(checks.basic_session, session), "password is not ada's")


def test_basic_session_non_basic_auth(feedback):
    def bearer(request):
        request.headers["Authorization"] = "Bearer abc"
        return request

    session = requests.Session()
    session.auth = bearer
    assert_not_yet(feedback(checks.basic_session, session), "does not produce a Basic Authorization header")


def test_basic_session_auth_that_raises(feedback):
    session = requests.Session()
    session.auth = ("grace", GRACE[1])  # str with "€": requests' Latin-1 encoding fails
    output = feedback(checks.basic_session, session)
    assert_not_yet(output, "session.auth raised UnicodeEncodeError")


def test_basic_session_not_a_session(feedback):
    assert_not_yet(feedback(checks.basic_session, ADA), "expected a requests.Session, got a tuple")


# -- basic_header --------------------------------------------------------------------------

def test_basic_header_right(feedback, http, api):
    value = "Basic " + base64.b64encode(f"{ADA[0]}:{ADA[1]}".encode("utf-8")).decode("ascii")
    assert_right(feedback(checks.basic_header, value), "exactly the header requests builds")
    # ... and it really is what requests builds, and what the API accepts
    prepared = requests.Request("GET", api.url("/basic/whoami"), auth=ADA).prepare()
    assert prepared.headers["Authorization"] == value
    response = http.get(api.url("/basic/whoami"), headers={"Authorization": value}, timeout=TIMEOUT)
    assert response.status_code == 200


def test_basic_header_bytes(feedback):
    answer = base64.b64encode(f"{ADA[0]}:{ADA[1]}".encode("utf-8"))
    assert_not_yet(feedback(checks.basic_header, answer), "add .decode('ascii') after b64encode(...)")


def test_basic_header_bytes_repr_in_fstring(feedback):
    answer = f"Basic {base64.b64encode(f'{ADA[0]}:{ADA[1]}'.encode('utf-8'))}"
    assert answer.startswith("Basic b'")
    assert_not_yet(feedback(checks.basic_header, answer), "still shows its b'...' wrapper")


def test_basic_header_without_scheme(feedback):
    assert_not_yet(feedback(checks.basic_header, token_for(*ADA)), "now put the scheme in front: f'Basic {token}'")


def test_basic_header_wrong_scheme(feedback):
    assert_not_yet(feedback(checks.basic_header, "Bearer " + token_for(*ADA)), "f'Basic {token}'")


def test_basic_header_lower_case_scheme_hint_is_not_false(feedback):
    """Auth-scheme names are case-insensitive (RFC 9110 §11.1): "basic <right token>" is right."""
    output = feedback(checks.basic_header, "basic " + token_for(*ADA))
    assert output.startswith("✓ Right"), output


@pytest.mark.parametrize("text", ["ada", "ada analytical-engine"])
def test_basic_header_no_colon(feedback, text):
    answer = "Basic " + base64.b64encode(text.encode("utf-8")).decode("ascii")
    assert_not_yet(feedback(checks.basic_header, answer), "the decoded text has no ':'")


def test_basic_header_separator_forgotten(feedback):
    # ada's password has colons of its own, so "ada" + password still decodes with a ':';
    # the check recognises the missing separator anyway
    answer = "Basic " + base64.b64encode(f"{ADA[0]}{ADA[1]}".encode("utf-8")).decode("ascii")
    assert_not_yet(feedback(checks.basic_header, answer), "no ':'")


@pytest.mark.parametrize("user, password", [("ada", "analytical-engine-1843"), GRACE, ("Ada", ADA[1])])
def test_basic_header_wrong_credentials(feedback, user, password):
    assert_not_yet(feedback(checks.basic_header, "Basic " + token_for(user, password)),
                   "decodes to the wrong user name or password")


@pytest.mark.parametrize("answer", [f"Basic {ADA[0]}:{ADA[1]}", "Basic not*base64",
                                    "Basic " + base64.b64encode("ada:Grüße".encode("latin-1")).decode()])
def test_basic_header_not_base64_of_utf8(feedback, answer):
    assert_not_yet(feedback(checks.basic_header, answer), "is not base64 of 'user:password'")


def test_basic_header_not_a_str(feedback):
    assert_not_yet(feedback(checks.basic_header, ADA), "expected a str, got a tuple")


# -- retry_after ----------------------------------------------------------------------------

def reference_retry_after(response: requests.Response) -> float | None:
    """Seconds to wait: Retry-After is delay-seconds or an HTTP-date (RFC 9110 §10.2.3); None for anything else."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # missing or unreadable: the caller waits its own default, never 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # HTTP dates are UTC (RFC 9110 §5.6.7)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def returns_raw_string(response):
    return response.headers.get("Retry-After", "0")


def crashes_on_dates(response):
    return float(response.headers.get("Retry-After", 0))


def negative_for_past_dates(response):
    value = response.headers.get("Retry-After")
    if value is None:
        return 0.0
    if value.isdigit():
        return float(value)
    return (email.utils.parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()


def zero_when_missing(response):
    value = response.headers.get("Retry-After")
    return reference_retry_after(response) if value is not None else 0.0


def ignores_dates(response):
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else 0.0


def forgets_total_seconds(response):
    value = response.headers.get("Retry-After")
    if value is None:
        return 0.0
    if value.isdigit():
        return float(value)
    return max(timedelta(0), email.utils.parsedate_to_datetime(value) - datetime.now(timezone.utc))


def test_reference_retry_after_is_right_against_the_real_429(http, api):
    for _ in range(5):
        http.get(api.url("/basic/whoami"), auth=("ada", "wrong"), timeout=TIMEOUT)
    locked = http.get(api.url("/basic/whoami"), auth=ADA, timeout=TIMEOUT)
    assert locked.status_code == 429
    assert reference_retry_after(locked) == float(locked.headers["Retry-After"]) == 60.0


def test_retry_after_right(feedback):
    assert_right(feedback(checks.retry_after, reference_retry_after), "both forms of Retry-After")


def test_retry_after_raw_string(feedback):
    output = feedback(checks.retry_after, returns_raw_string)
    assert_not_yet(output, "it returned '30'; return a number of seconds (a float)")
    assert "'Retry-After: 30'" in output


def test_retry_after_crashes_on_dates(feedback):
    output = feedback(checks.retry_after, crashes_on_dates)
    assert_not_yet(output, "your function raised ValueError")
    assert "HTTP date 30 s from now" in output
    assert "email.utils.parsedate_to_datetime" in output


def test_retry_after_negative_for_past_dates(feedback):
    output = feedback(checks.retry_after, negative_for_past_dates)
    assert_not_yet(output, "for a 429 with an HTTP date in the past")
    assert "expected about 0.0" in output and "Never return a negative wait." in output


def test_retry_after_zero_when_missing(feedback):
    output = feedback(checks.retry_after, zero_when_missing)
    assert_not_yet(output, "for a 429 without Retry-After, it returned 0.0, which means 'retry at once'")


def test_retry_after_ignores_dates(feedback):
    output = feedback(checks.retry_after, ignores_dates)
    assert_not_yet(output, "HTTP date 30 s from now")
    assert "it returned 0.0; expected about 30.0." in output
    assert "negative" not in output


def test_retry_after_result_instead_of_function(feedback):
    assert_not_yet(feedback(checks.retry_after, 30.0), "pass the function itself")


def test_retry_after_timedelta_is_feedback_not_a_crash(feedback):
    """Returning a timedelta (forgetting .total_seconds()) gets feedback, not a TypeError."""
    try:
        output = feedback(checks.retry_after, forgets_total_seconds)
    except TypeError as error:
        pytest.fail(f"checks.retry_after raised at the learner: {type(error).__name__}: {error}")
    assert_not_yet(output, "HTTP date 30 s from now")
    assert "it returned a timedelta" in output and ".total_seconds()" in output


def naive_local_time(response):
    """Handles RFC 1123 dates but not the asctime form, which parses without a timezone."""
    value = response.headers.get("Retry-After", "")
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except ValueError:
        return 0.0
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def key_error_when_missing(response):
    """Right for every present header; indexes the header without .get()."""
    value = response.headers["Retry-After"]
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def test_retry_after_naive_datetime_gets_the_timezone_hint(feedback):
    output = feedback(checks.retry_after, naive_local_time)
    assert_not_yet(output, "asctime date form")
    assert "timezone.utc" in output


def test_retry_after_key_error_gets_the_get_hint(feedback):
    output = feedback(checks.retry_after, key_error_when_missing)
    assert_not_yet(output, "without Retry-After, your function raised KeyError")
    assert "response.headers.get('Retry-After')" in output
