"""Certificate-bound access tokens and tls_client_auth (RFC 8705), on the loopback HTTPS server.

The in-process transport has no TLS, hence no client certificate: these run on loopback, as notebook
06's mutual TLS does. One HTTPS server for the module (making its CA takes a moment).
"""
from __future__ import annotations

import base64
import hashlib
import ssl
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from helpers import serve_practice_api
from helpers.practice_api import demo, demo_keys, dpop, signing_key
from helpers.practice_api.client_assertions import CLIENT_ASSERTION_TYPE

TIMEOUT = 5
CLIENT = "reports-mtls"
SIGNING_KEY = serialization.load_pem_private_key(signing_key.PRIVATE_KEY_PEM, None)


@pytest.fixture(scope="module")
def tls_api():
    api = serve_practice_api(tls=True)
    try:
        yield api
    finally:
        api.stop()
    assert api.app.errors == []


@pytest.fixture
def https(tls_api):
    """A session that trusts the practice CA and presents no client certificate unless asked."""
    with requests.Session() as session:
        session.trust_env = False
        session.verify = tls_api.ca_bundle
        yield session


def thumbprint_of_client_certificate(api) -> str:
    """RFC 8705 §3.1: BASE64URL(SHA-256(DER of the certificate)), computed here independently."""
    pem = Path(api.client_cert[0]).read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    der = ssl.PEM_cert_to_DER_cert(pem)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def mtls_token(api, https, **form) -> requests.Response:
    return https.post(api.url("/oauth/token"), cert=api.client_cert, timeout=TIMEOUT,
                      data={"grant_type": "client_credentials", "client_id": CLIENT, **form})


def test_tls_client_auth_gets_a_certificate_bound_token_rfc8705_section_2_1_and_3_1(tls_api, https):
    response = mtls_token(tls_api, https)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"  # RFC 8705 §3: still a bearer-style token type
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": thumbprint_of_client_certificate(tls_api)}
    assert claims["client_id"] == CLIENT


def test_the_bound_token_works_over_a_connection_with_that_certificate_rfc8705_section_3(tls_api, https):
    token = mtls_token(tls_api, https).json()["access_token"]
    response = https.get(tls_api.url("/reports"), cert=tls_api.client_cert, timeout=TIMEOUT,
                         headers={"Authorization": "Bearer " + token})
    assert response.status_code == 200, response.text
    assert response.json()["client_id"] == CLIENT


def test_the_bound_token_without_the_certificate_is_refused_rfc8705_section_3(tls_api, https):
    """A stolen certificate-bound token is useless without the certificate's private key."""
    token = mtls_token(tls_api, https).json()["access_token"]
    response = https.get(tls_api.url("/reports"), timeout=TIMEOUT, headers={"Authorization": "Bearer " + token})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token" and "client certificate" in response.json()["error_description"]
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="practice", error="invalid_token"')


def test_a_token_bound_to_another_certificate_is_refused_rfc8705_section_3(tls_api, https):
    """Signed with the (public) demo key: bound to a certificate thumbprint that is not this connection's."""
    now = int(tls_api.clock.now())
    claims = {"iss": tls_api.base_url, "aud": tls_api.base_url + "/reports", "sub": CLIENT, "client_id": CLIENT,
              "iat": now, "exp": now + 60, "scope": "reports:read", "jti": uuid.uuid4().hex,
              "cnf": {"x5t#S256": "A" * 43}}
    token = jwt.encode(claims, SIGNING_KEY, algorithm="RS256", headers={"kid": signing_key.KEY_ID, "typ": "at+jwt"})
    response = https.get(tls_api.url("/reports"), cert=tls_api.client_cert, timeout=TIMEOUT,
                         headers={"Authorization": "Bearer " + token})
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"


def test_tls_client_auth_without_a_certificate_is_refused_rfc8705_section_2_1(tls_api, https):
    response = https.post(tls_api.url("/oauth/token"), timeout=TIMEOUT,
                          data={"grant_type": "client_credentials", "client_id": CLIENT})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert "TLS client certificate" in response.json()["error_description"]


def test_tls_client_auth_in_process_says_why_it_cannot_work(api, http):
    """In-process there is no TLS, so no certificate: the refusal says to use the loopback HTTPS server."""
    response = http.post(api.url("/oauth/token"), timeout=TIMEOUT,
                         data={"grant_type": "client_credentials", "client_id": CLIENT})
    assert response.status_code == 401 and "in-process API has no TLS" in response.json()["error_description"]


def test_a_certificate_bound_client_needs_its_certificate_whatever_it_sends_rfc8705_section_2_1(tls_api, https):
    response = https.post(tls_api.url("/oauth/token"), timeout=TIMEOUT, auth=(CLIENT, "guess"),
                          data={"grant_type": "client_credentials"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_another_client_with_the_certificate_gets_an_unbound_token(tls_api, https):
    """Binding is per registered client (tls_client_certificate_bound_access_tokens, RFC 8705 §3.4)."""
    response = https.post(tls_api.url("/oauth/token"), cert=tls_api.client_cert, timeout=TIMEOUT,
                          auth=("reports-job", str(demo.client("reports-job")["client_secret"])),
                          data={"grant_type": "client_credentials"})
    assert response.status_code == 200
    assert "cnf" not in jwt.decode(response.json()["access_token"], options={"verify_signature": False})


def test_metadata_says_tokens_can_be_certificate_bound_rfc8705_section_3_3(tls_api, https):
    metadata = https.get(tls_api.url("/.well-known/oauth-authorization-server"), timeout=TIMEOUT).json()
    assert metadata["tls_client_certificate_bound_access_tokens"] is True
    assert "tls_client_auth" in metadata["token_endpoint_auth_methods_supported"]


def test_introspection_gives_the_certificate_thumbprint_rfc8705_section_3_2(tls_api, https):
    token = mtls_token(tls_api, https).json()["access_token"]
    answer = https.post(tls_api.url("/oauth/introspect"), data={"token": token}, timeout=TIMEOUT,
                        auth=("notes-api", str(demo.client("notes-api")["client_secret"]))).json()
    assert answer["active"] is True and answer["cnf"] == {"x5t#S256": thumbprint_of_client_certificate(tls_api)}


def test_the_demo_client_registered_the_certificate_s_email_rfc8705_section_2_1_2(tls_api):
    entry = demo.client(CLIENT)
    assert entry["tls_client_auth_san_email"] == demo.CLIENT_CERTIFICATE_EMAIL
    assert Path(tls_api.client_cert[0]).exists()


DPOP_KEY = serialization.load_pem_private_key(demo_keys.DPOP_PRIVATE_KEY.encode(), None)
DPOP_JWK = jwt.algorithms.ECAlgorithm.to_jwk(DPOP_KEY.public_key(), as_dict=True)


def dpop_proof(api, method: str, url: str, token: str | None = None) -> str:
    return jwt.encode({"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(api.clock.now()),
                       **({"ath": dpop.access_token_hash(token)} if token else {})}, DPOP_KEY, algorithm="ES256",
                      headers={"typ": "dpop+jwt", "jwk": DPOP_JWK})


def test_dpop_and_the_certificate_together_bind_to_both(tls_api, https):
    response = https.post(tls_api.url("/oauth/token"), cert=tls_api.client_cert, timeout=TIMEOUT,
                          headers={"DPoP": dpop_proof(tls_api, "POST", tls_api.url("/oauth/token"))},
                          data={"grant_type": "client_credentials", "client_id": CLIENT})
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP"
    cnf = jwt.decode(response.json()["access_token"], options={"verify_signature": False})["cnf"]
    assert set(cnf) == {"jkt", "x5t#S256"} and cnf["jkt"] == dpop.thumbprint(DPOP_JWK)


def test_a_token_bound_to_both_sent_as_dpop_without_the_certificate_gets_a_dpop_challenge_rfc9449_7_1(tls_api,
                                                                                                        https):
    """The token came with the DPoP scheme, so the challenge is DPoP's (RFC 9449 §7.1), naming the algorithms,
    even though what is missing is the certificate (RFC 8705 §3)."""
    token = https.post(tls_api.url("/oauth/token"), cert=tls_api.client_cert, timeout=TIMEOUT,
                       headers={"DPoP": dpop_proof(tls_api, "POST", tls_api.url("/oauth/token"))},
                       data={"grant_type": "client_credentials", "client_id": CLIENT}).json()["access_token"]
    url = tls_api.url("/reports")
    response = https.get(url, timeout=TIMEOUT, headers={"Authorization": "DPoP " + token,
                                                        "DPoP": dpop_proof(tls_api, "GET", url, token)})
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    assert "client certificate" in response.json()["error_description"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("DPoP ") and 'algs="ES256 RS256"' in challenge, challenge
    with_cert = https.get(url, cert=tls_api.client_cert, timeout=TIMEOUT, headers={
        "Authorization": "DPoP " + token, "DPoP": dpop_proof(tls_api, "GET", url, token)})
    assert with_cert.status_code == 200, with_cert.text


def test_private_key_jwt_and_dpop_work_on_loopback_too(tls_api, https):
    """The issuer, and so the assertion's aud and the proof's htu, is the loopback server's URL."""
    key = serialization.load_pem_private_key(demo_keys.REPORTS_SIGNER_PRIVATE_KEY.encode(), None)
    now = int(tls_api.clock.now())
    assertion = jwt.encode({"iss": "reports-signer", "sub": "reports-signer", "aud": tls_api.base_url,
                            "exp": now + 60, "jti": uuid.uuid4().hex}, key, algorithm="ES256")
    response = https.post(tls_api.url("/oauth/token"), timeout=TIMEOUT, data={
        "grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("transport", ["in-process", "loopback"])
def test_a_certificate_sent_as_a_header_authenticates_nothing_rfc8705_section_2_1(tls_api, api, http, https,
                                                                                   transport):
    """Only the TLS layer may say which certificate the client proved it holds: a header named like
    mod_ssl's variable becomes HTTP_SSL_CLIENT_CERT (or is dropped, with an underscore), never SSL_CLIENT_CERT.
    On loopback too, over HTTPS without a client certificate in the handshake."""
    pem = Path(tls_api.client_cert[0]).read_text()
    one_line = pem.replace("\n", " ").strip()
    target, session = (api, http) if transport == "in-process" else (tls_api, https)
    for name in ("SSL-Client-Cert", "SSL_CLIENT_CERT", "X-SSL-Client-Cert", "SSL-Client-S-DN-CN"):
        response = session.post(target.url("/oauth/token"), timeout=TIMEOUT, headers={name: one_line},
                                data={"grant_type": "client_credentials", "client_id": CLIENT})
        assert response.status_code == 401 and response.json()["error"] == "invalid_client", name
    if transport == "loopback":
        assert target.calls[-1].client_certificate_der is None and target.calls[-1].client_certificate is None


def test_the_request_reads_only_a_pem_certificate_from_the_environ():
    from helpers.practice_api.wsgi import _certificate_der
    assert _certificate_der(None) is None and _certificate_der("not a certificate") is None
    assert _certificate_der(b"bytes are not what a TLS server puts there") is None


def test_a_proof_for_https_localhost_works_at_https_localhost_rfc9449_section_4_3_point_9(tls_api, https):
    """The issuer is https://127.0.0.1:PORT; the certificate also names localhost, and a client calling
    https://localhost:PORT signs that URL: it is the URL the request was sent to (point 9), so it passes."""
    token = https.post(tls_api.url("/oauth/token"), cert=tls_api.client_cert, timeout=TIMEOUT,
                       headers={"DPoP": dpop_proof(tls_api, "POST", tls_api.url("/oauth/token"))},
                       data={"grant_type": "client_credentials", "client_id": CLIENT}).json()["access_token"]
    here = f"https://localhost:{tls_api.port}/reports"
    response = https.get(here, cert=tls_api.client_cert, timeout=TIMEOUT, headers={
        "Authorization": "DPoP " + token, "DPoP": dpop_proof(tls_api, "GET", here, token)})
    assert response.status_code == 200, response.text
    issuer_htu = https.get(here, cert=tls_api.client_cert, timeout=TIMEOUT, headers={
        "Authorization": "DPoP " + token, "DPoP": dpop_proof(tls_api, "GET", tls_api.url("/reports"), token)})
    assert issuer_htu.status_code == 401 and "htu must be " + here in issuer_htu.json()["error_description"]


def test_userinfo_keeps_the_binding_of_a_certificate_bound_token_rfc8705_section_3(tls_api, https):
    """No demo client gets a certificate-bound token granted openid (reports-mtls has only
    client_credentials and reports:read; notes-signin is not certificate-bound), so this one is signed
    with the (public) demo key, as ada's sign-in token with cnf x5t#S256 would be. UserInfo, like
    /reports, takes it only over a connection with that certificate."""
    now = int(tls_api.clock.now())
    claims = {"iss": tls_api.base_url, "aud": tls_api.base_url + "/me", "sub": "ada", "client_id": "notes-signin",
              "iat": now, "exp": now + 60, "scope": "openid email", "jti": uuid.uuid4().hex,
              "cnf": {"x5t#S256": thumbprint_of_client_certificate(tls_api)}}
    token = jwt.encode(claims, SIGNING_KEY, algorithm="RS256", headers={"kid": signing_key.KEY_ID, "typ": "at+jwt"})
    headers = {"Authorization": "Bearer " + token}
    without = https.get(tls_api.url("/oauth/userinfo"), headers=headers, timeout=TIMEOUT)
    assert without.status_code == 401 and without.json()["error"] == "invalid_token", without.text
    assert without.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "client certificate" in without.json()["error_description"]
    with_cert = https.get(tls_api.url("/oauth/userinfo"), headers=headers, cert=tls_api.client_cert, timeout=TIMEOUT)
    assert with_cert.status_code == 200, with_cert.text
    assert with_cert.json()["sub"] == "ada" and "email" in with_cert.json()
