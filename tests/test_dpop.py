"""DPoP (RFC 9449): tokens bound to the client's key, and a fresh proof with every request.

One test per check of `helpers/practice_api/dpop.py` and `binding.py`, each naming its section.
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from helpers.practice_api import demo, demo_keys, dpop
from helpers.practice_api.client_assertions import CLIENT_ASSERTION_TYPE

TIMEOUT = 5
ISSUER = demo.BASE_URL
TOKEN_URL = ISSUER + "/oauth/token"
REPORTS_URL = ISSUER + "/reports"
KEY = serialization.load_pem_private_key(demo_keys.DPOP_PRIVATE_KEY.encode(), None)
OTHER = serialization.load_pem_private_key(demo_keys.OTHER_PRIVATE_KEY.encode(), None)
RSA_KEY = serialization.load_pem_private_key(demo_keys.SERVICE_ACCOUNT_PRIVATE_KEY.encode(), None)
SIGNER_KEY = serialization.load_pem_private_key(demo_keys.REPORTS_SIGNER_PRIVATE_KEY.encode(), None)
ADA = {"username": "ada", "password": demo.password_of("ada")}


def public_jwk(key) -> dict:
    algorithm = ECAlgorithm if hasattr(key, "curve") else RSAAlgorithm
    jwk = algorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.pop("key_ops", None)
    return jwk


def make_proof(api, method: str, url: str, *, key=KEY, jwk=None, alg="ES256", headers=None, drop=(),
               token: str | None = None, **claims) -> str:
    """A DPoP proof as RFC 9449 §4.2 describes it, changed by the arguments."""
    body = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(api.clock.now()),
            **({"ath": dpop.access_token_hash(token)} if token else {}), **claims}
    for name in drop:
        body.pop(name)
    header = {"typ": "dpop+jwt", "jwk": public_jwk(key) if jwk is None else jwk, **(headers or {})}
    return jwt.encode(body, key, algorithm=alg, headers=header)


def assertion(api) -> str:
    now = int(api.clock.now())
    claims = {"iss": "reports-signer", "sub": "reports-signer", "aud": ISSUER, "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex}
    return jwt.encode(claims, SIGNER_KEY, algorithm="ES256", headers={"kid": demo_keys.REPORTS_SIGNER_KEY_ID})


def token_request(http, api, proof: str | None, client_assertion: str | None = None):
    form = {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": client_assertion or assertion(api)}
    return http.post(TOKEN_URL, data=form, headers={} if proof is None else {"DPoP": proof}, timeout=TIMEOUT)


def dpop_token(http, api, key=KEY) -> str:
    response = token_request(http, api, make_proof(api, "POST", TOKEN_URL, key=key))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def get_reports(http, token: str, proof: str | None, scheme: str = "DPoP"):
    headers = {"Authorization": f"{scheme} {token}", **({"DPoP": proof} if proof is not None else {})}
    return http.get(REPORTS_URL, headers=headers, timeout=TIMEOUT)


def assert_resource_refusal(response, error: str, phrase: str) -> None:
    """401 and a DPoP challenge with the algorithms and the error (RFC 9449 §7.1)."""
    assert response.status_code == 401, response.text
    assert response.json()["error"] == error
    assert phrase in response.json()["error_description"], response.json()["error_description"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("DPoP ") and 'algs="ES256 RS256"' in challenge and f'error="{error}"' in challenge


def assert_token_refusal(response, phrase: str, error: str = "invalid_dpop_proof") -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert phrase in response.json()["error_description"], response.json()["error_description"]


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# -- the right way -----------------------------------------------------------------------------------------

def test_rfc7638_section_3_1_thumbprint_example():
    jwk = {"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
           "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE"
                "CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
                "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6"
                "WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}
    assert dpop.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_rfc9449_section_7_1_ath_example():
    assert dpop.access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU") == \
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


def test_the_token_endpoint_binds_the_token_to_the_proof_key_rfc9449_section_5_and_6_1(api, http):
    response = token_request(http, api, make_proof(api, "POST", TOKEN_URL))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"  # RFC 9449 §5
    assert claims_of(response.json()["access_token"])["cnf"] == {"jkt": dpop.thumbprint(public_jwk(KEY))}


def test_a_bound_token_with_a_fresh_proof_opens_reports_rfc9449_section_7(api, http):
    token = dpop_token(http, api)
    response = get_reports(http, token, make_proof(api, "GET", REPORTS_URL, token=token))
    assert response.status_code == 200, response.text
    again = get_reports(http, token, make_proof(api, "GET", REPORTS_URL, token=token))  # a new proof each time
    assert again.status_code == 200


def test_an_rs256_proof_works_too_rfc9449_section_4_2(api, http):
    response = token_request(http, api, make_proof(api, "POST", TOKEN_URL, key=RSA_KEY, alg="RS256"))
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP"


def test_htu_is_compared_after_normalizing_scheme_host_and_default_port_rfc9449_section_4_3(api, http):
    proof = make_proof(api, "POST", "HTTPS://API.Practice.TEST:443/oauth/token")
    assert token_request(http, api, proof).status_code == 200


def test_the_query_of_the_request_is_ignored_rfc9449_section_4_3_point_9(api, http):
    token = dpop_token(http, api)
    proof = make_proof(api, "GET", REPORTS_URL, token=token)
    response = http.get(REPORTS_URL + "?month=2026-11", timeout=TIMEOUT,
                        headers={"Authorization": "DPoP " + token, "DPoP": proof})
    assert response.status_code == 200, response.text


def test_without_a_proof_the_token_endpoint_issues_bearer(api, http):
    response = token_request(http, api, None)
    assert response.json()["token_type"] == "Bearer" and "cnf" not in claims_of(response.json()["access_token"])


def test_metadata_lists_the_dpop_algorithms_rfc9449_section_5_1(api, http):
    metadata = http.get(ISSUER + "/.well-known/oauth-authorization-server", timeout=TIMEOUT).json()
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256", "RS256"]


def test_login_and_me_with_dpop(api, http):
    login = http.post(ISSUER + "/login", json=ADA, timeout=TIMEOUT,
                      headers={"DPoP": make_proof(api, "POST", ISSUER + "/login")})
    assert login.status_code == 200 and login.json()["token_type"] == "DPoP", login.text
    token = login.json()["access_token"]
    me = http.get(ISSUER + "/me", timeout=TIMEOUT, headers={
        "Authorization": "DPoP " + token, "DPoP": make_proof(api, "GET", ISSUER + "/me", token=token)})
    assert me.status_code == 200 and me.json()["username"] == "ada"


def test_introspection_says_dpop_and_gives_cnf_rfc9449_section_6_2(api, http):
    token = dpop_token(http, api)
    answer = http.post(ISSUER + "/oauth/introspect", data={"token": token}, timeout=TIMEOUT,
                       auth=("notes-api", str(demo.client("notes-api")["client_secret"]))).json()
    assert answer["active"] is True and answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": dpop.thumbprint(public_jwk(KEY))}


# -- refusals at the resource (RFC 9449 §7.1) ---------------------------------------------------------------

def test_a_bound_token_sent_as_bearer_is_refused_rfc9449_section_7_1(api, http):
    token = dpop_token(http, api)
    assert_resource_refusal(get_reports(http, token, None, scheme="Bearer"), "invalid_token", "not as Bearer")


def test_a_bound_token_without_a_proof_is_refused_rfc9449_section_7_1(api, http):
    token = dpop_token(http, api)
    assert_resource_refusal(get_reports(http, token, None), "invalid_dpop_proof", "Send a DPoP proof")


def test_a_replayed_proof_is_refused_rfc9449_section_11_1(api, http):
    token = dpop_token(http, api)
    proof = make_proof(api, "GET", REPORTS_URL, token=token)
    assert get_reports(http, token, proof).status_code == 200
    assert_resource_refusal(get_reports(http, token, proof), "invalid_dpop_proof", "already used")


def test_the_replay_cache_keeps_a_jti_while_its_iat_is_accepted_rfc9449_section_11_1(api, http):
    token = dpop_token(http, api)
    proof = make_proof(api, "GET", REPORTS_URL, token=token)
    assert get_reports(http, token, proof).status_code == 200
    # the proof's iat is still accepted, so its jti must be refused. 5 s to spare, not 1: iat is whole seconds
    # (up to 1 s older than the moment it was made), and a loaded machine takes a while between two requests
    api.clock.advance(dpop.PROOF_SECONDS - 5)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_dpop_proof", "already used")


def test_a_proof_for_another_method_is_refused_rfc9449_section_4_3_point_8(api, http):
    token = dpop_token(http, api)
    proof = make_proof(api, "POST", REPORTS_URL, token=token)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_dpop_proof", "htm must be GET")


@pytest.mark.parametrize("htu", [ISSUER + "/me", "https://evil.test/reports", ISSUER + "/reports/",
                                 "http://api.practice.test/reports", "/reports", ISSUER + "/rep\torts"])
def test_a_proof_for_another_url_is_refused_rfc9449_section_4_3_point_9(api, http, htu):
    token = dpop_token(http, api)
    proof = make_proof(api, "GET", htu, token=token)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_dpop_proof", "htu must be " + REPORTS_URL)


@pytest.mark.parametrize("htu", [REPORTS_URL + "?month=11", REPORTS_URL + "#top", REPORTS_URL + "?",
                                 REPORTS_URL + "?a=1#b"])
def test_the_query_and_fragment_of_htu_are_ignored_rfc9449_section_4_3_point_9(api, http, htu):
    """§4.3 point 9: htu is compared "ignoring any query and fragment parts" (the client leaves them out, §4.2)."""
    token = dpop_token(http, api)
    response = get_reports(http, token, make_proof(api, "GET", htu, token=token))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("htu", [ISSUER + "/%72eports", ISSUER + "/%72%65ports", "https://api.practice.test:/reports",
                                 ISSUER + "/me/../reports", ISSUER + "/./reports", "HTTPS://API.PRACTICE.TEST/reports"])
def test_htu_is_compared_after_rfc3986_section_6_2_2_and_6_2_3_normalisation(api, http, htu):
    """Percent-encoded unreserved characters decoded, dot segments removed (§6.2.2), an empty port dropped (§6.2.3)."""
    token = dpop_token(http, api)
    response = get_reports(http, token, make_proof(api, "GET", htu, token=token))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("htu", [ISSUER + "/%2freports", ISSUER + "/%xxreports", ISSUER + "/reports%",
                                 ISSUER + "/Reports", "https://api.practice.test:4430/reports"])
def test_normalisation_keeps_what_rfc3986_section_6_2_2_keeps(api, http, htu):
    """%2F is a reserved character, encoded on purpose (§2.2); a lone % is no URL; paths keep their case."""
    token = dpop_token(http, api)
    proof = make_proof(api, "GET", htu, token=token)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_dpop_proof", "htu must be " + REPORTS_URL)


def test_a_proof_signed_by_another_key_is_refused_as_in_rfc9449_section_7_1(api, http):
    """The thief has the token and makes a valid proof with a key of its own: jkt does not match.

    The error is §7.1's example for a failed key binding: invalid_token, "Invalid DPoP key binding"
    (the proof is valid; the token's confirmation, §4.3 point 12, is what fails).
    """
    token = dpop_token(http, api)
    proof = make_proof(api, "GET", REPORTS_URL, key=OTHER, token=token)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_token", "Invalid DPoP key binding")


def test_a_proof_whose_jwk_did_not_sign_it_is_refused_rfc9449_section_4_3_point_6(api, http):
    token = dpop_token(http, api)
    proof = make_proof(api, "GET", REPORTS_URL, key=OTHER, jwk=public_jwk(KEY), token=token)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_dpop_proof", "signature does not match")


def test_an_old_proof_is_refused_rfc9449_section_4_3_point_11(api, http):
    token = dpop_token(http, api)
    proof = make_proof(api, "GET", REPORTS_URL, token=token, iat=int(api.clock.now()) - dpop.PROOF_SECONDS - 1)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_dpop_proof", "older than")


def test_a_proof_from_the_future_is_refused_rfc9449_section_4_3_point_11(api, http):
    token = dpop_token(http, api)
    proof = make_proof(api, "GET", REPORTS_URL, token=token, iat=int(api.clock.now()) + 60)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_dpop_proof", "in the future")


def test_a_proof_without_ath_is_refused_rfc9449_section_4_3_point_12(api, http):
    token = dpop_token(http, api)
    proof = make_proof(api, "GET", REPORTS_URL)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_dpop_proof", "needs ath")


def test_a_proof_for_another_token_is_refused_rfc9449_section_4_3_point_12(api, http):
    token, other_token = dpop_token(http, api), dpop_token(http, api)
    proof = make_proof(api, "GET", REPORTS_URL, token=other_token)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_dpop_proof", "not the hash of this")


def test_an_unbound_token_with_the_dpop_scheme_is_refused_rfc9449_section_7_1(api, http):
    token = token_request(http, api, None).json()["access_token"]
    proof = make_proof(api, "GET", REPORTS_URL, token=token)
    assert_resource_refusal(get_reports(http, token, proof), "invalid_token", "not bound to a DPoP key")


def test_an_invalid_token_with_the_dpop_scheme_gets_a_dpop_challenge_rfc9449_section_7_1(api, http):
    assert_resource_refusal(get_reports(http, "not-a-token", make_proof(api, "GET", REPORTS_URL, token="x")),
                            "invalid_token", "not a JWT")


@pytest.mark.parametrize("authorization", ["DPoP", "DPoP ", "DPoP a b"])
def test_the_dpop_scheme_takes_exactly_one_token_rfc9449_section_7_1(api, http, authorization):
    response = http.get(REPORTS_URL, headers={"Authorization": authorization}, timeout=TIMEOUT)
    assert response.status_code in (400, 401) and response.json()["error"] in ("invalid_request", "missing_token")


# -- refusals of the proof itself (RFC 9449 §4.3), at the token endpoint: 400 invalid_dpop_proof --------------

@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "application/dpop+jwt+x", "text/dpop+jwt", "dpop", None])
def test_a_proof_not_typed_dpop_jwt_is_refused_rfc9449_section_4_3_point_4(api, http, typ):
    proof = make_proof(api, "POST", TOKEN_URL, headers={"typ": typ})
    assert_token_refusal(token_request(http, api, proof), "typ must be dpop+jwt")


@pytest.mark.parametrize("typ", ["dpop+jwt", "DPoP+JWT", "application/dpop+jwt"])
def test_application_dpop_jwt_is_the_same_type_rfc7515_section_4_1_9(api, http, typ):
    """RFC 7515 §4.1.9: a typ without "/" means "application/" + it, compared without case; the server
    accepts both spellings, as it does for at+jwt and client-authentication+jwt."""
    proof = make_proof(api, "POST", TOKEN_URL, headers={"typ": typ})
    assert token_request(http, api, proof).status_code == 200


def test_alg_none_is_refused_rfc9449_section_4_3_point_5(api, http):
    body = {"jti": "n1", "htm": "POST", "htu": TOKEN_URL, "iat": int(api.clock.now())}
    proof = jwt.encode(body, None, algorithm="none", headers={"typ": "dpop+jwt", "jwk": public_jwk(KEY)})
    assert_token_refusal(token_request(http, api, proof), "never none or HMAC")


def test_hs256_is_refused_rfc9449_section_4_3_point_5(api, http):
    body = {"jti": "h1", "htm": "POST", "htu": TOKEN_URL, "iat": int(api.clock.now())}
    proof = jwt.encode(body, "k" * 32, algorithm="HS256", headers={"typ": "dpop+jwt", "jwk": {"kty": "oct"}})
    assert_token_refusal(token_request(http, api, proof), "never none or HMAC")


@pytest.mark.parametrize("member", ["d", "p", "k"])
def test_a_jwk_with_private_parts_is_refused_rfc9449_section_4_3_point_7(api, http, member):
    jwk = {**public_jwk(KEY), member: "AAAA"}
    assert_token_refusal(token_request(http, api, make_proof(api, "POST", TOKEN_URL, jwk=jwk)), "private key")


@pytest.mark.parametrize("jwk", [None, "a key", [], {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
                                 {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
                                 {"kty": "EC", "crv": "P-256", "x": 1, "y": 2}])
def test_a_missing_or_unfit_jwk_is_refused_rfc9449_section_4_3_point_7(api, http, jwk):
    proof = make_proof(api, "POST", TOKEN_URL, jwk=jwk if jwk is not None else {})
    if jwk is None:
        header = {"typ": "dpop+jwt"}
        proof = jwt.encode({"jti": "j", "htm": "POST", "htu": TOKEN_URL, "iat": int(api.clock.now())}, KEY,
                           algorithm="ES256", headers=header)
    assert_token_refusal(token_request(http, api, proof), "jwk")


def test_a_jwk_point_off_the_curve_is_refused_rfc9449_section_4_3_point_7(api, http):
    jwk = {**public_jwk(KEY), "y": public_jwk(OTHER)["y"]}
    assert_token_refusal(token_request(http, api, make_proof(api, "POST", TOKEN_URL, jwk=jwk)),
                         "not a valid public key")


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_a_proof_missing_a_required_claim_is_refused_rfc9449_section_4_2(api, http, claim):
    proof = make_proof(api, "POST", TOKEN_URL, drop=(claim,))
    assert_token_refusal(token_request(http, api, proof), claim)


@pytest.mark.parametrize("claims", [{"iat": "1999999999"}, {"iat": True}, {"htm": 1}, {"jti": ""},
                                    {"jti": "x" * 300}, {"htu": ["a"]}])
def test_claims_of_the_wrong_type_are_refused_rfc9449_section_4_2(api, http, claims):
    proof = make_proof(api, "POST", TOKEN_URL, **claims)
    assert token_request(http, api, proof).json()["error"] == "invalid_dpop_proof"


def test_a_replayed_proof_at_the_token_endpoint_is_refused_rfc9449_section_11_1(api, http):
    proof = make_proof(api, "POST", TOKEN_URL)
    assert token_request(http, api, proof).status_code == 200
    assert_token_refusal(token_request(http, api, proof), "already used")


@pytest.mark.parametrize("proof", ["", "not a jwt", "a.b.c", "e30.e30.", "x" * 5000, "%%.%%.%%",
                                   "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln", "p1.p2.p3, q1.q2.q3"])
def test_malformed_proofs_get_400_with_a_reason(api, http, proof):
    response = token_request(http, api, proof)
    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof", response.text
    assert response.json()["error_description"]


def test_a_refused_proof_spends_no_client_assertion_rfc9449_section_8(api, http):
    """The client sends the same form again, with a new proof: the assertion's jti must still be unspent."""
    same = assertion(api)
    assert token_request(http, api, "not a jwt", same).status_code == 400
    assert token_request(http, api, make_proof(api, "POST", TOKEN_URL), same).status_code == 200


# -- server nonces (RFC 9449 §8, §9) --------------------------------------------------------------------------

def test_the_token_endpoint_demands_a_nonce_when_told_rfc9449_section_8(api, http):
    api.require_dpop_nonce(True)
    same = assertion(api)
    first = token_request(http, api, make_proof(api, "POST", TOKEN_URL), same)
    assert_token_refusal(first, "nonce", "use_dpop_nonce")
    nonce = first.headers["DPoP-Nonce"]
    again = token_request(http, api, make_proof(api, "POST", TOKEN_URL, nonce=nonce), same)  # same assertion
    assert again.status_code == 200 and again.json()["token_type"] == "DPoP", again.text


def test_the_resource_demands_a_nonce_when_told_rfc9449_section_9(api, http):
    token = dpop_token(http, api)
    api.require_dpop_nonce(True)
    first = get_reports(http, token, make_proof(api, "GET", REPORTS_URL, token=token))
    assert_resource_refusal(first, "use_dpop_nonce", "nonce")
    nonce = first.headers["DPoP-Nonce"]
    assert get_reports(http, token, make_proof(api, "GET", REPORTS_URL, token=token, nonce=nonce)).status_code == 200


def test_a_stale_or_made_up_nonce_is_refused_rfc9449_section_8_2(api, http):
    api.require_dpop_nonce(True)
    nonce = token_request(http, api, make_proof(api, "POST", TOKEN_URL)).headers["DPoP-Nonce"]
    assert_token_refusal(token_request(http, api, make_proof(api, "POST", TOKEN_URL, nonce="made-up")),
                         "did not issue lately", "use_dpop_nonce")
    api.clock.advance(dpop.NONCE_SECONDS)
    stale = token_request(http, api, make_proof(api, "POST", TOKEN_URL, nonce=nonce))
    assert_token_refusal(stale, "did not issue lately", "use_dpop_nonce")
    assert stale.headers["DPoP-Nonce"] != nonce


def test_nonces_can_be_turned_off_again(api, http):
    api.require_dpop_nonce(True)
    api.require_dpop_nonce(False)
    assert token_request(http, api, make_proof(api, "POST", TOKEN_URL)).status_code == 200


# -- refresh tokens (RFC 9449 §5) -------------------------------------------------------------------------------

def login_with_dpop(http, api) -> dict:
    response = http.post(ISSUER + "/login", json=ADA, timeout=TIMEOUT,
                         headers={"DPoP": make_proof(api, "POST", ISSUER + "/login")})
    assert response.status_code == 200, response.text
    return response.json()


def refresh(http, api, refresh_token: str, key=None):
    headers = {} if key is None else {"DPoP": make_proof(api, "POST", TOKEN_URL, key=key)}
    return http.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                     headers=headers, timeout=TIMEOUT)


def test_a_bound_refresh_token_works_with_the_same_key_rfc9449_section_5(api, http):
    response = refresh(http, api, login_with_dpop(http, api)["refresh_token"], key=KEY)
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP", response.text
    assert claims_of(response.json()["access_token"])["cnf"]["jkt"] == dpop.thumbprint(public_jwk(KEY))


@pytest.mark.parametrize("key", [None, OTHER])
def test_a_bound_refresh_token_is_refused_without_that_key_rfc9449_section_5(api, http, key):
    tokens = login_with_dpop(http, api)
    assert_token_refusal(refresh(http, api, tokens["refresh_token"], key=key), "bound to a DPoP key")
    assert refresh(http, api, tokens["refresh_token"], key=KEY).status_code == 200  # the thief burnt nothing


def test_a_spent_bound_refresh_token_replayed_without_the_key_revokes_nothing_rfc9449_section_5(api, http):
    """The binding is checked first: a thief with a spent copy but no key cannot revoke the victim's login
    (RFC 9700 §4.14.2's family revocation is for a replay by whoever holds the token's key)."""
    tokens = login_with_dpop(http, api)
    renewed = refresh(http, api, tokens["refresh_token"], key=KEY)
    assert renewed.status_code == 200, renewed.text
    for thief_key in (None, OTHER):
        assert_token_refusal(refresh(http, api, tokens["refresh_token"], key=thief_key), "bound to a DPoP key")
    assert refresh(http, api, renewed.json()["refresh_token"], key=KEY).status_code == 200  # family alive
    replay = refresh(http, api, tokens["refresh_token"], key=KEY)  # the key holder's replay still revokes
    assert replay.status_code == 400 and "already used" in replay.json()["error_description"]


def test_the_replay_cache_forgets_each_id_when_its_time_is_over():
    from helpers.practice_api.clock import Clock
    from helpers.practice_api.replay_cache import ReplayCache
    clock = Clock()
    cache = ReplayCache(clock)
    now = clock.now()
    assert cache.first_use("a", now + 10) and cache.first_use("b", now + 100)
    assert not cache.first_use("a", now + 10) and "a" in cache
    clock.advance(11)
    assert "a" not in cache and "b" in cache and len(cache) == 1
    assert cache.first_use("a", clock.now() + 10)  # a new use after it was forgotten
    for n in range(5000):  # a flood of proofs: each stays only as long as it must
        cache.first_use(n, clock.now() + 1)
    clock.advance(2)
    assert len(cache) == 2  # "b" and the new "a"


def test_a_public_client_s_refresh_token_is_bound_to_its_dpop_key_rfc9449_section_5(api, http):
    """notes-tv (public, device grant): its refresh token works only with a proof of the same key."""
    started = http.post(ISSUER + "/oauth/device_authorization", data={"client_id": "notes-tv"},
                        timeout=TIMEOUT).json()
    approved = http.post(ISSUER + "/device", timeout=TIMEOUT, data={"user_code": started["user_code"],
                                                                     "decision": "approve", **ADA})
    assert approved.status_code == 200
    tokens = http.post(TOKEN_URL, headers={"DPoP": make_proof(api, "POST", TOKEN_URL)}, timeout=TIMEOUT, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": started["device_code"],
        "client_id": "notes-tv"}).json()
    assert tokens["token_type"] == "DPoP"
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "notes-tv"}
    stolen = http.post(TOKEN_URL, data=form, timeout=TIMEOUT,
                       headers={"DPoP": make_proof(api, "POST", TOKEN_URL, key=OTHER)})
    assert_token_refusal(stolen, "bound to a DPoP key")
    mine = http.post(TOKEN_URL, data=form, timeout=TIMEOUT, headers={"DPoP": make_proof(api, "POST", TOKEN_URL)})
    assert mine.status_code == 200 and mine.json()["token_type"] == "DPoP", mine.text


# -- on both transports: the URL the request was sent to, numbers no JSON parser holds ---------------------------

def any_dpop_token(http, api, key=KEY) -> str:
    url = api.url("/oauth/token")
    now = int(api.clock.now())
    claims = {"iss": "reports-signer", "sub": "reports-signer", "aud": api.base_url, "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex}
    signed = jwt.encode(claims, SIGNER_KEY, algorithm="ES256", headers={"kid": demo_keys.REPORTS_SIGNER_KEY_ID})
    response = http.post(url, headers={"DPoP": make_proof(api, "POST", url, key=key)}, timeout=TIMEOUT, data={
        "grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": signed})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.mark.parametrize("value", [10 ** 400, -10 ** 400, 2 ** 53], ids=["10**400", "-10**400", "2**53"])
@pytest.mark.parametrize("where", ["/oauth/token", "/login", "/reports"])
def test_an_iat_no_json_parser_holds_gets_a_refusal_not_a_500_rfc9449_section_4_3_point_11(any_api, http, where,
                                                                                           value):
    """10**400 made math.isfinite raise OverflowError; an int past 2**53 is no NumericDate (RFC 7519 §2)."""
    url = any_api.url(where)
    if where == "/reports":
        token = any_dpop_token(http, any_api)
        response = http.get(url, timeout=TIMEOUT, headers={
            "Authorization": "DPoP " + token, "DPoP": make_proof(any_api, "GET", url, token=token, iat=value)})
        assert_resource_refusal(response, "invalid_dpop_proof", "needs iat")
        return
    headers = {"DPoP": make_proof(any_api, "POST", url, iat=value)}
    if where == "/login":
        response = http.post(url, json=ADA, headers=headers, timeout=TIMEOUT)
    else:
        response = http.post(url, data={"grant_type": "client_credentials", "client_id": "notes-cli"},
                             headers=headers, timeout=TIMEOUT)
    assert_token_refusal(response, "needs iat")


def test_htu_is_the_url_the_request_was_sent_to_not_the_issuer_s_rfc9449_section_4_3_point_9(api, http):
    """The in-process API also answers at https://other.practice.test: a proof for api.practice.test is not
    for it (point 9: "the HTTP URI value for the HTTP request in which the JWT was received")."""
    token = dpop_token(http, api)
    other = demo.OTHER_ORIGIN + "/reports"
    wrong = http.get(other, timeout=TIMEOUT, headers={
        "Authorization": "DPoP " + token, "DPoP": make_proof(api, "GET", REPORTS_URL, token=token)})
    assert_resource_refusal(wrong, "invalid_dpop_proof", "htu must be " + other)
    right = http.get(other, timeout=TIMEOUT, headers={
        "Authorization": "DPoP " + token, "DPoP": make_proof(api, "GET", other, token=token)})
    assert right.status_code == 200, right.text


def test_on_loopback_a_proof_for_localhost_works_at_localhost_rfc9449_section_4_3_point_9(http):
    """The loopback server's issuer is http://127.0.0.1:PORT; a client calling http://localhost:PORT signs
    that URL, and it is the one the request was sent to."""
    from helpers import serve_practice_api
    with serve_practice_api() as api:
        token = any_dpop_token(http, api)
        here = f"http://localhost:{api.port}/reports"
        right = http.get(here, timeout=TIMEOUT, headers={
            "Authorization": "DPoP " + token, "DPoP": make_proof(api, "GET", here, token=token)})
        assert right.status_code == 200, right.text
        wrong = http.get(here, timeout=TIMEOUT, headers={
            "Authorization": "DPoP " + token, "DPoP": make_proof(api, "GET", api.url("/reports"), token=token)})
        assert_resource_refusal(wrong, "invalid_dpop_proof", "htu must be " + here)
        assert api.app.errors == []


# -- the proof's jwk in one canonical form (RFC 7518 §6.2.1, §6.3.1), so that a key has one thumbprint ----------

EC_JWK = public_jwk(KEY)
RSA_JWK = public_jwk(RSA_KEY)


@pytest.mark.parametrize("jwk", [{**EC_JWK, "x": EC_JWK["x"] + "!!"}, {**EC_JWK, "x": EC_JWK["x"] + "==="},
                                 {**EC_JWK, "y": EC_JWK["y"] + "="}, {**EC_JWK, "x": "AA" + EC_JWK["x"]},
                                 {**EC_JWK, "x": EC_JWK["x"][:-1] + chr(ord(EC_JWK["x"][-1]) + 1)}],
                         ids=["x!!", "x===", "y=", "x-33-octets", "x-unused-bits-set"])
def test_an_ec_jwk_not_in_canonical_base64url_is_refused_rfc7518_section_6_2_1(api, http, jwk):
    proof = make_proof(api, "POST", TOKEN_URL, jwk=jwk)
    assert_token_refusal(token_request(http, api, proof), "one thumbprint")


@pytest.mark.parametrize("member, value", [("e", "AAEAAQ"), ("n", "AA" + RSA_JWK["n"]), ("e", "AQAB=")])
def test_an_rsa_jwk_with_leading_zeros_or_padding_is_refused_rfc7518_section_6_3_1(api, http, member, value):
    """Base64urlUInt (RFC 7518 §2): "the minimum number of octets needed to represent the value"."""
    proof = make_proof(api, "POST", TOKEN_URL, key=RSA_KEY, alg="RS256", jwk={**RSA_JWK, member: value})
    assert_token_refusal(token_request(http, api, proof), "one thumbprint")


# -- nonce rotation on success (RFC 9449 §8.2, §9) -----------------------------------------------------------

def test_a_newer_nonce_comes_with_a_successful_answer_rfc9449_section_8_2(api, http):
    """§8.2: the server MAY supply the new nonce in a successful response; this one does once a newer nonce
    exists (each is handed out for half its 300 s life), at the token endpoint and at the resource (§9)."""
    api.require_dpop_nonce(True)
    first = token_request(http, api, make_proof(api, "POST", TOKEN_URL))
    nonce = first.headers["DPoP-Nonce"]
    fresh = token_request(http, api, make_proof(api, "POST", TOKEN_URL, nonce=nonce))
    assert fresh.status_code == 200 and "DPoP-Nonce" not in fresh.headers  # still the newest
    token = fresh.json()["access_token"]
    api.clock.advance(dpop.NONCE_SECONDS / 2 + 1)  # still accepted, but a newer one is now handed out
    later = token_request(http, api, make_proof(api, "POST", TOKEN_URL, nonce=nonce))
    assert later.status_code == 200, later.text
    newer = later.headers["DPoP-Nonce"]
    assert newer != nonce
    reports = get_reports(http, token, make_proof(api, "GET", REPORTS_URL, token=token, nonce=nonce))
    assert reports.status_code == 200 and reports.headers["DPoP-Nonce"] == newer
    again = get_reports(http, token, make_proof(api, "GET", REPORTS_URL, token=token, nonce=newer))
    assert again.status_code == 200 and "DPoP-Nonce" not in again.headers


def test_reports_without_credentials_offers_bearer_and_dpop_rfc9449_section_7_1(any_api, http):
    """§7.1's first example: a request without authentication gets `WWW-Authenticate: DPoP algs="..."`;
    /reports takes both schemes, so it sends both challenges (RFC 9110 §11.6.1 allows several)."""
    response = http.get(any_api.url("/reports"), timeout=TIMEOUT)
    assert response.status_code == 401 and response.json()["error"] == "missing_token"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="practice", DPoP realm="practice", algs="ES256 RS256"'


def test_me_without_credentials_keeps_its_one_bearer_challenge(api, http):
    """Notebook 03 shows this exact challenge; /me still takes DPoP-bound tokens (test_login_and_me_with_dpop)."""
    response = http.get(ISSUER + "/me", timeout=TIMEOUT)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == 'Bearer realm="practice"'
