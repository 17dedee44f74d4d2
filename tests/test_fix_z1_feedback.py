"""What a learner's function outputs while a check runs it (review RV5 #1, #2, #5, #6, #10).

- #1: display() (show(), show_jwt()), print(file=sys.__stdout__) and os.write(1|2) are captured and checked too.
- #2: a secret is found in the forms a print shows it in (URL-encoded, JSON-escaped, bytes repr, hex, base64,
  a JWT as its list of parts or spaced out), not only as it is.
- #5: JWT_LIKE is linear: 1 MB of "eyJ" is scanned in well under a second.
- #6: retry_after catches time.mktime() - time.timezone (right in winter only), whatever the date; TZ is put
  back even when the learner's function removed it.
- #10: a sys.exit() in the learner's function is feedback; KeyboardInterrupt is left alone.
"""
from __future__ import annotations

import base64
import email.utils
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import jwt
import pytest

from conftest import assert_not_yet, assert_right
from test_checks_basics_basic_auth import solution as retry_after_seconds  # notebook 01's solution
from helpers import checks
from helpers.checks import basic_auth, jwt_tokens
from helpers.checks import feedback as fb
from helpers.practice_api import demo

ROOT = Path(__file__).resolve().parents[1]
TOKEN = jwt.encode({"sub": "ada", "exp": 9999999999}, "k" * 32, algorithm="HS256")
OPAQUE = "opaque-token-abcdefghijklmnopqrstuvwxyz"
PASSWORD = demo.USERS[0]["password"]


def verdict_after(capsys, function, *args) -> str:
    """The verdict line after run() called `function` on `args` (a Right, unless what it printed is refused)."""
    fb._captured.clear()
    fb.run(function, *args)
    fb.right("ok")
    return capsys.readouterr().out.strip()


# -- #2: a secret in another form ---------------------------------------------------------------

SECRET_FORMS = {
    "a JWT as the list of its parts": lambda: str(TOKEN.split(".")),
    "a JWT spaced out at its dots": lambda: TOKEN.replace(".", " . "),
    "a JWT's parts one a line": lambda: "\n".join(TOKEN.split(".")),
    "a password URL-encoded (a form body)": lambda: "username=ada&password=" + quote_plus(PASSWORD),
    "a password quote()d with safe=''": lambda: quote(PASSWORD, safe=""),
    "username:password URL-encoded": lambda: quote(f"ada:{PASSWORD}", safe=""),
    "a password JSON-escaped": lambda: json.dumps({"p": demo.USERS[1]["password"]}),
    "a password as bytes": lambda: str(demo.USERS[1]["password"].encode()),
    "a password one character at a time": lambda: " ".join(PASSWORD),
    "a password in hex": lambda: PASSWORD.encode().hex(),
    "a password in hex, capitals": lambda: PASSWORD.encode().hex().upper(),
    "Basic credentials in URL-safe base64": lambda: base64.urlsafe_b64encode(f"ada:{PASSWORD}".encode()).decode(),
    "a password in base64 without padding": lambda: base64.b64encode(PASSWORD.encode()).decode().rstrip("="),
    "an API key in base64": lambda: base64.b64encode(str(demo.API_KEYS[0]["key"]).encode()).decode(),
}


@pytest.mark.parametrize("described", SECRET_FORMS)
def test_a_secret_in_another_form_is_refused(capsys, described):
    out = verdict_after(capsys, lambda: print(SECRET_FORMS[described]()))
    assert_not_yet(out, "printed or logged a secret")
    assert "not shown" in out


@pytest.mark.parametrize("form", ["hex", "b64", "urlsafe"])
def test_a_handed_token_in_another_form_is_refused(capsys, form):
    show = {"hex": lambda t: t.encode().hex(), "b64": lambda t: base64.b64encode(t.encode()).decode(),
            "urlsafe": lambda t: base64.urlsafe_b64encode(t.encode()).decode().rstrip("=")}[form]
    out = verdict_after(capsys, lambda response: print(show(response["access_token"])), {"access_token": OPAQUE})
    assert_not_yet(out, "printed or logged a secret")
    assert OPAQUE not in out


@pytest.mark.parametrize("harmless", ["status 401 for ada", "got 3 parts: header, payload, signature",
                                      "eyJhbGciOiJIUzI1NiJ9 is the header", "a b c d e f"])
def test_harmless_output_is_still_shown(capsys, harmless):
    out = verdict_after(capsys, lambda: print(harmless))
    assert_right(out, harmless)


# -- #5: linear time ----------------------------------------------------------------------------

def test_jwt_like_scans_a_megabyte_in_linear_time():
    """In a child process with a deadline: the quadratic pattern takes minutes on 1 MB."""
    code = textwrap.dedent("""
        import time
        from helpers.checks import feedback, jwt_tokens
        texts = ["eyJ" * 333_334, "eyJa." * 200_000, ("eyJ" + "a" * 50 + " ") * 20_000, "-eyJ" * 250_000]
        start = time.perf_counter()
        for text in texts:
            feedback._holds_secret(text, ())
            jwt_tokens.JWT_LIKE.search(text)
            jwt_tokens._masked(text) if hasattr(jwt_tokens, "_masked") else None
        print(round(time.perf_counter() - start, 3))
    """)
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("scanning 4 MB of JWT-like text took over 30 s: the pattern is not linear")
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 2.0, done.stdout


def test_jwt_like_still_finds_a_jwt_inside_text():
    for pattern in (fb.JWT_LIKE, jwt_tokens.JWT_LIKE):
        assert pattern.search(f"Authorization: Bearer {TOKEN}")
        assert pattern.search(f"token={TOKEN}&x=1")
        assert not pattern.search("eyJhbGciOiJIUzI1NiJ9")


# -- #1: rich output, and file descriptors 1 and 2 ----------------------------------------------

def test_writes_to_file_descriptors_are_captured_and_refused(capfd):
    def leaky(response):
        print(response["access_token"], file=sys.__stdout__, flush=True)
        os.write(1, f"fd1 {response['access_token']}\n".encode())
        os.write(2, f"fd2 {response['access_token']}\n".encode())

    capfd.readouterr()
    fb._captured.clear()
    outcome = fb.run(leaky, {"access_token": OPAQUE})
    fb.right("ok")
    out, err = capfd.readouterr()
    assert outcome.printed.count(OPAQUE) == 3
    assert_not_yet(out.strip(), "printed or logged a secret")
    assert OPAQUE not in out and OPAQUE not in err


def test_file_descriptors_work_again_after_a_check(capfd):
    fb.run(lambda: os.write(1, b"inside\n"))
    os.write(1, b"after\n")
    assert capfd.readouterr().out == "after\n"


IPYTHON_SCRIPT = """
import os, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
from IPython.display import display, HTML
from helpers.checks import feedback
from helpers.viewers import show, show_jwt
from helpers.practice_api import demo
import requests, responses
TOKEN = sys.argv[1]
KEY = str(demo.API_KEYS[0]["key"])
cases = {
    "display": lambda r: display(r),
    "html": lambda r: display(HTML("<b>" + r["access_token"][:10] + "</b>" + r["access_token"][10:])),
    "show_jwt": lambda r: show_jwt(TOKEN),
    "show": lambda r: show(requests_response(), reveal=True),
    "harmless": lambda r: display(HTML("<i>status</i> 200")),
}
def requests_response():
    with responses.RequestsMock() as mock:
        mock.get("https://api.example/x", body="ok")
        return requests.get("https://api.example/x", headers={"X-API-Key": KEY}, timeout=5)
for name, function in cases.items():
    feedback._captured.clear()
    feedback.run(function, {"access_token": "opaque-token-" + "z" * 30})
    print("==", name)
    feedback.right("ok")
"""


def test_displayed_output_is_captured_and_refused_in_ipython():
    """display(), show(..., reveal=True) and show_jwt() publish rich output, not text on sys.stdout."""
    done = subprocess.run([sys.executable, "-c", IPYTHON_SCRIPT, TOKEN], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    verdicts = dict(part.split("\n", 1) for part in done.stdout.split("== ")[1:])
    for name in ("display", "html", "show"):
        assert verdicts[name].startswith("✗ Not yet: your function printed or logged a secret"), (name, verdicts)
    # show_jwt() shows a token's parts decoded, not the token: its text is quoted with the verdict, not let through
    assert verdicts["show_jwt"].startswith("✓ Right: ok (While the check ran it, your function printed"), verdicts
    assert "NOT verified" in verdicts["show_jwt"], verdicts
    assert verdicts["harmless"].startswith("✓ Right: ok"), verdicts
    assert "status 200" in " ".join(verdicts["harmless"].split())
    assert "z" * 30 not in done.stdout and TOKEN not in done.stdout
    assert str(demo.API_KEYS[0]["key"]) not in done.stdout


# -- #6: Retry-After read as local time ---------------------------------------------------------

def mktime_minus_timezone(response):
    value = response.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    moment = email.utils.parsedate(value)
    if moment is None:
        return None
    return max(0.0, time.mktime(moment) - time.timezone - time.time())


needs_tzset = pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset() is POSIX only")


@needs_tzset
def test_mktime_minus_timezone_is_caught_in_winter_and_summer(feedback):
    assert_not_yet(feedback(checks.retry_after, mktime_minus_timezone), "expected about")
    assert_right(feedback(checks.retry_after, retry_after_seconds), "both forms")


@needs_tzset
def test_one_of_the_zones_is_on_summer_time_with_the_standard_offset_as_time_timezone():
    """Every 10 minutes of three years: one zone is on summer time, where time.timezone is wrong by an hour."""
    import calendar
    start = calendar.timegm((2026, 1, 1, 0, 0, 0))
    moments = range(start, start + 3 * 366 * 86400, 600)
    summer = set()
    saved = os.environ.get("TZ")
    try:
        for zone in basic_auth.LOCAL_ZONES:
            os.environ["TZ"] = zone
            time.tzset()
            assert time.timezone == 5 * 3600, zone
            summer |= {moment for moment in moments if time.localtime(moment).tm_isdst > 0}
    finally:
        os.environ.pop("TZ", None) if saved is None else os.environ.update(TZ=saved)
        time.tzset()
    assert summer == set(moments)


@needs_tzset
def test_tz_is_put_back_when_the_function_removed_it(feedback, monkeypatch):
    monkeypatch.delenv("TZ", raising=False)
    time.tzset()

    def pops_tz(response):
        os.environ.pop("TZ", None)
        return retry_after_seconds(response)

    assert_right(feedback(checks.retry_after, pops_tz), "both forms")
    assert "TZ" not in os.environ


def test_without_tzset_the_check_runs_in_the_kernels_zone(feedback, monkeypatch):
    monkeypatch.delattr(time, "tzset", raising=False)
    before = os.environ.get("TZ")
    assert_right(feedback(checks.retry_after, retry_after_seconds), "both forms")
    assert os.environ.get("TZ") == before


# -- #10: sys.exit() and KeyboardInterrupt ------------------------------------------------------

def test_sys_exit_in_the_function_is_feedback(feedback):
    out = feedback(checks.retry_after, lambda response: sys.exit(2))
    assert_not_yet(out, "your function called sys.exit()")


def test_run_keeps_a_system_exit():
    outcome = fb.run(lambda: sys.exit("bye"))
    assert isinstance(outcome.error, SystemExit)
    assert "sys.exit()" in fb.raised("a case", outcome.error)


def test_keyboard_interrupt_is_left_alone():
    def pressed_stop():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fb.run(pressed_stop)
    fb._captured.clear()
