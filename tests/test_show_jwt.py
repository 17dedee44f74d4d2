"""show_jwt(): a debugger's view of a token that says clearly when nothing was verified."""
from __future__ import annotations

import base64
import json
import re
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from helpers.practice_api import signing_key
from helpers.viewers import JWTView, show_jwt

PRIVATE = serialization.load_pem_private_key(signing_key.PRIVATE_KEY_PEM, password=None)
NOW = 1_795_000_000


def token(**claims) -> str:
    base = {"iss": "https://api.practice.test", "aud": "https://api.practice.test/me", "sub": "ada",
            "iat": NOW, "exp": NOW + 300}
    return jwt.encode({**base, **claims}, PRIVATE, algorithm="RS256", headers={"kid": signing_key.KEY_ID})


def test_decodes_header_claims_and_readable_times_without_verifying():
    text = str(JWTView(token(), now=NOW))
    assert text.startswith("JWT, decoded but NOT verified")
    assert '  alg: "RS256"' in text and f'  kid: "{signing_key.KEY_ID}"' in text
    assert '  sub: "ada"' in text
    assert f"  exp: {NOW + 300}  = 2026-11-18 11:11:40 UTC (in 5 min)" in text
    assert f"  iat: {NOW}  = 2026-11-18 11:06:40 UTC (now)" in text
    assert "Signature: 256 bytes" in text


def test_relative_times_are_rounded_and_say_ago():
    text = str(JWTView(token(), now=NOW + 90 * 60 + 20))
    assert "(90 min ago)" in text and "(85 min ago)" in text
    assert "(3 h ago)" in str(JWTView(token(), now=NOW + 3 * 3600))


def test_verifies_only_when_given_a_key():
    public = PRIVATE.public_key()
    fresh = token(iat=int(time.time()), exp=int(time.time()) + 600)
    ok = JWTView(fresh, key=public, algorithms=["RS256"], audience="https://api.practice.test/me")
    assert str(ok).startswith("JWT, verified with the key given: ✓ signature and claims are valid.")
    wrong_audience = JWTView(fresh, key=public, algorithms=["RS256"], audience="https://other.test")
    assert "✗ refused, InvalidAudienceError" in str(wrong_audience)
    assert "--jp-error-color1" in wrong_audience._repr_html_() and "--jp-success-color1" in ok._repr_html_()
    for view in (ok, wrong_audience, JWTView(fresh)):  # a hex colour ignores the theme (dark: 3.5:1)
        assert not re.search(r"(?<!, )#[0-9a-fA-F]{3,8}\b", view._repr_html_())


def forged() -> str:
    """A real RS256 token whose claims were swapped for sub=admin: its signature no longer matches."""
    header, _, signature = token(exp=int(time.time()) + 600).split(".")
    claims = {"sub": "admin", "aud": "https://api.practice.test/me", "exp": int(time.time()) + 600}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


@pytest.mark.parametrize("options", [{"options": {"verify_signature": False}},
                                     {"options": {"verify_signature": 0}},
                                     {"algorithms": ["RS256"], "options": {"verify_signature": False}},
                                     {"algorithms": ["RS256"], "audience": "https://api.practice.test/me",
                                      "options": {"verify_signature": False, "verify_aud": True}}])
def test_a_signature_check_turned_off_is_never_called_valid(options):
    """The mistake notebook 03 teaches: verify_signature False accepts a forged token."""
    for key in (PRIVATE.public_key(), "anything"):
        view = JWTView(forged(), key=key, **options)
        assert "✓" not in str(view) and "NOT verified" in view.verdict and "verify_signature" in view.verdict
        assert "--jp-success" not in view._repr_html_()  # never green


@pytest.mark.parametrize("algorithms", [["none"], ["RS256", "none"], ["NONE"], ("None",)])
def test_algorithms_allowing_none_are_never_called_valid(algorithms):
    view = JWTView(forged(), key=PRIVATE.public_key(), algorithms=algorithms, audience="https://api.practice.test/me")
    assert "✓" not in str(view) and "none" in view.verdict.lower() and "NOT verified" in view.verdict


@pytest.mark.parametrize("switch, claim", [("verify_exp", "exp"), ("verify_aud", "aud"), ("verify_iss", "iss"),
                                           ("verify_nbf", "nbf"), ("verify_iat", "iat")])
def test_a_claim_check_turned_off_is_named_in_the_verdict(switch, claim):
    stale = token(iat=NOW, exp=NOW + 300)  # long expired
    view = JWTView(stale, key=PRIVATE.public_key(), algorithms=["RS256"], audience="https://api.practice.test/me",
                   options={"verify_exp": False, switch: False})
    assert not view.verdict.startswith("✓") and f"{claim}" in view.verdict and "not checked" in view.verdict
    assert "--jp-success" not in view._repr_html_()


def test_the_forged_token_is_refused_when_verified():
    view = JWTView(forged(), key=PRIVATE.public_key(), algorithms=["RS256"], audience="https://api.practice.test/me")
    assert view.verdict.startswith("✗ refused, InvalidSignatureError")


def test_alg_none_and_html_escaping():
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "<script>"}).encode()).rstrip(b"=").decode()
    view = JWTView(f"{header}.{payload}.", now=NOW)
    assert "Signature: no signature (alg none)" in str(view)
    assert "<script>" not in view._repr_html_() and "&lt;script&gt;" in view._repr_html_()


@pytest.mark.parametrize("bad, message", [
    ("not-a-jwt", "three parts"),
    ("opaque.refresh", "three parts"),
    ("a.b.c", "not base64url-encoded JSON"),
    (12345, "as a str"),
])
def test_clear_errors_for_things_that_are_not_jwts(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        JWTView(bad)


def test_show_jwt_prints_outside_ipython(capsys):
    show_jwt(token(exp=int(time.time()) + 600, iat=int(time.time())))
    assert "(in 10 min)" in capsys.readouterr().out
