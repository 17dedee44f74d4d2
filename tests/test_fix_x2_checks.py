"""Review RV2 of the checks of notebooks 04 and 05: what they let through, and what they must not refuse.

exchange_code: a redirect followed or returned, a code sent twice, session.auth, an endless timeout and a
client secret that is not form-encoded before Basic (RFC 6749 §2.3.1). pkce_pair: a verifier with too little
entropy (RFC 7636 §4.1, §7.1). basic_authorization and check_basic: NFKC is not NFC (RFC 7617 §2.1).
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from urllib.parse import quote, quote_plus

import nbformat
import pytest
import requests

from conftest import ROOT, assert_not_yet, assert_right
from test_checks_raw_http import basic_authorization_in, check_basic_in  # notebook 05's solutions
from helpers import PASSWORD_HASHES, checks
from helpers.practice_api import demo

WEB_CLIENT_ID = "notes-web"
WEB_CLIENT_SECRET = str(demo.client(WEB_CLIENT_ID)["client_secret"])
WEB_REDIRECT_URI = "https://notes-web.test/callback"


# -- exercise 04.2: exchange_code -----------------------------------------------------------------

def form(code, verifier):
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_REDIRECT_URI,
            "code_verifier": verifier}


def only_200(response):
    response.raise_for_status()
    if response.status_code != 200:
        raise requests.HTTPError(f"{response.status_code}: expected 200", response=response)
    return response.json()


def encoded():
    return quote_plus(WEB_CLIENT_ID), quote_plus(WEB_CLIENT_SECRET)


def the_solution(session, token_url, code, code_verifier):
    return only_200(session.post(token_url, data=form(code, code_verifier), auth=encoded(), timeout=5,
                                 allow_redirects=False))


def notebook_solution():
    """Exercise 2's solution, as notebook 04 shows it in its <details>."""
    notebook = nbformat.read(ROOT / "notebooks" / "04-oauth2.ipynb", as_version=4)
    text = next(cell.source for cell in notebook.cells
                if cell.cell_type == "markdown" and "def exchange_code" in cell.source)
    source = re.search(r"```python\n(.*?)```", text, re.S).group(1).replace("checks.exchange_code(exchange_code)", "")
    names = {"requests": requests, "quote_plus": quote_plus, "WEB_CLIENT_ID": WEB_CLIENT_ID,
             "WEB_CLIENT_SECRET": WEB_CLIENT_SECRET, "WEB_REDIRECT_URI": WEB_REDIRECT_URI}
    exec(source, names)
    return names["exchange_code"]


def test_exchange_code_the_solution_and_the_notebooks_pass(feedback):
    assert_right(feedback(checks.exchange_code, the_solution))
    assert_right(feedback(checks.exchange_code, notebook_solution()))


def test_exchange_code_quote_with_no_safe_characters_is_form_encoding_too(feedback):
    def answer(session, token_url, code, code_verifier):
        auth = (quote(WEB_CLIENT_ID, safe=""), quote(WEB_CLIENT_SECRET, safe=""))
        return only_200(session.post(token_url, data=form(code, code_verifier), auth=auth, timeout=5,
                                     allow_redirects=False))
    assert_right(feedback(checks.exchange_code, answer))


def test_exchange_code_that_follows_redirects_is_not_right(feedback):
    def answer(session, token_url, code, code_verifier):
        return only_200(session.post(token_url, data=form(code, code_verifier), auth=encoded(), timeout=5))
    output = feedback(checks.exchange_code, answer)
    assert_not_yet(output, "allow_redirects=False")
    assert "307" in output


def test_exchange_code_that_returns_on_a_redirect_is_not_right(feedback):
    def answer(session, token_url, code, code_verifier):
        response = session.post(token_url, data=form(code, code_verifier), auth=encoded(), timeout=5,
                                allow_redirects=False)
        response.raise_for_status()  # lets a 307 through
        return response.json()
    assert_not_yet(feedback(checks.exchange_code, answer), "raise_for_status() lets a redirect through")


def test_exchange_code_that_sends_the_code_twice_is_not_right(feedback):
    def answer(session, token_url, code, code_verifier):
        session.post(token_url, data=form(code, code_verifier), auth=encoded(), timeout=5, allow_redirects=False)
        return the_solution(session, token_url, code, code_verifier)  # "a retry"
    assert_not_yet(feedback(checks.exchange_code, answer), "2 token requests")


def test_exchange_code_with_session_auth_is_named(feedback):
    def answer(session, token_url, code, code_verifier):
        session.auth = encoded()
        return only_200(session.post(token_url, data=form(code, code_verifier), timeout=5, allow_redirects=False))
    output = feedback(checks.exchange_code, answer)
    assert_not_yet(output, "session.auth")
    assert "No Authorization: Basic header was sent" not in output


@pytest.mark.parametrize("timeout", [1e9, (5, 1e9), 3600])
def test_exchange_code_with_a_timeout_of_hours_is_not_right(feedback, timeout):
    def answer(session, token_url, code, code_verifier):
        return only_200(session.post(token_url, data=form(code, code_verifier), auth=encoded(), timeout=timeout,
                                     allow_redirects=False))
    assert_not_yet(feedback(checks.exchange_code, answer), "timeout=5")


@pytest.mark.parametrize("raw", [
    lambda: (WEB_CLIENT_ID, WEB_CLIENT_SECRET),
    lambda: requests.auth.HTTPBasicAuth(WEB_CLIENT_ID, WEB_CLIENT_SECRET),
    lambda: (WEB_CLIENT_ID.encode(), WEB_CLIENT_SECRET.encode("utf-8")),
])
def test_exchange_code_must_form_encode_the_client_secret(feedback, raw):
    def answer(session, token_url, code, code_verifier):
        return only_200(session.post(token_url, data=form(code, code_verifier), auth=raw(), timeout=5,
                                     allow_redirects=False))
    assert_not_yet(feedback(checks.exchange_code, answer), "RFC 6749 §2.3.1")


def test_exchange_code_puts_the_real_client_secret_back(feedback):
    def answer(session, token_url, code, code_verifier):
        return only_200(session.post(token_url, data=form(code, code_verifier), auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET),
                                     timeout=5, allow_redirects=False))
    feedback(checks.exchange_code, answer)
    assert WEB_CLIENT_SECRET == str(demo.client(WEB_CLIENT_ID)["client_secret"])
    assert answer.__globals__["WEB_CLIENT_SECRET"] == str(demo.client(WEB_CLIENT_ID)["client_secret"])


# -- exercise 04.1: pkce_pair ---------------------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pair_from(make_verifier):
    def pkce_pair():
        verifier = make_verifier()
        return verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest())
    return pkce_pair


@pytest.mark.parametrize("make_verifier", [
    lambda: "A" * 35 + secrets.token_hex(4),
    lambda: "".join(secrets.choice("ab") for _ in range(43)),
    lambda: secrets.token_urlsafe(32)[:8] + "A" * 35,
    lambda: uuid.uuid4().hex + "x" * 11,
], ids=["constant-prefix", "two-letters", "truncated", "one-uuid4"])
def test_pkce_pair_refuses_a_verifier_with_too_little_entropy(feedback, make_verifier):
    assert_not_yet(feedback(checks.pkce_pair, pair_from(make_verifier)), "RFC 7636 §7.1")


@pytest.mark.parametrize("make_verifier", [
    lambda: secrets.token_urlsafe(32), lambda: secrets.token_urlsafe(64), lambda: secrets.token_urlsafe(96),
    lambda: secrets.token_hex(32), lambda: b64url(secrets.token_bytes(32)),
    lambda: "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
                    for _ in range(128)),
])
def test_pkce_pair_accepts_verifiers_with_enough_entropy(feedback, make_verifier):
    for _ in range(5):  # the estimate must not refuse a right answer by bad luck
        assert_right(feedback(checks.pkce_pair, pair_from(make_verifier)))


# -- exercise 05.1 and 05.3: NFC, not NFKC ---------------------------------------------------------

def test_basic_authorization_nfc_passes(feedback):
    assert_right(feedback(checks.basic_authorization, basic_authorization_in("NFC")))


def test_basic_authorization_nfkc_is_not_nfc(feedback):
    assert_not_yet(feedback(checks.basic_authorization, basic_authorization_in("NFKC")), "NFKC")


def test_check_basic_nfc_passes(feedback):
    assert_right(feedback(checks.check_basic, check_basic_in("NFC")))


def test_check_basic_nfkc_is_not_nfc(feedback):
    assert_not_yet(feedback(checks.check_basic, check_basic_in("NFKC")), "NFKC")


def test_check_basic_full_width_ada_is_not_ada(feedback):
    """NFKC on the user-id only: 'ａｄａ' (full width) signs in as ada."""
    check_basic = check_basic_in("NFKC", password_form="NFC")
    assert_not_yet(feedback(checks.check_basic, check_basic), "ａｄａ")


def test_check_basic_leaves_password_hashes_as_they_were(feedback):
    before = dict(PASSWORD_HASHES)
    feedback(checks.check_basic, check_basic_in("NFKC"))
    feedback(checks.check_basic, check_basic_in("NFC"))
    assert PASSWORD_HASHES == before


def test_check_basic_nfkc_on_the_password_only_refuses_a_right_password(feedback):
    """'ﬁle²-1843' is stored as it is (NFC); NFKC makes it 'file2-1843', and the right password fails."""
    check_basic = check_basic_in("NFC", password_form="NFKC")
    output = feedback(checks.check_basic, check_basic)
    assert_not_yet(output, "NFKC")
    assert "fiona" in output
