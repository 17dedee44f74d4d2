"""Review RV5 #7 and #9: pkce_pair's OS-source and entropy edge cases, exchange_code's secrets and
allow_redirects. Each test failed on the code before the fix."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from os import urandom
from urllib.parse import quote_plus

import pytest
import requests

from helpers import checks
from helpers.practice_api import demo

WEB_CLIENT_ID = "notes-web"
WEB_CLIENT_SECRET = str(demo.client(WEB_CLIENT_ID)["client_secret"])
WEB_REDIRECT_URI = "https://notes-web.test/callback"


def right(output: str) -> bool:
    return output.startswith("✓ Right")


def assert_not_yet(output: str, hint: str) -> None:
    assert output.startswith("✗ Not yet") and hint in output, output


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- pkce_pair --------------------------------------------------------------------------------

def _draw_with_from_import() -> bytes:
    """A helper of the learner's own that holds os.urandom under the name `urandom`."""
    return urandom(32)


def with_helper():
    verifier = b64url(_draw_with_from_import())
    return verifier, challenge(verifier)


def with_getrandom():
    verifier = b64url(os.getrandom(32))
    return verifier, challenge(verifier)


@pytest.mark.parametrize("answer", [
    with_helper,
    pytest.param(with_getrandom, marks=pytest.mark.skipif(not hasattr(os, "getrandom"), reason="Linux only")),
], ids=["helper-with-from-os-import-urandom", "os.getrandom"])
def test_pkce_pair_from_the_os_source_by_any_road_is_right(feedback, answer):
    assert right(feedback(checks.pkce_pair, answer))


def test_pkce_pair_with_176_bits_is_right_with_the_recommendation(feedback):
    def answer():
        verifier = secrets.token_hex(22)  # 44 characters, 176 bits: what the exercise asks, not what §4.1 recommends
        return verifier, challenge(verifier)
    output = feedback(checks.pkce_pair, answer)
    assert right(output), output
    assert "recommends 32" in output and "token_urlsafe(32)" in output and "too easy to guess" not in output


def test_pkce_pair_of_32_octets_gets_no_recommendation(feedback):
    def answer():
        verifier = secrets.token_urlsafe(32)
        return verifier, challenge(verifier)
    output = feedback(checks.pkce_pair, answer)
    assert right(output) and "recommends" not in output, output


def test_pkce_pair_under_128_bits_is_still_too_easy_to_guess(feedback):
    def answer():
        verifier = b64url(os.urandom(15)) + "A" * 30
        return verifier, challenge(verifier)
    assert_not_yet(feedback(checks.pkce_pair, answer), "too easy to guess")


# -- exchange_code --------------------------------------------------------------------------------

def form(code, verifier):
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_REDIRECT_URI,
            "code_verifier": verifier}


def post(session, token_url, code, code_verifier, **options):
    response = session.post(token_url, data=form(code, code_verifier),
                            auth=(quote_plus(WEB_CLIENT_ID), quote_plus(WEB_CLIENT_SECRET)), timeout=5, **options)
    response.raise_for_status()
    if response.status_code != 200:
        raise requests.HTTPError(f"{response.status_code}: expected 200", response=response)
    return response.json()


def test_exchange_code_never_shows_the_made_up_tokens_it_prints(feedback):
    def answer(session, token_url, code, code_verifier):
        tokens = post(session, token_url, code, code_verifier, allow_redirects=False)
        print(list(tokens.values()))
        return tokens
    output = feedback(checks.exchange_code, answer)
    assert_not_yet(output, "token")
    assert "check-access-token" not in output and "check-refresh-token" not in output, output


def test_exchange_code_never_shows_a_code_or_verifier_printed_percent_encoded(feedback):
    def answer(session, token_url, code, code_verifier):
        print("sent", code.replace("-", "%2D"), code_verifier.replace("-", "%2D"))
        return post(session, token_url, code, code_verifier, allow_redirects=False)
    output = feedback(checks.exchange_code, answer)
    assert_not_yet(output, "prints")


@pytest.mark.parametrize("value", [0, None])
def test_exchange_code_with_a_falsy_allow_redirects_is_right(feedback, value):
    # requests' Session.send follows redirects only `if allow_redirects:`
    def answer(session, token_url, code, code_verifier):
        return post(session, token_url, code, code_verifier, allow_redirects=value)
    assert right(feedback(checks.exchange_code, answer))


def test_pkce_pair_reaches_a_source_held_in_another_modules_globals_and_puts_it_back(feedback):
    # A helper from another module (its own globals), which holds os.urandom under a name of its own
    elsewhere: dict = {"draw": os.urandom, "b64url": b64url}
    exec("def make():\n    return b64url(draw(32))\n", elsewhere)
    here = {"make": elsewhere["make"], "challenge": challenge}
    exec("def pkce_pair():\n    verifier = make()\n    return verifier, challenge(verifier)\n", here)
    assert right(feedback(checks.pkce_pair, here["pkce_pair"]))
    assert elsewhere["draw"] is os.urandom


def test_pkce_pair_reaches_a_source_held_in_a_closure(feedback):
    def made_with(draw):
        def pkce_pair():
            verifier = b64url(draw(32))
            return verifier, challenge(verifier)
        return pkce_pair
    answer = made_with(urandom)
    assert right(feedback(checks.pkce_pair, answer))
    assert answer.__closure__[0].cell_contents is os.urandom


@pytest.mark.skipif(not hasattr(os, "getrandom"), reason="os.getrandom is Linux only")
def test_pkce_pair_counts_the_bytes_of_os_getrandom(feedback):
    def answer():
        verifier = b64url(os.getrandom(8)) + "A" * 40
        return verifier, challenge(verifier)
    assert_not_yet(feedback(checks.pkce_pair, answer), "draws only 8 random bytes")


@pytest.mark.parametrize("make_verifier", [
    lambda: hashlib.sha256(os.urandom(32)[:4]).hexdigest(),  # 32 bytes drawn, 4 of them hashed
    lambda: (os.urandom(32), hashlib.sha256(os.urandom(4)).hexdigest())[1],  # 32 drawn and thrown away
], ids=["hash-of-4-of-32", "32-thrown-away-then-4"])
def test_pkce_pair_counts_only_the_bytes_that_reach_the_verifier(feedback, make_verifier):
    def answer():
        verifier = make_verifier()
        return verifier, challenge(verifier)
    assert_not_yet(feedback(checks.pkce_pair, answer), "only 4 of them (32 bits) change the verifier")
