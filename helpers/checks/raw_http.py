"""Checks for notebook 05, raw `http.client` and the server's side.

`basic_authorization` and `parse_challenge` run the learner's function on fixed inputs and
compare with what RFC 7617 and RFC 9110 ask for. `check_basic` calls the learner's server-side
function with crafted headers, the way a broken client or an attacker would. Like every check,
they send nothing anywhere, never raise at the learner, and never print a password or the
base64 that carries one.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import secrets
import time
import unicodedata
from typing import Any, Callable, Iterator

from helpers.practice_api import demo
from helpers.practice_api.passwords import hash_password
from helpers.practice_api.users import DUMMY_HASH, PASSWORD_HASHES
from helpers.checks.feedback import (Outcome, not_a_function, not_yet, one_line, output_captured, placeholder,
                                     right, run, unless_stub)
from helpers.viewers import a_kind

__all__ = ["basic_authorization", "parse_challenge", "check_basic"]

ADA = ("ada", demo.password_of("ada"))
GRACE = ("grace", demo.password_of("grace"))
CHARLES = ("charles", "<difference engine> 1822?")  # its base64 holds '+' and '/'
LATIN_1 = ("grace", "Grüße")  # Latin-1 can hold it: the quiet bug of notebook 01, section 7
NFD_USER = (unicodedata.normalize("NFD", "zoë"), "pass-1843")  # NFC applies to the user-id too (RFC 7617 §2.1)
# NFC keeps these as they are; NFKC would fold them into other credentials ("ada", "file2-1843")
FULL_WIDTH_ADA = "ａｄａ"
COMPATIBILITY = (FULL_WIDTH_ADA, "ﬁle²-1843")
NFKC_FOLDS = ("NFKC folds compatibility characters into others: full-width 'ａ' into 'a', the ligature 'ﬁ' into "
              "'fi', '²' into '2'. That makes another password, or another user. charset=\"UTF-8\" asks for NFC "
              "(RFC 7617 §2.1), which leaves them as they are: unicodedata.normalize('NFC', ...).")


# -- shared --------------------------------------------------------------------------------

def _secrets() -> list[str]:
    """Every demo password, and the base64 forms that would carry one: never printed."""
    found = []
    for user in demo.USERS:
        for form in ("NFC", "NFD"):
            password = unicodedata.normalize(form, user["password"])
            found.append(password)
            found.append(_token(user["username"], password, normalize=False))
    return found


def _name(error: BaseException) -> str:
    """'ValueError', or 'binascii.Error' for an exception whose bare name says little."""
    kind = type(error)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _one_line(error: BaseException) -> str:
    """The error's message on one line, short, with any demo secret masked."""
    return one_line(error, _secrets())


def _token(username: str, password: str, *, normalize: bool = True) -> str:
    text = f"{username}:{password}"
    if normalize:
        text = unicodedata.normalize("NFC", text)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode("ascii")


# -- exercise 1: the header, by hand -------------------------------------------------------

def basic_authorization(function: Any) -> None:
    """05, exercise 1: `basic_authorization(username, password)` -> the Authorization header's value."""
    if placeholder(unless_stub(function)) or not_a_function(function, "checks.basic_authorization(basic_authorization)"):
        return
    nfd_password = unicodedata.normalize("NFD", GRACE[1])
    cases = [
        (ADA, "ada and her password"),
        (GRACE, "grace, whose password is not ASCII"),
        (LATIN_1, f"the password {LATIN_1[1]!r}, whose letters all exist in Latin-1, so that "
                  ".encode('latin-1') takes it without an error"),
        ((GRACE[0], nfd_password), "grace's password typed in decomposed form (NFD: 'u' + a combining mark)"),
        (NFD_USER, f"the user-id {unicodedata.normalize('NFC', NFD_USER[0])!r} typed in decomposed form "
                   "(NFD: 'e' + a combining mark)"),
        (CHARLES, f"{CHARLES[0]!r} and the password {CHARLES[1]!r}"),
        (COMPATIBILITY, f"the full-width user-id {COMPATIBILITY[0]!r} and the password {COMPATIBILITY[1]!r}"),
    ]
    for (username, password), described in cases:
        outcome = run(function, username, password)
        if outcome.error:
            return not_yet(f"for {described}, your function raised {_name(outcome.error)}: {_one_line(outcome.error)}."
                           + _encoding_error_hint(outcome.error))
        if _printed_a_secret(outcome.printed):
            return not_yet(f"for {described}, {PRINTED}")
        problem = _header_problem(outcome.value, username, password)
        if problem:
            return not_yet(f"for {described}: {problem}")
    problem = _colon_problem(function)
    if problem:
        return not_yet(problem)
    right("'Basic ' + base64 of 'user:password' in NFC and UTF-8, for ASCII and non-ASCII credentials, and a "
          "ValueError for a user-id with ':': pass it as headers={'Authorization': ...} to connection.request().")


COLON_USER = ("ada:lovelace", "x")  # a user-id with a colon, which Basic cannot carry


def _colon_problem(function: Callable) -> str:
    """'' when a user-id holding ':' raises ValueError (RFC 7617 §2); else the hint."""
    why = ("A user-id cannot contain ':' (RFC 7617 §2): the server splits at the FIRST colon, so "
           f"{COLON_USER[0]!r} would arrive as user 'ada' with the password 'lovelace:x'. ")
    try:
        got = function(*COLON_USER)
    except ValueError:
        return ""
    except Exception as error:  # feedback, not a traceback
        return (f"for the user-id {COLON_USER[0]!r}, your function raised {_name(error)}: {_one_line(error)}. "
                + why + "Raise ValueError for it: if ':' in username: raise ValueError(...).")
    returned = "a header" if isinstance(got, str) else a_kind(got)
    return (f"for the user-id {COLON_USER[0]!r}, it returned {returned} instead of raising. " + why
            + "Refuse it before encoding: if ':' in username: raise ValueError(\"a user-id cannot contain ':'\").")


def _encoding_error_hint(error: Exception) -> str:
    """A hint from the error's type and attributes: never from its wording, which changes between Pythons."""
    if isinstance(error, UnicodeEncodeError):
        return (f" The {error.encoding!r} codec cannot hold this password. The challenge says charset=\"UTF-8\": "
                "f'{username}:{password}'.encode('utf-8').")
    if isinstance(error, AttributeError) and getattr(error, "name", None) == "base64_encode":
        return " Bytes have no such method (a popular wrong answer): use base64.b64encode(...)."
    if isinstance(error, AttributeError) and getattr(error, "name", None) == "decode" and isinstance(
            getattr(error, "obj", None), str):
        return " That value is already a str; only bytes have .decode()."
    if type(error) is TypeError:
        return " If it came from base64.b64encode(), that takes bytes: .encode('utf-8') the text first."
    return ""


def _header_problem(got: Any, username: str, password: str) -> str:
    """What is wrong with `got` as the header value for these credentials; '' when it is right."""
    if got is None:
        return "your function returned None. End it with `return f'Basic {token}'`."
    if isinstance(got, (bytes, bytearray)):
        return ("it returned bytes. Header values are str: add .decode('ascii') after base64.b64encode(...), "
                "then put 'Basic ' in front.")
    if not isinstance(got, str):
        return f"it returned {a_kind(got)}; return the header's value, a str such as 'Basic dXNlcjpwYXNz'."
    if got.startswith(("Basic b'", 'Basic b"', "b'", 'b"')):
        return ("the base64 part still shows its b'...' wrapper: that is str() of bytes. Use "
                ".decode('ascii') on the bytes instead.")
    if got.lower().startswith("authorization"):
        return "return only the header's value: drop the 'Authorization: ' in front."
    if got != got.strip():
        return ("there is whitespace at an end, often the newline that base64.encodebytes() adds. "
                "Use base64.b64encode(), which adds none.")
    if "  " in got:
        return "exactly one space goes between 'Basic' and the base64 text."
    scheme, space, token = got.partition(" ")
    if not space:
        scheme, token = "", got
    content = _decodes_to(token, username, password, urlsafe=False)
    if content is None:
        if _decodes_to(token, username, password, urlsafe=True) == "":
            return ("that is base64url ('-' and '_'), the alphabet of JWTs. Basic uses standard base64 "
                    "('+' and '/'): base64.b64encode().")
        return "the part after 'Basic ' is not base64. Use base64.b64encode(...).decode('ascii')."
    if content:
        return content
    if not scheme:
        return "the base64 part is right; now put the scheme in front: f'Basic {token}'."
    if scheme.lower() != "basic":
        return f"the base64 part is right, but the scheme is {_short(scheme[:20])}; Basic credentials follow 'Basic '."
    return ""  # any case of "Basic" is right (RFC 9110 §11.1), though everyone writes "Basic"


def _decodes_to(token: str, username: str, password: str, *, urlsafe: bool) -> str | None:
    """None when `token` is not base64 at all; '' when it carries exactly the right text; else the hint."""
    try:
        raw = (base64.urlsafe_b64decode(token.encode("ascii")) if urlsafe
               else base64.b64decode(token, validate=True))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    right_text = unicodedata.normalize("NFC", f"{username}:{password}")
    if raw == right_text.encode("utf-8"):
        return ""
    if urlsafe:
        return None
    if raw == f"{username}:{password}".encode("utf-8"):
        part = "user-id" if unicodedata.normalize("NFC", username) != username else "password"
        return (f"the {part} came in decomposed form (NFD) and went out that way. charset=\"UTF-8\" asks for NFC "
                "first, for the user-id and the password (RFC 7617 §2.1): "
                "unicodedata.normalize('NFC', f'{username}:{password}').encode('utf-8').")
    if raw == unicodedata.normalize("NFKC", f"{username}:{password}").encode("utf-8"):
        return f"that is NFKC, not NFC. {NFKC_FOLDS}"
    try:
        latin_1 = right_text.encode("latin-1")
    except UnicodeEncodeError:
        latin_1 = None
    if raw == latin_1:
        return "the text was encoded as Latin-1; the challenge asks for UTF-8: .encode('utf-8')."
    text = raw.decode("utf-8", "replace")
    if text in (f"{username}{password}", right_text.replace(":", "", 1)):
        return "the decoded text has no ':'. Encode f'{username}:{password}', colon included."
    if text == f"{password}:{username}":
        return "user name and password are swapped: the user name comes first, then ':', then the password."
    if not text.startswith(unicodedata.normalize("NFC", username) + ":"):
        return "the base64 decodes to another user name. Use the function's arguments, not fixed values."
    return "the base64 decodes to the right user name but not the right password. Encode f'{username}:{password}'."


# -- exercise 2: the challenge ------------------------------------------------------------

CHALLENGES: list[tuple[str, tuple[str, dict[str, str]], str]] = [
    ('Basic realm="practice", charset="UTF-8"', ("basic", {"realm": "practice", "charset": "UTF-8"}),
     "the practice API's challenge"),
    ('Basic realm="practice"', ("basic", {"realm": "practice"}), "a challenge without charset"),
    ('BASIC REALM="Ops"', ("basic", {"realm": "Ops"}), "a challenge written in capitals, 'BASIC REALM=\"Ops\"'"),
    ('Basic realm="ops, team", charset="UTF-8"', ("basic", {"realm": "ops, team", "charset": "UTF-8"}),
     "a realm with a comma inside its quotes, 'realm=\"ops, team\"'"),
    ('Bearer realm="notes", error="invalid_token", error_description="The access token expired"',
     ("bearer", {"realm": "notes", "error": "invalid_token", "error_description": "The access token expired"}),
     "a Bearer challenge with an error (RFC 6750 §3)"),
    ("Basic realm=practice", ("basic", {"realm": "practice"}),
     "a value written as a token, without quotes ('realm=practice', allowed by RFC 9110 §11.2)"),
    ('Basic realm="the \\"practice\\" API"', ("basic", {"realm": 'the "practice" API'}),
     "a realm with escaped quotes inside, 'realm=\"the \\\"practice\\\" API\"' (RFC 9110 §5.6.4)"),
]


def parse_challenge(function: Any) -> None:
    """05, exercise 2: `parse_challenge(value)` -> (scheme in lower case, {parameter name: value})."""
    if placeholder(unless_stub(function)) or not_a_function(function, "checks.parse_challenge(parse_challenge)"):
        return
    for value, expected, described in CHALLENGES:
        outcome = run(function, value)
        if outcome.error:
            return not_yet(f"for {described}, your function raised {_name(outcome.error)}: {_one_line(outcome.error)}."
                           + _parse_error_hint(outcome.error))
        problem = _challenge_problem(outcome.value, value, expected)
        if problem:
            return not_yet(f"for {described}: {problem}")
    right("scheme and names in lower case, values unquoted and unescaped, commas inside quotes kept. "
          "It reads one challenge per header: enough for the APIs you call, not for every header (section 4).")


def _parse_error_hint(error: Exception) -> str:
    """A hint from the error's type and attributes: never from its wording, which changes between Pythons."""
    if isinstance(error, KeyError):
        return " Not every challenge has every parameter: build the dict from the parameters that are there."
    if type(error) is ValueError:  # unpacking a split, or dict() of one, with too many or too few parts
        return (" A split on ',' or '=' that gives more or fewer parts than expected raises ValueError, and commas "
                "may sit inside quotes: find the parameters with the pattern from the hint instead.")
    if isinstance(error, AttributeError) and getattr(error, "obj", "") is None:
        return " A re.match() found nothing and returned None: check the pattern, or use re.finditer()."
    return ""


def _challenge_problem(got: Any, value: str, expected: tuple[str, dict[str, str]]) -> str:
    """What is wrong with `got` as the parse of `value`; '' when it is right."""
    want_scheme, want_params = expected
    if got is None:
        return "your function returned None. End it with `return scheme, params`."
    if isinstance(got, dict):
        return "it returned only the parameters. Return a pair: `return scheme, params`."
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"it returned {_short(got)}; return a pair (scheme, params), e.g. ('basic', {{'realm': 'x'}})."
    scheme, params = got
    if not isinstance(scheme, str):
        return f"the scheme should be a str, got {a_kind(scheme)}."
    if not isinstance(params, dict):
        return f"the parameters should be a dict, got {a_kind(params)}."
    if scheme != want_scheme:
        if scheme.strip().lower() == want_scheme:
            return ("return the scheme in lower case (scheme.lower()). Schemes are case-insensitive "
                    "(RFC 9110 §11.1), so the caller compares with 'basic'.")
        if scheme.lower().startswith(want_scheme):
            return "the scheme is the first word only: value.partition(' ')."
        return f"the scheme should be {want_scheme!r}, got {_short(scheme)}."
    if params == want_params:
        return ""
    if not all(isinstance(name, str) and isinstance(v, str) for name, v in params.items()):
        return f"names and values should be str, got {_short(params)}."
    lowered = {name.lower(): v for name, v in params.items()}
    if lowered == want_params:
        return ("lower-case the parameter names: REALM and realm are the same parameter (RFC 9110 §11.2). "
                "Keep the values as they are.")
    for name, want in want_params.items():
        got_value = lowered.get(name)
        if got_value is None or got_value == want:
            continue
        if got_value.strip('"') == want or (len(got_value) > 1 and got_value[0] == got_value[-1] == '"'):
            return (f"the value of {name} still has its quotes ({_short(got_value)}). They are syntax, not part "
                    "of the value: take what is between them.")
        if '"' in want:
            if got_value == want.replace('"', '\\"'):
                return (f"{name} came out as: {got_value}. Undo the backslash escapes, "
                        "re.sub(r'\\\\(.)', r'\\1', value), so that \\\" becomes \".")
            return (f"{name} came out as: {got_value}. Inside quotes, \\\" is an escaped quote, not the end. Match a "
                    "quoted value with \"((?:[^\"\\\\]|\\\\.)*)\", as in the hint, then undo the escapes.")
        if "," in want and want.startswith(got_value.strip('"')):
            return (f"{name} stopped at the comma ({_short(got_value)}). A comma inside quotes is part of the "
                    "value: split only on commas outside quotes (the pattern in the hint does that).")
        return f"{name} should be {want!r}, got {_short(got_value)}."
    missing = [name for name in want_params if name not in lowered]
    if missing and f"{missing[0]}=" in value and f'{missing[0]}="' not in value:
        return f"{missing[0]} is missing. A value may be a bare token, without quotes ({missing[0]}=practice): accept both forms."
    extra = [name for name in lowered if name not in want_params]
    if extra:
        return (f"parameters that are not in the header: {', '.join(map(repr, extra[:3]))}. "
                f"Expected {_short(want_params)}, got {_short(params)}.")
    return f"expected the parameters {_short(want_params)}, got {_short(params)}."


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


# -- exercise 3: the server's check -------------------------------------------------------

# What a wrong answer raises most often, by the kind of header that made it raise.
NONE_HEADER = "With no header there is nobody to prove: start with `if not header: return None`."
UNKNOWN_USER = ("An unknown user name has no entry in PASSWORD_HASHES: use PASSWORD_HASHES.get(username), verify "
                "against DUMMY_HASH when it gives None (same time for every name), and return None.")


def check_basic(function: Any) -> None:
    """05, exercise 3: `check_basic(header)` -> the user name it proves, or None. Never raises."""
    if placeholder(unless_stub(function)) or not_a_function(function, "checks.check_basic(check_basic)"):
        return
    ada_token = _token(*ADA)
    accept = [
        ("Basic " + ada_token, "ada", "ada's right password",
         "Her password holds colons. Split at the FIRST colon, decoded.partition(':'), "
         "then verify_password(password, PASSWORD_HASHES[username])."),
        ("basic " + ada_token, "ada", "ada's right password with the scheme written 'basic'",
         "Scheme names are case-insensitive (RFC 9110 §11.1): compare scheme.lower() == 'basic'."),
        ("Basic " + _token(*GRACE), "grace", "grace's right password, which is not ASCII",
         "Decode the base64 bytes as UTF-8, which is what charset=\"UTF-8\" in the challenge promised."),
        ("Basic " + _token(GRACE[0], unicodedata.normalize("NFD", GRACE[1]), normalize=False), "grace",
         "grace's right password sent in decomposed form (NFD: 'u' + a combining mark)",
         "charset=\"UTF-8\" also means NFC (RFC 7617 §2.1), as parse_basic() does: "
         "unicodedata.normalize('NFC', ...) the user-id and the password before you look up and verify."),
    ]
    for header, expected, described, hint in accept:
        outcome = run(function, header)
        problem, got = _printed_or_raised(outcome, described, hint), outcome.value
        if problem:
            return not_yet(problem)
        if got is True:
            return not_yet(f"for {described}, it returned True. Return the user name ({expected!r}): "
                           "the caller needs to know who it is.")
        if got != expected:
            return not_yet(f"for {described}, it returned {_short(got)}, not {expected!r}. {hint}")
    refuse = [  # (header, described, hint when it was accepted, hint when it raised)
        ("Basic " + _token("ada", "analytical:engine:1844"), "ada with a wrong password",
         "It accepted a wrong password! Return the user name only when verify_password(...) is True.", ""),
        ("Basic " + _token("admin", "password"), "'admin:password', every tutorial's example",
         "It accepted a hard-coded admin/password. Check against the stored hashes in PASSWORD_HASHES only.",
         UNKNOWN_USER),
        ("Basic " + _token("mallory", ADA[1]), "a user name that does not exist",
         "It accepted a user who does not exist.", UNKNOWN_USER),
        ("Basic " + _token(FULL_WIDTH_ADA, ADA[1]), f"ada's password under the full-width user-id {FULL_WIDTH_ADA!r}",
         f"It signed {FULL_WIDTH_ADA!r} in as ada: that is NFKC. {NFKC_FOLDS}", UNKNOWN_USER),
        (None, "no Authorization header at all (header is None)", "", NONE_HEADER),
        ("", "an empty header", "", NONE_HEADER),
        ("Basic", "'Basic' and nothing after it", "",
         "A header may hold a scheme and no credentials: str.partition(' ') never raises; then return None."),
        ("Basic !!not-base64!!", "credentials that are not base64", "",
         "Use base64.b64decode(token, validate=True), catch binascii.Error (a ValueError), return None."),
        (_basic(b"ada"), "base64 of 'ada', with no ':' in it", "",
         "No colon, no password: decoded.partition(':') tells you whether there was one; return None if not."),
        (_basic(b"ada:\xff\xfe"), "base64 of bytes that are not UTF-8", "",
         "Catch UnicodeDecodeError (a ValueError) from .decode('utf-8') and return None."),
        ("Bearer " + ada_token, "ada's base64 after 'Bearer ' instead of 'Basic '",
         "Only 'Basic' carries user:password: check the scheme first, and return None for any other.",
         "Check the scheme first, and return None for any scheme but Basic."),
        ("Basic" + ada_token, "ada's base64 glued to the scheme, 'Basic' with no space after it",
         "The scheme and the credentials are separated by a space (RFC 9110 §11.4): str.partition(' '), then "
         "compare the scheme itself, not a prefix of the header.", ""),
        (ada_token, "ada's base64 alone, without the 'Basic ' scheme",
         "A header must start with its scheme: return None when it is not 'Basic'.",
         "A header may have no space at all: str.partition(' ') never raises; then return None."),
    ]
    for header, described, accepted_hint, raised_hint in refuse:
        outcome = run(function, header)
        problem, got = _printed_or_raised(outcome, described, raised_hint), outcome.value
        if problem:
            return not_yet(problem)
        if got is False:
            return not_yet(f"for {described}, it returned False. Return None when nothing is proven: "
                           "the function returns a user name or None.")
        if got is not None:
            return not_yet(f"for {described}, it returned {_short(got)} instead of None. {accepted_hint}")
    problem = _dummy_hash_problem(function) or _compatibility_problem(function)
    if problem:
        return not_yet(problem)
    return _work_feedback(function)


COMPATIBILITY_USER = ("fiona", COMPATIBILITY[1])
CONTROL_USER = ("flora", "plain-ascii-1843")  # NFC and NFKC alike: tells whether the added users reached the function


def _compatibility_problem(function: Callable) -> str:
    """'' unless a right password that NFKC would change (but NFC does not) is refused.

    No demo password has such a character, so for two calls the check gives the PASSWORD_HASHES the
    function reads two more users, and puts the real one back: fiona, whose password NFKC changes,
    and flora, whose password it does not. Only a function that lets flora in and not fiona is judged;
    one that reads the hashes under another name is not tried.
    """
    names = getattr(function, "__globals__", None)
    if not isinstance(names, dict) or names.get("PASSWORD_HASHES") is not PASSWORD_HASHES:
        return ""
    added = {username: hash_password(password) for username, password in (COMPATIBILITY_USER, CONTROL_USER)}
    names["PASSWORD_HASHES"] = {**PASSWORD_HASHES, **added}
    try:
        control = run(function, "Basic " + _token(*CONTROL_USER))
        outcome = run(function, "Basic " + _token(*COMPATIBILITY_USER))
    finally:
        names["PASSWORD_HASHES"] = PASSWORD_HASHES
    if control.error or control.value != CONTROL_USER[0]:
        return ""
    username, password = COMPATIBILITY_USER
    described = f"{username}'s right password {password!r} (the check added {username} to PASSWORD_HASHES for one call)"
    problem = _printed_or_raised(outcome, described, "")
    if problem:
        return problem
    if outcome.value != username:
        return f"for {described}, it returned {_short(outcome.value)}, not {username!r}. {NFKC_FOLDS}"
    return ""


KNOWN_DUMMY_PASSWORD = "the-dummy-hash-was-leaked"


def _dummy_hash_problem(function: Callable) -> str:
    """'' unless an unknown user who sends DUMMY_HASH's own password gets in.

    Verifying against DUMMY_HASH is right; returning the user name when that succeeds is not.
    To try it, the check swaps the DUMMY_HASH the function reads for a hash of a known password,
    for one call, and puts the real one back. A function that reads it under another name is not tried.
    """
    names = getattr(function, "__globals__", None)
    if not isinstance(names, dict) or names.get("DUMMY_HASH") is not DUMMY_HASH:
        return ""
    names["DUMMY_HASH"] = hash_password(KNOWN_DUMMY_PASSWORD)
    try:
        outcome = run(function, "Basic " + _token("nobody-by-this-name", KNOWN_DUMMY_PASSWORD))
    finally:
        names["DUMMY_HASH"] = DUMMY_HASH
    if not outcome.error and not _printed_a_secret(outcome.printed) and outcome.value is not None:
        return ("it let in a user who does not exist, who sent the password behind DUMMY_HASH. Anyone who learns "
                "that one password (it sits in your code or config) gets in under any name. Verify against "
                "DUMMY_HASH, as you do, and return the name only for a known user: "
                "`if right_password and stored is not None`.")
    return ""


PRINTED = ("your function printed a password, or the base64 that carries one. Whatever a cell prints is saved in "
           "the notebook, and a server's log must never hold a password either: print nothing secret.")


def _printed_a_secret(text: str) -> bool:
    return any(secret in text for secret in _secrets())


def _printed_or_raised(outcome: Outcome, described: str, hint: str) -> str:
    """The feedback for a call of check_basic that printed a secret or raised; '' when it did neither."""
    if _printed_a_secret(outcome.printed):
        return f"for {described}, {PRINTED}"
    if outcome.error:
        return (f"for {described}, your function raised {_name(outcome.error)}: {_one_line(outcome.error)}. "
                + _raised_hint(outcome.error, hint))
    return ""


def _raised_hint(error: Exception, hint: str) -> str:
    """A hint from the error's type: never from its wording, which changes between Pythons."""
    if type(error) is ValueError:  # unpacking split(':') into two names, most often
        return ("A split(':') into two names raises ValueError when there are more or fewer parts: ada's password "
                "holds colons, and a header may hold none. Split at the FIRST colon: decoded.partition(':').")
    if isinstance(error, KeyError):
        return UNKNOWN_USER
    if isinstance(error, (binascii.Error, UnicodeDecodeError)):
        return f"Malformed input must never crash a server. {hint}".strip()
    return hint or "A server's check must never raise: return None for anything it cannot accept."


@contextlib.contextmanager
def _work_counted(function: Callable) -> Iterator[dict[str, int]]:
    """Count the PBKDF2 iterations and the constant-time comparisons `function` makes, while it runs.

    verify_password() calls hashlib.pbkdf2_hmac() and hmac.compare_digest() through their modules;
    the learner's code may call them that way too, or import them by name. For the duration, each
    of those names points at a counter that calls the real function; then all are put back. The
    counts tell, without a clock, whether an unknown user costs a real hash and whether the hashes
    are compared in constant time: a timing on a busy machine could say anything.
    """
    work = {"iterations": 0, "compared": 0}
    real_pbkdf2, real_compare = hashlib.pbkdf2_hmac, hmac.compare_digest

    def pbkdf2_hmac(hash_name, password, salt, iterations, dklen=None):  # type: ignore[no-untyped-def]
        digest = real_pbkdf2(hash_name, password, salt, iterations, dklen)
        work["iterations"] += iterations
        return digest

    def compare_digest(a, b):  # type: ignore[no-untyped-def]
        work["compared"] += 1
        return real_compare(a, b)

    replacements = {real_pbkdf2: pbkdf2_hmac, real_compare: compare_digest}
    places: list[Any] = [vars(hashlib), vars(hmac), vars(secrets)]
    names = getattr(function, "__globals__", None)
    if isinstance(names, dict):
        places.append(names)
    saved = [(place, name, value) for place in places for name, value in list(place.items())
             if any(value is real for real in replacements)]
    try:
        for place, name, value in saved:
            place[name] = replacements[value]
        yield work
    finally:
        for place, name, value in saved:
            place[name] = value


def _work_feedback(function: Callable) -> None:
    """Does a wrong password cost a real hash compared in constant time, and does an unknown user cost the same?"""
    costs = []
    for header in ("Basic " + _token("ada", "not-her-password"), "Basic " + _token("nobody-by-this-name", "x")):
        with _work_counted(function) as work:
            outcome = run(function, header)
        if _printed_a_secret(outcome.printed):
            return not_yet(f"for a wrong password, {PRINTED}")
        if outcome.error:  # it passed every case above; report anything odd all the same
            return not_yet(f"your function raised {_name(outcome.error)}: {_one_line(outcome.error)}.")
        costs.append(work)
    known, unknown = costs
    if not known["iterations"]:  # no PBKDF2 through hashlib: the clock is all that is left to go by
        return _timing_feedback(function)
    if not known["compared"]:
        return not_yet("it compares the hashes without hmac.compare_digest(). == stops at the first byte that "
                       "differs, so the time a guess takes tells how much of it was right. verify_password() "
                       "compares in constant time: use it.")
    if unknown["iterations"] != known["iterations"]:
        return not_yet(f"it spends {unknown['iterations']:,} PBKDF2 iterations for an unknown user name and "
                       f"{known['iterations']:,} for a wrong password for ada, so response times tell an attacker "
                       "which user names exist. For an unknown user, verify the password against DUMMY_HASH "
                       "anyway (it costs as much as a real hash), then return None.")
    right(RIGHT_CHECK_BASIC)


RIGHT_CHECK_BASIC = ("it accepts the right passwords, refuses wrong, unknown and malformed ones without raising, and "
                     "takes as long for unknown users. A real server adds a lockout, and turns None into 401 with "
                     "the challenge.")


def _fastest(function: Callable, header: str, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        function(header)
        best = min(best, time.perf_counter() - started)
    return best


def _timing_feedback(function: Callable) -> None:
    """Does a wrong password cost a real hash, and does an unknown user cost the same?"""
    try:
        with output_captured():  # what it prints while it is timed is not the learner's feedback
            known = _fastest(function, "Basic " + _token("ada", "not-her-password"))
            unknown = _fastest(function, "Basic " + _token("nobody-by-this-name", "not-her-password"))
    except Exception as error:  # it passed every case above; report anything odd all the same
        return not_yet(f"your function raised {_name(error)}: {_one_line(error)}.")
    if known < 0.0005:
        return not_yet(f"it refuses a wrong password in {_duration(known)}, too fast for a password hash. Is it "
                       "comparing plaintext? Compare hashes: verify_password(password, PASSWORD_HASHES[username]).")
    if unknown * 10 < known:
        return not_yet(f"it refuses an unknown user name in {_duration(unknown)} and a wrong password for ada in "
                       f"{_duration(known)}, so response times tell an attacker which user names exist. For an "
                       "unknown user, verify the password against DUMMY_HASH anyway, then return None.")
    right(RIGHT_CHECK_BASIC)


def _duration(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs" if seconds < 0.001 else f"{seconds * 1e3:.1f} ms"
