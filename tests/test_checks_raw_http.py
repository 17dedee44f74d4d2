"""The checks of notebook 05 (raw http.client, and the server's side): right answers get
"✓ Right", the `...` placeholder and typical wrong answers get "✗ Not yet" with their specific
hint. Checks never raise, and never print a password or the base64 that carries one."""
from __future__ import annotations

import base64
import hashlib
import re
from hashlib import pbkdf2_hmac
from hmac import compare_digest
import unicodedata

import pytest

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.practice_api import demo
from helpers.practice_api.passwords import hash_password, verify_password
from helpers.practice_api.users import DUMMY_HASH, PASSWORD_HASHES

PLACEHOLDER_HINT = "replace the `...` in the cell"
ADA_TOKEN = base64.b64encode(f"ada:{demo.password_of('ada')}".encode()).decode()


@pytest.fixture
def run(feedback):
    """`feedback`, and also: no base64 of a demo credential in the output."""
    def run_check(check, answer) -> str:
        output = feedback(check, answer)
        assert ADA_TOKEN not in output and "YWRhOm" not in output, "a check printed ada's credentials"
        return output
    return run_check


def stub(*args):
    """The exercise cell's stub."""
    ...  # your code here


ALL_CHECKS = [checks.basic_authorization, checks.parse_challenge, checks.check_basic]


@pytest.mark.parametrize("check", ALL_CHECKS)
@pytest.mark.parametrize("answer", [..., None, stub], ids=["ellipsis", "none", "stub-function"])
def test_placeholder(run, check, answer):
    assert_not_yet(run(check, answer), PLACEHOLDER_HINT)


@pytest.mark.parametrize("check", ALL_CHECKS)
@pytest.mark.parametrize("answer", [42, "Basic abc", b"bytes", ("ada", "x"), str])
def test_not_a_function(run, check, answer):
    assert_not_yet(run(check, answer), "pass the function itself")


@pytest.mark.parametrize("check", ALL_CHECKS)
def test_a_function_that_raises_is_feedback(run, check):
    def broken(*args):
        raise RuntimeError("boom\nwith a second line")
    assert_not_yet(run(check, broken), "raised RuntimeError: boom with a second line")


@pytest.mark.parametrize("check", ALL_CHECKS)
def test_a_raised_message_never_shows_a_password(run, check):
    def leaky(*args):
        raise ValueError(f"could not check {demo.password_of('ada')} or {demo.password_of('grace')}")
    assert_not_yet(run(check, leaky), "raised ValueError: could not check ••••••••")


def test_checks_are_exported():
    from helpers.checks import raw_http
    assert sorted(raw_http.__all__) == ["basic_authorization", "check_basic", "parse_challenge"]


# -- basic_authorization (exercise 1) ---------------------------------------------------------

def nfc_utf8(username, password):
    return unicodedata.normalize("NFC", f"{username}:{password}").encode("utf-8")


def basic_authorization_in(form: str):
    """The notebook's solution with `form` in place of NFC (any other form is a wrong answer)."""
    def basic_authorization(username, password):
        if ":" in username:
            raise ValueError("a user-id cannot contain ':' (RFC 7617 §2)")
        text = unicodedata.normalize(form, f"{username}:{password}")
        return "Basic " + base64.b64encode(text.encode("utf-8")).decode("ascii")
    return basic_authorization


basic_authorization = basic_authorization_in("NFC")  # the notebook's solution


def test_basic_authorization_right(run):
    assert_right(run(checks.basic_authorization, basic_authorization), "NFC and UTF-8")


def test_basic_authorization_accepts_any_case_of_the_scheme(run):
    def lower_case(username, password):
        return basic_authorization(username, password).replace("Basic ", "basic ", 1)
    assert_right(run(checks.basic_authorization, lower_case))


def test_basic_authorization_colon_in_the_user_id(run):
    def no_colon_check(username, password):
        return "Basic " + base64.b64encode(nfc_utf8(username, password)).decode("ascii")
    output = run(checks.basic_authorization, no_colon_check)
    assert_not_yet(output, "A user-id cannot contain ':' (RFC 7617 §2)")
    assert "raise ValueError" in output


def test_basic_authorization_colon_raises_another_error(run):
    def wrong_error(username, password):
        if ":" in username:
            raise TypeError("no colons")
        return basic_authorization(username, password)
    output = run(checks.basic_authorization, wrong_error)
    assert_not_yet(output, "raised TypeError: no colons")
    assert "Raise ValueError" in output


@pytest.mark.parametrize("answer, hint", [
    (lambda u, p: base64.b64encode(nfc_utf8(u, p)), "it returned bytes"),
    (lambda u, p: "Basic " + str(base64.b64encode(nfc_utf8(u, p))), "b'...' wrapper"),
    (lambda u, p: base64.b64encode(nfc_utf8(u, p)).decode(), "put the scheme in front"),
    (lambda u, p: "Basic " + base64.encodebytes(nfc_utf8(u, p)).decode(), "base64.encodebytes() adds"),
    (lambda u, p: "Basic  " + base64.b64encode(nfc_utf8(u, p)).decode(), "exactly one space"),
    (lambda u, p: "Authorization: Basic " + base64.b64encode(nfc_utf8(u, p)).decode(), "drop the 'Authorization: '"),
    (lambda u, p: "Bearer " + base64.b64encode(nfc_utf8(u, p)).decode(), "the scheme is 'Bearer'"),
    (lambda u, p: "Basic " + base64.b64encode(f"{u}{p}".encode()).decode(), "has no ':'"),
    (lambda u, p: "Basic " + base64.b64encode(f"{p}:{u}".encode()).decode(), "swapped"),
    (lambda u, p: "Basic " + base64.b64encode(nfc_utf8("ada", demo.password_of("ada"))).decode(), "another user name"),
    (lambda u, p: "Basic " + f"{u}:{p}", "not base64"),
    (lambda u, p: [u, p] and None, "returned None"),
    (lambda u, p: {"Authorization": "Basic x"}, "it returned a dict"),
], ids=["bytes", "str-of-bytes", "no-scheme", "encodebytes-newline", "two-spaces", "whole-header", "bearer",
        "no-colon", "swapped", "hard-coded-ada", "not-encoded", "none", "dict"])
def test_basic_authorization_typical_mistakes(run, answer, hint):
    assert_not_yet(run(checks.basic_authorization, answer), hint)


def test_basic_authorization_latin_1(run):
    def latin_1(username, password):  # what requests does with str credentials
        return "Basic " + base64.b64encode(f"{username}:{password}".encode("latin-1")).decode("ascii")
    output = run(checks.basic_authorization, latin_1)
    assert_not_yet(output, "raised UnicodeEncodeError")
    assert "charset=\"UTF-8\"" in output and "grace, whose password is not ASCII" in output


def test_basic_authorization_without_nfc(run):
    def no_nfc(username, password):
        return "Basic " + base64.b64encode(f"{username}:{password}".encode("utf-8")).decode("ascii")
    output = run(checks.basic_authorization, no_nfc)
    assert_not_yet(output, "decomposed form (NFD)")
    assert "unicodedata.normalize('NFC'" in output


def test_basic_authorization_base64url(run):
    def urlsafe(username, password):
        return "Basic " + base64.urlsafe_b64encode(nfc_utf8(username, password)).decode("ascii")
    assert_not_yet(run(checks.basic_authorization, urlsafe), "base64url")


def test_basic_authorization_the_popular_method(run):
    def popular(username, password):
        return (username + ":" + password).encode().base64_encode()
    assert_not_yet(run(checks.basic_authorization, popular), "use base64.b64encode(...)")


def test_basic_authorization_encoding_str(run):
    def no_encode(username, password):
        return "Basic " + base64.b64encode(f"{username}:{password}").decode("ascii")
    assert_not_yet(run(checks.basic_authorization, no_encode), ".encode('utf-8') the text first")


# -- parse_challenge (exercise 2) --------------------------------------------------------------

PARAMETER = re.compile(r'([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s",]+))')


def parse_challenge(value):
    """The notebook's solution."""
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for name, quoted, token in PARAMETER.findall(rest):
        params[name.lower()] = token or re.sub(r"\\(.)", r"\1", quoted)
    return scheme.lower(), params


def test_parse_challenge_right(run):
    assert_right(run(checks.parse_challenge, parse_challenge), "commas inside quotes kept")


def test_parse_challenge_the_solution_reads_the_practice_api():
    assert parse_challenge('Basic realm="practice", charset="UTF-8"') == (
        "basic", {"realm": "practice", "charset": "UTF-8"})
    assert parse_challenge('Basic realm=""') == ("basic", {"realm": ""})


def naive_split(value):
    scheme, _, rest = value.partition(" ")
    return scheme.lower(), dict(part.split("=") for part in rest.split(", "))


def scheme_as_sent(value):
    scheme, params = parse_challenge(value)
    return value.strip().partition(" ")[0], params


def names_as_sent(value):
    scheme, _, rest = value.strip().partition(" ")
    return scheme.lower(), {name: token or quoted for name, quoted, token in PARAMETER.findall(rest)}


def quoted_only(value):
    scheme, _, rest = value.partition(" ")
    return scheme.lower(), {name.lower(): v for name, v in re.findall(r'(\w+)="([^"]*)"', rest)}


def escapes_kept(value):
    scheme, _, rest = value.strip().partition(" ")
    return scheme.lower(), {name.lower(): token or quoted for name, quoted, token in PARAMETER.findall(rest)}


def assumes_charset(value):
    scheme, params = parse_challenge(value)
    return scheme, {"realm": params["realm"], "charset": params["charset"]}


def comma_split_regex(value):
    scheme, _, rest = value.partition(" ")
    pairs = (part.strip().partition("=") for part in rest.split(","))
    return scheme.lower(), {name.lower(): v.strip('"') for name, _, v in pairs}


@pytest.mark.parametrize("answer, hint", [
    (naive_split, "the value of realm still has its quotes"),
    (scheme_as_sent, "return the scheme in lower case"),
    (names_as_sent, "lower-case the parameter names"),
    (quoted_only, "bare token"),
    (escapes_kept, "Undo the backslash escapes"),
    (assumes_charset, "raised KeyError"),
    (comma_split_regex, "stopped at the comma"),
    (lambda value: parse_challenge(value)[1], "Return a pair"),
    (lambda value: value.partition(" ") and None, "returned None"),
    (lambda value: value.split(" ", 1), "the parameters should be a dict"),
    (lambda value: (value.lower(), {}), "the first word only"),
], ids=["naive-split", "scheme-case", "name-case", "quoted-only", "escapes", "assumes-charset", "comma",
        "dict-only", "none", "list", "whole-value"])
def test_parse_challenge_typical_mistakes(run, answer, hint):
    assert_not_yet(run(checks.parse_challenge, answer), hint)


def test_parse_challenge_split_that_raises(run):
    def split_on_equals(value):
        scheme, _, rest = value.partition(" ")
        return scheme.lower(), {name.strip().lower(): v.strip('"') for name, v in
                                (part.split("=") for part in rest.split(","))}
    assert_not_yet(run(checks.parse_challenge, split_on_equals), "A split on ',' or '=' that gives more or fewer parts")


def test_parse_challenge_escaped_quote_ends_the_value(run):
    def stops_at_escaped_quote(value):
        scheme, _, rest = value.strip().partition(" ")
        return scheme.lower(), {n.lower(): q or t for n, q, t in re.findall(r'([\w-]+)=(?:"([^"]*)"|([^\s",]+))', rest)}
    assert_not_yet(run(checks.parse_challenge, stops_at_escaped_quote), "is an escaped quote, not the end")


# -- check_basic (exercise 3) --------------------------------------------------------------

def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def basic(text: str | bytes) -> str:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return "Basic " + base64.b64encode(raw).decode("ascii")


def check_basic_in(form: str, password_form: str | None = None):
    """The notebook's solution with `form` in place of NFC (any other form is a wrong answer), for the
    user-id and, unless `password_form` names another, the password."""
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
        # RFC 7617 §2.1, as parse_basic() does
        username = unicodedata.normalize(form, username)
        password = unicodedata.normalize(password_form or form, password)
        stored = PASSWORD_HASHES.get(username)
        right_password = verify_password(password, stored or DUMMY_HASH)
        return username if right_password and stored is not None else None
    return check_basic


check_basic = check_basic_in("NFC")  # the notebook's solution


def test_check_basic_right(run):
    assert_right(run(checks.check_basic, check_basic), "without raising")


def test_the_solution_agrees_with_the_practice_api(any_api, http):
    """The exercise's answer refuses and accepts what the practice API itself does."""
    headers = [basic(f"ada:{demo.password_of('ada')}"), basic(f"grace:{demo.password_of('grace')}"),
               basic("ada:wrong"), basic("nobody:x"), "Basic !!", basic(b"ada"), basic(b"ada:\xff"),
               "Bearer " + ADA_TOKEN, "basic " + ADA_TOKEN,
               basic(unicodedata.normalize("NFD", f"grace:{demo.password_of('grace')}"))]
    for header in headers:
        response = http.get(any_api.url("/basic/whoami"), headers={"Authorization": header}, timeout=5)
        expected = response.json().get("username") if response.status_code == 200 else None
        assert check_basic(header) == expected, header


def tutorial_classic(header):
    username, password = base64.b64decode(header.split(" ")[1]).decode().split(":")
    if username == "admin" and password == "password":
        return username
    return None


def no_dummy_hash(header):
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except ValueError:
        return None
    username, colon, password = decoded.partition(":")
    if not colon or username not in PASSWORD_HASHES:
        return None  # fast for unknown users: timing tells which names exist
    return username if verify_password(nfc(password), PASSWORD_HASHES[username]) else None


PLAINTEXT = {user["username"]: user["password"] for user in demo.USERS}


def plaintext(header):
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except ValueError:
        return None
    username, colon, password = decoded.partition(":")
    return username if colon and PLAINTEXT.get(username) == nfc(password) else None


def changed(behaviour: str):
    """The solution with one behaviour changed, as a learner might write it."""
    def variant(header):
        if behaviour == "case-sensitive scheme" and header and header.startswith("basic "):
            return None
        if behaviour == "latin-1" and header and header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode("latin-1")
            except ValueError:
                return None
            username, _, password = decoded.partition(":")
            stored = PASSWORD_HASHES.get(username)
            return username if stored and verify_password(password, stored) else None
        return check_basic(header)
    return variant


def no_catch(header):
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    username, colon, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
    stored = PASSWORD_HASHES.get(username)
    return username if colon and verify_password(nfc(password), stored or DUMMY_HASH) and stored else None


def none_unsafe(header):
    return check_basic(header) if header is not None else header.strip()


def unknown_raises(header):
    scheme, _, credentials = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except ValueError:
        return None
    username, colon, password = decoded.partition(":")
    if not colon:
        return None
    return username if verify_password(nfc(password), PASSWORD_HASHES[username]) else None


def any_scheme(header):
    if not header:
        return None
    return check_basic("Basic " + header.strip().rpartition(" ")[2])


def returns_true(header):
    return True if check_basic(header) else None


def returns_false(header):
    return check_basic(header) or False


def accepts_everyone_known(header):
    scheme, _, credentials = (header or "").partition(" ")
    try:
        username = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")[0]
    except ValueError:
        return None
    return username if scheme.lower() == "basic" and username in PASSWORD_HASHES else None


@pytest.mark.parametrize("answer, hint", [
    (tutorial_classic, "Split at the FIRST colon"),
    (no_dummy_hash, "verify the password against DUMMY_HASH anyway"),
    (plaintext, "Is it comparing plaintext?"),
    (changed("case-sensitive scheme"), "compare scheme.lower() == 'basic'"),
    (changed("latin-1"), "grace's right password, which is not ASCII"),
    (no_catch, "Malformed input must never crash a server"),  # raised binascii.Error: its wording varies
    (none_unsafe, "if not header: return None"),
    (unknown_raises, "use PASSWORD_HASHES.get(username)"),
    (any_scheme, "Only 'Basic' carries user:password"),
    (returns_true, "Return the user name ('ada')"),
    (returns_false, "it returned False"),
    (accepts_everyone_known, "It accepted a wrong password!"),
], ids=["tutorial-classic", "no-dummy-hash", "plaintext", "scheme-case", "latin-1", "no-catch", "none-header",
        "unknown-raises", "any-scheme", "returns-true", "returns-false", "no-password-check"])
def test_check_basic_typical_mistakes(run, answer, hint):
    assert_not_yet(run(checks.check_basic, answer), hint)


def test_check_basic_without_nfc(run):
    def no_nfc(header):
        scheme, _, credentials = (header or "").strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except ValueError:
            return None
        username, colon, password = decoded.partition(":")
        stored = PASSWORD_HASHES.get(username)
        right_password = verify_password(password, stored or DUMMY_HASH)
        return username if colon and right_password and stored is not None else None
    output = run(checks.check_basic, no_nfc)
    assert_not_yet(output, "grace's right password sent in decomposed form (NFD")
    assert "unicodedata.normalize('NFC', ...) the user-id and the password" in output
    assert "RFC 7617 §2.1" in output


def test_check_basic_hard_coded_admin(run):
    def admin_too(header):
        if header == basic("admin:password"):
            return "admin"
        return check_basic(header)
    assert_not_yet(run(checks.check_basic, admin_too), "hard-coded admin/password")


def test_check_basic_bad_utf_8(run):
    def no_utf8_catch(header):
        scheme, _, credentials = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            raw = base64.b64decode(credentials, validate=True)
        except ValueError:
            return None
        username, colon, password = raw.decode("utf-8").partition(":")
        stored = PASSWORD_HASHES.get(username)
        return username if colon and verify_password(nfc(password), stored or DUMMY_HASH) and stored else None
    output = run(checks.check_basic, no_utf8_catch)
    assert_not_yet(output, "raised UnicodeDecodeError")
    assert "Catch UnicodeDecodeError" in output


# -- review: Latin-1 first, no NFC on the user-id, a cheaper dummy hash, == on the hashes ----------

def test_basic_authorization_latin_1_first_then_utf_8(run):
    """01 cell 40's quiet bug: a Latin-1-encodable password goes out as Latin-1, and raises nothing."""
    def latin_1_first(username, password):
        if ":" in username:
            raise ValueError("a user-id cannot contain ':'")
        try:
            raw = f"{username}:{password}".encode("latin-1")
        except UnicodeEncodeError:
            raw = nfc_utf8(username, password)
        return "Basic " + base64.b64encode(raw).decode("ascii")
    assert_not_yet(run(checks.basic_authorization, latin_1_first), "the text was encoded as Latin-1")


def test_basic_authorization_without_nfc_on_the_user_id(run):
    def password_only(username, password):
        if ":" in username:
            raise ValueError("a user-id cannot contain ':'")
        raw = f"{username}:{unicodedata.normalize('NFC', password)}".encode("utf-8")
        return "Basic " + base64.b64encode(raw).decode("ascii")
    output = run(checks.basic_authorization, password_only)
    assert_not_yet(output, "the user-id came in decomposed form (NFD)")
    assert "unicodedata.normalize('NFC'" in output


def cheaper_dummy(iterations: int):
    """The solution, with a dummy hash that costs less than a real one."""
    dummy = hash_password("anything", iterations=iterations)

    def answer(header):
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
        username, password = nfc(username), nfc(password)
        stored = PASSWORD_HASHES.get(username)
        right_password = verify_password(password, stored or dummy)
        return username if right_password and stored is not None else None
    return answer


@pytest.mark.parametrize("iterations", [5_000, 10_000, 19_000])
def test_check_basic_with_a_cheaper_dummy_hash(run, iterations):
    """Even 5 % less work for unknown users is a difference an attacker can measure over many requests."""
    output = run(checks.check_basic, cheaper_dummy(iterations))
    assert_not_yet(output, f"{iterations:,} PBKDF2 iterations for an unknown user name")


def equal_on_the_hashes(header):
    """Hashes the password itself, then compares with ==, which stops at the first byte that differs."""
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
    username, password = nfc(username), nfc(password)
    _, iterations, salt, expected = (PASSWORD_HASHES.get(username) or DUMMY_HASH).split("$")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
    return username if base64.b64encode(digest).decode() == expected and username in PASSWORD_HASHES else None


def test_check_basic_comparing_hashes_with_equals(run):
    assert_not_yet(run(checks.check_basic, equal_on_the_hashes), "hmac.compare_digest()")


def own_hash_and_compare_digest(header):
    """Its own PBKDF2, then compare_digest, imported by name at the top of this file."""
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
    username, password = nfc(username), nfc(password)
    _, iterations, salt, expected = (PASSWORD_HASHES.get(username) or DUMMY_HASH).split("$")
    digest = pbkdf2_hmac("sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
    return username if compare_digest(digest, base64.b64decode(expected)) and username in PASSWORD_HASHES else None


def test_check_basic_with_hashing_of_its_own_imported_by_name_is_right(run):
    assert_right(run(checks.check_basic, own_hash_and_compare_digest))


def test_check_basic_with_compare_digest_of_its_own_is_right(run):
    """Its own PBKDF2 and secrets.compare_digest(), imported in the function: the same work, in constant time."""
    def own(header):
        import secrets
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
        username, password = nfc(username), nfc(password)
        _, iterations, salt, expected = (PASSWORD_HASHES.get(username) or DUMMY_HASH).split("$")
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
        right_password = secrets.compare_digest(digest, base64.b64decode(expected))
        return username if right_password and username in PASSWORD_HASHES else None
    assert_right(run(checks.check_basic, own))


def test_check_basic_does_not_time_the_right_answer(run, monkeypatch):
    """On a loaded machine the clock can say anything: the right answer passes however it runs."""
    import itertools
    from helpers.checks import raw_http

    ticks = itertools.count()

    class Jumpy:
        @staticmethod
        def perf_counter():  # every call looks a thousand times slower than the last
            return 1000.0 ** (next(ticks) % 7)

    monkeypatch.setattr(raw_http, "time", Jumpy)
    assert_right(run(checks.check_basic, check_basic))


def test_check_basic_puts_hashlib_and_hmac_back(run):
    import hmac
    import secrets
    before = hashlib.pbkdf2_hmac, hmac.compare_digest, secrets.compare_digest
    run(checks.check_basic, check_basic)
    run(checks.check_basic, equal_on_the_hashes)
    assert (hashlib.pbkdf2_hmac, hmac.compare_digest, secrets.compare_digest) == before


def test_check_basic_that_takes_a_prefix_as_the_scheme(run):
    """'Basic' glued to the credentials is not the Basic scheme: RFC 9110 §11.4 puts a space between them."""
    def prefix(header):
        if not header or not header.lower().startswith("basic"):
            return None
        return check_basic("Basic " + header[5:].strip())
    assert_not_yet(run(checks.check_basic, prefix), "glued to the scheme")
