"""Review 04 of notebook 04's checks: predictable verifiers, requests the server refuses, secrets printed,
intervals no sleep can take, and a gateway error met with a back-off."""
from __future__ import annotations

import base64
import hashlib
import itertools
import logging
import math
import secrets
import uuid
from urllib.parse import urlencode

import pytest
import requests

from helpers import checks
from test_checks_oauth import (WEB_CLIENT_ID, WEB_CLIENT_SECRET, WEB_REDIRECT_URI, DeviceFlowError, assert_not_yet,
                               exchange, right_next_interval)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def pair_of(make_verifier):
    def pkce_pair():
        verifier = make_verifier()
        return verifier, s256(verifier)
    return pkce_pair


def counter_verifiers():
    count = itertools.count()
    return lambda: f"{next(count):043d}"


def sha_counter_verifiers():
    count = itertools.count()
    return lambda: hashlib.sha256(str(next(count)).encode()).hexdigest()


# -- exercise 1: RFC 7636 §7.1, a verifier that can be guessed protects nothing --------------------------------

@pytest.mark.parametrize("make_verifier", [
    pytest.param(lambda: uuid.uuid1().hex + uuid.uuid1().hex, id="uuid1"),
    pytest.param(counter_verifiers(), id="counter"),
    pytest.param(sha_counter_verifiers(), id="sha256-of-a-counter"),
])
def test_pkce_pair_refuses_a_predictable_verifier(feedback, make_verifier):
    assert_not_yet(feedback(checks.pkce_pair, pair_of(make_verifier)), "secrets.token_urlsafe(32)")


@pytest.mark.parametrize("make_verifier", [
    pytest.param(lambda: secrets.token_urlsafe(32), id="token_urlsafe-32"),
    pytest.param(lambda: secrets.token_urlsafe(96), id="token_urlsafe-96"),
    pytest.param(lambda: secrets.token_hex(32), id="token_hex"),
    pytest.param(lambda: uuid.uuid4().hex + uuid.uuid4().hex, id="uuid4"),
    pytest.param(lambda: base64.urlsafe_b64encode(__import__("os").urandom(32)).rstrip(b"=").decode(), id="urandom"),
])
def test_pkce_pair_accepts_verifiers_from_the_system_random_source(feedback, make_verifier):
    for _ in range(20):  # a check that refused by bad luck would show here
        assert feedback(checks.pkce_pair, pair_of(make_verifier)).startswith("✓ Right")


def test_pkce_pair_leaves_os_urandom_working(feedback):
    feedback(checks.pkce_pair, pair_of(lambda: secrets.token_urlsafe(32)))
    assert secrets.token_bytes(16) != secrets.token_bytes(16)


# -- exercise 2: what the practice server refuses, and secrets in the output -----------------------------------

@pytest.mark.parametrize("options, hint", [
    pytest.param({"headers": {"Content-Type": "application/json"}}, "application/x-www-form-urlencoded", id="ct-json"),
    pytest.param({"headers": {"Content-Type": "text/plain"}}, "application/x-www-form-urlencoded", id="ct-text"),
])
def test_exchange_code_refuses_a_body_that_is_not_a_form(feedback, options, hint):
    assert_not_yet(feedback(checks.exchange_code, exchange(**options)), hint)


def test_exchange_code_refuses_a_str_body_without_content_type(feedback):
    def answer(session, token_url, code, code_verifier):
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_REDIRECT_URI,
                "code_verifier": code_verifier}
        response = session.post(token_url, data=urlencode(form), auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET), timeout=5)
        response.raise_for_status()
        return response.json()
    assert_not_yet(feedback(checks.exchange_code, answer), "application/x-www-form-urlencoded")


def test_exchange_code_accepts_an_explicit_form_content_type(feedback):
    answer = exchange(headers={"Content-Type": "Application/X-WWW-Form-Urlencoded; charset=utf-8"})
    assert feedback(checks.exchange_code, answer).startswith("✓ Right")


def test_exchange_code_refuses_a_parameter_sent_twice(feedback):
    def answer(session, token_url, code, code_verifier):
        form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", WEB_REDIRECT_URI),
                ("code_verifier", code_verifier), ("code", "other")]
        response = session.post(token_url, data=form, auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET), timeout=5)
        response.raise_for_status()
        return response.json()
    assert_not_yet(feedback(checks.exchange_code, answer), "more than once")


def printing(show):
    right = exchange()

    def answer(session, token_url, code, code_verifier):
        show(code, code_verifier)
        return right(session, token_url, code, code_verifier)
    return answer


def printing_the_refresh_token(session, token_url, code, code_verifier):
    tokens = exchange()(session, token_url, code, code_verifier)
    print("refresh token:", tokens["refresh_token"])
    return tokens


@pytest.mark.parametrize("answer", [
    pytest.param(printing(lambda code, verifier: print("using", WEB_CLIENT_SECRET)), id="print-secret"),
    pytest.param(printing(lambda code, verifier: print("verifier", verifier)), id="print-verifier"),
    pytest.param(printing(lambda code, verifier: print("code", code)), id="print-code"),
    pytest.param(printing(lambda code, verifier: logging.getLogger("mine").warning("secret %s", WEB_CLIENT_SECRET)),
                 id="log-secret"),
    pytest.param(printing_the_refresh_token, id="print-refresh-token"),
])
def test_exchange_code_refuses_output_that_holds_a_secret(feedback, answer):
    output = feedback(checks.exchange_code, answer)
    assert_not_yet(output, "print")


def test_exchange_code_accepts_harmless_printing(feedback):
    assert feedback(checks.exchange_code, printing(lambda code, verifier: print("exchanging the code"))
                    ).startswith("✓ Right")


# -- exercise 3: intervals time.sleep() can take, and a gateway error --------------------------------------------

def on_timeout(value):
    def answer(response, interval):
        if isinstance(response, requests.Timeout):
            return value(interval)
        return right_next_interval(response, interval)
    return answer


@pytest.mark.parametrize("value", [
    pytest.param(lambda interval: float("nan"), id="nan"),
    pytest.param(lambda interval: math.inf, id="inf"),
    pytest.param(lambda interval: 10**9, id="a-billion"),
])
def test_next_interval_refuses_an_interval_no_sleep_can_take(feedback, value):
    assert_not_yet(feedback(checks.next_interval, on_timeout(value)), "MUST poll less often")


def test_time_sleep_refuses_nan_and_inf():
    import time
    with pytest.raises(ValueError):
        time.sleep(float("nan"))
    with pytest.raises(OverflowError):
        time.sleep(math.inf)


@pytest.mark.parametrize("value", [lambda i: i * 2, lambda i: i + 1, lambda i: i * 1.5, lambda i: min(i * 2, 60)],
                         ids=["double", "plus-1", "times-1.5", "capped"])
def test_next_interval_accepts_a_bounded_slower_retry(feedback, value):
    assert feedback(checks.next_interval, on_timeout(value)).startswith("✓ Right")


def backs_off_on_a_gateway_error(response, interval):
    if isinstance(response, requests.Timeout) or response.status_code in (429, 502, 503):
        return interval * 2
    return right_next_interval(response, interval)


def test_next_interval_accepts_a_back_off_on_a_gateway_error(feedback):
    assert feedback(checks.next_interval, backs_off_on_a_gateway_error).startswith("✓ Right")


def test_next_interval_refuses_polling_on_at_the_same_pace_after_a_gateway_error(feedback):
    def answer(response, interval):
        if not isinstance(response, requests.Timeout) and response.status_code == 502:
            return interval
        return right_next_interval(response, interval)
    assert_not_yet(feedback(checks.next_interval, answer), "502")


def test_next_interval_refuses_a_back_off_on_a_client_error(feedback):
    def answer(response, interval):
        if not isinstance(response, requests.Timeout) and response.status_code == 401:
            return interval * 2
        return right_next_interval(response, interval)
    assert_not_yet(feedback(checks.next_interval, answer), "invalid_client")
