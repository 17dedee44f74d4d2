"""GET /basic/whoami of the practice API, through the in-process transport.

Every path of `helpers.practice_api.basic_auth` is exercised with real HTTP semantics: status,
`WWW-Authenticate`, `Retry-After`, and the JSON error body. The API's own bug list
(`app.errors`) must stay empty: malformed input is a 400 or 401, never a 500.
"""
from __future__ import annotations

import base64
import socket
import unicodedata

import pytest
import requests

from helpers import start_practice_api
from helpers.practice_api import demo, passwords, users
from helpers.practice_api.clock import Clock

TIMEOUT = 5
WHOAMI = "/basic/whoami"
CHALLENGE = 'Basic realm="practice", charset="UTF-8"'
ADA = ("ada", demo.password_of("ada"))
GRACE = ("grace", demo.password_of("grace"))


def utf8(user: str, password: str) -> tuple[bytes, bytes]:
    """Credentials as UTF-8 bytes, which is what a server announcing charset="UTF-8" expects."""
    return user.encode("utf-8"), password.encode("utf-8")


def basic_value(raw: bytes) -> str:
    """An Authorization value carrying exactly `raw` (already "user:password" bytes)."""
    return "Basic " + base64.b64encode(raw).decode("ascii")


def error_of(response: requests.Response) -> tuple[str, str]:
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "error_description"}
    return body["error"], body["error_description"]


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to resolve a host name (the first step of any connection)."""
    lookups = []

    def refuse(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, f"test blocked name resolution of {host!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return lookups


def whoami(http, api, **kwargs) -> requests.Response:
    return http.get(api.url(WHOAMI), timeout=TIMEOUT, **kwargs)


def with_header(http, api, value: str) -> requests.Response:
    return whoami(http, api, headers={"Authorization": value})


def assert_invalid_request(response: requests.Response, phrase: str) -> None:
    assert response.status_code == 400
    assert "WWW-Authenticate" not in response.headers
    error, description = error_of(response)
    assert error == "invalid_request"
    assert phrase in description


def assert_unauthorized(response: requests.Response, code: str, phrase: str) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    error, description = error_of(response)
    assert error == code
    assert phrase in description


def fail(http, api, times: int, user: str = "ada", password: str = "wrong-password") -> None:
    for attempt in range(times):
        response = whoami(http, api, auth=utf8(user, password))
        assert response.status_code == 401, f"attempt {attempt + 1} for {user!r}: {response.status_code}"


def assert_locked(response: requests.Response, user: str) -> int:
    assert response.status_code == 429
    error, description = error_of(response)
    assert error == "too_many_attempts"
    assert f"{user!r}" in description and "Retry-After" in description
    assert response.headers["Retry-After"].isdigit()
    return int(response.headers["Retry-After"])


# -- 200 -------------------------------------------------------------------------------

def test_ada_password_with_colons_succeeds(http, api):
    """ada's password has two colons: only a split on the FIRST colon gets it right."""
    assert ADA[1].count(":") == 2
    response = whoami(http, api, auth=ADA)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"username": "ada", "scheme": "Basic"}
    assert "WWW-Authenticate" not in response.headers


def test_grace_non_ascii_password_as_utf8_bytes_succeeds(http, api):
    response = whoami(http, api, auth=utf8(*GRACE))
    assert response.status_code == 200
    assert response.json() == {"username": "grace", "scheme": "Basic"}


def test_grace_password_as_str_cannot_even_be_sent_by_requests(http, api):
    """FACTS.md: requests encodes str credentials as Latin-1, and '€' is not Latin-1."""
    with pytest.raises(UnicodeEncodeError):
        whoami(http, api, auth=GRACE)
    assert api.calls == []


def test_grace_password_in_nfd_form_is_normalized_to_nfc(http, api):
    nfd = unicodedata.normalize("NFD", GRACE[1])
    assert nfd != GRACE[1]  # "ü" became "u" + U+0308: different bytes on the wire
    assert nfd.encode("utf-8") != GRACE[1].encode("utf-8")
    response = whoami(http, api, auth=utf8("grace", nfd))
    assert response.status_code == 200
    assert response.json()["username"] == "grace"


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "bAsIc"])
def test_scheme_name_is_case_insensitive(http, api, scheme):
    token = base64.b64encode(f"{ADA[0]}:{ADA[1]}".encode("utf-8")).decode("ascii")
    response = with_header(http, api, f"{scheme} {token}")
    assert response.status_code == 200
    assert response.json()["username"] == "ada"


# -- 401: no or other credentials ----------------------------------------------------------

def test_missing_header_gets_challenge(http, api):
    response = whoami(http, api)
    assert_unauthorized(response, "missing_credentials", "Authorization: Basic")


def test_blank_header_counts_as_missing(http, api):
    response = with_header(http, api, "")
    assert_unauthorized(response, "missing_credentials", "needs HTTP Basic credentials")


@pytest.mark.parametrize("value", ["Bearer abc.def.ghi", "Digest username=\"ada\"", "Token abc"])
def test_other_scheme_is_invalid_scheme(http, api, value):
    response = with_header(http, api, value)
    assert_unauthorized(response, "invalid_scheme", "uses the Basic scheme")
    assert repr(value.split(" ")[0]) in response.json()["error_description"]


@pytest.mark.parametrize("value", ["sk_live_0123456789abcdefXYZ", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2ln"])
def test_invalid_scheme_does_not_echo_a_schemeless_credential(http, api, value):
    """A header without a space (`headers={"Authorization": token}`) has no scheme: the whole
    value may be a secret, and error bodies end up in logs and notebooks, so it is never echoed."""
    response = with_header(http, api, value)
    assert_unauthorized(response, "invalid_scheme", "uses the Basic scheme")
    assert value[:8] not in response.text, response.json()["error_description"]


def test_wrong_password_and_unknown_user_look_identical(http, api):
    """No user enumeration: same status, same challenge, same body, byte for byte."""
    wrong_password = whoami(http, api, auth=("ada", "not-the-password"))
    unknown_user = whoami(http, api, auth=("nobody", "not-the-password"))
    for response in (wrong_password, unknown_user):
        assert_unauthorized(response, "invalid_credentials", "Wrong user name or password")
    assert wrong_password.content == unknown_user.content
    assert wrong_password.headers == unknown_user.headers


def test_user_id_with_colon_is_split_at_first_colon(http, api):
    """("team:ops", "x") is sent as "team:ops:x": user-id "team", password "ops:x"."""
    for _ in range(5):
        assert_unauthorized(whoami(http, api, auth=("team:ops", "x")), "invalid_credentials", "Wrong user name")
    # The failures were counted against "team", the part before the first colon.
    locked = whoami(http, api, auth=("team", "anything"))
    assert_locked(locked, "team")
    assert "team:ops" not in locked.json()["error_description"]


def test_password_is_case_sensitive(http, api):
    response = whoami(http, api, auth=(ADA[0], ADA[1].upper()))
    assert_unauthorized(response, "invalid_credentials", "Wrong user name or password")


# -- 400: malformed credentials, never a 500 --------------------------------------------------

@pytest.mark.parametrize("token", ["not*base64!", "YWRh:b25l", "YWRhOnB3ZA", "-_-_"])
def test_bad_base64_is_400(http, api, token):
    response = with_header(http, api, f"Basic {token}")
    assert_invalid_request(response, "not valid base64")


@pytest.mark.parametrize("value", ["Basic", "Basic ", "Basic    "])
def test_empty_token_is_400(http, api, value):
    response = with_header(http, api, value)
    assert_invalid_request(response, "no ':'")


def test_no_colon_is_400(http, api):
    response = with_header(http, api, basic_value(b"adaanalytical-engine"))
    assert_invalid_request(response, "no ':' between user-id and password")


def test_latin1_credentials_are_400_not_500(http, api):
    """str credentials go out as Latin-1 ('ü' is one byte, 0xFC), which is not UTF-8."""
    response = whoami(http, api, auth=("grace", "Grüße"))
    assert response.request.headers["Authorization"] == basic_value("grace:Grüße".encode("latin-1"))
    assert_invalid_request(response, 'charset="UTF-8"')
    assert "password.encode(\"utf-8\")" in response.json()["error_description"]


@pytest.mark.parametrize("raw", [b"ada:pass\x00word", b"a\x07da:password", b"ada:pass\tword", b"ada:pw\x7f",
                                 "ada:pw\u0085".encode("utf-8")])
def test_control_characters_are_400(http, api, raw):
    response = with_header(http, api, basic_value(raw))
    assert_invalid_request(response, "control characters")


def test_oversized_header_is_400(http, api):
    # Well-formed base64 of "ada:xxx...": without the length limit this would be checked (401).
    value = basic_value(b"ada:" + b"x" * 4000)
    assert len(value) > 4096
    response = with_header(http, api, value)
    assert_invalid_request(response, "longer than 4096")


def test_header_of_exactly_4096_characters_is_still_read(http, api):
    token = base64.b64encode(b"ada:" + b"x" * 3062).decode("ascii")
    value = "Basic" + " " * (4096 - 5 - len(token)) + token
    assert len(value) == 4096
    assert_unauthorized(with_header(http, api, value), "invalid_credentials", "Wrong user name or password")
    too_long = value[:5] + " " + value[5:]
    assert len(too_long) == 4097
    assert_invalid_request(with_header(http, api, too_long), "longer than 4096")


def test_malformed_headers_do_not_count_as_failed_logins(http, api):
    for _ in range(6):
        assert with_header(http, api, "Basic !!!").status_code == 400
    assert whoami(http, api, auth=ADA).status_code == 200


# -- 429: lockout ------------------------------------------------------------------------

def test_five_failures_lock_out_even_the_right_password(http, api):
    fail(http, api, 5)
    wrong = whoami(http, api, auth=("ada", "wrong-password"))
    assert assert_locked(wrong, "ada") == 60
    right = whoami(http, api, auth=ADA)
    assert assert_locked(right, "ada") == 60
    assert "WWW-Authenticate" not in right.headers


def test_retry_after_counts_down_and_waiting_it_recovers(http, api):
    fail(http, api, 5)
    assert assert_locked(whoami(http, api, auth=ADA), "ada") == 60
    api.clock.advance(30)
    wait = assert_locked(whoami(http, api, auth=ADA), "ada")
    assert wait == 30
    api.clock.advance(wait - 1)
    assert assert_locked(whoami(http, api, auth=ADA), "ada") == 1
    api.clock.advance(1)
    response = whoami(http, api, auth=ADA)
    assert response.status_code == 200
    assert response.json()["username"] == "ada"


def test_advancing_by_retry_after_recovers(http, api):
    fail(http, api, 5)
    wait = assert_locked(whoami(http, api, auth=ADA), "ada")
    api.clock.advance(wait)
    assert whoami(http, api, auth=ADA).status_code == 200


def test_attempts_while_locked_do_not_extend_the_lockout(http, api):
    fail(http, api, 5)
    for _ in range(3):
        assert whoami(http, api, auth=("ada", "wrong-password")).status_code == 429
    api.clock.advance(60)
    assert whoami(http, api, auth=ADA).status_code == 200


def test_success_clears_the_failure_count(http, api):
    fail(http, api, 4)
    assert whoami(http, api, auth=ADA).status_code == 200
    fail(http, api, 4)  # would reach 429 on the first of these if the count was kept
    assert whoami(http, api, auth=ADA).status_code == 200


def test_lockout_is_per_user(http, api):
    fail(http, api, 5)
    assert whoami(http, api, auth=ADA).status_code == 429
    response = whoami(http, api, auth=utf8(*GRACE))
    assert response.status_code == 200
    assert response.json()["username"] == "grace"


def test_unknown_users_are_locked_out_like_known_ones(http, api):
    """Otherwise a 429 would reveal which user names exist."""
    fail(http, api, 5, user="nobody")
    assert_locked(whoami(http, api, auth=("nobody", "x")), "nobody")


def test_failures_older_than_the_window_do_not_count(http, api):
    fail(http, api, 4)
    api.clock.advance(61)
    fail(http, api, 4)  # only these 4 are inside the last 60 s
    assert whoami(http, api, auth=ADA).status_code == 200


def test_failures_inside_the_window_do_count(http, api):
    fail(http, api, 4)
    api.clock.advance(59)
    fail(http, api, 1)
    wait = assert_locked(whoami(http, api, auth=ADA), "ada")
    assert wait == 1  # the oldest failure leaves the window in about a second
    api.clock.advance(wait)
    # the oldest failure left the window; four remain, so one more try is allowed
    assert whoami(http, api, auth=ADA).status_code == 200


# -- routing ---------------------------------------------------------------------------

def test_unknown_path_is_404_json(http, api):
    response = http.get(api.url("/nope"), timeout=TIMEOUT)
    assert response.status_code == 404
    error, description = error_of(response)
    assert error == "not_found"
    assert "'/nope'" in description and "GET / lists them" in description


def test_post_to_whoami_is_405_with_allow(http, api):
    response = http.post(api.url(WHOAMI), auth=ADA, data=b"x", timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"  # RFC 9110 §9.1: HEAD wherever GET is
    error, description = error_of(response)
    assert error == "method_not_allowed"
    assert "/basic/whoami accepts GET, HEAD" in description


def test_head_gets_an_answer_not_a_broken_response(http, api):
    """HEAD gets a bodiless answer in-process too (urllib3 refuses a HEAD response with content),
    as on the loopback transport: 405 with `Allow: GET`."""
    try:
        response = http.head(api.url(WHOAMI), timeout=TIMEOUT)
    except requests.RequestException as error:
        pytest.fail(f"HEAD {WHOAMI} through the in-process transport raised {type(error).__name__}: {error}")
    assert response.status_code in (401, 405)
    assert response.content == b""


def test_index_lists_endpoints(http, api):
    response = http.get(api.url("/"), timeout=TIMEOUT)
    assert response.status_code == 200
    body = response.json()
    assert "demo only" in body["name"]
    assert body["endpoints"]["/"] == ["GET", "HEAD"]
    assert body["endpoints"][WHOAMI] == ["GET", "HEAD"]
    assert body["endpoints"]["/login"] == ["POST"]


def test_query_string_does_not_change_the_route(http, api):
    response = http.get(api.url(WHOAMI + "?x=1"), auth=ADA, timeout=TIMEOUT)
    assert response.status_code == 200
    assert api.calls[-1].path == WHOAMI and api.calls[-1].query == "x=1"


# -- the handle: calls, masking, transport ------------------------------------------------

def test_calls_record_requests_in_order(http, api):
    assert api.calls == []
    whoami(http, api)
    whoami(http, api, auth=ADA)
    http.get(api.url("/"), timeout=TIMEOUT)
    assert [(c.method, c.path) for c in api.calls] == [("GET", WHOAMI), ("GET", WHOAMI), ("GET", "/")]
    assert api.calls[0].header("Authorization") is None
    assert api.calls[1].header("Authorization") == basic_value(f"{ADA[0]}:{ADA[1]}".encode())
    assert api.calls[1].header("host") == "api.practice.test"


def test_request_repr_masks_authorization(http, api):
    response = whoami(http, api, auth=ADA, headers={"X-Trace": "t-1"})
    token = response.request.headers["Authorization"].split(" ", 1)[1]
    text = repr(api.calls[-1])
    assert "'authorization': '<hidden>'" in text
    assert token not in text and ADA[1] not in text
    assert "GET /basic/whoami" in text and "t-1" in text  # harmless headers stay visible


def test_handle_basics(api):
    assert api.base_url == "https://api.practice.test"
    assert api.url(WHOAMI) == "https://api.practice.test/basic/whoami"
    assert api.transport == "in-process"
    assert "https://api.practice.test" in repr(api)
    assert api.clock is api.app.clock


@pytest.mark.parametrize("url", [
    "https://example.com/",
    "http://api.practice.test/basic/whoami",  # plain http is another origin: never answered
    "https://api.practice.test.example.com/basic/whoami",
    "https://api.practice.test:8443/basic/whoami",
    "https://evil.test/?next=https://api.practice.test/",
])
def test_other_hosts_fail_without_touching_the_network(http, api, no_network, url):
    with pytest.raises(requests.ConnectionError):
        http.get(url, auth=ADA, timeout=TIMEOUT)
    assert no_network == []
    assert api.calls == []


def test_starting_twice_is_harmless(http, api, no_network):
    fail(http, api, 5)
    assert whoami(http, api, auth=ADA).status_code == 429
    first_app = api.app

    second = start_practice_api()
    try:
        assert second.app is not first_app
        response = whoami(http, second, auth=ADA)  # lockout state is fresh
        assert response.status_code == 200
        assert len(second.calls) == 1
        assert len(first_app.calls) == 6  # the replaced API no longer receives anything
        assert second.clock.offset == 0
    finally:
        second.stop()
    assert second.app.errors == []

    # Nothing is left patched (not even the first handle's mock): requests really tries DNS.
    with pytest.raises(requests.ConnectionError):
        whoami(http, second, auth=ADA)
    assert no_network == ["api.practice.test"]

    api.stop()  # stopping an already replaced handle is harmless too
    third = start_practice_api()
    try:
        assert whoami(http, third, auth=ADA).status_code == 200
    finally:
        third.stop()


def test_after_stop_requests_are_not_intercepted(http, api, no_network):
    assert whoami(http, api, auth=ADA).status_code == 200
    api.stop()
    with pytest.raises(requests.ConnectionError):
        whoami(http, api, auth=ADA)
    assert no_network == ["api.practice.test"]
    assert len(api.calls) == 1


# -- the clock -------------------------------------------------------------------------

def test_clock_advance_moves_forward():
    clock = Clock()
    before = clock.now()
    clock.advance(3600)
    assert clock.now() - before >= 3600
    clock.advance(0)
    assert clock.offset == 3600
    assert "+3600 s" in repr(clock)


@pytest.mark.parametrize("seconds", [-1, -0.001])
def test_clock_advance_refuses_negative(seconds):
    clock = Clock()
    with pytest.raises(ValueError, match=">= 0"):
        clock.advance(seconds)
    assert clock.offset == 0


# -- helpers.practice_api.passwords -------------------------------------------------------------------

def test_hash_verify_round_trip():
    stored = passwords.hash_password("correct horse", iterations=1000)
    algorithm, iterations, salt, digest = stored.split("$")
    assert (algorithm, iterations) == ("pbkdf2_sha256", "1000")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert "correct horse" not in stored
    assert passwords.verify_password("correct horse", stored) is True


@pytest.mark.parametrize("guess", ["correct hors", "Correct horse", "correct horse ", ""])
def test_verify_rejects_wrong_password(guess):
    stored = passwords.hash_password("correct horse", iterations=1000)
    assert passwords.verify_password(guess, stored) is False


def test_hash_is_salted_and_salt_is_reproducible():
    a = passwords.hash_password("same", iterations=1000)
    b = passwords.hash_password("same", iterations=1000)
    assert a != b  # random salt: equal passwords do not give equal hashes
    salt = bytes(range(16))
    assert passwords.hash_password("same", iterations=1000, salt=salt) == \
        passwords.hash_password("same", iterations=1000, salt=salt)


def test_default_iterations_are_recorded():
    stored = passwords.hash_password("x", salt=b"0" * 16)
    assert stored.split("$")[1] == str(passwords.DEMO_ITERATIONS)


def test_non_ascii_password_round_trip():
    stored = passwords.hash_password(GRACE[1], iterations=1000)
    assert passwords.verify_password(GRACE[1], stored)
    assert not passwords.verify_password(unicodedata.normalize("NFD", GRACE[1]), stored)


def test_unknown_algorithm_is_refused():
    stored = passwords.hash_password("x", iterations=1000).replace("pbkdf2_sha256", "md5", 1)
    with pytest.raises(ValueError, match="unknown password hash algorithm"):
        passwords.verify_password("x", stored)


def test_stored_users_verify_with_demo_passwords():
    assert set(users.PASSWORD_HASHES) == {user["username"] for user in demo.USERS}
    for user in demo.USERS:
        stored = users.PASSWORD_HASHES[user["username"]]
        assert passwords.verify_password(user["password"], stored)
        assert user["password"] not in stored
    assert not passwords.verify_password(ADA[1], users.PASSWORD_HASHES["grace"])
    assert not passwords.verify_password(GRACE[1], users.PASSWORD_HASHES["ada"])


def test_dummy_hash_matches_no_demo_password():
    for user in demo.USERS:
        assert not passwords.verify_password(user["password"], users.DUMMY_HASH)
    assert users.DUMMY_HASH.split("$")[:2] == users.PASSWORD_HASHES["ada"].split("$")[:2]  # same cost


def test_demo_password_of_unknown_user_raises():
    with pytest.raises(KeyError, match="ada"):
        demo.password_of("nobody")


# -- Details found in review --------------------------------------------------------------

def test_request_repr_masks_secret_query_parameters(http, api):
    http.get(api.url("/basic/whoami"), params={"page": "2", "api_key": "k-secret-42"}, timeout=TIMEOUT)
    shown = repr(api.calls[-1])
    assert "k-secret-42" not in shown and "api_key=<hidden>" in shown and "page=2" in shown


def test_credentials_in_the_url_reach_the_in_process_api(http, api):
    url = api.url("/basic/whoami").replace("https://", "https://ada:analytical%3Aengine%3A1843@")
    response = http.get(url, timeout=TIMEOUT)
    assert response.status_code == 200 and response.json()["username"] == "ada"
    assert api.calls[-1].header("host") == "api.practice.test"


def test_the_lockout_forgets_users_whose_failures_expired(api):
    attempts = api.app.passwords.attempts
    for n in range(200):
        attempts.record_failure(f"user-{n}")
    api.clock.advance(attempts.window)
    assert all(attempts.retry_after(f"user-{n}") == 0 for n in range(200))
    assert attempts._failures == {}


@pytest.mark.parametrize("value, leak", [("ada:my secret pass", "ada:"), ("sk_live_4eC39HqLyjWDarjtT1zdp7dc extra", "sk_li"),
                                         ("c2VjcmV0 dG9rZW4=", "c2Vj"), ("Bearer\tsupersecrettoken", "super")])
def test_invalid_scheme_never_echoes_a_word_that_is_not_a_scheme_name(http, api, value, leak):
    """05 cell 44: no message ever echoes the credentials, not even their first word."""
    response = with_header(http, api, value)
    assert_unauthorized(response, "invalid_scheme", "uses the Basic scheme")
    assert leak not in response.json()["error_description"]


@pytest.mark.parametrize("field", ["username", "password"])
def test_a_lone_surrogate_at_login_is_400_not_500(http, any_api, field):
    """json.loads lets "\\ud800" through, and it has no UTF-8 form to hash."""
    body = {"username": "ada", "password": demo.password_of("ada"), field: "ad\ud800a"}
    response = http.post(any_api.url("/login"), json=body, timeout=TIMEOUT)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "surrogate" in response.json()["error_description"]


def test_failed_attempts_forget_names_whose_failures_left_the_window():
    from helpers.practice_api.throttle import FailedAttempts

    attempts = FailedAttempts(Clock(), window=60)
    for n in range(1000):
        attempts.record_failure(f"random-{n}")
    attempts.clock.advance(61)
    attempts.record_failure("one-more")
    assert len(attempts._failures) == 1  # noqa: SLF001 - the memory the class holds is what is tested
    for n in range(5):
        attempts.record_failure("ada")
    assert attempts.retry_after("ada") > 0  # still locks out within the window
