"""Checks of notebook 04: the right answer passes, typical wrong answers get their own hint."""
from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import quote_plus

import pytest
import requests
from requests.auth import HTTPBasicAuth

from helpers import checks
from helpers.practice_api import demo

WEB_CLIENT_ID = "notes-web"
WEB_CLIENT_SECRET = str(demo.client(WEB_CLIENT_ID)["client_secret"])
WEB_REDIRECT_URI = "https://notes-web.test/callback"


def assert_not_yet(output: str, hint: str) -> None:
    assert output.startswith("✗ Not yet") and hint in output, output
    assert WEB_CLIENT_SECRET not in output


# -- exercise 1: pkce_pair ------------------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def right_pkce_pair():
    verifier = secrets.token_urlsafe(32)
    return verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def test_pkce_pair_right(feedback):
    output = feedback(checks.pkce_pair, right_pkce_pair)
    assert output.startswith("✓ Right") and "43-character" in output


def test_pkce_pair_right_with_a_long_verifier(feedback):
    def long_pair():
        verifier = secrets.token_urlsafe(96)
        return verifier, b64url(hashlib.sha256(verifier.encode()).digest())

    assert feedback(checks.pkce_pair, long_pair).startswith("✓ Right")


def with_verifier(make_verifier, make_challenge=None):
    def pair():
        verifier = make_verifier()
        challenge = (make_challenge or (lambda v: b64url(hashlib.sha256(v.encode()).digest())))(verifier)
        return verifier, challenge
    return pair


FIXED = "a" * 43


@pytest.mark.parametrize("answer, hint", [
    (..., "replace the `...`"),
    (None, "replace the `...`"),
    (lambda: None, "returned None"),
    (right_pkce_pair(), "pass the function itself"),
    ("pkce", "pass the function itself"),
    (lambda: right_pkce_pair()[0], "return a pair"),
    (lambda: tuple(value.encode() for value in right_pkce_pair()), "bytes"),
    (lambda: tuple(reversed(right_pkce_pair())), "swapped"),
    (with_verifier(lambda: secrets.token_urlsafe(16)), "RFC 7636 §4.1 asks for 43 to 128"),
    (with_verifier(lambda: secrets.token_urlsafe(100)), "at most 128"),
    (with_verifier(lambda: base64.b64encode(secrets.token_bytes(48)).decode() + "+/="), "characters RFC 7636"),
    (with_verifier(lambda: FIXED), "same code_verifier"),
    (with_verifier(lambda: secrets.token_urlsafe(32), lambda v: v), "'plain' method"),
    (with_verifier(lambda: secrets.token_urlsafe(32),
                   lambda v: base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).decode()), "padding"),
    (with_verifier(lambda: secrets.token_urlsafe(32), lambda v: hashlib.sha256(v.encode()).hexdigest()),
     "hex digest"),
    (with_verifier(lambda: secrets.token_urlsafe(32), lambda v: base64.b64encode(hashlib.sha256(v.encode()).digest())
                   .decode()), "standard base64"),
    (with_verifier(lambda: secrets.token_urlsafe(32), lambda v: b64url(hashlib.sha1(v.encode()).digest())),
     "is not BASE64URL(SHA256(code_verifier))"),
    (lambda: 1 / 0, "raised ZeroDivisionError"),
])
def test_pkce_pair_wrong(feedback, answer, hint):
    assert_not_yet(feedback(checks.pkce_pair, answer), hint)


def test_pkce_pair_standard_base64_without_padding_is_named(feedback):
    """Standard and url-safe base64 differ only where the digest gives + or /, so the check tries several pairs."""
    def pair():
        verifier = secrets.token_urlsafe(32)
        return verifier, base64.b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")

    assert_not_yet(feedback(checks.pkce_pair, pair), "standard base64")


def test_pkce_pair_mixed_types_across_calls(feedback):
    calls = iter(range(100))

    def pair():
        verifier, challenge = right_pkce_pair()
        return (verifier, challenge) if next(calls) == 0 else (None, challenge)

    assert_not_yet(feedback(checks.pkce_pair, pair), "two str values")


# -- exercise 2: exchange_code --------------------------------------------------------------

def right_exchange_code(session, token_url, code, code_verifier):
    response = session.post(token_url, data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": WEB_REDIRECT_URI, "code_verifier": code_verifier},
                            auth=(quote_plus(WEB_CLIENT_ID), quote_plus(WEB_CLIENT_SECRET)),  # RFC 6749 §2.3.1
                            timeout=5, allow_redirects=False)
    response.raise_for_status()
    if response.status_code != 200:  # raise_for_status() lets a redirect through
        raise requests.HTTPError(f"{response.status_code}: expected 200", response=response)
    return response.json()


def exchange(form_changes=None, drop=(), **post_options):
    """An exchange_code that differs from the right one by the given form fields and post() options."""
    def function(session, token_url, code, code_verifier):
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_REDIRECT_URI,
                "code_verifier": code_verifier, **(form_changes or {})}
        for name in drop:
            form.pop(name)
        options = {"auth": (quote_plus(WEB_CLIENT_ID), quote_plus(WEB_CLIENT_SECRET)), "timeout": 5,
                   "allow_redirects": False, **post_options}
        options = {name: value for name, value in options.items() if value is not None}
        if options.pop("as_json", False):
            response = session.post(token_url, json=form, **options)
        else:
            response = session.post(token_url, data=form, **options)
        response.raise_for_status()
        if response.status_code != 200:  # raise_for_status() lets a redirect through
            raise requests.HTTPError(f"{response.status_code}: expected 200", response=response)
        return response.json()
    return function


def test_exchange_code_right(feedback):
    assert feedback(checks.exchange_code, right_exchange_code).startswith("✓ Right")


def test_exchange_code_right_with_httpbasicauth_and_client_id_in_the_body(feedback):
    def answer(session, token_url, code, code_verifier):
        basic = HTTPBasicAuth(quote_plus(WEB_CLIENT_ID), quote_plus(WEB_CLIENT_SECRET))
        return exchange({"client_id": WEB_CLIENT_ID}, auth=basic)(session, token_url, code, code_verifier)
    assert feedback(checks.exchange_code, answer).startswith("✓ Right")


def secret_in_body(session, token_url, code, code_verifier):
    response = session.post(token_url, data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": WEB_REDIRECT_URI, "code_verifier": code_verifier,
                                             "client_id": WEB_CLIENT_ID, "client_secret": WEB_CLIENT_SECRET},
                            timeout=5)
    response.raise_for_status()
    return response.json()


def uses_requests_post(session, token_url, code, code_verifier):
    return requests.post("https://api.practice.test/nowhere", timeout=0.001).json()


def returns_error_dict(session, token_url, code, code_verifier):
    return session.post(token_url, data={"grant_type": "authorization_code", "code": code,
                                         "redirect_uri": WEB_REDIRECT_URI, "code_verifier": code_verifier},
                        auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET), timeout=5).json()


def returns_response(session, token_url, code, code_verifier):
    response = session.post(token_url, data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": WEB_REDIRECT_URI, "code_verifier": code_verifier},
                            auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET), timeout=5)
    response.raise_for_status()
    return response


def prints_the_tokens(session, token_url, code, code_verifier):
    tokens = right_exchange_code(session, token_url, code, code_verifier)
    print(tokens)
    return tokens


@pytest.mark.parametrize("answer, hint", [
    (..., "replace the `...`"),
    ("exchange_code", "pass the function itself"),
    (lambda session, token_url, code, code_verifier: None, "did not call session.post"),
    (uses_requests_post, "sent nothing through `session`"),
    (secret_in_body, "does NOT RECOMMEND that"),
    (exchange(auth=None), "confidential client"),
    (exchange(auth=("notes-cli", WEB_CLIENT_SECRET)), "name the client 'notes-cli'"),
    (exchange(auth=(WEB_CLIENT_ID, "not-the-secret")), "wrong secret"),
    (exchange(drop=("code_verifier",)), "code_verifier is missing"),
    (exchange(drop=("redirect_uri",)), "redirect_uri is missing"),
    (exchange({"redirect_uri": "http://127.0.0.1:8765/callback"}), "registered one"),
    (exchange({"grant_type": "client_credentials"}), "grant_type should be 'authorization_code'"),
    (exchange(timeout=None), "no timeout="),
    (exchange(as_json=True), "not JSON"),
    (exchange(params={"code": "in-the-url"}), "in the URL"),
    (returns_error_dict, "instead of raising"),
    (returns_response, "return the token response as a dict"),
    (prints_the_tokens, "never print them"),
])
def test_exchange_code_wrong(feedback, answer, hint):
    assert_not_yet(feedback(checks.exchange_code, answer), hint)


def test_exchange_code_error_messages_never_show_the_secret(feedback):
    def raises_with_secret(session, token_url, code, code_verifier):
        session.post(token_url, data={}, auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET), timeout=5)
        raise ValueError(f"could not use {WEB_CLIENT_SECRET}")

    assert_not_yet(feedback(checks.exchange_code, raises_with_secret), "raised ValueError")


# -- exercise 3: next_interval --------------------------------------------------------------

class DeviceFlowError(Exception):
    pass


def right_next_interval(response, interval):
    if isinstance(response, requests.Timeout):  # RFC 8628 §3.5: poll less often, then retry
        return interval * 2
    try:
        error = response.json().get("error")
    except ValueError:
        error = None
    if error == "authorization_pending":
        return interval
    if error == "slow_down":
        return interval + 5
    raise DeviceFlowError(error or f"HTTP {response.status_code}")


def test_next_interval_right(feedback):
    assert feedback(checks.next_interval, right_next_interval).startswith("✓ Right")


def error_of(response):
    return response.json()["error"]


@pytest.mark.parametrize("answer, hint", [
    (..., "replace the `...`"),
    (right_next_interval(type("R", (), {"json": lambda self: {"error": "slow_down"}})(), 5), "pass the function"),
    (lambda response, interval: None, "returned None"),
    (lambda response, interval: interval + 5 if error_of(response) == "slow_down" else 5, "Keep the interval"),
    (lambda response, interval: interval if error_of(response) in ("slow_down", "authorization_pending")
     else 1 / 0, "MUST grow by 5 seconds"),
    (lambda response, interval: 10 if error_of(response) == "slow_down" else interval, "10 is right only"),
    (lambda response, interval: interval * 3 if error_of(response) == "slow_down" else interval, "exactly 5 seconds"),
    (lambda response, interval: response.raise_for_status(), "authorization_pending is not a failure"),
    (lambda response, interval: interval + 5 if error_of(response) == "slow_down" else interval,
     "for access_denied"),
    (lambda response, interval: right_next_interval(response, interval)
     if error_of(response) != "expired_token" else interval, "new device authorization"),
    (lambda response, interval: str(interval), "return a number"),
])
def test_next_interval_wrong(feedback, answer, hint):
    assert_not_yet(feedback(checks.next_interval, answer), hint)


def test_next_interval_slow_down_that_raises_is_named(feedback):
    def raises_on_slow_down(response, interval):
        if error_of(response) == "slow_down":
            raise DeviceFlowError("slow_down")
        return right_next_interval(response, interval)

    assert_not_yet(feedback(checks.next_interval, raises_on_slow_down), "Return interval + 5")


def test_next_interval_must_stop_on_errors_it_cannot_fix(feedback):
    def polls_forever_on_unknown_errors(response, interval):
        try:
            error = response.json().get("error")
        except ValueError:
            return interval
        if error in ("access_denied", "expired_token"):
            raise DeviceFlowError(error)
        return interval + 5 if error == "slow_down" else interval

    assert_not_yet(feedback(checks.next_interval, polls_forever_on_unknown_errors), "poll forever")


def test_pkce_pair_every_call_is_checked_and_non_ascii_never_crashes_the_check(feedback):
    calls = iter(range(100))

    def pair():
        if next(calls) == 0:
            return right_pkce_pair()
        verifier = "é" * 43
        return verifier, "c" * 43

    assert_not_yet(feedback(checks.pkce_pair, pair), "characters RFC 7636")


def test_pkce_pair_verifier_from_the_random_module_is_named(feedback):
    import random
    import string

    def random_pair():
        verifier = "".join(random.choices(string.ascii_letters + string.digits, k=43))
        return verifier, b64url(hashlib.sha256(verifier.encode()).digest())

    random.seed(1)
    assert_not_yet(feedback(checks.pkce_pair, random_pair), "Use the secrets")
    random.seed(1)
    expected = [random_pair() for _ in range(8)]
    random.seed(1)
    feedback(checks.pkce_pair, random_pair)
    assert random_pair() not in expected  # the check puts random's state back as the 8 calls left it


def test_exchange_code_right_with_quote_plus(feedback):
    answer = exchange()  # auth=(quote_plus(WEB_CLIENT_ID), quote_plus(WEB_CLIENT_SECRET)), read at each call
    assert feedback(checks.exchange_code, answer).startswith("✓ Right")


def test_next_interval_must_raise_device_flow_error(feedback):
    def json_error_escapes(response, interval):
        error = response.json().get("error")  # JSONDecodeError on the 502 page
        if error == "authorization_pending":
            return interval
        if error == "slow_down":
            return interval + 5
        raise DeviceFlowError(error)

    assert_not_yet(feedback(checks.next_interval, json_error_escapes), "not DeviceFlowError")
    assert_not_yet(feedback(checks.next_interval, json_error_escapes), "Catch ValueError")

    def runtime_error(response, interval):
        try:
            return right_next_interval(response, interval)
        except DeviceFlowError as error:
            raise RuntimeError(str(error)) from None

    assert_not_yet(feedback(checks.next_interval, runtime_error), "raised RuntimeError, not DeviceFlowError")


# -- exercise 1: a table of plausible wrong verifiers, each with the one message it must get --------

ONCE = secrets.token_urlsafe(32)  # made once with secrets, then returned by every call


def _random_verifier() -> str:
    import random
    import string

    return "".join(random.choices(string.ascii_letters + string.digits + "-._~", k=43))


def _seeded_random_verifier() -> str:
    import random

    random.seed(1843)  # seeded on every call: the same "random" verifier each time
    return _random_verifier()


@pytest.mark.parametrize("make_verifier, make_challenge, hint", [
    pytest.param(lambda: ONCE, None, "several calls gave the same code_verifier", id="made-once-with-secrets"),
    pytest.param(lambda: "a" * 43, None, "several calls gave the same code_verifier", id="constant"),
    pytest.param(_seeded_random_verifier, None, "several calls gave the same code_verifier", id="random-seeded"),
    pytest.param(_random_verifier, None, "Use the secrets module", id="random-unseeded"),
    pytest.param(lambda: secrets.token_urlsafe(31), None, "RFC 7636 §4.1 asks for 43 to 128", id="42-chars"),
    pytest.param(lambda: secrets.token_hex(16), None, "RFC 7636 §4.1 asks for 43 to 128", id="token_hex-16"),
    pytest.param(lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(), None, "characters RFC 7636",
                 id="verifier-with-=-padding"),
    pytest.param(lambda: base64.b64encode(secrets.token_bytes(33)).decode().replace("A", "+"), None,
                 "characters RFC 7636", id="verifier-standard-base64"),
    pytest.param(lambda: secrets.token_urlsafe(32), lambda v: hashlib.sha256(v.encode()).hexdigest(), "hex digest",
                 id="hex-of-sha256"),
    pytest.param(lambda: secrets.token_urlsafe(32),
                 lambda v: base64.urlsafe_b64encode(hashlib.sha256(v.encode()).hexdigest().encode()).decode()
                 .rstrip("="), "is not BASE64URL(SHA256(code_verifier))", id="base64-of-hex"),
    pytest.param(lambda: secrets.token_urlsafe(32),
                 lambda v: base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).decode(), "padding",
                 id="challenge-with-=-padding"),
    pytest.param(lambda: secrets.token_urlsafe(32), lambda v: v, "'plain' method", id="plain"),
])
def test_pkce_pair_refuses_each_wrong_verifier_with_its_own_message(feedback, make_verifier, make_challenge, hint):
    output = feedback(checks.pkce_pair, with_verifier(make_verifier, make_challenge))
    assert_not_yet(output, hint)
    if "same code_verifier" in hint:  # the random module is not to blame for a verifier that never changes
        assert "random.seed" not in output and "random module" not in output, output


def test_pkce_pair_right_with_secrets_system_random(feedback):
    """random.SystemRandom draws from os.urandom, like secrets: a CSPRNG, so it is not refused."""
    import random
    import string

    system = random.SystemRandom()

    def pair():
        verifier = "".join(system.choice(string.ascii_letters + string.digits) for _ in range(43))
        return verifier, b64url(hashlib.sha256(verifier.encode()).digest())

    assert feedback(checks.pkce_pair, pair).startswith("✓ Right")


# -- exercise 3: a poll that timed out (RFC 8628 §3.5) --------------------------------------------------------

def timeout_aware(on_timeout):
    """The right next_interval, except for what it does with a requests.Timeout."""
    def function(answer, interval):
        if isinstance(answer, requests.Timeout):
            return on_timeout(interval)
        return right_next_interval(answer, interval)
    return function


def gives_up_on_timeout(answer, interval):
    if isinstance(answer, requests.Timeout):
        raise DeviceFlowError("timed out")
    return right_next_interval(answer, interval)


def ignores_timeouts(answer, interval):  # today's solution: answer.json() on a Timeout
    try:
        error = answer.json().get("error")
    except ValueError:
        error = None
    if error == "authorization_pending":
        return interval
    if error == "slow_down":
        return interval + 5
    raise DeviceFlowError(error or f"HTTP {answer.status_code}")


@pytest.mark.parametrize("answer, hint", [
    pytest.param(ignores_timeouts, "a poll that timed out", id="answer.json()-on-a-Timeout"),
    pytest.param(gives_up_on_timeout, "a timeout is not the end", id="gives-up"),
    pytest.param(timeout_aware(lambda interval: interval), "MUST poll less often", id="same-interval"),
    pytest.param(timeout_aware(lambda interval: 0), "MUST poll less often", id="retry-at-once"),
    pytest.param(timeout_aware(lambda interval: interval - 1), "MUST poll less often", id="faster"),
    pytest.param(timeout_aware(lambda interval: 10), "MUST poll less often", id="fixed-10"),
    pytest.param(timeout_aware(lambda interval: None), "return a number", id="None"),
])
def test_next_interval_refuses_wrong_answers_to_a_timeout(feedback, answer, hint):
    assert_not_yet(feedback(checks.next_interval, answer), hint)


@pytest.mark.parametrize("on_timeout", [lambda interval: interval * 2, lambda interval: interval + 5,
                                        lambda interval: min(interval * 2, 300)], ids=["double", "plus-5", "capped"])
def test_next_interval_accepts_any_slower_retry_after_a_timeout(feedback, on_timeout):
    assert feedback(checks.next_interval, timeout_aware(on_timeout)).startswith("✓ Right")


# -- exercise 2: options that turn off a protection, however they are spelled ----------------------------------

@pytest.mark.parametrize("options, hint", [
    pytest.param({"verify": False}, "verify=", id="verify=False"),
    pytest.param({"verify": 0}, "verify=", id="verify=0"),
    pytest.param({"verify": ""}, "verify=", id="verify=empty-string"),
    pytest.param({"timeout": (5, None)}, "timeout=", id="no-read-timeout"),
    pytest.param({"timeout": (None, 5)}, "timeout=", id="no-connect-timeout"),
    pytest.param({"timeout": float("inf")}, "timeout=", id="infinite"),
    pytest.param({"timeout": 0}, "timeout=", id="zero"),
    pytest.param({"timeout": -1}, "timeout=", id="negative"),
    pytest.param({"timeout": "5"}, "timeout=", id="str"),
])
def test_exchange_code_refuses_a_protection_turned_off(feedback, options, hint):
    assert_not_yet(feedback(checks.exchange_code, exchange(**options)), hint)


@pytest.mark.parametrize("options", [{"timeout": (3.05, 27)}, {"timeout": 10.0}, {"verify": "/etc/ssl/certs/ca.pem"},
                                     {"verify": True}], ids=["pair", "float", "ca-bundle", "verify=True"])
def test_exchange_code_accepts_other_safe_options(feedback, options):
    assert feedback(checks.exchange_code, exchange(**options)).startswith("✓ Right")


# -- exercise 1: generators that are not cryptographic, however they are reached ------------------------------

import random as _random_module  # noqa: E402
import time as _time_module  # noqa: E402

_MODULE_RNG = _random_module.Random()  # seeded from os.urandom, but Mersenne Twister all the same


def _verifier_from_a_module_level_random_instance():
    return "".join(_MODULE_RNG.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(43))


def _verifier_from_a_new_random_instance():
    rng = _random_module.Random()
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(43))


def _verifier_from_the_clock():
    return b64url(hashlib.sha256(str(_time_module.time()).encode()).digest())


def _verifier_from_the_nanosecond_clock():
    return b64url(hashlib.sha256(str(_time_module.time_ns()).encode()).digest())


@pytest.mark.parametrize("make_verifier, hint", [
    pytest.param(_verifier_from_a_module_level_random_instance, "Use the secrets module", id="random.Random()-global"),
    pytest.param(_verifier_from_a_new_random_instance, "Use the secrets module", id="random.Random()-per-call"),
    pytest.param(_verifier_from_the_clock, "the clock", id="hash-of-time.time()"),
    pytest.param(_verifier_from_the_nanosecond_clock, "the clock", id="hash-of-time.time_ns()"),
])
def test_pkce_pair_refuses_generators_that_are_not_cryptographic(feedback, make_verifier, hint):
    assert_not_yet(feedback(checks.pkce_pair, with_verifier(make_verifier)), hint)


def test_pkce_pair_check_leaves_the_clock_running(feedback):
    feedback(checks.pkce_pair, with_verifier(_verifier_from_the_clock))
    before = _time_module.time()
    _time_module.sleep(0.002)
    assert _time_module.time() > before
