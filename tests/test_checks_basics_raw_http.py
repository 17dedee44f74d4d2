"""Notebook 05's checks: hints come from an error's type and attributes, never from its wording
(Python 3.10 to 3.13 word binascii, unpacking and attribute errors differently), and a function
that prints a password, or the base64 that carries one, is refused."""
from __future__ import annotations

import base64
import binascii
import unicodedata

import nbformat
import pytest

from conftest import ROOT, assert_not_yet, assert_right
from helpers import checks, serve_practice_api
from helpers.practice_api import demo
from helpers.practice_api.passwords import verify_password
from helpers.practice_api.users import DUMMY_HASH, PASSWORD_HASHES
from test_checks_raw_http import basic_authorization, check_basic  # the notebook's solutions


def raising(error: Exception):
    def function(*args):
        raise error
    return function


@pytest.mark.parametrize("error, hint", [
    (binascii.Error("worded by some Python"), "Malformed input must never crash a server"),
    (ValueError("worded by some Python"), "Split at the FIRST colon: decoded.partition(':')"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "worded by some Python"), "Malformed input must never crash"),
    (KeyError("mallory"), "PASSWORD_HASHES.get(username)"),
], ids=["binascii", "unpacking", "unicode", "key"])
def test_check_basic_hints_do_not_read_the_message(feedback, error, hint):
    assert_not_yet(feedback(checks.check_basic, raising(error)), hint)


def test_basic_authorization_hints_do_not_read_the_message(feedback):
    error = AttributeError("worded by some Python", name="base64_encode", obj=b"ada:x")
    assert_not_yet(feedback(checks.basic_authorization, raising(error)), "use base64.b64encode(...)")
    error = AttributeError("worded by some Python", name="decode", obj="already text")
    assert_not_yet(feedback(checks.basic_authorization, raising(error)), "already a str")
    assert_not_yet(feedback(checks.basic_authorization, raising(TypeError("worded by some Python"))),
                   ".encode('utf-8') the text first")


def test_parse_challenge_hints_do_not_read_the_message(feedback):
    assert_not_yet(feedback(checks.parse_challenge, raising(ValueError("worded by some Python"))),
                   "A split on ',' or '='")
    error = AttributeError("worded by some Python", name="group", obj=None)
    assert_not_yet(feedback(checks.parse_challenge, raising(error)), "re.match() found nothing")


def test_the_right_answers_are_accepted(feedback):
    assert_right(feedback(checks.basic_authorization, basic_authorization))
    assert_right(feedback(checks.check_basic, check_basic))


def test_a_check_basic_that_prints_the_credentials_is_refused(feedback):
    def chatty(header):
        print("checking", base64.b64decode((header or "x x").partition(" ")[2] or "", validate=False))
        return check_basic(header)
    assert_not_yet(feedback(checks.check_basic, chatty), "your function printed a password")


def test_a_check_basic_that_logs_the_header_is_refused(feedback):
    import sys

    def logs(header):
        sys.stderr.write(f"Authorization: {header}\n")
        return check_basic(header)
    assert_not_yet(feedback(checks.check_basic, logs), "your function printed a password")


def test_a_basic_authorization_that_prints_the_header_is_refused(feedback):
    def chatty(username, password):
        header = basic_authorization(username, password)
        print(header)
        return header
    assert_not_yet(feedback(checks.basic_authorization, chatty), "your function printed a password")


def test_printing_something_harmless_is_fine(feedback):
    def polite(header):
        print("checking a header")
        return check_basic(header)
    assert_right(feedback(checks.check_basic, polite))


def forgets_that_the_user_is_unknown(header):
    """Verifies against DUMMY_HASH for unknown users, as asked, then lets them in when it matches."""
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except ValueError:
        return None
    username, colon, password = decoded.partition(":")
    if not colon:
        return None
    username, password = unicodedata.normalize("NFC", username), unicodedata.normalize("NFC", password)
    return username if verify_password(password, PASSWORD_HASHES.get(username, DUMMY_HASH)) else None


def test_an_unknown_user_with_the_dummy_password_is_refused(feedback):
    """Whoever learns the dummy hash's password must not get in under any name."""
    assert_not_yet(feedback(checks.check_basic, forgets_that_the_user_is_unknown), "and stored is not None")
    assert globals()["DUMMY_HASH"] is DUMMY_HASH == __import__("helpers").DUMMY_HASH  # put back as it was


def test_float_infinity_is_not_a_timeout():
    from helpers.checks.feedback import timeout_problem
    assert timeout_problem(float("inf")) and timeout_problem((3.05, float("inf"))) and timeout_problem(True)
    assert timeout_problem(5) == timeout_problem((3.05, 27)) == ""


# -- notebook 05's table and key points, against a real run ----------------------------------

def test_what_a_redirect_keeps_and_drops(http):
    """Authorization goes only to the same host; Cookie and Proxy-Authorization set by hand are dropped at
    every hop; X-API-Key, like any other header you set, follows the redirect to another host."""
    sent = {"X-API-Key": "k-1", "Cookie": "a=b", "Proxy-Authorization": "Basic eDp5", "X-Other": "1"}
    with serve_practice_api() as server:
        other = http.get(server.url("/redirect/other-host"), headers=sent, auth=("ada", "x"), timeout=5)
        same = http.get(server.url("/redirect/same-host"), headers=sent, auth=("ada", "x"), timeout=5)
    assert [r.status_code for r in other.history] == [302] and other.json()["host"].startswith("localhost:")
    assert set(other.request.headers) >= {"X-API-Key", "X-Other"}
    assert not {"Authorization", "Cookie", "Proxy-Authorization"} & set(other.request.headers)
    assert "Authorization" in same.request.headers
    assert not {"Cookie", "Proxy-Authorization"} & set(same.request.headers)


def source(cell_id: str) -> str:
    """The source of notebook 05's cell `cell_id`."""
    notebook = nbformat.read(ROOT / "notebooks" / "05-raw-http-client.ipynb", as_version=4)
    return next(cell.source for cell in notebook.cells if cell.id == cell_id)


def test_notebook_05_says_what_a_redirect_does_with_netrc_and_headers():
    """rebuild_auth() reads netrc again on every redirect, even with auth=; X-API-Key follows to another host."""
    table, key_points = source("c52"), " ".join(source("c77").split())
    netrc_row = next(line for line in table.splitlines() if line.startswith("| `~/.netrc`"))
    redirects_row = next(line for line in table.splitlines() if line.startswith("| Redirects"))
    assert "redirect" in netrc_row and "even with `auth=`" in netrc_row
    assert "`X-API-Key`" in redirects_row
    assert "dropping credentials across hosts" not in key_points
    assert "`X-API-Key`" in key_points and "read again on every redirect" in key_points


def test_notebook_05_states_the_lockout_trade_off():
    notice = " ".join(source("c45").split())
    assert "lock ada out" in notice and "password spraying" in notice and "Authentication_Cheat_Sheet" in notice
