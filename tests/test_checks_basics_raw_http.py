"""Notebook 05's checks: hints come from an error's type and attributes, never from its wording
(Python 3.10 to 3.13 word binascii, unpacking and attribute errors differently), and a function
that prints a password, or the base64 that carries one, is refused."""
from __future__ import annotations

import base64
import binascii
import unicodedata

import pytest

from conftest import assert_not_yet, assert_right
from helpers import checks, demo
from helpers.passwords import verify_password
from helpers.users import DUMMY_HASH, PASSWORD_HASHES


def basic_authorization(username, password):
    if ":" in username:
        raise ValueError("a user-id cannot contain ':'")
    return "Basic " + base64.b64encode(unicodedata.normalize("NFC", f"{username}:{password}").encode()).decode()


def check_basic(header):
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
    stored = PASSWORD_HASHES.get(username)
    right_password = verify_password(password, stored or DUMMY_HASH)
    return username if right_password and stored is not None else None


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
