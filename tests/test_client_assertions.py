"""JWT assertions signed by the client (RFC 7523): private_key_jwt (§2.2) and the JWT bearer grant (§2.1).

One test per rule of `helpers/practice_api/client_assertions.py`, each naming the section it checks.
The audience rule follows draft-ietf-oauth-rfc7523bis-11 §4: the issuer identifier as the sole audience value.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from helpers.practice_api import demo, demo_keys
from helpers.practice_api.client_assertions import CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT, SIGNING_ALGORITHMS

TIMEOUT = 5
ISSUER = demo.BASE_URL
TOKEN_URL = ISSUER + "/oauth/token"
SIGNER = demo_keys.REPORTS_SIGNER_CLIENT_ID
SIGNER_KEY = serialization.load_pem_private_key(demo_keys.REPORTS_SIGNER_PRIVATE_KEY.encode(), None)
OTHER_KEY = serialization.load_pem_private_key(demo_keys.OTHER_PRIVATE_KEY.encode(), None)
REPORTS_JOB = ("reports-job", str(demo.client("reports-job")["client_secret"]))


def client_assertion(api, *, key=SIGNER_KEY, headers=None, drop=(), **claims) -> str:
    """A client assertion for reports-signer as RFC 7523 §3 and rfc7523bis-11 §4 ask, changed by the arguments."""
    now = int(api.clock.now())
    body = {"iss": SIGNER, "sub": SIGNER, "aud": ISSUER, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex,
            **claims}
    for name in drop:
        body.pop(name)
    header = {"kid": demo_keys.REPORTS_SIGNER_KEY_ID, "typ": "client-authentication+jwt", **(headers or {})}
    return jwt.encode(body, key, algorithm="ES256", headers=header)


def token_request(http, assertion: str, **form):
    data = {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion, **form}
    return http.post(TOKEN_URL, data={k: v for k, v in data.items() if v is not None}, timeout=TIMEOUT)


def assert_invalid_client(response, phrase: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert phrase in response.json()["error_description"], response.json()["error_description"]
    assert response.headers["WWW-Authenticate"].startswith("Basic ")  # a 401 carries a challenge (RFC 9110 §15.5.2)


def unsigned(header: dict, claims: object) -> str:
    part = lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part(header)}.{part(claims)}.c2ln"


# -- the right way --------------------------------------------------------------------------------

def test_private_key_jwt_gets_a_token_for_reports_rfc7523_section_2_2(api, http):
    response = token_request(http, client_assertion(api))
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer" and token["scope"] == "reports:read" and "refresh_token" not in token
    reports = http.get(ISSUER + "/reports", headers={"Authorization": "Bearer " + token["access_token"]},
                       timeout=TIMEOUT)
    assert reports.status_code == 200 and reports.json()["client_id"] == SIGNER


@pytest.mark.parametrize("typ", [None, "JWT", "client-authentication+jwt", "application/client-authentication+JWT"])
def test_typ_absent_jwt_or_client_authentication_is_accepted_rfc7523bis_section_4(api, http, typ):
    response = token_request(http, client_assertion(api, headers={"typ": typ}))
    assert response.status_code == 200, response.text


def test_no_iat_is_accepted_rfc7523_section_3_item_6(api, http):
    assert token_request(http, client_assertion(api, drop=("iat",))).status_code == 200


def test_client_id_in_the_body_equal_to_iss_is_accepted_rfc7523_section_3(api, http):
    assert token_request(http, client_assertion(api), client_id=SIGNER).status_code == 200


def test_authlib_private_key_jwt_with_the_issuer_as_audience(api):
    """Authlib 1.9's PrivateKeyJWT puts its `token_endpoint` argument in aud: pass the issuer there."""
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import ECKey

    key = ECKey.import_key(demo_keys.REPORTS_SIGNER_PRIVATE_KEY)
    session = OAuth2Session(SIGNER, key, token_endpoint_auth_method=PrivateKeyJWT(ISSUER, alg="ES256"),
                            scope="reports:read")
    session.trust_env = False
    # Authlib's header carries no kid: the client registered one key, so the server takes that one.
    token = session.fetch_token(TOKEN_URL, grant_type="client_credentials", timeout=TIMEOUT)
    assert token["scope"] == "reports:read"


def test_authlib_default_audience_the_token_endpoint_is_refused_rfc7523bis_section_4(api):
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import ECKey

    key = ECKey.import_key(demo_keys.REPORTS_SIGNER_PRIVATE_KEY)
    session = OAuth2Session(SIGNER, key, token_endpoint_auth_method=PrivateKeyJWT(alg="ES256"))
    session.trust_env = False
    with pytest.raises(Exception, match="aud must be " + ISSUER):
        session.fetch_token(TOKEN_URL, grant_type="client_credentials", timeout=TIMEOUT)


def test_metadata_lists_private_key_jwt_and_its_algorithms_rfc8414_section_2(api, http):
    metadata = http.get(ISSUER + "/.well-known/oauth-authorization-server", timeout=TIMEOUT).json()
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert metadata["token_endpoint_auth_signing_alg_values_supported"] == list(SIGNING_ALGORITHMS) == ["ES256",
                                                                                                        "RS256"]
    assert "none" not in [a.lower() for a in metadata["token_endpoint_auth_signing_alg_values_supported"]]


def test_the_registered_jwks_is_the_public_half_of_the_published_private_key():
    public = jwt.PyJWK(demo_keys.REPORTS_SIGNER_JWKS["keys"][0]).key
    assert public.public_numbers() == SIGNER_KEY.public_key().public_numbers()
    assert "d" not in demo_keys.REPORTS_SIGNER_JWKS["keys"][0]
    entry = demo.client(SIGNER)
    assert entry["token_endpoint_auth_method"] == "private_key_jwt" and entry["jwks"] == demo_keys.REPORTS_SIGNER_JWKS
    assert entry["private_key"] == demo_keys.REPORTS_SIGNER_PRIVATE_KEY  # demo secrets are published


# -- refusals: the audience (rfc7523bis-11 §4) --------------------------------------------------------

@pytest.mark.parametrize("audience", [TOKEN_URL, ISSUER + "/", "https://evil.test", ISSUER.upper()])
def test_an_audience_other_than_the_issuer_is_refused_rfc7523bis_section_4(api, http, audience):
    assert_invalid_client(token_request(http, client_assertion(api, aud=audience)), "aud must be " + ISSUER)


@pytest.mark.parametrize("audience", [[ISSUER, TOKEN_URL], [TOKEN_URL, ISSUER], [ISSUER, ISSUER], [], None, 7])
def test_aud_must_hold_the_issuer_as_its_sole_value_rfc7523bis_section_4(api, http, audience):
    assertion = client_assertion(api, aud=audience) if audience is not None else client_assertion(api, drop=("aud",))
    assert_invalid_client(token_request(http, assertion), "as its sole value")


def test_a_one_element_array_holding_the_issuer_is_accepted_rfc7523bis_section_4(api, http):
    """Its sole audience value is the issuer. The "JSON string, not an array" rule of early drafts is gone."""
    assert token_request(http, client_assertion(api, aud=[ISSUER])).status_code == 200


# -- refusals: issuer, subject, client_id (RFC 7523 §3 items 1-2) --------------------------------------

def test_sub_other_than_iss_is_refused_rfc7523_section_3_item_2(api, http):
    assert_invalid_client(token_request(http, client_assertion(api, sub="reports-job")), "sub must equal its iss")


def test_missing_sub_is_refused_rfc7523_section_3_item_2(api, http):
    assert_invalid_client(token_request(http, client_assertion(api, drop=("sub",))), "sub must equal its iss")


@pytest.mark.parametrize("issuer", ["reports-job", "nobody", ""])
def test_iss_of_a_client_without_registered_keys_is_refused_rfc7523_section_3_item_1(api, http, issuer):
    response = token_request(http, client_assertion(api, iss=issuer, sub=issuer))
    assert_invalid_client(response, "no iss claim" if not issuer else "with a registered public key")


def test_client_id_in_the_body_other_than_iss_is_refused_rfc7523_section_3(api, http):
    assert_invalid_client(token_request(http, client_assertion(api), client_id="reports-job"), "does not match")


# -- refusals: signature and header (RFC 7523 §3 item 9, RFC 8725 §3.1, §3.11) ---------------------------

def test_signed_by_another_key_is_refused_rfc7523_section_3_item_9(api, http):
    assert_invalid_client(token_request(http, client_assertion(api, key=OTHER_KEY)), "signature does not match")


def test_unknown_kid_is_refused_rfc7523_section_3_item_9(api, http):
    assert_invalid_client(token_request(http, client_assertion(api, headers={"kid": "old-key"})),
                          "has the kid 'old-key'")


def test_alg_none_is_refused_rfc8725_section_3_1(api, http):
    now = int(api.clock.now())
    claims = {"iss": SIGNER, "sub": SIGNER, "aud": ISSUER, "exp": now + 60, "jti": "x1"}
    token = jwt.encode(claims, None, algorithm="none")
    assert_invalid_client(token_request(http, token), "alg=none")


def test_hs256_with_the_public_key_as_secret_is_refused_rfc8725_section_3_1(api, http):
    now = int(api.clock.now())
    claims = {"iss": SIGNER, "sub": SIGNER, "aud": ISSUER, "exp": now + 60, "jti": "x2"}
    # PyJWT refuses to sign with a public key as an HMAC secret, so the attacker's token is made by hand.
    secret = SIGNER_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = unsigned({"alg": "HS256", "kid": demo_keys.REPORTS_SIGNER_KEY_ID}, claims).rsplit(".", 1)[0]
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert_invalid_client(token_request(http, token), "ES256, RS256")


def test_rs256_for_an_es256_key_is_refused_rfc8725_section_3_1(api, http):
    rsa_key = serialization.load_pem_private_key(demo_keys.SERVICE_ACCOUNT_PRIVATE_KEY.encode(), None)
    now = int(api.clock.now())
    claims = {"iss": SIGNER, "sub": SIGNER, "aud": ISSUER, "exp": now + 60, "jti": "x3"}
    token = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": demo_keys.REPORTS_SIGNER_KEY_ID})
    assert_invalid_client(token_request(http, token), "signs with ES256, not RS256")


@pytest.mark.parametrize("typ", ["at+jwt", "dpop+jwt", "JOSE", "secevent+jwt"])
def test_a_jwt_of_another_type_is_refused_rfc8725_section_3_11(api, http, typ):
    assert_invalid_client(token_request(http, client_assertion(api, headers={"typ": typ})), "typ")



@pytest.mark.parametrize("typ", [{"media": "JWT"}, ["JWT"], 7])
def test_a_typ_that_is_not_a_string_is_refused_not_a_500_rfc7515_section_4_1_9(api, http, typ):
    """A JSON object or list as typ crashed the set lookup (unhashable): found by `make fuzz`."""
    assert_invalid_client(token_request(http, client_assertion(api, headers={"typ": typ})), "typ must be a string")
    assert api.app.errors == []

def test_a_critical_extension_is_refused_rfc7515_section_4_1_11(api, http):
    assertion = client_assertion(api, headers={"crit": ["exp"]})
    response = token_request(http, assertion)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


# -- refusals: times (RFC 7523 §3 items 4-6) -----------------------------------------------------------

def test_missing_exp_is_refused_rfc7523_section_3_item_4(api, http):
    assert_invalid_client(token_request(http, client_assertion(api, drop=("exp",))), "no exp claim")


def test_expired_is_refused_rfc7523_section_3_item_4(api, http):
    assertion = client_assertion(api)
    api.clock.advance(120)
    assert_invalid_client(token_request(http, assertion), "has expired")


def test_exp_more_than_an_hour_ahead_is_refused_rfc7523_section_3_item_4(api, http):
    now = int(api.clock.now())
    assert_invalid_client(token_request(http, client_assertion(api, exp=now + 3700)), "lives too long")
    assert_invalid_client(token_request(http, client_assertion(api, exp=now + 3700, drop=("iat",))), "lives too long")


def test_iat_in_the_future_is_refused_rfc7523_section_3_item_6(api, http):
    now = int(api.clock.now())
    assert_invalid_client(token_request(http, client_assertion(api, iat=now + 600, exp=now + 900)), "in the future")


def test_nbf_in_the_future_is_refused_rfc7523_section_3_item_5(api, http):
    now = int(api.clock.now())
    assert_invalid_client(token_request(http, client_assertion(api, nbf=now + 600)), "not valid yet")


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ["1999999999", True, None, [1]])
def test_times_that_are_not_numbers_are_refused_rfc7519_section_2(api, http, claim, value):
    assert_invalid_client(token_request(http, client_assertion(api, **{claim: value})),
                          f"{claim} must be a number")


# -- refusals: jti and replay (RFC 7523 §3 item 7) ------------------------------------------------------

def test_missing_jti_is_refused_rfc7523_section_3_item_7(api, http):
    assert_invalid_client(token_request(http, client_assertion(api, drop=("jti",))), "needs a jti")


@pytest.mark.parametrize("jti", ["", 42, "x" * 257])
def test_a_jti_that_is_not_a_short_string_is_refused_rfc7523_section_3_item_7(api, http, jti):
    assert_invalid_client(token_request(http, client_assertion(api, jti=jti)), "needs a jti")


def test_a_replayed_assertion_is_refused_rfc7523_section_3_item_7(api, http):
    assertion = client_assertion(api)
    assert token_request(http, assertion).status_code == 200
    assert_invalid_client(token_request(http, assertion), "already used")


def test_the_replay_cache_remembers_a_jti_until_exp_plus_leeway_rfc7523_section_3_item_7(api, http):
    """An assertion is accepted until exp + 5 s: its jti must be refused for all of that time."""
    now = int(api.clock.now())
    assertion = client_assertion(api, exp=now + 10, jti="once")
    assert token_request(http, assertion).status_code == 200
    api.clock.advance(13)  # past exp, within the leeway: still accepted if the jti were forgotten
    assert_invalid_client(token_request(http, assertion), "already used")
    api.clock.advance(10)
    assert_invalid_client(token_request(http, assertion), "has expired")
    assert len(api.app.oauth.assertions.seen) == 0  # forgotten once it can no longer be accepted


def test_the_replay_cache_keys_a_jti_by_its_issuer_rfc7523_section_3_item_7(api, http):
    assert token_request(http, client_assertion(api, jti="shared")).status_code == 200
    assert ("reports-signer", "shared") in api.app.oauth.assertions.seen


# -- refusals: the form (RFC 7523 §2.2, RFC 6749 §2.3) ----------------------------------------------------

def test_basic_and_an_assertion_together_are_refused_rfc6749_section_2_3(api, http):
    response = http.post(TOKEN_URL, auth=REPORTS_JOB, timeout=TIMEOUT, data={
        "grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion(api)})
    assert_invalid_client(response, "not two")


def test_a_client_secret_and_an_assertion_together_are_refused_rfc6749_section_2_3(api, http):
    response = token_request(http, client_assertion(api), client_secret="anything")
    assert_invalid_client(response, "not two")


@pytest.mark.parametrize("assertion_type", [None, "", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                                            JWT_BEARER_GRANT])
def test_a_wrong_or_missing_client_assertion_type_is_refused_rfc7523_section_2_2(api, http, assertion_type):
    response = token_request(http, client_assertion(api), client_assertion_type=assertion_type)
    assert_invalid_client(response, "client_assertion_type must be " + CLIENT_ASSERTION_TYPE)


def test_a_missing_client_assertion_is_refused_rfc7523_section_2_2(api, http):
    assert_invalid_client(token_request(http, None), "client_assertion is missing")


def test_a_private_key_jwt_client_cannot_use_basic_or_client_id_alone(api, http):
    response = http.post(TOKEN_URL, auth=(SIGNER, "guess"), data={"grant_type": "client_credentials"},
                         timeout=TIMEOUT)
    assert_invalid_client(response, "wrong client secret")
    response = http.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": SIGNER}, timeout=TIMEOUT)
    assert_invalid_client(response, "private_key_jwt")


def test_a_secret_client_cannot_send_an_assertion_rfc7523_section_3(api, http):
    now = int(api.clock.now())
    claims = {"iss": "reports-job", "sub": "reports-job", "aud": ISSUER, "exp": now + 60, "jti": "x4"}
    token = jwt.encode(claims, SIGNER_KEY, algorithm="ES256", headers={"kid": demo_keys.REPORTS_SIGNER_KEY_ID})
    assert_invalid_client(token_request(http, token), "with a registered public key")


# -- malformed input: 401 with a reason, never a 500 --------------------------------------------------------

@pytest.mark.parametrize("assertion", [
    "not a jwt", "a.b.c", "....", "e30.e30.", "%%%.%%%.%%%",
    unsigned({"alg": "ES256"}, [1, 2]), unsigned({"alg": "ES256"}, "text"), unsigned([1], {}),
    unsigned({"alg": "ES256", "kid": 7}, {"iss": SIGNER}), unsigned({"alg": ["ES256"]}, {"iss": SIGNER}),
    unsigned({"alg": "ES256", "kid": demo_keys.REPORTS_SIGNER_KEY_ID}, {"iss": SIGNER, "sub": SIGNER}),
    unsigned({"alg": "ES256"}, {"iss": {"a": 1}}),
    "x" * 9000,
])
def test_malformed_assertions_get_401_with_a_reason(api, http, assertion):
    response = token_request(http, assertion)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client" and response.json()["error_description"]
    assert assertion[:20] not in response.json()["error_description"] or len(assertion) < 20


def test_the_readme_publishes_the_private_key_and_the_service_account():
    from pathlib import Path
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert demo_keys.REPORTS_SIGNER_PRIVATE_KEY in readme and f"| OAuth client `{SIGNER}`" in readme
    assert demo_keys.SERVICE_ACCOUNT_EMAIL in readme


def test_the_api_handle_gives_the_demo_credentials_with_its_own_urls(api):
    assert api.credentials == demo.credentials(api.base_url)
    assert api.credentials["service_accounts"][0]["token_uri"] == api.url("/oauth/token")


# == the JWT bearer grant (RFC 7523 §2.1): a service account's key file ================================

KEY_FILE = demo.SERVICE_ACCOUNT_KEY_FILE
ACCOUNT_KEY = serialization.load_pem_private_key(KEY_FILE["private_key"].encode(), None)


def grant_assertion(api, *, key=ACCOUNT_KEY, headers=None, drop=(), **claims) -> str:
    """What google-auth signs for a service account: iss, scope, aud = token_uri, iat, exp (1 h at most)."""
    now = int(api.clock.now())
    body = {"iss": KEY_FILE["client_email"], "scope": "reports:read", "aud": KEY_FILE["token_uri"], "iat": now,
            "exp": now + 3600, "jti": uuid.uuid4().hex, **claims}
    for name in drop:
        body.pop(name)
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": KEY_FILE["private_key_id"], **(headers or {})})


def grant_request(http, assertion, **form):
    data = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion, **form}
    return http.post(KEY_FILE["token_uri"], data={k: v for k, v in data.items() if v is not None}, timeout=TIMEOUT)


def assert_invalid_grant(response, phrase: str, error: str = "invalid_grant") -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert phrase in response.json()["error_description"], response.json()["error_description"]


def test_the_key_file_has_google_s_shape():
    """Google Cloud's service-account key file, as google-auth's from_service_account_info reads it."""
    assert {"type", "project_id", "private_key_id", "private_key", "client_email", "client_id", "auth_uri",
            "token_uri", "universe_domain"} == set(KEY_FILE)
    assert KEY_FILE["type"] == "service_account" and KEY_FILE["token_uri"] == TOKEN_URL
    assert KEY_FILE["private_key"].startswith("-----BEGIN PRIVATE KEY-----\n")
    public = jwt.PyJWK(demo_keys.SERVICE_ACCOUNT_JWKS["keys"][0]).key
    assert public.public_numbers() == ACCOUNT_KEY.public_key().public_numbers()


def test_a_service_account_gets_a_token_for_reports_rfc7523_section_2_1(api, http):
    response = grant_request(http, grant_assertion(api))
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer" and token["scope"] == "reports:read" and "refresh_token" not in token
    assert response.headers["Cache-Control"] == "no-store"
    reports = http.get(ISSUER + "/reports", headers={"Authorization": "Bearer " + token["access_token"]},
                       timeout=TIMEOUT)
    assert reports.status_code == 200 and reports.json()["client_id"] == KEY_FILE["client_email"]


@pytest.mark.parametrize("where", ["claim", "form", "both", "neither"])
def test_scope_in_the_claims_as_google_or_in_the_form_rfc7521_section_4_1(api, http, where):
    assertion = grant_assertion(api, drop=() if where in ("claim", "both") else ("scope",))
    response = grant_request(http, assertion, scope="reports:read" if where in ("form", "both") else None)
    assert response.status_code == 200 and response.json()["scope"] == "reports:read"


def test_two_different_scopes_are_refused_rfc6749_section_3_1(api, http):
    response = grant_request(http, grant_assertion(api), scope="profile")
    assert_invalid_grant(response, "different values", "invalid_request")


def test_a_scope_the_account_may_not_have_is_refused_rfc6749_section_5_2(api, http):
    assert_invalid_grant(grant_request(http, grant_assertion(api, scope="profile")), "may ask for", "invalid_scope")


def test_aud_the_issuer_is_accepted_too_rfc7523_section_3(api, http):
    assert grant_request(http, grant_assertion(api, aud=ISSUER)).status_code == 200


@pytest.mark.parametrize("audience", ["https://oauth2.googleapis.com/token", ISSUER + "/oauth/token/", [], 5])
def test_a_wrong_audience_is_refused_rfc7523_section_3_item_3(api, http, audience):
    assert_invalid_grant(grant_request(http, grant_assertion(api, aud=audience)), "aud must be")


def test_an_assertion_that_lives_longer_than_an_hour_is_refused_rfc7523_section_3_item_4(api, http):
    now = int(api.clock.now())
    assert_invalid_grant(grant_request(http, grant_assertion(api, exp=now + 3601 + 5)), "lives too long")


def test_a_grant_assertion_without_iat_is_refused_rfc7523_section_3_item_6(api, http):
    assert_invalid_grant(grant_request(http, grant_assertion(api, drop=("iat",))), "no iat claim")


def test_an_expired_grant_assertion_is_refused_rfc7523_section_3_item_4(api, http):
    assertion = grant_assertion(api)
    api.clock.advance(3610)
    assert_invalid_grant(grant_request(http, assertion), "has expired")


def test_a_reused_grant_assertion_is_refused_rfc7523_section_3_item_7(api, http):
    assertion = grant_assertion(api)
    assert grant_request(http, assertion).status_code == 200
    assert_invalid_grant(grant_request(http, assertion), "already used")


def test_an_unknown_key_id_is_refused_rfc7523_section_3_item_9(api, http):
    assert_invalid_grant(grant_request(http, grant_assertion(api, headers={"kid": "0" * 40})), "has the kid")


def test_a_grant_signed_by_another_key_is_refused_rfc7523_section_3_item_9(api, http):
    other = serialization.load_pem_private_key(demo_keys.OTHER_PRIVATE_KEY.encode(), None)
    now = int(api.clock.now())
    token = jwt.encode({"iss": KEY_FILE["client_email"], "aud": TOKEN_URL, "iat": now, "exp": now + 60, "jti": "g1"},
                       other, algorithm="ES256", headers={"kid": KEY_FILE["private_key_id"]})
    assert_invalid_grant(grant_request(http, token), "signs with RS256, not ES256")


def test_an_unknown_service_account_is_refused_rfc7523_section_3_item_1(api, http):
    assertion = grant_assertion(api, iss="someone@practice-project.iam.practice.test")
    assert_invalid_grant(grant_request(http, assertion), "no client or service account")


def test_delegation_to_another_subject_is_refused_rfc7523_section_3_item_2(api, http):
    assert_invalid_grant(grant_request(http, grant_assertion(api, sub="ada")), "no delegation")
    assert grant_request(http, grant_assertion(api, sub=KEY_FILE["client_email"])).status_code == 200


def test_a_client_assertion_is_not_a_grant_rfc7523bis_section_4(api, http):
    """Explicit typing: a JWT typed client-authentication+jwt can never serve as a grant (RFC 8725 §3.11)."""
    assertion = grant_assertion(api, headers={"typ": "client-authentication+jwt"})
    assert_invalid_grant(grant_request(http, assertion), "not a grant")


def test_a_missing_assertion_is_refused_rfc7523_section_2_1(api, http):
    assert_invalid_grant(grant_request(http, None), "assertion is missing", "invalid_request")


def test_client_authentication_with_the_grant_is_refused(api, http):
    response = http.post(TOKEN_URL, auth=REPORTS_JOB, timeout=TIMEOUT,
                         data={"grant_type": JWT_BEARER_GRANT, "assertion": grant_assertion(api)})
    assert_invalid_grant(response, "assertion alone", "invalid_request")


def test_a_scope_claim_that_is_not_a_string_is_refused(api, http):
    assert_invalid_grant(grant_request(http, grant_assertion(api, scope=["reports:read"])), "one string")


@pytest.mark.parametrize("assertion", ["not a jwt", "a.b.c", unsigned({"alg": "RS256"}, []), "y" * 9000])
def test_malformed_grant_assertions_get_400_with_a_reason(api, http, assertion):
    response = grant_request(http, assertion)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_the_metadata_lists_the_grant_rfc8414_section_2(api, http):
    metadata = http.get(ISSUER + "/.well-known/oauth-authorization-server", timeout=TIMEOUT).json()
    assert JWT_BEARER_GRANT in metadata["grant_types_supported"]


def test_the_grant_on_loopback_uses_the_key_file_s_token_uri(http):
    from helpers import serve_practice_api
    api = serve_practice_api()
    try:
        key_file = api.credentials["service_accounts"][0]
        now = int(api.clock.now())
        assertion = jwt.encode({"iss": key_file["client_email"], "aud": key_file["token_uri"], "iat": now,
                                "exp": now + 600, "jti": "loop", "scope": "reports:read"}, ACCOUNT_KEY,
                               algorithm="RS256", headers={"kid": key_file["private_key_id"]})
        response = http.post(key_file["token_uri"], data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion},
                             timeout=TIMEOUT)
        assert response.status_code == 200, response.text
    finally:
        api.stop()


def test_authlib_assertion_session_gets_a_token_then_reuses_its_jti_rfc7523_section_3_item_7(api):
    """Authlib 1.9's AssertionSession (the JWT bearer grant) writes its jti into the `claims` dict it was
    given, once: the next assertion it signs carries the same jti, which this server refuses as a replay."""
    import warnings

    from authlib.integrations.requests_client import AssertionSession
    from joserfc.jwk import RSAKey

    key_file = api.credentials["service_accounts"][0]
    session = AssertionSession(token_endpoint=key_file["token_uri"], issuer=key_file["client_email"], subject=None,
                               audience=key_file["token_uri"], claims={"scope": "reports:read"},
                               key=RSAKey.import_key(key_file["private_key"]),
                               header={"alg": "RS256", "kid": key_file["private_key_id"]})
    session.trust_env = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Authlib's own deprecation notices about its key handling
        assert session.get(api.url("/reports"), timeout=TIMEOUT).status_code == 200
        session.token = None  # as when the token has expired: it signs a new assertion
        with pytest.raises(Exception, match="already used"):
            session.get(api.url("/reports"), timeout=TIMEOUT)


# -- numbers no JSON parser holds, on both transports (RFC 7519 §2 NumericDate, RFC 7493 §2.2) ------------------

HUGE = [10 ** 400, -10 ** 400, 2 ** 53, 1e308 * 10]  # 1e308 * 10 is inf: json.dumps writes Infinity
HUGE_IDS = ["10**400", "-10**400", "2**53", "inf"]


@pytest.mark.parametrize("claim", ["iat", "exp", "nbf"])
@pytest.mark.parametrize("value", HUGE, ids=HUGE_IDS)
def test_a_time_no_json_parser_holds_gets_401_not_500_rfc7519_section_2(any_api, http, claim, value):
    """10**400 made math.isfinite raise OverflowError (a 500); an int past 2**53 is no NumericDate here."""
    assertion = client_assertion(any_api, aud=any_api.base_url, **{claim: value})
    response = http.post(any_api.url("/oauth/token"), timeout=TIMEOUT, data={
        "grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion})
    assert_invalid_client(response, "must be a number of seconds since the epoch")


@pytest.mark.parametrize("claim", ["iat", "exp", "nbf"])
@pytest.mark.parametrize("value", HUGE, ids=HUGE_IDS)
def test_a_grant_time_no_json_parser_holds_gets_400_not_500_rfc7519_section_2(any_api, http, claim, value):
    assertion = grant_assertion(any_api, aud=any_api.url("/oauth/token"), **{claim: value})
    response = http.post(any_api.url("/oauth/token"), timeout=TIMEOUT,
                         data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion})
    assert_invalid_grant(response, "must be a number of seconds since the epoch")


def test_an_access_token_with_a_huge_exp_gets_401_not_500_rfc7519_section_2(any_api, http):
    """The demo signing key is public: anyone can sign an access token with exp = 10**400."""
    from helpers.practice_api import signing_key
    now = int(any_api.clock.now())
    claims = {"iss": any_api.base_url, "aud": any_api.base_url + "/me", "sub": "ada", "client_id": "x",
              "iat": now, "exp": 10 ** 400, "jti": "j", "scope": "profile"}
    token = jwt.encode(claims, signing_key.private_key(), algorithm="RS256",
                       headers={"kid": signing_key.KEY_ID, "typ": "at+jwt"})
    response = http.get(any_api.url("/me"), headers={"Authorization": "Bearer " + token}, timeout=TIMEOUT)
    assert response.status_code == 401 and "must be numbers" in response.json()["error_description"]


# -- revocation with private_key_jwt (RFC 7009 §2.1, RFC 7523 §2.2) ------------------------------------------

def test_authlib_private_key_jwt_revokes_its_own_token_rfc7009_section_2_1(api, http):
    """Authlib's PrivateKeyJWT sends client_assertion and no client_id: that is client authentication,
    not an anonymous request (which could revoke only /login's tokens)."""
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import ECKey

    key = ECKey.import_key(demo_keys.REPORTS_SIGNER_PRIVATE_KEY)
    session = OAuth2Session(SIGNER, key, token_endpoint_auth_method=PrivateKeyJWT(ISSUER, alg="ES256"),
                            revocation_endpoint_auth_method=PrivateKeyJWT(ISSUER, alg="ES256"),
                            scope="reports:read")
    session.trust_env = False
    token = session.fetch_token(TOKEN_URL, grant_type="client_credentials", timeout=TIMEOUT)["access_token"]
    revoked = session.revoke_token(ISSUER + "/oauth/revoke", token=token, timeout=TIMEOUT)
    assert revoked.status_code == 200, revoked.text
    assert "client_id" not in api.calls[-1].form() and "client_assertion" in api.calls[-1].form()
    reports = http.get(ISSUER + "/reports", headers={"Authorization": "Bearer " + token}, timeout=TIMEOUT)
    assert reports.status_code == 401 and "revoked" in reports.json()["error_description"]


def test_a_bad_client_assertion_at_revocation_is_401_rfc7009_section_2_1(api, http):
    response = http.post(ISSUER + "/oauth/revoke", timeout=TIMEOUT, data={
        "token": "anything", "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion(api, key=OTHER_KEY)})
    assert_invalid_client(response, "signature does not match")


def test_metadata_lists_every_revocation_auth_method_rfc8414_section_2(api, http):
    metadata = http.get(ISSUER + "/.well-known/oauth-authorization-server", timeout=TIMEOUT).json()
    assert metadata["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "private_key_jwt", "tls_client_auth", "none"]
