"""Checks for notebook 09 (helpers/checks/m2m.py): the right solutions pass, each insecure one gets ✗.

The insecure solutions are the table of the issue: an assertion without exp or jti, the wrong aud (the
token endpoint URL, or an array), a long lifetime; a DPoP proof without ath, reused across requests,
with the query in htu, or with the private key in its jwk header.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time

import jwt
import pytest
from jwt.algorithms import ECAlgorithm

from conftest import assert_not_yet, assert_right
from helpers import checks


# -- exercise 1: the client assertion (RFC 7523 §2.2, §3; draft-ietf-oauth-rfc7523bis-11 §4) --------------

def assertion(client_id, metadata, private_key_pem, now, **change):
    claims = {"iss": client_id, "sub": client_id, "aud": metadata["issuer"], "iat": now, "exp": now + 60,
              "jti": secrets.token_urlsafe(16)}
    claims.update(change)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, private_key_pem, algorithm="ES256")


def make_client_assertion(client_id, metadata, private_key_pem, now):
    """The notebook's solution."""
    claims = {"iss": client_id, "sub": client_id, "aud": metadata["issuer"], "iat": now, "exp": now + 60,
              "jti": secrets.token_urlsafe(16)}
    return jwt.encode(claims, private_key_pem, algorithm="ES256")


def test_client_assertion_right(feedback):
    assert_right(feedback(checks.client_assertion, make_client_assertion), "jti")


def test_client_assertion_typed_and_five_minutes_is_right(feedback):
    """typ client-authentication+jwt (rfc7523bis-11 §4) and exactly 300 s are fine."""
    def typed(client_id, metadata, pem, now):
        return jwt.encode({"iss": client_id, "sub": client_id, "aud": metadata["issuer"], "exp": now + 300,
                           "jti": secrets.token_urlsafe(32)}, pem, algorithm="ES256",
                          headers={"typ": "client-authentication+jwt"})
    assert_right(feedback(checks.client_assertion, typed))


@pytest.mark.parametrize("change, hint", [
    ({"exp": None}, "there is no exp"),  # RFC 7523 §3 item 4
    ({"jti": None}, "there is no jti"),  # RFC 7523 §3 item 7, OIDC Core §9
    ({"jti": "1"}, "short enough to guess"),
    ({"exp": "later"}, "NumericDate"),
], ids=["no-exp", "no-jti", "short-jti", "exp-string"])
def test_client_assertion_missing_claims_rfc7523_3(feedback, change, hint):
    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, **change)
    assert_not_yet(feedback(checks.client_assertion, insecure), hint)


def test_client_assertion_aud_token_endpoint_rfc7523bis_4(feedback):
    """The token endpoint URL as aud (RFC 7523 §3 allowed it; rfc7523bis-11 §4 does not)."""
    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, aud=metadata["token_endpoint"])
    assert_not_yet(feedback(checks.client_assertion, insecure), "aud is the token endpoint URL")


def test_client_assertion_aud_array_rfc7523bis_4(feedback):
    """[issuer, token endpoint]: the issuer is not the sole audience value (rfc7523bis-11 §4)."""
    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, aud=[metadata["issuer"], metadata["token_endpoint"]])
    assert_not_yet(feedback(checks.client_assertion, insecure), "array with more than the issuer")


def test_client_assertion_aud_one_element_array_fapi2(feedback):
    """[issuer] alone: allowed by rfc7523bis-11, refused by FAPI 2.0 and the earlier drafts: send the string."""
    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, aud=[metadata["issuer"]])
    assert_not_yet(feedback(checks.client_assertion, insecure), "send the plain string")


def test_client_assertion_hard_coded_aud(feedback):
    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, aud="https://api.practice.test")
    assert_not_yet(feedback(checks.client_assertion, insecure), "issuer identifier")


@pytest.mark.parametrize("lifetime", [301, 3600, 86400 * 365])
def test_client_assertion_long_lifetime_rfc7523_3(feedback, lifetime):
    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, exp=now + lifetime)
    assert_not_yet(feedback(checks.client_assertion, insecure), "keep it short")


def test_client_assertion_fixed_jti(feedback):
    """A constant jti: the second token request would be refused as a replay."""
    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, jti="reports-signer-assertion-0001")
    assert_not_yet(feedback(checks.client_assertion, insecure), "the same jti")


def test_client_assertion_real_clock_instead_of_now(feedback):
    def insecure(client_id, metadata, pem, now):
        return make_client_assertion(client_id, metadata, pem, int(time.time()) + 600)
    assert_not_yet(feedback(checks.client_assertion, insecure), "iat")


def test_client_assertion_iss_sub(feedback):
    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, sub="admin")
    assert_not_yet(feedback(checks.client_assertion, insecure), "iss and sub must both be the client_id")


@pytest.mark.parametrize("alg", ["HS256", "none"])
def test_client_assertion_other_algorithms(feedback, alg):
    def insecure(client_id, metadata, pem, now):
        claims = {"iss": client_id, "sub": client_id, "aud": metadata["issuer"], "exp": now + 60,
                  "jti": secrets.token_urlsafe(16)}
        return jwt.encode(claims, None if alg == "none" else "x" * 32, algorithm=alg)
    assert_not_yet(feedback(checks.client_assertion, insecure), f"signed with alg '{alg}'")


def test_client_assertion_other_key(feedback):
    from cryptography.hazmat.primitives.asymmetric import ec
    other = ec.generate_private_key(ec.SECP256R1())

    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, other, now)
    assert_not_yet(feedback(checks.client_assertion, insecure), "does not verify")


def test_client_assertion_raises_and_placeholder(feedback):
    def broken(client_id, metadata, pem, now):
        return metadata["jwks_uri"]
    assert_not_yet(feedback(checks.client_assertion, broken), "raised KeyError")
    assert_not_yet(feedback(checks.client_assertion, ...), "replace the `...`")
    assert_not_yet(feedback(checks.client_assertion, "eyJ.x.y"), "pass the function itself")


def typed_assertion(typ):
    def solution(client_id, metadata, pem, now):
        claims = {"iss": client_id, "sub": client_id, "aud": metadata["issuer"], "iat": now, "exp": now + 60,
                  "jti": secrets.token_urlsafe(16)}
        return jwt.encode(claims, pem, algorithm="ES256", headers={"typ": typ} if typ else None)
    return solution


@pytest.mark.parametrize("typ", [None, "JWT", "client-authentication+jwt",
                                 "application/client-authentication+jwt"])
def test_client_assertion_typ_accepted_rfc7523bis_4(feedback, typ):
    """rfc7523bis-11 §4: SHOULD be typed client-authentication+jwt; absent and JWT as the server accepts."""
    assert_right(feedback(checks.client_assertion, typed_assertion(typ)))


@pytest.mark.parametrize("typ", ["dpop+jwt", "at+jwt", "JOSE", "application/dpop+jwt"])
def test_client_assertion_other_typ_refused_rfc8725_3_11(feedback, typ):
    """Another kind of JWT (a DPoP proof, an access token) must not pass for a client assertion."""
    assert_not_yet(feedback(checks.client_assertion, typed_assertion(typ)), "its typ is")


@pytest.mark.parametrize("change, hint", [
    (lambda now: {"nbf": now + 120}, "nbf is in the future"),  # RFC 7523 §3 item 5
    (lambda now: {"iat": now + 30}, "more than 5 s in its future"),  # clock-skew tolerance (local policy)
    (lambda now: {"exp": float("inf")}, "NumericDate"),
    (lambda now: {"exp": float("nan")}, "NumericDate"),
    (lambda now: {"iat": float("-inf")}, "NumericDate"),
    (lambda now: {"exp": 2 ** 60}, "NumericDate"),  # beyond 2**53: the server's rule (RFC 7493 §2.2)
    (lambda now: {"nbf": True}, "NumericDate"),
], ids=["nbf-future", "iat-future", "exp-inf", "exp-nan", "iat-minus-inf", "exp-huge", "nbf-bool"])
def test_client_assertion_times_as_the_server_reads_them_rfc7519_2(feedback, change, hint):
    """The server's NumericDate rule and time checks; inf and NaN give ✗, never an exception."""
    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, **change(now))
    assert_not_yet(feedback(checks.client_assertion, insecure), hint)


@pytest.mark.parametrize("jti", [lambda c, n: str(time.time_ns()),
                                 lambda c, n: f"{c}-{n}-{secrets.randbelow(3)}",
                                 lambda c, n: "assertion-" + str(secrets.randbelow(10 ** 12)).zfill(12)],
                         ids=["clock", "counter-randbelow-3", "twelve-random-digits"])
def test_client_assertion_predictable_jti_rfc7519_4_1_7(feedback, jti):
    """A jti a thief can guess: called enough times, the check always gives ✗."""
    def insecure(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, jti=jti(client_id, now))
    for _ in range(5):
        result = feedback(checks.client_assertion, insecure)
        assert result.startswith("✗"), result


@pytest.mark.parametrize("jti", [lambda: str(__import__("uuid").uuid4()), lambda: secrets.token_hex(12),
                                 lambda: secrets.token_urlsafe(12)], ids=["uuid4", "hex-96-bits", "b64-96-bits"])
def test_client_assertion_96_random_bits_are_enough(feedback, jti):
    def solution(client_id, metadata, pem, now):
        return assertion(client_id, metadata, pem, now, jti=jti())
    for _ in range(5):
        assert_right(feedback(checks.client_assertion, solution))


# -- exercise 2: the DPoP proof (RFC 9449 §4.2) ---------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_dpop_proof(private_key, method, url, access_token=None, nonce=None):
    """The notebook's solution."""
    claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url.split("?")[0].split("#")[0],
              "iat": int(time.time())}
    if access_token is not None:
        claims["ath"] = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
    if nonce is not None:
        claims["nonce"] = nonce
    jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return jwt.encode(claims, private_key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": jwk})


def test_dpop_proof_right(feedback):
    assert_right(feedback(checks.dpop_proof, make_dpop_proof), "ath")


def test_dpop_proof_with_dpopauth_is_right(feedback):
    """DPoPAuth.proof(), the helper's own way, passes the same check."""
    from helpers import DPoPAuth

    def with_helper(private_key, method, url, access_token=None, nonce=None):
        auth = DPoPAuth(private_key)
        auth._nonces[f"{url.split('://')[0]}://api.practice.test"] = nonce if nonce else None
        if nonce is None:
            auth._nonces.clear()
        return auth.proof(method, url, access_token)
    assert_right(feedback(checks.dpop_proof, with_helper))


def variant(**change):
    """The right solution with one thing changed: `claims` edits, `header` edits, or `cache` for reuse."""
    cache = {}

    def proof(private_key, method, url, access_token=None, nonce=None):
        if change.get("cache") and (method, url) in cache:
            return cache[method, url]
        claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url.split("?")[0].split("#")[0],
                  "iat": int(time.time())}
        if access_token is not None:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(change.get("claims", lambda c, u, t: {})(claims, url, access_token))
        claims = {k: v for k, v in claims.items() if v is not None}
        jwk = ECAlgorithm.to_jwk(private_key if change.get("private_jwk") else private_key.public_key(),
                                 as_dict=True)
        header = {"typ": "dpop+jwt", "jwk": jwk, **change.get("header", {})}
        cache[method, url] = jwt.encode(claims, private_key, algorithm="ES256", headers=header)
        return cache[method, url]
    return proof


@pytest.mark.parametrize("insecure, hint", [
    (variant(claims=lambda c, url, t: {"ath": None}), "there is no ath"),  # RFC 9449 §4.2
    (variant(cache=True), "returned before"),  # proof reused: §4.3 point 12, §11.1
    (variant(claims=lambda c, url, t: {"htu": url}), "keeps the query or the fragment"),  # §4.2
    (variant(claims=lambda c, url, t: {"htu": url.split("#")[0]}), "keeps the query or the fragment"),
    (variant(private_jwk=True), "PRIVATE key"),  # §4.2: MUST NOT contain a private key
    (variant(claims=lambda c, url, t: {"ath": b64url(hashlib.sha256(b"some other token").digest())}),
     "not the hash of this request's access token"),
    (variant(claims=lambda c, url, t: {"ath": b64url(hashlib.sha256((t or "x").encode()).digest()) + "="}),
     "not the hash"),
    (variant(claims=lambda c, url, t: {"ath": hashlib.sha256((t or "").encode()).hexdigest()} if t else {}),
     "not the hash"),
    (variant(claims=lambda c, url, t: {"ath": b64url(b"")} if t is None else {}), "leave ath out"),
    (variant(header={"typ": "JWT"}), "typ is 'JWT'"),
    (variant(claims=lambda c, url, t: {"jti": "proof-jti-000000000001"}), "share a jti"),
    (variant(claims=lambda c, url, t: {"jti": "a"}), "jti must be a new random string"),
    (variant(claims=lambda c, url, t: {"iat": int(time.time()) - 3600}), "iat must be now"),
    (variant(claims=lambda c, url, t: {"htm": c["htm"].lower()}), "htm is"),
    (variant(claims=lambda c, url, t: {"nonce": None}), "does not carry it"),
    (variant(claims=lambda c, url, t: {"nonce": "n-1"}), "no nonce was given"),
    (variant(claims=lambda c, url, t: {"htu": url.split("?")[0]}), "keeps the query or the fragment"),
    (variant(claims=lambda c, url, t: {"iat": int(time.time()) + 30}), "to 5 s after"),
    (variant(claims=lambda c, url, t: {"iat": float("nan")}), "iat must be now"),
    (variant(claims=lambda c, url, t: {"iat": float("inf")}), "iat must be now"),
    (variant(claims=lambda c, url, t: {"jti": str(time.time_ns())}), "bits only"),
    (variant(claims=lambda c, url, t: {"jti": "proof-" + str(secrets.randbelow(10 ** 10)).zfill(10)}),
     "bits only"),
    (variant(header={"typ": "at+jwt"}), "typ is 'at+jwt'"),
], ids=["no-ath", "reused", "htu-query", "htu-query-only", "private-jwk", "ath-other-token", "ath-padded",
        "ath-hex", "ath-without-token", "typ-jwt", "fixed-jti", "short-jti", "old-iat", "htm-case",
        "nonce-dropped", "nonce-invented", "htu-fragment-only-kept", "iat-future", "iat-nan", "iat-inf",
        "jti-clock", "jti-ten-digits", "typ-access-token"])
def test_dpop_proof_insecure_rfc9449_4_2(feedback, insecure, hint):
    assert_not_yet(feedback(checks.dpop_proof, insecure), hint)


@pytest.mark.parametrize("typ", ["dpop+jwt", "application/dpop+jwt", "DPoP+JWT"])
def test_dpop_proof_typ_as_the_server_accepts_rfc7515_4_1_9(feedback, typ):
    """RFC 7515 §4.1.9: a typ without "/" means application/ + it, compared without case, as the server does."""
    assert_right(feedback(checks.dpop_proof, variant(header={"typ": typ})))


def test_dpop_proof_iat_a_little_ahead_or_behind_is_right(feedback):
    """The server's window: up to 5 s ahead (clock skew), up to 60 s old (RFC 9449 §11.1)."""
    assert_right(feedback(checks.dpop_proof, variant(claims=lambda c, url, t: {"iat": int(time.time()) + 3})))
    assert_right(feedback(checks.dpop_proof, variant(claims=lambda c, url, t: {"iat": int(time.time()) - 50})))


def test_dpop_proof_signed_by_another_key(feedback):
    """The proof carries its own jwk, but not the key given: the token's jkt would not match (RFC 9449 §6)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    other = ec.generate_private_key(ec.SECP256R1())

    def insecure(private_key, method, url, access_token=None, nonce=None):
        return make_dpop_proof(other, method, url, access_token, nonce)
    assert_not_yet(feedback(checks.dpop_proof, insecure), "not the public half of the key you were given")


def test_dpop_proof_jwk_of_another_key(feedback):
    """Signed with the right key, but the header names another: the signature check fails."""
    from cryptography.hazmat.primitives.asymmetric import ec
    other = ec.generate_private_key(ec.SECP256R1())

    def insecure(private_key, method, url, access_token=None, nonce=None):
        claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url.split("?")[0],
                  "iat": int(time.time())}
        jwk = ECAlgorithm.to_jwk(other.public_key(), as_dict=True)
        return jwt.encode(claims, private_key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": jwk})
    assert_not_yet(feedback(checks.dpop_proof, insecure), "does not verify")


def test_dpop_proof_printing_the_token_is_refused(feedback):
    def leaky(private_key, method, url, access_token=None, nonce=None):
        print("token:", access_token)
        return make_dpop_proof(private_key, method, url, access_token, nonce)
    output = feedback(checks.dpop_proof, leaky)
    assert output.startswith("✗ Not yet: ") and "practice-dpop-token" not in output


# -- the notebook's own solutions ----------------------------------------------------------------------

def test_the_notebook_solutions_are_right(capsys):
    """Each <details> solution of notebook 09, run as printed, gets ✓ from its check."""
    import json
    import re

    from conftest import ROOT

    notebook = json.loads((ROOT / "notebooks/09-machine-to-machine.ipynb").read_text(encoding="utf-8"))
    solutions = [code for cell in notebook["cells"] if cell["cell_type"] == "markdown"
                 for code in re.findall(r"<details><summary>Solution</summary>\s*```python\n(.*?)```",
                                        "".join(cell["source"]), re.S)]
    assert len(solutions) == 2
    for code in solutions:
        exec(code, {"secrets": secrets, "time": time, "jwt": jwt, "checks": checks})
        assert capsys.readouterr().out.startswith("✓ Right: ")


# -- what notebook 09 says of Authlib 1.9's PrivateKeyJWT, so that an upgrade that changes it shows --------

def _authlib_assertions(auth, count=2):
    from urllib.parse import parse_qs

    from authlib.oauth2.rfc7523 import PrivateKeyJWT  # noqa: F401  (the auth passed in)
    from joserfc.jwk import ECKey

    from helpers.practice_api import demo_keys

    class Client:  # what PrivateKeyJWT.sign reads of the OAuth2 client
        client_id = "reports-signer"
        client_secret = ECKey.import_key(demo_keys.REPORTS_SIGNER_PRIVATE_KEY)

    claims = []
    for _ in range(count):
        _, _, body = auth(Client(), "POST", "https://api.practice.test/oauth/token", {}, "")
        claims.append(jwt.decode(parse_qs(body)["client_assertion"][0], options={"verify_signature": False}))
    return claims


def test_authlib_private_key_jwt_defaults_as_the_notebook_says():
    """aud = the token endpoint URL, exp = iat + 3600, a new jti per assertion."""
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    first, second = _authlib_assertions(PrivateKeyJWT(alg="ES256"))
    assert first["aud"] == "https://api.practice.test/oauth/token"
    assert first["exp"] - first["iat"] == 3600 and first["jti"] != second["jti"]


def test_authlib_private_key_jwt_issuer_fix_and_claims_trap():
    """PrivateKeyJWT(issuer) puts the issuer in aud, jti still fresh; claims={...} makes every jti the same."""
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    first, second = _authlib_assertions(PrivateKeyJWT("https://api.practice.test", alg="ES256"))
    assert first["aud"] == second["aud"] == "https://api.practice.test" and first["jti"] != second["jti"]
    first, second = _authlib_assertions(PrivateKeyJWT(alg="ES256", claims={"aud": "https://api.practice.test"}))
    assert first["jti"] == second["jti"]


@pytest.mark.parametrize("status, body", [(401, '{"message": "Unauthorized"}'),
                                          (403, '{"access_token": "x", "token_type": "Bearer"}')])
def test_authlib_returns_a_refusal_as_the_token_unless_a_hook_checks_the_status(status, body):
    """Notebook 09 cell 19: Authlib 1.9 raises OAuthError only for a body with `error`; the
    access_token_response compliance hook (raise_for_status) refuses the rest."""
    import requests
    import responses
    from authlib.integrations.requests_client import OAuth2Session

    def require_success(response):
        response.raise_for_status()
        return response
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "https://as.example/token", status=status, body=body,
                 content_type="application/json")
        mock.add(responses.POST, "https://as.example/token", status=status, body=body,
                 content_type="application/json")
        plain = OAuth2Session("client", "secret")
        token = plain.fetch_token("https://as.example/token", grant_type="client_credentials", timeout=5,
                                  allow_redirects=False)
        assert all(token[name] == value for name, value in json.loads(body).items())  # the refusal, as a token
        checked = OAuth2Session("client", "secret")
        checked.register_compliance_hook("access_token_response", require_success)
        with pytest.raises(requests.HTTPError):
            checked.fetch_token("https://as.example/token", grant_type="client_credentials", timeout=5,
                                allow_redirects=False)
