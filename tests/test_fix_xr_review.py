"""Second-pass cross-feature review of the merged server (OpenID Provider + machine to machine).

Each test failed before its fix; each names the section it follows.
"""
from __future__ import annotations

import socket
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from helpers import serve_practice_api
from helpers.client.dpop import DPoPAuth
from helpers.practice_api import demo, demo_keys
from helpers.practice_api.client_assertions import CLIENT_ASSERTION_TYPE
from test_oidc_provider import ALLOW, SIGNIN, SIGNIN_REDIRECT, authorize, pkce, redirected, signin_params

TIMEOUT = 5
SIGNER_KEY = serialization.load_pem_private_key(demo_keys.REPORTS_SIGNER_PRIVATE_KEY.encode(), None)
ADA = {"username": "ada", "password": demo.password_of("ada")}


@pytest.fixture
def loopback():
    api = serve_practice_api()
    try:
        yield api
    finally:
        api.stop()
    assert not list(api.app.errors)


def assertion(api, client: str = "reports-signer", key=SIGNER_KEY) -> str:
    app = getattr(api, "app", api)
    now = int(app.clock.now())
    claims = {"iss": client, "sub": client, "aud": app.issuer, "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": demo_keys.REPORTS_SIGNER_KEY_ID})


def raw(api, method: str, path: str, headers: list[tuple[str, str]], host: str, body: bytes = b""):
    """One request over a plain socket with the Host header given: (status code, JSON body or None)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers) + f"Content-Length: {len(body)}\r\n\r\n"
    with socket.create_connection((api.host, api.port), timeout=TIMEOUT) as connection:
        connection.sendall(head.encode("latin-1") + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    body_bytes = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), requests.models.complexjson.loads(body_bytes) if body_bytes else None


def client_credentials_form(api) -> bytes:
    form = {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion(api)}
    return requests.models.RequestEncodingMixin._encode_params(form).encode()


def reports_token(http, api, dpop: DPoPAuth) -> str:
    form = {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion(api)}
    response = http.post(api.url("/oauth/token"), data=form, auth=dpop.token_auth(), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def login_token(http, api, dpop: DPoPAuth) -> str:
    response = http.post(api.url("/login"), json=ADA, auth=dpop.token_auth(), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def signin_token(http, api, dpop: DPoPAuth) -> str:
    verifier, challenge = pkce()
    got = redirected(authorize(http, api, signin_params(challenge), ALLOW))
    form = {"grant_type": "authorization_code", "code": got["code"], "code_verifier": verifier,
            "redirect_uri": SIGNIN_REDIRECT}
    response = http.post(api.url("/oauth/token"), data=form, timeout=TIMEOUT,
                         auth=dpop.token_auth(requests.auth.HTTPBasicAuth(*SIGNIN)))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


# -- 1. a DPoP proof made for another host does not replay here with that Host ------------------

RESOURCES = {"/me": login_token, "/reports": reports_token, "/oauth/userinfo": signin_token}


@pytest.mark.parametrize("path", sorted(RESOURCES))
def test_a_proof_for_another_host_replayed_with_its_host_header_gets_421_rfc9110_15_5_20_rfc9449_4_3(
        http, loopback, path):
    """The victim sent token and proof to https://evil.test (RFC 9449 §4.3 point 9 binds the proof to
    that URL); the thief replays both here with `Host: evil.test`. This server is not authoritative for
    evil.test: 421 Misdirected Request (RFC 9110 §15.5.20, §7.4), never the resource."""
    dpop = DPoPAuth(now=loopback.app.clock.now)
    token = RESOURCES[path](http, loopback, dpop)
    for scheme in ("https", "http"):
        proof = dpop.proof("GET", f"{scheme}://evil.test{path}", token)
        status, body = raw(loopback, "GET", path, [("Authorization", "DPoP " + token), ("DPoP", proof)],
                           "evil.test")
        assert status == 421, body
        assert body["error"] == "invalid_request" and "evil.test" in body["error_description"]


def test_a_proof_for_another_host_at_the_token_endpoint_gets_421_rfc9110_15_5_20(loopback):
    dpop = DPoPAuth(now=loopback.app.clock.now)
    proof = dpop.proof("POST", "https://evil.test/oauth/token")
    status, body = raw(loopback, "POST", "/oauth/token", [("DPoP", proof), (
        "Content-Type", "application/x-www-form-urlencoded")], "evil.test", client_credentials_form(loopback))
    assert status == 421, body
    assert "access_token" not in body


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]", "LOCALHOST"])
def test_every_loopback_name_of_this_server_still_works_rfc9449_4_3_point_9(http, loopback, name):
    """The server's own authorities: the proof for http://NAME:PORT/... works with `Host: NAME:PORT`."""
    dpop = DPoPAuth(now=loopback.app.clock.now)
    authority = f"{name}:{loopback.port}"
    proof = dpop.proof("POST", f"http://{authority}/oauth/token")
    status, body = raw(loopback, "POST", "/oauth/token", [("DPoP", proof), (
        "Content-Type", "application/x-www-form-urlencoded")], authority, client_credentials_form(loopback))
    assert status == 200, body
    token = body["access_token"]
    proof = dpop.proof("GET", f"http://{authority}/reports", token)
    status, body = raw(loopback, "GET", "/reports", [("Authorization", "DPoP " + token), ("DPoP", proof)],
                       authority)
    assert status == 200, body


def test_a_loopback_name_with_another_port_gets_421_rfc9110_15_5_20(http, loopback):
    dpop = DPoPAuth(now=loopback.app.clock.now)
    token = login_token(http, loopback, dpop)
    authority = f"localhost:{loopback.port + 1}"
    proof = dpop.proof("GET", f"http://{authority}/me", token)
    status, _ = raw(loopback, "GET", "/me", [("Authorization", "DPoP " + token), ("DPoP", proof)], authority)
    assert status == 421


def test_in_process_a_host_header_of_another_server_gets_421_rfc9110_15_5_20(http, api):
    """In process the server answers for api.practice.test and other.practice.test only."""
    dpop = DPoPAuth(now=api.clock.now)
    token = login_token(http, api, dpop)
    proof = dpop.proof("GET", "https://evil.test/me", token)
    response = http.get(api.url("/me"), timeout=TIMEOUT, headers={
        "Host": "evil.test", "Authorization": "DPoP " + token, "DPoP": proof})
    assert response.status_code == 421, response.text
    dpop.use_token({"access_token": token, "token_type": "DPoP"})
    other = http.get(demo.OTHER_ORIGIN + "/me", auth=dpop, timeout=TIMEOUT)
    assert other.status_code == 200, other.text


# -- 2. a refresh that sends client credentials is authenticated, never anonymous ---------------

def login_refresh_token(http, api) -> str:
    response = http.post(api.url("/login"), json=ADA, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["refresh_token"]


@pytest.mark.parametrize("credentials", [
    {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": "garbage"},
    {"client_assertion": "garbage"},
    {"client_assertion_type": CLIENT_ASSERTION_TYPE},
    {"client_secret": "wrong"},
], ids=["assertion", "assertion-without-type", "type-without-assertion", "client-secret"])
def test_a_login_refresh_with_bad_client_credentials_gets_invalid_client_rfc6749_section_5_2(
        http, api, credentials):
    """Credentials sent are an authentication attempt (RFC 6749 §3.2.1, §5.2): a garbage one is refused
    with 401 invalid_client, not ignored to refresh a /login token anonymously; and the refresh token
    is untouched (still works)."""
    refresh_token = login_refresh_token(http, api)
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **credentials}
    response = http.post(api.url("/oauth/token"), data=form, timeout=TIMEOUT)
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] in ("invalid_client", "invalid_request"), response.text
    assert "access_token" not in response.json()
    again = http.post(api.url("/oauth/token"), data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                      timeout=TIMEOUT)
    assert again.status_code == 200, again.text


def test_a_garbage_assertion_on_a_login_refresh_is_401_invalid_client_rfc7521_section_4_2(http, api):
    form = {"grant_type": "refresh_token", "refresh_token": login_refresh_token(http, api),
            "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": "garbage"}
    response = http.post(api.url("/oauth/token"), data=form, timeout=TIMEOUT)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client", response.text


def test_a_valid_private_key_jwt_with_an_unknown_refresh_token_is_authenticated_first_rfc7523_section_3(
        http, api):
    """The assertion is checked before the refresh token is looked at: reports-signer authenticates,
    and is then told it may not refresh, never "unknown refresh token" as an anonymous caller."""
    form = {"grant_type": "refresh_token", "refresh_token": "not-a-token",
            "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion(api)}
    response = http.post(api.url("/oauth/token"), data=form, timeout=TIMEOUT)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "unauthorized_client", response.text
    assert "reports-signer" in response.json()["error_description"]
    expired = dict(form, client_assertion=assertion(api))
    api.clock.advance(3600)
    response = http.post(api.url("/oauth/token"), data=expired, timeout=TIMEOUT)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client", response.text


# -- 5. revocation asks no DPoP proof: a thief without the key can end access, never gain it ----

def notes_cli_dpop_tokens(http, api, dpop: DPoPAuth) -> dict:
    verifier, challenge = pkce()
    redirect = "http://127.0.0.1:9999/callback"
    params = {"response_type": "code", "client_id": "notes-cli", "redirect_uri": redirect, "scope": "profile",
              "state": "s-1", "code_challenge": challenge, "code_challenge_method": "S256"}
    response = http.post(api.url("/oauth/authorize"), params=params, data=ALLOW, allow_redirects=False,
                         timeout=TIMEOUT)
    code = requests.utils.urlparse(response.headers["Location"]).query.split("code=")[1].split("&")[0]
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "client_id": "notes-cli",
            "redirect_uri": redirect}
    response = http.post(api.url("/oauth/token"), data=form, auth=dpop.token_auth(), timeout=TIMEOUT)
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP", response.text
    return response.json()


def test_a_stolen_dpop_bound_refresh_token_of_a_public_client_revokes_without_the_key_rfc7009_section_2_1(
        http, api):
    """This server's policy, documented in binding.py and TokenService.revoke: RFC 7009 §2.1 lets a public
    client revoke with its client_id alone and RFC 9449 defines no proof for revocation, so the thief
    without the key cannot refresh (RFC 9449 §5) but can revoke: the victim loses access, the thief
    gains none (the answer is an empty 200, RFC 7009 §2.2)."""
    dpop = DPoPAuth(now=api.clock.now)
    issued = notes_cli_dpop_tokens(http, api, dpop)
    stolen = issued["refresh_token"]
    thief = http.post(api.url("/oauth/token"), timeout=TIMEOUT,
                      data={"grant_type": "refresh_token", "refresh_token": stolen, "client_id": "notes-cli"})
    assert thief.status_code == 400 and thief.json()["error"] == "invalid_dpop_proof"
    revoked = http.post(api.url("/oauth/revoke"), data={"token": stolen, "client_id": "notes-cli"}, timeout=TIMEOUT)
    assert revoked.status_code == 200 and revoked.content == b""
    victim = http.post(api.url("/oauth/token"), auth=dpop.token_auth(), timeout=TIMEOUT,
                       data={"grant_type": "refresh_token", "refresh_token": stolen, "client_id": "notes-cli"})
    assert victim.status_code == 400 and victim.json()["error"] == "invalid_grant"
    import inspect
    from helpers.practice_api import binding, tokens
    assert "Revocation is the exception" in binding.__doc__
    assert "No DPoP proof is asked" in inspect.getdoc(tokens.TokenService.revoke)


# -- 6. a service account's tokens cannot be revoked: the refusal says so, and for how long ------

def service_account_token(http, api) -> str:
    info = demo_keys.service_account_key_file(api.base_url)
    now = int(api.clock.now())
    grant = jwt.encode({"iss": info["client_email"], "sub": info["client_email"], "aud": info["token_uri"],
                        "scope": "reports:read", "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex},
                       info["private_key"], algorithm="RS256", headers={"kid": info["private_key_id"]})
    response = http.post(api.url("/oauth/token"), timeout=TIMEOUT,
                         data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.mark.parametrize("with_client_id", [False, True])
def test_revoking_a_jwt_bearer_token_says_it_lives_out_its_300_seconds_rfc7009_section_2_1_rfc7523(
        http, api, with_client_id):
    """No hint to send a client_id that is then "Unknown client": the one reason, the same either way."""
    token = service_account_token(http, api)
    form = {"token": token, **({"client_id": jwt.decode(token, options={"verify_signature": False})["client_id"]}
                               if with_client_id else {})}
    response = http.post(api.url("/oauth/revoke"), data=form, timeout=TIMEOUT)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "unauthorized_client"
    description = response.json()["error_description"]
    assert "service account" in description and "300 seconds" in description and "client_id" not in description
    reports = http.get(api.url("/reports"), headers={"Authorization": "Bearer " + token}, timeout=TIMEOUT)
    assert reports.status_code == 200, reports.text


# -- 8. a tab between scheme and token gets an accurate refusal --------------------------------

@pytest.mark.parametrize("path", ["/me", "/reports", "/oauth/userinfo"])
@pytest.mark.parametrize("scheme", ["DPoP", "dpop", "Bearer"])
def test_a_tab_after_the_scheme_is_refused_as_not_one_sp_rfc9110_section_11_4_rfc7235_section_2_1(
        http, api, path, scheme):
    """credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]: SP, not HTAB. The refusal says
    that, with the challenge of the scheme named (RFC 9449 §7.1 for DPoP, RFC 6750 §3 for Bearer),
    instead of "this header has no scheme before the token"."""
    dpop = DPoPAuth(now=api.clock.now)
    token = login_token(http, api, dpop)
    response = http.get(api.url(path), headers={"Authorization": f"{scheme}\t{token}"}, timeout=TIMEOUT)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "one space (SP)" in body["error_description"] and "no scheme" not in body["error_description"]
    assert response.headers["WWW-Authenticate"].lower().startswith(scheme.lower() + " ")
    assert "\t" not in response.headers["WWW-Authenticate"]


# -- 9. DPoPAuth's docstring: the server's metadata decides the algorithm -----------------------

def test_dpopauth_says_the_server_metadata_decides_the_algorithm_rfc9449_section_5_1(http, api):
    """DPoPAuth signs ES384 with a P-384 key; this server lists ES256 and RS256 only, and refuses it."""
    from cryptography.hazmat.primitives.asymmetric import ec
    assert "dpop_signing_alg_values_supported" in DPoPAuth.__doc__
    metadata = http.get(api.url("/.well-known/oauth-authorization-server"), timeout=TIMEOUT).json()
    assert "ES384" not in metadata["dpop_signing_alg_values_supported"]
    dpop = DPoPAuth(ec.generate_private_key(ec.SECP384R1()), now=api.clock.now)
    response = http.post(api.url("/login"), json=ADA, auth=dpop.token_auth(), timeout=TIMEOUT)
    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof", response.text


# -- 7. the in-process metadata lists the TLS methods: notebook 09 says where they work ---------

def test_notebook_09_says_the_tls_methods_of_the_metadata_need_the_loopback_server_rfc8705_section_2_1(
        http, api):
    """The metadata is the server's (RFC 8414 §2), the same document on both transports; the in-process
    transport has no TLS, so the cell after the one that prints it says where tls_client_auth works."""
    import nbformat
    from conftest import ROOT
    metadata = http.get(api.url("/.well-known/oauth-authorization-server"), timeout=TIMEOUT).json()
    assert "tls_client_auth" in metadata["token_endpoint_auth_methods_supported"]
    cells = nbformat.read(ROOT / "notebooks" / "09-machine-to-machine.ipynb", 4).cells
    printing = next(index for index, cell in enumerate(cells)
                    if cell.cell_type == "code" and "token_endpoint_auth_methods_supported" in cell.source)
    note = cells[printing + 1]
    assert note.cell_type == "markdown" and "tls_client_auth" in note.source
    assert "no TLS" in note.source and "loopback" in note.source
