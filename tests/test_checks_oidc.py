"""Checks of notebook 08: the right answers pass; each plausible insecure answer gets "✗" and its own hint.

Exercise 1's insecure solutions are the shortcuts found in ID-token snippets: no audience, no nonce (or a
nonce compared only when the token has one, as Authlib's CodeIDToken does), algorithms from the header or
left out, HS256 on the list, the signature check off, no issuer, exp not required, a huge leeway, at_hash
skipped, and a KeyError for an unknown kid. Each must fail the check (Core §3.1.3.7, §3.1.3.6; RFC 8725 §3.1).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import nbformat
import pytest
from cryptography.hazmat.primitives import serialization

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.checks import oidc

ISSUER = "https://api.practice.test"
CLIENT_ID = "notes-signin"
REQUIRE = {"require": ["exp", "iat", "sub"]}


def key_for(token, jwks) -> jwt.PyJWK:
    keys = jwt.PyJWKSet.from_dict(jwks)
    kid = jwt.get_unverified_header(token).get("kid")
    if kid not in [key.key_id for key in keys.keys]:
        raise jwt.InvalidTokenError("unknown kid")
    return keys[kid]


def at_hash_of(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def the_rest(claims: dict, nonce: str, access_token: str, *, nonce_check=True, at_hash_check=True,
             audiences_check=True) -> dict:
    """The checks after jwt.decode() that the solution makes; each flag leaves one out."""
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if audiences_check and any(audience != CLIENT_ID for audience in audiences):
        raise jwt.InvalidAudienceError("an audience this client does not trust")
    if claims.get("azp", CLIENT_ID) != CLIENT_ID:
        raise jwt.InvalidTokenError("azp")
    if nonce_check and not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise jwt.InvalidTokenError("nonce")
    if at_hash_check and "at_hash" in claims and claims["at_hash"] != at_hash_of(access_token):
        raise jwt.InvalidTokenError("at_hash")
    return claims


def decode(token, jwks, **changes):
    arguments = {"algorithms": ["RS256"], "audience": CLIENT_ID, "issuer": ISSUER, "options": REQUIRE, "leeway": 5,
                 **changes}
    return jwt.decode(token, key_for(token, jwks), **{k: v for k, v in arguments.items() if v is not None})


def right_validate(token, jwks, *, nonce, access_token):
    """The notebook's solution."""
    return the_rest(decode(token, jwks), nonce, access_token)


def no_audience(token, jwks, *, nonce, access_token):
    claims = decode(token, jwks, audience=None, options={**REQUIRE, "verify_aud": False})
    return the_rest(claims, nonce, access_token, audiences_check=False)


def audience_only_from_pyjwt(token, jwks, *, nonce, access_token):
    """audience= alone: PyJWT accepts any list that holds the client_id."""
    return the_rest(decode(token, jwks), nonce, access_token, audiences_check=False)


def no_nonce(token, jwks, *, nonce, access_token):
    return the_rest(decode(token, jwks), nonce, access_token, nonce_check=False)


def nonce_only_when_present(token, jwks, *, nonce, access_token):
    """As Authlib's CodeIDToken with no nonce param, or `if "nonce" in claims`: a token without one passes."""
    claims = the_rest(decode(token, jwks), nonce, access_token, nonce_check=False)
    if "nonce" in claims and claims["nonce"] != nonce:
        raise jwt.InvalidTokenError("nonce")
    return claims


def nonce_compare_crashes(token, jwks, *, nonce, access_token):
    """hmac.compare_digest(claims.get("nonce"), nonce): TypeError for a token without a nonce."""
    claims = the_rest(decode(token, jwks), nonce, access_token, nonce_check=False)
    if not hmac.compare_digest(claims.get("nonce"), nonce):
        raise jwt.InvalidTokenError("nonce")
    return claims


def algorithms_from_the_header(token, jwks, *, nonce, access_token):
    claims = decode(token, jwks, algorithms=[jwt.get_unverified_header(token)["alg"]])
    return the_rest(claims, nonce, access_token)


def no_algorithms(token, jwks, *, nonce, access_token):
    """With a PyJWK, PyJWT then trusts the key's own alg: an oct key slipped into the JWK Set verifies HS256."""
    return the_rest(decode(token, jwks, algorithms=None), nonce, access_token)


def hs256_on_the_list(token, jwks, *, nonce, access_token):
    return the_rest(decode(token, jwks, algorithms=["RS256", "HS256"]), nonce, access_token)


def es256_on_the_list(token, jwks, *, nonce, access_token):
    """ES256 listed too: an EC key slipped into the JWK Set then verifies its own token."""
    return the_rest(decode(token, jwks, algorithms=["RS256", "ES256"]), nonce, access_token)


def algorithms_from_the_key(token, jwks, *, nonce, access_token):
    """The key's own alg (what a PyJWK without algorithms= does): the key set picks the algorithm."""
    return the_rest(decode(token, jwks, algorithms=[key_for(token, jwks).algorithm_name]), nonce, access_token)


def pem_with_hs256(token, jwks, *, nonce, access_token):
    """The JWK turned into PEM, and HS256 listed: only PyJWT's own guard stops the key confusion."""
    pem = key_for(token, jwks).key.public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    claims = jwt.decode(token, pem, algorithms=["RS256", "HS256"], audience=CLIENT_ID, issuer=ISSUER,
                        options=REQUIRE)
    return the_rest(claims, nonce, access_token)


def signature_off(token, jwks, *, nonce, access_token):
    claims = jwt.decode(token, options={"verify_signature": False})
    if claims.get("iss") != ISSUER:
        raise jwt.InvalidIssuerError("iss")
    return the_rest(claims, nonce, access_token)


def no_issuer(token, jwks, *, nonce, access_token):
    return the_rest(decode(token, jwks, issuer=None), nonce, access_token)


def issuer_prefix(token, jwks, *, nonce, access_token):
    """startswith() instead of an exact compare: a trailing '/' or a longer host name passes."""
    claims = decode(token, jwks, issuer=None)
    if not claims["iss"].startswith(ISSUER):
        raise jwt.InvalidIssuerError("iss")
    return the_rest(claims, nonce, access_token)


def issuer_in(token, jwks, *, nonce, access_token):
    """`claims["iss"] not in ISSUER`: a substring test, so a prefix of the issuer (or "") passes."""
    claims = decode(token, jwks, issuer=None)
    if claims["iss"] not in ISSUER:
        raise jwt.InvalidIssuerError("iss")
    return the_rest(claims, nonce, access_token)


def azp_ignored(token, jwks, *, nonce, access_token):
    """Errata set 2 (Core §2) encourages RPs that use no extensions to ignore azp: this one does."""
    claims = decode(token, jwks)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if any(audience != CLIENT_ID for audience in audiences):
        raise jwt.InvalidAudienceError("an audience this client does not trust")
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise jwt.InvalidTokenError("nonce")
    if "at_hash" in claims and claims["at_hash"] != at_hash_of(access_token):
        raise jwt.InvalidTokenError("at_hash")
    return claims


def exp_not_required(token, jwks, *, nonce, access_token):
    return the_rest(decode(token, jwks, options=None), nonce, access_token)


def exp_check_off(token, jwks, *, nonce, access_token):
    return the_rest(decode(token, jwks, options={**REQUIRE, "verify_exp": False}), nonce, access_token)


def leeway_of_an_hour(token, jwks, *, nonce, access_token):
    return the_rest(decode(token, jwks, leeway=3600), nonce, access_token)


def at_hash_skipped(token, jwks, *, nonce, access_token):
    return the_rest(decode(token, jwks), nonce, access_token, at_hash_check=False)


def key_error_for_unknown_kid(token, jwks, *, nonce, access_token):
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER, options=REQUIRE)
    return the_rest(claims, nonce, access_token)


def forgets_to_return(token, jwks, *, nonce, access_token):
    right_validate(token, jwks, nonce=nonce, access_token=access_token)


def audience_by_substring(token, jwks, *, nonce, access_token):
    """`CLIENT_ID in claims["aud"]`: on a string, a substring test."""
    claims = decode(token, jwks, audience=None, options={**REQUIRE, "verify_aud": False})
    if CLIENT_ID not in claims["aud"]:
        raise jwt.InvalidAudienceError("aud")
    return the_rest(claims, nonce, access_token, audiences_check=False)


def prints_the_token(token, jwks, *, nonce, access_token):
    print("validating", token)
    return right_validate(token, jwks, nonce=nonce, access_token=access_token)


def test_validate_id_token_right(feedback):
    assert_right(feedback(checks.validate_id_token, right_validate), "Core §3.1.3.7")


@pytest.mark.parametrize("answer, hint", [
    (..., "replace the `...`"),
    (forgets_to_return, "returned None"),
    (lambda token, jwks: {}, "does not take those"),
    (no_audience, "issued to another client"),
    (audience_only_from_pyjwt, "audiences your client does not trust"),
    (audience_by_substring, "substring test"),
    (no_nonce, "a replayed ID token"),
    (nonce_only_when_present, "without a nonce claim"),
    (nonce_compare_crashes, "raised TypeError"),
    (algorithms_from_the_header, 'algorithms=["RS256"]'),
    (no_algorithms, "symmetric (oct) key"),
    (hs256_on_the_list, "no HS256 on the list"),
    (es256_on_the_list, "The EC key in the set says alg ES256"),
    (algorithms_from_the_key, "never from the key set or the key"),
    (pem_with_hs256, "PyJWT refused to use the RSA public key as an HMAC secret"),
    (signature_off, "Verify the signature"),
    (no_issuer, "another issuer"),
    (issuer_prefix, "trailing '/'"),
    (issuer_in, "substring test"),
    (exp_not_required, "without exp"),
    (exp_check_off, "expired 5 minutes ago"),
    (leeway_of_an_hour, "leeway= is far too large"),
    (at_hash_skipped, "at_hash does not match"),
    (key_error_for_unknown_kid, "raise jwt.InvalidTokenError"),
    (prints_the_token, "printed or logged a secret"),
    (42, "pass the function itself"),
], ids=lambda value: getattr(value, "__name__", None))
def test_validate_id_token_wrong(feedback, answer, hint):
    assert_not_yet(feedback(checks.validate_id_token, answer), hint)


def test_validate_id_token_azp_ignored_is_refused_as_this_courses_hardening(feedback):
    """Core §2 (errata set 2) lets an RP without extensions ignore azp; the course refuses a foreign one,
    and the hint says that this is the course's rule, not Core's."""
    assert_not_yet(feedback(checks.validate_id_token, azp_ignored), "this course's hardening")


def test_the_check_tokens_really_differ_as_described():
    """The access-token case is an RFC 9068 token (typ at+jwt, aud the API), and at_hash is Core §3.1.3.6's."""
    access_token = oidc._access_token()
    assert jwt.get_unverified_header(access_token)["typ"] == "at+jwt"
    assert jwt.decode(access_token, options={"verify_signature": False})["aud"] == ISSUER + "/me"
    # Core §3.1.3.6's example shape: 128 bits, base64url, no padding (22 characters)
    assert oidc.at_hash("x") == at_hash_of("x") and len(oidc.at_hash("x")) == 22 and "=" not in oidc.at_hash("x")


def test_at_hash_uses_the_hash_of_the_jose_alg():
    """Core §3.1.3.6: the hash of the ID token's alg: SHA-384 for RS384 (24 bytes, 32 characters); an alg
    with no SHA-2 size, as EdDSA, has no at_hash hash to pick and is refused, not silently SHA-256."""
    left = hashlib.sha384(b"x").digest()[:24]
    assert oidc.at_hash("x", "RS384") == base64.urlsafe_b64encode(left).rstrip(b"=").decode()
    assert oidc.at_hash("x", "ES256") == oidc.at_hash("x", "PS256") == at_hash_of("x")
    for alg in ("EdDSA", "none", "RS1"):
        with pytest.raises(ValueError):
            oidc.at_hash("x", alg)


# -- exercise 2: accounts keyed by (iss, sub) ------------------------------------------------

def test_account_key_right(feedback):
    assert_right(feedback(checks.account_key, lambda claims: (claims["iss"], claims["sub"])), "(iss, sub)")


@pytest.mark.parametrize("answer, hint", [
    (..., "replace the `...`"),
    (lambda claims: claims["email"], "KeyError"),
    (lambda claims: claims.get("email"), "Not every ID token has an email claim"),
    (lambda claims: (claims.get("email"), claims.get("email_verified")), "changed her e-mail"),
    (lambda claims: claims["sub"], "unique within its issuer only"),
    (lambda claims: (claims["iss"], claims.get("preferred_username", claims["sub"])), "MUST NOT rely on it"),
    (lambda claims: claims["iss"] + claims["sub"], "Joining the strings"),
    (lambda claims: [claims["iss"], claims["sub"]], "cannot be a dict key"),
    (lambda claims: print(claims["sub"]), "returned None"),
    (lambda claims: (urlsplit(claims["iss"]).netloc, claims["sub"]), "tenant"),
    (lambda claims: (claims["iss"], claims["sub"].lower()), "case-sensitive"),
    (lambda claims: (claims["iss"].rstrip("/"), claims["sub"]), "trailing '/'"),
], ids=["stub", "email", "email-get", "email-verified", "sub-alone", "preferred-username", "joined", "list",
        "none", "host-only", "sub-lowered", "iss-rstripped"])
def test_account_key_wrong(feedback, answer, hint):
    assert_not_yet(feedback(checks.account_key, answer), hint)


# -- the notebook's own solutions ------------------------------------------------------------

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "08-openid-connect.ipynb"
SOLUTION = re.compile(r"<details><summary>Solution</summary>\s*```python\n(.*?)```", re.S)


def test_the_notebooks_solutions_pass_their_checks(capsys):
    """Exercise 1's solution reuses section 4's validate(): the notebook's own validator must pass the check."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    namespace: dict = {}
    try:
        for cell in cells:
            if cell.cell_type == "code" and cell.get("id") in ("c02", "c06", "c09", "c10", "c13"):
                source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
                exec(compile(source, f"<cell {cell.get('id')}>", "exec"), namespace)
        capsys.readouterr()
        solutions = [SOLUTION.search(cell.source).group(1) for cell in cells if cell.get("id") in ("c41", "c44")]
        assert len(solutions) == 2
        for solution in solutions:
            exec(compile(solution, "<solution>", "exec"), namespace)
            assert_right(capsys.readouterr().out.strip().splitlines()[-1])
    finally:
        if "api" in namespace:
            namespace["api"].stop()
