"""Checks for notebook 01, Basic auth."""
from __future__ import annotations

import base64
import binascii
import datetime
import email.utils
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from helpers.practice_api import demo
from helpers.checks.feedback import (MASK, PRACTICE_URL, credentials_in_url, fake_response, holds_secret, local_time,
                                     not_a_function, not_yet, output_captured, placeholder, query_pairs, raised,
                                     right, run, safe_repr, session_not_made, session_verify_problem, url_of)
from helpers.viewers import a_kind


# requests turns a URL's user:password@ into an Authorization header and sends only the path: the server's log
# never sees the password. The URL keeps it, though, and every copy of the URL shows it.
USERINFO = ("the credentials are in the URL (user:password@). requests sends them in an Authorization header and "
            "puts only the path on the request line, but the URL keeps the password: response.url, "
            "raise_for_status() messages, "
            "tracebacks and your own logs show it. Pass a session that sends the credentials in the Authorization "
            "header instead: session = requests.Session(); session.auth = (username, password).")


def basic_session(session: Any) -> None:
    """01, exercise 1: a Session that sends ada's Basic credentials on every request."""
    if placeholder(session) or session_not_made(session):
        return
    if not isinstance(session, requests.Session):
        url = url_of(session)
        if url and credentials_in_url(url):
            return not_yet(USERINFO)
        if _in_url(url):
            return not_yet("the credentials are in the URL. URLs end up in server logs and browser history. Pass a "
                           "session that sends them in the Authorization header instead: "
                           "session = requests.Session(); session.auth = (username, password).")
        return not_yet(f"expected a requests.Session, got {a_kind(session)}.")
    if getattr(session, "auth_token", None) is not None:
        return not_yet("requests ignores `session.auth_token`: it is just a new attribute. Set `session.auth`.")
    if _in_params(session.params) and session.auth is not None:  # the header is right: the URL still leaks
        return not_yet("session.params puts the credentials in the URL of every request, and URLs end up in "
                       "logs. session.auth already sends them in the Authorization header: remove session.params.")
    if _in_params(session.params):
        return not_yet("session.params puts the credentials in the URL of every request, and URLs end up in "
                       "logs. Set session.auth = (username, password), which sends them in the Authorization header.")
    if session.auth is None:
        if "Authorization" in session.headers:
            return not_yet("a header set by hand works until a ~/.netrc entry silently replaces it. "
                            "Set session.auth = (username, password) instead.")
        return not_yet("session.auth is not set. Set session.auth = (username, password): every request then "
                       "carries the credentials in the Authorization header, not in a URL, which server logs and "
                       "browser history keep.")
    problem = session_verify_problem(session.verify, "ada's password")
    if problem:
        return not_yet(problem)
    if isinstance(session.auth, str):
        return not_yet("session.auth takes a (user, password) tuple, not one string: session.auth = (USERNAME, PASSWORD).")
    prepared = requests.PreparedRequest()
    try:
        with output_captured() as printed:
            prepared.prepare(method="GET", url=PRACTICE_URL + "/basic/whoami", auth=session.auth)
    except Exception as error:  # the learner's auth object failed: report it, do not crash
        return not_yet(f"session.auth raised {type(error).__name__}: {_hidden(str(error))}")
    if holds_secret(printed.getvalue(), _ada_secrets()):  # URL-encoded, hex, base64 ... too
        return not_yet("your auth object printed or logged ada's password (or the base64 that carries it). "
                       "Whatever a cell prints is saved in the notebook, and in a program it lands in logs: "
                       "never print or log a password.")
    header = prepared.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return not_yet("session.auth does not produce a Basic Authorization header.")
    username, _, password = base64.b64decode(header[6:]).decode("utf-8", "replace").partition(":")
    if username != "ada":
        return not_yet(f"the user name is {username!r}; this exercise uses 'ada'.")
    if password != demo.password_of("ada"):
        return not_yet("the user name is right but the password is not ada's (PASSWORD, from section 1).")
    message = "every request made with this session carries ada's Basic credentials."
    if not isinstance(session.auth, tuple) and _shows_ada(safe_repr(session.auth)):
        message += (" One more thing: repr(session.auth) shows the password, so displaying it would save the "
                    "password in the notebook. Give your class a __repr__ that hides it.")
    right(message)


def _ada_secrets() -> list[str]:
    """ada's password and the base64 forms that carry it: never to be printed."""
    password = demo.password_of("ada")
    token = base64.b64encode(f"ada:{password}".encode("utf-8")).decode("ascii")
    return [password, token, token.rstrip("=")]


def _shows_ada(text: str) -> bool:
    return any(secret in text for secret in _ada_secrets())


def _hidden(text: str) -> str:
    """`text` with ada's secrets masked, for a message that quotes an error."""
    for secret in _ada_secrets():
        text = text.replace(secret, MASK)
    return text[:200]


def _in_params(params: Any) -> bool:
    """True when session.params holds ada's password (or the base64 that carries it), or a password-like parameter."""
    return any(_shows_ada(value) or name.lower() in ("password", "passwd", "pass", "pwd")
               for name, value in query_pairs(params))


def _in_url(url: str) -> bool:
    """True when `url` carries credentials: a user:password@ part, or a password in its query string."""
    return bool(url) and (credentials_in_url(url) or _in_params(urlsplit(url).query))


def basic_header(value: Any) -> None:
    """01, exercise 2: the Authorization header value for ada, built by hand."""
    if placeholder(value):
        return
    if isinstance(value, bytes):
        return not_yet("that is bytes. Header values are str: add .decode('ascii') after b64encode(...).")
    if not isinstance(value, str):
        return not_yet(f"expected a str, got {a_kind(value)}.")
    if value.startswith(("Basic b'", 'Basic b"')):
        return not_yet("the base64 part still shows its b'...' wrapper: decode the bytes with "
                        ".decode('ascii') before putting them in the f-string.")
    if value.lower().startswith("authorization:"):
        return not_yet("only the header's value: drop the 'Authorization: ' in front.")
    if value != value.strip():
        return not_yet("there is whitespace at an end, often the newline that base64.encodebytes() adds. "
                       "Use base64.b64encode(), which adds none.")
    if "  " in value:
        return not_yet("exactly one space goes between 'Basic' and the base64 text.")
    scheme, _, token = value.partition(" ")
    if not token:
        scheme, token = "", value
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return not_yet("the part after 'Basic ' is not base64 of 'user:password'.")
    expected = f"ada:{demo.password_of('ada')}"
    if decoded != expected:
        if ":" not in decoded or decoded == expected.replace(":", "", 1):
            return not_yet("the decoded text has no ':'. Encode f'{username}:{password}', colon included.")
        return not_yet("the base64 decodes to the wrong user name or password. Encode exactly "
                        "f'{username}:{password}' for ada.")
    if not scheme:
        return not_yet("the base64 part is right; now put the scheme in front: f'Basic {token}'.")
    if scheme.lower() != "basic":
        return not_yet(f"the base64 part is right, but the scheme is {scheme!r}. Basic credentials "
                        "follow the scheme 'Basic': f'Basic {token}'.")
    if scheme != "Basic":
        return right("servers must accept any case of 'basic' (RFC 9110 §11.1); requests writes 'Basic'.")
    right("that is exactly the header requests builds from auth=(username, password).")


UNREADABLE = ("the server said nothing you can use, so return None and let the caller choose its own wait "
              "(default_wait in section 8). 0.0 would tell it to retry at once, which is what a 429 asks "
              "a client not to do.")


def retry_after(function: Any) -> None:
    """01, exercise 3: Retry-After in both of its forms (RFC 9110 §10.2.3), and None when it says nothing usable.

    delay-seconds is digits only (so never negative); an HTTP-date may be in any of the three
    forms of RFC 9110 §5.6.7. Anything else is not a Retry-After value: the caller falls back to
    its own wait. A huge value is returned as it is; capping it is the caller's job (max_wait).
    """
    if placeholder(function) or not_a_function(function, "checks.retry_after(retry_after_seconds)"):
        return
    in_30_s = email.utils.formatdate(time.time() + 30, usegmt=True)
    in_60_s_asctime = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(time.time() + 60))
    huge = "99999999999999"  # three million years
    cases = [  # (headers, expected seconds or None, described, hint when it raised)
        ({"Retry-After": "30"}, 30.0, "a 429 with 'Retry-After: 30'", ""),
        ({"Retry-After": in_30_s}, 30.0, f"a 429 with an HTTP date 30 s from now ('{in_30_s}')",
         " Digits are seconds; anything else may be a date: email.utils.parsedate_to_datetime()."),
        ({"Retry-After": "Thu, 01 Jan 2015 00:00:00 GMT"}, 0.0, "a 429 with an HTTP date in the past", ""),
        ({"Retry-After": in_60_s_asctime}, 60.0,
         f"a 429 with the old asctime date form, 60 s from now ('{in_60_s_asctime}', RFC 9110 §5.6.7)",
         " That date has no timezone, so parsedate_to_datetime() gives a naive datetime: add "
         "tzinfo=timezone.utc (HTTP dates are always UTC), then compare with datetime.now(timezone.utc)."),
        ({"Retry-After": "Sunday, 06-Nov-94 08:49:37 GMT"}, 0.0,
         "a 429 with the obsolete RFC 850 date form, in the past ('Sunday, 06-Nov-94 08:49:37 GMT')", ""),
        ({"Retry-After": huge}, float(huge), f"a 429 with a huge 'Retry-After: {huge}'",
         " Return the seconds as a float, without turning them into a date."),
        ({}, None, "a 429 without Retry-After", " The header may be missing: response.headers.get('Retry-After')."),
        ({"Retry-After": "soon"}, None, "a 429 with an unreadable 'Retry-After: soon'", ""),
        ({"Retry-After": "-30"}, None, "a 429 with 'Retry-After: -30', which is not delay-seconds (digits only)", ""),
        ({"Retry-After": "nan"}, None, "a 429 with 'Retry-After: nan', which float() reads as a number", ""),
        ({"Retry-After": "1.5"}, None, "a 429 with 'Retry-After: 1.5': delay-seconds is digits only, so this is "
         "not a number of seconds, though float() reads it", ""),
        ({"Retry-After": "1e3"}, None, "a 429 with 'Retry-After: 1e3', which float() reads as 1000 but "
         "delay-seconds (digits only) does not", ""),
        ({"Retry-After": "²"}, None, "a 429 with 'Retry-After: ²', a digit to str.isdigit() but not an ASCII one",
         " str.isdigit() says True for '²' and '３', which float() and int() refuse or misread: "
         "test value.isascii() and value.isdigit()."),
        ({"Retry-After": "３０"}, None, "a 429 with 'Retry-After: ３０' (full-width digits), which re's \\d, int() and "
         "float() all read as 30, but delay-seconds is ASCII digits only (RFC 9110 §10.2.3: 1*DIGIT, RFC 5234 "
         "§B.1: 0-9)", " Test value.isascii() and value.isdigit()."),
    ]
    runs = []  # (on summer time, outcomes): a zone on standard time first, so that a failure on summer time
    for zone in LOCAL_ZONES:  # after a pass on standard time is known to be that (an HTTP date is UTC)
        with local_time(zone):
            runs.append((time.localtime().tm_isdst > 0, [run(function, fake_response(429, h)) for h, *_ in cases]))
    passed_on_standard_time = False
    for summer, outcomes in sorted(runs, key=lambda item: item[0]):
        for (headers, expected, described, raised_hint), outcome in zip(cases, outcomes):
            if outcome.error:
                hint = raised_hint or (" A value you cannot read should give None, not an exception: " + UNREADABLE)
                return not_yet(raised(described, outcome.error, hint))
            problem = _wait_problem(outcome.value, expected)
            if problem and summer and passed_on_standard_time:
                problem += SUMMER_HINT
            if problem:
                return not_yet(f"for {described}, {problem}")
        passed_on_standard_time = passed_on_standard_time or not summer
    right("both forms of Retry-After, dates in the past, and None when the header is missing or unreadable, "
          "so that the caller waits its own default instead of retrying at once.")


NOT_UTC = "EST+05EDT,M3.2.0,M11.1.0"  # New York's rules, POSIX form: needs no tz database
# The same offsets with the seasons of the southern hemisphere: summer time from October 1 to March 31.
# time.mktime() - time.timezone is right only on standard time (time.timezone is the standard offset), so
# whatever the day of the check, one of the two zones is on summer time and catches it. (A zone on summer
# time all year would not: Python takes time.timezone from January and July, both summer there, so it
# would be the summer offset. And glibc leaves "EST+05EDT,0/0,J365/25" on standard time from 00:00 to
# 05:00 UTC on January 1.)
SOUTHERN = "EST+05EDT,J274/0,J90/0"
LOCAL_ZONES = (NOT_UTC, SOUTHERN)
SUMMER_HINT = (" (Right with local time on standard time, wrong on summer time, where time.mktime() - "
               "time.timezone is off by an hour. An HTTP date is always UTC: use "
               "email.utils.parsedate_to_datetime() and datetime.now(timezone.utc).)")
def _off_by_a_zone(seconds: float) -> bool:
    """True when `seconds` is a whole number of quarter hours, not 0: the offset of some timezone."""
    quarters = round(seconds / 900)
    return quarters != 0 and abs(seconds - quarters * 900) <= 2


def _wait_problem(got: Any, expected: float | None) -> str:
    """'' when `got` is the right answer; otherwise what is wrong with it."""
    if isinstance(got, datetime.timedelta):
        return "it returned a timedelta; return seconds: .total_seconds()."
    if expected is None:
        if got is None:
            return ""
        if isinstance(got, (int, float)) and not isinstance(got, bool) and got == 0:
            return "it returned 0.0, which means 'retry at once'. Instead, " + UNREADABLE
        return f"it returned {got!r}. That is not a Retry-After value: " + UNREADABLE
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return f"it returned {got!r}; return a number of seconds (a float)."
    if not abs(got - expected) <= 2:
        hint = " Never return a negative wait." if got < 0 else ""
        if expected > 1e9 and got < expected:
            hint = " Return what the server said; the caller caps the wait (max_wait), not this function."
        elif 0 < expected < 1e9 and _off_by_a_zone(got - expected):
            hint = (" That is off by a timezone's offset: the date was read as local time (time.mktime() does), but "
                    "an HTTP date is always UTC. Use email.utils.parsedate_to_datetime() and "
                    "datetime.now(timezone.utc).")
        return f"it returned {got!r}; expected about {expected}.{hint}"
    return ""
