"""The practice API's OAuth 2.0 authorization server (notebook 04), rule by rule.

One test (or parametrized set) per rule of `helpers/practice_api/oauth.py`: RFC 6749 (the framework),
RFC 7636 (PKCE), RFC 8252 (native apps, loopback redirects), RFC 8414 (metadata), RFC 8628
(device grant), RFC 7009 (revocation), RFC 9207 (`iss` in the authorization response) and
RFC 9700 (the security BCP). Each test asserts the status, the JSON `error`, a phrase of
`error_description` and the headers that matter. The `api` fixture fails a test on any 500.

Where the server departs from an RFC, the test asserts what the RFC asks (and says which
section), so it fails until the server is fixed.
"""
from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from helpers.practice_api import demo, signing_key, tokens
from helpers.practice_api.oauth import DEMO_CLIENTS, Client

TIMEOUT = 5
ADA = {"username": "ada", "password": demo.password_of("ada")}
ALLOW = {**ADA, "decision": "approve"}  # the consent form, sent with its Allow button
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REPORTS_JOB = ("reports-job", str(demo.client("reports-job")["client_secret"]))
NOTES_WEB = ("notes-web", str(demo.client("notes-web")["client_secret"]))
WEB_REDIRECT = "https://notes-web.test/callback"
CLI_REDIRECT = "http://127.0.0.1:8765/callback"
REDIRECTS = {"notes-web": WEB_REDIRECT, "notes-cli": CLI_REDIRECT}
USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")
PRIVATE_KEY = serialization.load_pem_private_key(signing_key.PRIVATE_KEY_PEM, None)  # to sign test-made tokens
PUBLIC_KEY = PRIVATE_KEY.public_key()


# -- small tools ------------------------------------------------------------------------------

def pkce() -> tuple[str, str]:
    """(code_verifier, code_challenge) for S256 (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(48)  # 64 characters of the unreserved set
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(client_id: str = "notes-cli", challenge: str | None = None, **changes) -> dict:
    """A correct authorization request for `client_id`; a change of None leaves that parameter out."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECTS.get(client_id, CLI_REDIRECT),
              "scope": "profile notes:read", "state": "state-" + secrets.token_hex(4),
              "code_challenge": challenge or pkce()[1], "code_challenge_method": "S256"}
    params.update(changes)
    return {name: value for name, value in params.items() if value is not None}


def authorize(http, api, params: dict, form: dict | None = None) -> requests.Response:
    """GET the authorization endpoint, or POST the login form to it when `form` is given."""
    if form is None:
        return http.get(api.url("/oauth/authorize"), params=params, allow_redirects=False, timeout=TIMEOUT)
    return http.post(api.url("/oauth/authorize"), params=params, data=form, allow_redirects=False, timeout=TIMEOUT)


def redirect_params(response: requests.Response, redirect_uri: str) -> dict[str, str]:
    """The parameters of a redirect to `redirect_uri` (each exactly once): 303 after the POST of the
    login form, which must not be sent again with the password (RFC 9700 §4.12.2), 302 after a GET."""
    assert response.status_code == (303 if response.request.method == "POST" else 302), response.text
    location = response.headers["Location"]
    assert location.startswith(redirect_uri + ("&" if "?" in redirect_uri else "?")), location
    assert "#" not in location
    params = parse_qs(urlsplit(location).query, keep_blank_values=True)
    assert all(len(values) == 1 for values in params.values()), location
    return {name: values[0] for name, values in params.items()}


def get_code(http, api, client_id: str = "notes-cli", **changes) -> tuple[str, str, dict]:
    """Ada approves: (code, code_verifier, the authorization request's parameters)."""
    verifier, challenge = pkce()
    params = authorize_params(client_id, challenge, **changes)
    response = authorize(http, api, params, ALLOW)
    got = redirect_params(response, params.get("redirect_uri", REDIRECTS.get(client_id, "")))
    return got["code"], verifier, params


def token_request(http, api, data, auth=None, **kwargs) -> requests.Response:
    return http.post(api.url("/oauth/token"), data=data, auth=auth, timeout=TIMEOUT, **kwargs)


def exchange(http, api, client_id: str, code: str, verifier: str | None, redirect_uri: str | None,
             **extra) -> requests.Response:
    """The authorization-code token request (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": redirect_uri, **extra}
    auth = NOTES_WEB if client_id == "notes-web" else None
    if auth is None:
        data["client_id"] = client_id
    return token_request(http, api, {k: v for k, v in data.items() if v is not None}, auth)


def user_tokens(http, api, client_id: str = "notes-cli", **changes) -> dict:
    code, verifier, params = get_code(http, api, client_id, **changes)
    response = exchange(http, api, client_id, code, verifier, params.get("redirect_uri"))
    assert response.status_code == 200, response.text
    return response.json()


def refresh(http, api, refresh_token: str, client_id: str | None = None) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    auth = NOTES_WEB if client_id == "notes-web" else None
    if client_id and auth is None:
        data["client_id"] = client_id
    return token_request(http, api, data, auth)


def bearer(http, api, path: str, access_token: str) -> requests.Response:
    return http.get(api.url(path), headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT)


def claims_of(api, access_token: str, audience: str) -> dict:
    """Verified claims (signature, iss, aud); times are the API clock's business."""
    return jwt.decode(access_token, PUBLIC_KEY, algorithms=["RS256"], audience=audience, issuer=api.base_url,
                      options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})


def error_of(response: requests.Response) -> tuple[str, str]:
    assert response.headers["Content-Type"] == "application/json", response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    return body["error"], body["error_description"]


def assert_error(response: requests.Response, status: int, code: str, phrase: str) -> None:
    assert response.status_code == status, response.text
    error, description = error_of(response)
    assert error == code, description
    assert phrase in description, description
    if status == 400:
        assert "WWW-Authenticate" not in response.headers


def assert_invalid_client(response: requests.Response, phrase: str) -> None:
    """RFC 6749 §5.2: 401 and a challenge for the scheme the client should use."""
    assert_error(response, 401, "invalid_client", phrase)
    assert response.headers["WWW-Authenticate"] == 'Basic realm="practice"'


def assert_error_page(response: requests.Response, title: str) -> None:
    """RFC 6749 §4.1.2.1: a bad client or redirect URI is told to the user, never redirected."""
    assert response.status_code == 400, response.text
    assert "Location" not in response.headers
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f"<h1>{title}</h1>" in response.text
    assert "code=" not in response.text


def assert_token_response(response: requests.Response, *, refresh_token: bool = True) -> dict:
    """RFC 6749 §5.1."""
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    expected = {"access_token", "token_type", "expires_in", "scope"} | ({"refresh_token"} if refresh_token else set())
    assert set(body) == expected
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    return body


def with_clients(api, *clients: Client) -> None:
    """Register extra clients on this API instance only (the demo clients stay as they are)."""
    api.app.oauth.clients = {**DEMO_CLIENTS, **{client.client_id: client for client in clients}}


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- metadata (RFC 8414) -------------------------------------------------------------------------

def test_metadata_names_this_issuer_on_both_transports(http, any_api):
    response = http.get(any_api.url("/.well-known/oauth-authorization-server"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    metadata = response.json()
    issuer = any_api.base_url
    assert metadata["issuer"] == issuer  # RFC 8414 §3.3: identical to the issuer the client used
    endpoints = {"authorization_endpoint": "/oauth/authorize", "token_endpoint": "/oauth/token",
                 "device_authorization_endpoint": "/oauth/device_authorization",
                 "revocation_endpoint": "/oauth/revoke", "introspection_endpoint": "/oauth/introspect",
                 "jwks_uri": "/.well-known/jwks.json"}
    for name, path in endpoints.items():
        assert metadata[name] == issuer + path, name
    urls = [value for name, value in metadata.items() if name.endswith(("_endpoint", "_uri"))]
    assert len(urls) == len(endpoints)
    assert all(url.startswith(issuer + "/") for url in urls)
    assert metadata["code_challenge_methods_supported"] == ["S256"]  # no plain (RFC 9700 §2.1.1)
    # private_key_jwt (RFC 7523 §2.2) is tested in tests/test_client_assertions.py
    # private_key_jwt (RFC 7523 §2.2) and tls_client_auth (RFC 8705 §2.1): tests/test_mtls_bound_tokens.py
    assert sorted(metadata["token_endpoint_auth_methods_supported"]) == ["client_secret_basic", "none",
                                                                         "private_key_jwt", "tls_client_auth"]
    assert sorted(metadata["revocation_endpoint_auth_methods_supported"]) == ["client_secret_basic", "none",
                                                                              "private_key_jwt", "tls_client_auth"]
    assert sorted(metadata["grant_types_supported"]) == sorted(
        ["authorization_code", "client_credentials", "refresh_token", DEVICE_GRANT,
         "urn:ietf:params:oauth:grant-type:jwt-bearer"])  # RFC 7523 §2.1: tests/test_client_assertions.py
    assert metadata["response_types_supported"] == ["code"]  # no implicit grant
    assert metadata["authorization_response_iss_parameter_supported"] is True  # RFC 9207
    assert {"profile", "notes:read", "reports:read"} <= set(metadata["scopes_supported"])
    # the JWKS it names is really there
    assert http.get(metadata["jwks_uri"], timeout=TIMEOUT).json()["keys"][0]["kid"] == signing_key.KEY_ID


# -- client credentials (RFC 6749 §4.4) and client authentication (§2.3.1) -------------------------

def test_client_credentials_with_basic_auth(http, api):
    response = token_request(http, api, {"grant_type": "client_credentials"}, REPORTS_JOB)
    body = assert_token_response(response, refresh_token=False)  # RFC 6749 §4.4.3: no refresh token
    assert body["scope"] == "reports:read"
    claims = claims_of(api, body["access_token"], api.url("/reports"))
    assert claims["sub"] == claims["client_id"] == "reports-job"
    assert claims["scope"] == "reports:read"
    sent = api.calls[-1]
    assert sent.header("Authorization").startswith("Basic ")
    assert b"client_secret" not in sent.body


def test_client_credentials_token_opens_reports_but_not_me(http, api):
    access_token = token_request(http, api, {"grant_type": "client_credentials"}, REPORTS_JOB).json()["access_token"]
    reports = bearer(http, api, "/reports", access_token)
    assert reports.status_code == 200
    assert reports.json()["client_id"] == "reports-job"
    me = bearer(http, api, "/me", access_token)
    assert me.status_code != 200
    # The token's audience is /reports, so /me refuses it before it even looks at the scope.
    assert_error(me, 401, "invalid_token", f"meant for another audience, not {api.url('/me')}")
    assert me.headers["WWW-Authenticate"].startswith('Bearer realm="practice", error="invalid_token"')


@pytest.mark.parametrize("data, auth", [
    pytest.param({"client_id": REPORTS_JOB[0], "client_secret": REPORTS_JOB[1]}, None, id="secret-in-body"),
    pytest.param({"client_secret": REPORTS_JOB[1]}, REPORTS_JOB, id="basic-and-secret-in-body"),
])
def test_client_secret_in_the_form_body_is_refused(http, api, data, auth):
    response = token_request(http, api, {"grant_type": "client_credentials", **data}, auth)
    assert_invalid_client(response, "not in the form body")


@pytest.mark.parametrize("auth, phrase", [
    pytest.param((REPORTS_JOB[0], "wrong-secret"), "wrong client secret", id="wrong-secret"),
    pytest.param((REPORTS_JOB[0], ""), "wrong client secret", id="empty-secret"),
    pytest.param(("nobody", REPORTS_JOB[1]), "Unknown client", id="unknown-client"),
    pytest.param(("notes-cli", ""), "Unknown client", id="public-client-with-basic"),
    pytest.param((NOTES_WEB[0], REPORTS_JOB[1]), "wrong client secret", id="another-clients-secret"),
])
def test_wrong_basic_client_credentials_are_401(http, api, auth, phrase):
    response = token_request(http, api, {"grant_type": "client_credentials"}, auth)
    assert_invalid_client(response, phrase)


@pytest.mark.parametrize("authorization, phrase", [
    pytest.param("Bearer abc", "Authenticate the client with HTTP Basic.", id="bearer"),
    pytest.param("Basic %%%", "malformed", id="not-base64"),
    pytest.param("Basic " + base64.b64encode(b"reports-job:\xff").decode(), "malformed", id="not-utf8"),
])
def test_malformed_client_authentication_is_401(http, api, authorization, phrase):
    response = token_request(http, api, {"grant_type": "client_credentials"}, headers={"Authorization": authorization})
    assert_invalid_client(response, phrase)


def test_public_client_may_not_use_client_credentials(http, api):
    response = token_request(http, api, {"grant_type": "client_credentials", "client_id": "notes-cli"})
    assert_error(response, 400, "unauthorized_client", "notes-cli may not use the client_credentials grant.")


def test_confidential_client_without_the_grant_is_unauthorized_client(http, api):
    response = token_request(http, api, {"grant_type": "client_credentials"}, NOTES_WEB)
    assert_error(response, 400, "unauthorized_client", "notes-web may not use the client_credentials grant.")


@pytest.mark.parametrize("scope, granted", [("reports:read", "reports:read"), ("", "reports:read"),
                                            ("reports:read reports:read", "reports:read")])
def test_client_credentials_scope_may_be_asked_for(http, api, scope, granted):
    response = token_request(http, api, {"grant_type": "client_credentials", "scope": scope}, REPORTS_JOB)
    assert assert_token_response(response, refresh_token=False)["scope"] == granted


@pytest.mark.parametrize("scope", ["profile", "reports:write", "reports:read admin", "REPORTS:READ"])
def test_client_credentials_scope_beyond_the_client_is_invalid_scope(http, api, scope):
    response = token_request(http, api, {"grant_type": "client_credentials", "scope": scope}, REPORTS_JOB)
    assert_error(response, 400, "invalid_scope", "reports-job may ask for: reports:read.")


def test_client_id_in_the_body_must_match_basic(http, api):
    data = {"grant_type": "client_credentials", "client_id": "notes-web"}
    assert_invalid_client(token_request(http, api, data, REPORTS_JOB), "does not match the authenticated client")
    same = token_request(http, api, {**data, "client_id": "reports-job"}, REPORTS_JOB)
    assert_token_response(same, refresh_token=False)


def test_basic_credentials_are_form_urlencoded_first(http, api):
    """RFC 6749 §2.3.1: client_id and secret are form-urlencoded before Basic; %XX must be decoded."""
    client_id, secret = (("".join(f"%{byte:02X}" for byte in part.encode())) for part in REPORTS_JOB)
    response = token_request(http, api, {"grant_type": "client_credentials"}, (client_id, secret))
    assert_token_response(response, refresh_token=False)


def test_basic_credentials_plus_is_a_space(http, api):
    """RFC 6749 §2.3.1 encodes with application/x-www-form-urlencoded (Appendix B), where a space
    becomes '+'. A client id or secret with a space must be accepted when sent that way."""
    with_clients(api, Client("batch job", sha256_hex("a secret with spaces"), ("client_credentials",),
                             "reports:read"))
    percent = token_request(http, api, {"grant_type": "client_credentials"},
                            (quote("batch job"), quote("a secret with spaces")))
    assert_token_response(percent, refresh_token=False)
    plus = token_request(http, api, {"grant_type": "client_credentials"},
                         (quote_plus("batch job"), quote_plus("a secret with spaces")))
    assert_token_response(plus, refresh_token=False)


# -- the authorization endpoint (RFC 6749 §4.1.1, §4.1.2) ----------------------------------------

BAD_CLIENT = [
    pytest.param({"client_id": None}, "Unknown client", id="no-client-id"),
    pytest.param({"client_id": "evil-app"}, "Unknown client", id="unknown-client"),
    pytest.param({"client_id": ""}, "Unknown client", id="empty-client-id"),
]
BAD_REDIRECT = [  # (client_id, redirect_uri)
    ("notes-web", "https://evil.test/callback"),
    ("notes-web", "https://notes-web.test/callback/"),
    ("notes-web", "https://notes-web.test/Callback"),
    ("notes-web", "https://notes-web.test/callback?next=/admin"),
    ("notes-web", "https://notes-web.test/callback#x"),
    ("notes-web", "http://notes-web.test/callback"),
    ("notes-web", "https://notes-web.test:8443/callback"),
    ("notes-web", "https://notes-web.test.evil.test/callback"),
    ("notes-web", "https://evil.test@notes-web.test/callback"),
    ("notes-cli", "http://localhost:8765/callback"),  # RFC 8252 §8.3: the IP literal, not localhost
    ("notes-cli", "https://127.0.0.1:8765/callback"),
    ("notes-cli", "http://127.0.0.1:8765/other"),
    ("notes-cli", "http://127.0.0.1:8765/callback/"),
    ("notes-cli", "http://127.0.0.1:8765/callback?x=1"),
    ("notes-cli", "http://127.0.0.2:8765/callback"),
    ("notes-cli", "http://[::1]:8765/callback"),
    ("notes-cli", "http://127.0.0.1:port/callback"),
    ("notes-cli", "http://ada@127.0.0.1:8765/callback"),
    ("notes-cli", "http://:pw@127.0.0.1:8765/callback"),  # userinfo with an empty user name
    ("notes-cli", "http://127.0.0.1:8765/callback#frag"),  # RFC 6749 §3.1.2: MUST NOT have a fragment
    ("notes-cli", "https://notes-web.test/callback"),  # another client's URI
    ("notes-tv", CLI_REDIRECT),  # the device client has no redirect URI at all
    ("notes-tv", None),
    ("reports-job", CLI_REDIRECT),
]
# RFC 9700 §2.1: exact string matching; the one exception is the port of a loopback redirect URI
# (RFC 8252 §7.3). Each near-miss differs from a registered URI by one detail that urlsplit() or a
# lenient comparison would hide.
NEAR_MISSES = [
    "HTTP://127.0.0.1:8765/callback", "http://127.0.0.1:8765/CALLBACK", "http://127.0.0.1:8765/Callback",
    "hTTp://127.0.0.1/callback", "http://127.0.0.1:08765/callback", "http://127.0.0.1:0/callback",
    "http://127.0.0.1:00/callback", "http://127.0.0.1:65536/callback", "http://127.0.0.1:99999/callback",
    "http://127.0.0.1:/callback", "http://127.0.0.1:+8765/callback", "http://127.0.0.1:-1/callback",
    "http://127.0.0.1: 8765/callback", "http://127.0.0.1:8765 /callback", "http://127.0.0.1:8765:8765/callback",
    "http://127.0.0.1:８７６５/callback",  # full-width digits: str.isdigit() says yes
    "http://127.0.0.1:8765/callback?", "http://127.0.0.1:8765/callback#", "http://127.0.0.1:8765/callback?#",
    "http://127.0.0.1/callback?", "http://127.0.0.1/callback#", "http://127.0.0.1:8765/callback/",
    "http://127.0.0.1:8765//callback", "http://127.0.0.1:8765/./callback", "http://127.0.0.1:8765/x/../callback",
    "http://127.0.0.1:8765/%63allback", "http://127.0.0.1:8765%2Fcallback", "http://127.0.0.1:8765/callback%2F",
    "http://127.0.0.1%3A8765/callback", "http://127.0.0.1:8765/callback%00", "http://127.0.0.1:8765/callback%0d%0a",
    "http://127.0.0.1:87\t65/callback", "http://127.0.0.1:8765/call\tback", "http://127.0.0.1:8765/callback\t",
    "\thttp://127.0.0.1:8765/callback", "http://127.0.0.1:8765/callback\r\nSet-Cookie: a=b",
    "http://127.0.0.1:87\r\n65/callback", "http://127.0.0.1:8765/call\nback", "http://127.0.0.1:8765/callback\x00",
    "http://127.0.0.1:8765/callback\x7f", "http://127.0.0.1:8765/callback\x0b", "http://127.0.0.1:8765/callback ",
    " http://127.0.0.1:8765/callback", "http://127.0.0.1:8765/callbäck", "http://127.0.0.1:8765/callback\u2028",
    "http://127.0.0.1.evil.test/callback", "http://127.0.0.1.evil.test:8765/callback",
    "http://127.0.0.1@evil.test/callback", "http://127.0.0.1:8765@evil.test/callback",
    "http://evil.test@127.0.0.1:8765/callback", "http://localhost:8765/callback", "http://localhost/callback",
    "http://127.1:8765/callback", "http://2130706433:8765/callback", "http://0x7f.0.0.1:8765/callback",
    "http://127.000.000.001:8765/callback", "http://[::ffff:127.0.0.1]:8765/callback",
    "http://[::1]:8765/callback", "http://127.0.0.1:8765/callback?x=1", "http://127.0.0.1:8765/callback?code=x",
    "http://127.0.0.1:8765/callback&x=1", "http://127.0.0.1:8765/callback;x", "http:/127.0.0.1:8765/callback",
    "http:127.0.0.1:8765/callback", "//127.0.0.1:8765/callback", "http://127.0.0.1:8765", "http://127.0.0.1:8765/",
    "http://127.0.0.1:8765/callback" + "x" * 5000,
]
WEB_NEAR_MISSES = [
    "http://notes-web.test/callback", "HTTPS://notes-web.test/callback", "https://NOTES-WEB.test/callback",
    "https://notes-web.test:443/callback", "https://notes-web.test:8443/callback", "https://notes-web.test/callback?",
    "https://notes-web.test/callback#", "https://notes-web.test/callback/", "https://notes-web.test/Callback",
    "https://notes-web.test/callback%2F", "https://notes-web.test%2Fcallback", "https://notes-web.test./callback",
    "https://notes-web.test/callback\r\nX: y", "https://notes-web.test/call\tback",
    "https://notes-web.test/callback\x00", "https://user@notes-web.test/callback",
    "https://notes-web.test@evil.test/callback", "https://127.0.0.1:8765/callback",
]


@pytest.mark.parametrize("changes, title", BAD_CLIENT)
def test_unknown_client_gets_an_error_page_not_a_redirect(http, api, changes, title):
    params = authorize_params(**changes)
    for form in (None, ALLOW):  # the page (GET), and the login form sent with the right password (POST)
        response = authorize(http, api, params, form)
        assert_error_page(response, title)
        assert "The client_id is missing or not registered." in response.text
    assert api.app.oauth.codes == {}


@pytest.mark.parametrize("client_id, redirect_uri", BAD_REDIRECT)
def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(http, api, client_id, redirect_uri):
    params = authorize_params(client_id, redirect_uri=redirect_uri)
    for form in (None, ALLOW):
        response = authorize(http, api, params, form)
        assert_error_page(response, "Invalid redirect URI")
        assert "does not exactly match a registered one" in response.text
    assert api.app.oauth.codes == {}


@pytest.mark.parametrize("client_id, redirect_uri", [("notes-cli", uri) for uri in NEAR_MISSES] +
                         [("notes-web", uri) for uri in WEB_NEAR_MISSES])
def test_near_miss_redirect_uris_get_an_error_page(http, api, client_id, redirect_uri):
    """Exact string matching (RFC 9700 §2.1); a different port only on a loopback URI (RFC 8252 §7.3).
    A control character anywhere is refused, so nothing the client sent can split a header."""
    params = authorize_params(client_id, redirect_uri=redirect_uri)
    for form in (None, ALLOW):
        response = authorize(http, api, params, form)
        assert_error_page(response, "Invalid redirect URI")
    assert api.app.oauth.codes == {}


def test_an_ipv6_loopback_redirect_takes_any_port_too(http, api):
    """RFC 8252 §7.3 names both loopback literals; a client registered with [::1] gets any port there."""
    with_clients(api, Client("v6-cli", None, ("authorization_code",), "profile", ("http://[::1]/callback",)))
    for redirect_uri in ("http://[::1]/callback", "http://[::1]:8765/callback", "http://[::1]:1/callback"):
        params = authorize_params("v6-cli", redirect_uri=redirect_uri, scope="profile")
        assert "code" in redirect_params(authorize(http, api, params, ALLOW), redirect_uri)
    for redirect_uri in ("http://127.0.0.1:8765/callback", "http://[::1]:08765/callback", "http://[0::1]/callback",
                         "http://[::1]:8765/callback?", "http://[::1]:/callback"):
        params = authorize_params("v6-cli", redirect_uri=redirect_uri, scope="profile")
        assert_error_page(authorize(http, api, params, ALLOW), "Invalid redirect URI")


def test_a_registered_loopback_uri_with_a_port_takes_other_ports(http, api):
    with_clients(api, Client("port-cli", None, ("authorization_code",), "profile",
                             ("http://127.0.0.1:8000/cb?x=1",)))
    for redirect_uri in ("http://127.0.0.1:8000/cb?x=1", "http://127.0.0.1/cb?x=1", "http://127.0.0.1:9/cb?x=1"):
        params = authorize_params("port-cli", redirect_uri=redirect_uri, scope="profile")
        assert "code" in redirect_params(authorize(http, api, params, ALLOW), redirect_uri)
    for redirect_uri in ("http://127.0.0.1:8000/cb", "http://127.0.0.1:8000/cb?x=1&y=2", "http://127.0.0.1:08000/cb?x=1"):
        params = authorize_params("port-cli", redirect_uri=redirect_uri, scope="profile")
        assert_error_page(authorize(http, api, params, ALLOW), "Invalid redirect URI")


def test_a_crlf_in_the_redirect_uri_cannot_split_the_response_on_a_raw_socket():
    """The attack as the reviewer made it: CR LF in the port of a loopback redirect URI went into Location."""
    import socket
    from urllib.parse import urlencode

    from helpers import serve_practice_api

    params = authorize_params(redirect_uri="http://127.0.0.1:87\r\n65/call\r\n\r\nback")  # urlsplit strips CR LF
    with serve_practice_api() as server:
        target, form = "/oauth/authorize?" + urlencode(params), urlencode(ALLOW)  # Ada presses Allow
        with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as raw:
            raw.sendall(f"POST {target} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nConnection: close\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\n"
                        f"Content-Length: {len(form)}\r\n\r\n{form}".encode("utf-8"))
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
        assert server.app.errors == []
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 400 "), head
    lines = head.split("\r\n")[1:]
    assert all(re.fullmatch(r"[!-9;-~]+: [ -~]*", line) for line in lines), lines
    assert not any(line.lower().startswith("location") for line in lines), lines
    assert b"code=" not in answer


@pytest.mark.parametrize("redirect_uri", ["http://127.0.0.1:1024/callback", "http://127.0.0.1:8765/callback",
                                          "http://127.0.0.1:65535/callback", "http://127.0.0.1/callback",
                                          "http://127.0.0.1:1/callback", "http://127.0.0.1:80/callback"])
def test_loopback_redirect_takes_any_port(http, api, redirect_uri):
    """RFC 8252 §7.3: the port of a loopback redirect is chosen when the app runs."""
    params = authorize_params("notes-cli", redirect_uri=redirect_uri)
    assert authorize(http, api, params).status_code == 200
    got = redirect_params(authorize(http, api, params, ALLOW), redirect_uri)
    assert got["state"] == params["state"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", got["code"])


def test_redirect_uri_may_be_left_out_when_exactly_one_is_registered(http, api):
    params = authorize_params("notes-web", redirect_uri=None)
    assert authorize(http, api, params).status_code == 200
    got = redirect_params(authorize(http, api, params, ALLOW), WEB_REDIRECT)
    assert set(got) == {"code", "state", "iss"}


def test_an_empty_redirect_uri_counts_as_omitted(http, api):
    """RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted from the
    request." (The token endpoint already does so for grant_type.)"""
    params = authorize_params("notes-web", redirect_uri="")
    assert authorize(http, api, params).status_code == 200
    got = redirect_params(authorize(http, api, params, ALLOW), WEB_REDIRECT)
    assert got["state"] == params["state"] and "code" in got


REDIRECTED_ERRORS = [
    pytest.param({"response_type": "token"}, "unsupported_response_type", "no implicit grant", id="implicit"),
    pytest.param({"response_type": "code token"}, "unsupported_response_type", "Only response_type=code",
                 id="hybrid"),
    pytest.param({"response_type": "password"}, "unsupported_response_type", "Only response_type=code",
                 id="unknown-response-type"),
    # RFC 6749 §4.1.2.1: a *missing* required parameter is invalid_request
    pytest.param({"response_type": None}, "invalid_request", "response_type", id="no-response-type"),
    pytest.param({"code_challenge": None}, "invalid_request", "PKCE is required", id="no-challenge"),
    pytest.param({"code_challenge": ""}, "invalid_request", "PKCE is required", id="empty-challenge"),
    pytest.param({"code_challenge_method": "plain"}, "invalid_request", "plain is not", id="plain"),
    pytest.param({"code_challenge_method": None}, "invalid_request", "S256", id="no-method"),
    pytest.param({"code_challenge_method": "s256"}, "invalid_request", "S256", id="lower-case-method"),
    pytest.param({"code_challenge": "A" * 42}, "invalid_request", "43 characters", id="challenge-too-short"),
    pytest.param({"code_challenge": "A" * 44}, "invalid_request", "43 characters", id="challenge-too-long"),
    pytest.param({"code_challenge": "A" * 42 + "="}, "invalid_request", "43 characters", id="challenge-padded"),
    pytest.param({"code_challenge": "A" * 41 + "+/"}, "invalid_request", "43 characters", id="challenge-not-url-safe"),
    pytest.param({"scope": "admin"}, "invalid_scope", "Ask for some of: profile notes:read.", id="unknown-scope"),
    pytest.param({"scope": "profile reports:read"}, "invalid_scope", "Ask for some of", id="scope-of-another"),
]


@pytest.mark.parametrize("changes, error, phrase", REDIRECTED_ERRORS)
def test_request_errors_are_redirected_with_state_and_iss(http, api, changes, error, phrase):
    params = authorize_params("notes-cli", **changes)
    for form in (None, ALLOW):  # GET, and POST with the right password: never a code
        response = authorize(http, api, params, form)
        got = redirect_params(response, CLI_REDIRECT)
        assert got["error"] == error
        assert phrase in got["error_description"]
        assert got["state"] == params["state"]
        assert got["iss"] == api.base_url  # RFC 9207 §2
        assert set(got) == {"error", "error_description", "state", "iss"}
        assert response.headers["Cache-Control"] == "no-store"
    assert api.app.oauth.codes == {}


def test_client_without_the_code_grant_is_redirected_unauthorized_client(http, api):
    """A registered redirect URI but no authorization_code grant (RFC 6749 §4.1.2.1).

    None of the demo clients is like that (notes-tv has no redirect URI at all, so it gets the
    error page above), so this registers one on this API instance only.
    """
    with_clients(api, Client("kiosk", None, (DEVICE_GRANT,), "profile", ("https://kiosk.test/cb",)))
    params = authorize_params("kiosk", redirect_uri="https://kiosk.test/cb", scope="profile")
    got = redirect_params(authorize(http, api, params), "https://kiosk.test/cb")
    assert got["error"] == "unauthorized_client"
    assert "may not use the authorization code grant" in got["error_description"]
    assert got["state"] == params["state"] and got["iss"] == api.base_url


@pytest.mark.parametrize("form", [{**ADA, "decision": "deny"}, {"decision": "deny"}], ids=["signed-in", "anonymous"])
def test_deny_redirects_access_denied(http, api, form):
    params = authorize_params("notes-web")
    got = redirect_params(authorize(http, api, params, form), WEB_REDIRECT)
    assert got == {"error": "access_denied", "error_description": "The user denied the request.",
                   "state": params["state"], "iss": api.base_url}
    assert api.app.oauth.codes == {}


def test_login_page_has_the_form_and_escapes_what_the_client_sent(http, api):
    state = '"><script>alert("state")</script><b x=\''
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in authorize_params().items()
                     if name != "state")
    request = requests.Request("GET", api.url("/oauth/authorize")).prepare()
    request.url = api.url("/oauth/authorize") + "?" + query + "&state=" + state  # raw, as an attacker sends it
    response = http.send(request, allow_redirects=False, timeout=TIMEOUT)
    assert api.calls[-1].query.endswith(state)  # it did arrive unencoded
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"  # no clickjacking of the consent button
    page = response.text
    assert '<input name="username"' in page
    assert '<input name="password" type="password"' in page
    assert 'name="decision" value="approve"' in page and 'name="decision" value="deny"' in page
    assert "<strong>notes-cli</strong>" in page and "<code>profile notes:read</code>" in page
    assert "<script>" not in page and "<b x=" not in page
    assert html.escape(state) in page
    action = re.search(r'<form method="post" action="([^"]*)">', page).group(1)
    assert html.unescape(action) == "/oauth/authorize?" + query + "&state=" + state


def test_wrong_password_shows_the_form_again_and_counts_toward_the_lockout(http, api):
    params = authorize_params("notes-cli")
    for attempt in range(5):
        response = authorize(http, api, params, {"username": "ada", "password": f"guess-{attempt}",
                                                 "decision": "approve"})
        assert response.status_code == 400  # not 401: that MUST carry a WWW-Authenticate (RFC 9110 §15.5.2)
        assert "Location" not in response.headers
        assert "Wrong user name or password." in response.text
        assert '<input name="password" type="password"' in response.text
    locked = authorize(http, api, params, ALLOW)  # even the right password
    assert locked.status_code == 429  # an HTML page for the person at the browser, not JSON
    assert locked.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Too many attempts</h1>" in locked.text
    assert "Location" not in locked.headers
    wait = int(locked.headers["Retry-After"])
    assert 1 <= wait <= 60
    api.clock.advance(wait)
    assert "code" in redirect_params(authorize(http, api, params, ALLOW), CLI_REDIRECT)


@pytest.mark.parametrize("decision", [None, "", "yes", "Approve"])
def test_consent_without_pressing_allow_issues_no_code(http, api, decision):
    """The right password is not consent: only the Allow button (decision=approve) is."""
    form = {**ADA} if decision is None else {**ADA, "decision": decision}
    response = authorize(http, api, authorize_params("notes-cli"), form)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Press Allow or Deny." in response.text
    assert 'name="decision" value="approve"' in response.text  # the form again, to press a button this time
    assert api.app.oauth.codes == {}


@pytest.mark.parametrize("state", ["xyz", "a b&c=d/e?f#g+h%25i", "é€😀", "=&?#%", "x" * 500])
def test_approval_redirects_with_code_unchanged_state_and_iss(http, api, state):
    params = authorize_params("notes-web", state=state)
    response = authorize(http, api, params, ALLOW)
    assert response.headers["Cache-Control"] == "no-store"
    got = redirect_params(response, WEB_REDIRECT)
    assert set(got) == {"code", "state", "iss"}
    assert got["state"] == state
    assert got["iss"] == api.base_url
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", got["code"])


def test_approval_without_state_sends_no_state(http, api):
    got = redirect_params(authorize(http, api, authorize_params("notes-cli", state=None), ALLOW), CLI_REDIRECT)
    assert set(got) == {"code", "iss"}


def test_redirect_uri_with_a_query_keeps_it(http, api):
    """RFC 6749 §3.1.2: the query of the redirect URI is kept when parameters are added."""
    with_clients(api, Client("tenant-app", None, ("authorization_code",), "profile",
                             ("https://tenant-app.test/cb?tenant=7",)))
    params = authorize_params("tenant-app", redirect_uri="https://tenant-app.test/cb?tenant=7", scope="profile")
    got = redirect_params(authorize(http, api, params, ALLOW), "https://tenant-app.test/cb?tenant=7")
    assert got["tenant"] == "7" and got["state"] == params["state"] and "code" in got
    denied = redirect_params(authorize(http, api, params, {"decision": "deny"}),
                             "https://tenant-app.test/cb?tenant=7")
    assert denied["tenant"] == "7" and denied["error"] == "access_denied"


@pytest.mark.parametrize("registered, prefix", [("https://tenant-app.test/cb?", "https://tenant-app.test/cb?"),
                                                ("https://tenant-app.test/cb?tenant=7&", "https://tenant-app.test/cb?tenant=7&")])
def test_a_registered_query_that_ends_in_a_separator_gets_no_second_one(http, api, registered, prefix):
    """`cb?` must become `cb?code=...`, not `cb??code=...` (RFC 6749 §3.1.2 keeps the query as it is)."""
    with_clients(api, Client("tenant-app", None, ("authorization_code",), "profile", (registered,)))
    params = authorize_params("tenant-app", redirect_uri=registered, scope="profile")
    location = authorize(http, api, params, ALLOW).headers["Location"]
    assert location.startswith(prefix + "code=") or location.startswith(prefix + "state="), location
    assert "??" not in location and "&&" not in location and "?&" not in location


# -- the token endpoint: authorization code (RFC 6749 §4.1.3, RFC 7636 §4.5) -------------------------

@pytest.mark.parametrize("client_id", ["notes-cli", "notes-web"])
def test_code_exchange_gives_tokens_for_ada(http, api, client_id):
    code, verifier, params = get_code(http, api, client_id)
    response = exchange(http, api, client_id, code, verifier, params["redirect_uri"])
    body = assert_token_response(response)
    assert body["scope"] == "profile notes:read"
    claims = claims_of(api, body["access_token"], api.url("/me"))
    assert claims["sub"] == "ada"
    assert claims["client_id"] == client_id
    assert claims["aud"] == api.base_url + "/me"
    assert claims["iss"] == api.base_url
    me = bearer(http, api, "/me", body["access_token"])
    assert me.status_code == 200
    assert me.json() == {"username": "ada", "scope": "profile notes:read"}
    assert bearer(http, api, "/reports", body["access_token"]).status_code == 401  # another audience


@pytest.mark.parametrize("verifier, status, error, phrase", [
    pytest.param("wrong", 400, "invalid_grant", "does not match the code_challenge", id="wrong-verifier"),
    pytest.param(None, 400, "invalid_request", "code_verifier is missing", id="no-verifier"),
    pytest.param("", 400, "invalid_request", "code_verifier is missing", id="empty-verifier"),
    pytest.param("a" * 42, 400, "invalid_request", "43 to 128 characters", id="verifier-too-short"),
    pytest.param("a" * 129, 400, "invalid_request", "43 to 128 characters", id="verifier-too-long"),
    pytest.param("a" * 42 + "+", 400, "invalid_request", "43 to 128 characters", id="verifier-bad-character"),
    pytest.param("challenge", 400, "invalid_grant", "does not match the code_challenge", id="challenge-as-verifier"),
])
def test_pkce_verifier_is_checked(http, api, verifier, status, error, phrase):
    code, right, params = get_code(http, api, "notes-cli")
    if verifier == "wrong":
        verifier = pkce()[0]
    elif verifier == "challenge":
        verifier = params["code_challenge"]  # 43 valid characters, but not the verifier
    response = exchange(http, api, "notes-cli", code, verifier, CLI_REDIRECT)
    assert_error(response, status, error, phrase)


@pytest.mark.parametrize("redirect_uri", [None, "", "http://127.0.0.1:8766/callback",
                                          "http://127.0.0.1:8765/callback/", "https://notes-web.test/callback"])
def test_redirect_uri_must_be_the_one_of_the_authorization_request(http, api, redirect_uri):
    code, verifier, _ = get_code(http, api, "notes-cli")
    response = exchange(http, api, "notes-cli", code, verifier, redirect_uri)
    assert_error(response, 400, "invalid_grant", "redirect_uri must be the one sent to the authorization endpoint")


def test_redirect_uri_is_not_needed_at_the_token_endpoint_when_the_authorization_request_had_none(http, api):
    """RFC 6749 §4.1.3: redirect_uri is REQUIRED "if the redirect_uri parameter was included in the
    authorization request". notes-web may leave it out there (one registered URI), so also here."""
    code, verifier, params = get_code(http, api, "notes-web", redirect_uri=None)
    assert "redirect_uri" not in params
    assert_token_response(exchange(http, api, "notes-web", code, verifier, None))


def test_code_used_twice_is_refused_and_revokes_its_tokens(http, api):
    """RFC 6749 §4.1.2 and §10.5; RFC 9700 §4.5.3."""
    code, verifier, _ = get_code(http, api, "notes-cli")
    first = assert_token_response(exchange(http, api, "notes-cli", code, verifier, CLI_REDIRECT))
    rotated = assert_token_response(refresh(http, api, first["refresh_token"], "notes-cli"))
    other = user_tokens(http, api, "notes-cli")  # another authorization: must stay untouched
    assert bearer(http, api, "/me", first["access_token"]).status_code == 200

    again = exchange(http, api, "notes-cli", code, verifier, CLI_REDIRECT)
    assert_error(again, 400, "invalid_grant", "already used; the tokens issued for it are revoked")
    for access_token in (first["access_token"], rotated["access_token"]):
        assert_error(bearer(http, api, "/me", access_token), 401, "invalid_token", "The token was revoked.")
    assert_error(refresh(http, api, rotated["refresh_token"], "notes-cli"), 400, "invalid_grant", "revoked")
    assert bearer(http, api, "/me", other["access_token"]).status_code == 200
    assert refresh(http, api, other["refresh_token"], "notes-cli").status_code == 200


@pytest.mark.parametrize("seconds, works", [(58, True), (60, False), (600, False)])
def test_code_lives_60_seconds(http, api, seconds, works):
    code, verifier, _ = get_code(http, api, "notes-cli")
    api.clock.advance(seconds)
    response = exchange(http, api, "notes-cli", code, verifier, CLI_REDIRECT)
    if works:
        assert_token_response(response)
    else:
        assert_error(response, 400, "invalid_grant", "The authorization code has expired")


def test_code_is_bound_to_its_client(http, api):
    code, verifier, _ = get_code(http, api, "notes-web")
    response = exchange(http, api, "notes-cli", code, verifier, WEB_REDIRECT)
    assert_error(response, 400, "invalid_grant", "not known for this client")


def test_unknown_or_missing_code(http, api):
    verifier = pkce()[0]
    assert_error(exchange(http, api, "notes-cli", "x" * 43, verifier, CLI_REDIRECT), 400, "invalid_grant",
                 "not known for this client")
    assert_error(exchange(http, api, "notes-cli", "", verifier, CLI_REDIRECT), 400, "invalid_request",
                 "code is missing")


def test_confidential_client_must_authenticate_with_basic(http, api):
    code, verifier, _ = get_code(http, api, "notes-web")
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": WEB_REDIRECT}
    assert_invalid_client(token_request(http, api, {**data, "client_id": "notes-web"}),
                          "notes-web is a confidential client: authenticate with HTTP Basic.")
    assert_invalid_client(token_request(http, api, data, (NOTES_WEB[0], "wrong")), "wrong client secret")
    assert_invalid_client(token_request(http, api, data), "Unknown client")
    assert_token_response(token_request(http, api, data, NOTES_WEB))  # the refused calls spent nothing


def test_device_client_may_not_use_the_code_grant(http, api):
    response = token_request(http, api, {"grant_type": "authorization_code", "client_id": "notes-tv", "code": "x",
                                         "code_verifier": pkce()[0]})
    assert_error(response, 400, "unauthorized_client", "notes-tv may not use the authorization_code grant.")


# -- refresh (RFC 6749 §6, RFC 9700 §4.14.2) --------------------------------------------------------

@pytest.mark.parametrize("client_id", ["notes-cli", "notes-web"])
def test_refresh_rotates_the_refresh_token(http, api, client_id):
    first = user_tokens(http, api, client_id)
    second = assert_token_response(refresh(http, api, first["refresh_token"], client_id))
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    claims = claims_of(api, second["access_token"], api.url("/me"))
    assert (claims["sub"], claims["client_id"], claims["scope"]) == ("ada", client_id, "profile notes:read")
    assert bearer(http, api, "/me", second["access_token"]).status_code == 200
    assert_token_response(refresh(http, api, second["refresh_token"], client_id))


@pytest.mark.parametrize("owner, presenter", [("notes-cli", "notes-web"), ("notes-cli", None),
                                              ("notes-web", "notes-cli"), ("notes-cli", "notes-tv")])
def test_refresh_token_works_only_for_its_client(http, api, owner, presenter):
    issued = user_tokens(http, api, owner)
    response = refresh(http, api, issued["refresh_token"], presenter)
    expected = "issued to another client" if presenter else "issued to an OAuth client: send its client_id"
    assert_error(response, 400, "invalid_grant", expected)
    assert_token_response(refresh(http, api, issued["refresh_token"], owner))  # not spent by the refusal


def test_confidential_clients_refresh_needs_basic(http, api):
    issued = user_tokens(http, api, "notes-web")
    data = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"], "client_id": "notes-web"}
    assert_invalid_client(token_request(http, api, data), "confidential client")


def test_refresh_token_reuse_revokes_the_family(http, api):
    first = user_tokens(http, api, "notes-cli")
    second = assert_token_response(refresh(http, api, first["refresh_token"], "notes-cli"))
    reuse = refresh(http, api, first["refresh_token"], "notes-cli")
    assert_error(reuse, 400, "invalid_grant", "already used, so it may have been stolen")
    assert_error(refresh(http, api, second["refresh_token"], "notes-cli"), 400, "invalid_grant", "revoked")
    assert_error(bearer(http, api, "/me", second["access_token"]), 401, "invalid_token", "The token was revoked.")


def test_login_tokens_refresh_without_client_authentication(http, api):
    issued = http.post(api.url("/login"), json=ADA, timeout=TIMEOUT).json()
    rotated = assert_token_response(refresh(http, api, issued["refresh_token"]))
    # RFC 9068 §2.2 requires client_id: the practice API's own first-party login, registered nowhere
    assert claims_of(api, rotated["access_token"], api.url("/me"))["client_id"] == tokens.LOGIN_CLIENT_ID
    assert_error(refresh(http, api, rotated["refresh_token"], "notes-cli"), 400, "invalid_grant",
                 "issued to another client")
    assert_token_response(refresh(http, api, rotated["refresh_token"]))


def test_every_grant_issues_rfc_9068_access_tokens(http, api):
    """RFC 9068 §2.1: typ at+jwt; §2.2: client_id names the client the token was issued to."""
    cases = [
        ("reports-job", token_request(http, api, {"grant_type": "client_credentials"}, REPORTS_JOB).json(),
         api.url("/reports")),
        ("notes-web", user_tokens(http, api, "notes-web"), api.url("/me")),
        ("notes-cli", user_tokens(http, api, "notes-cli"), api.url("/me")),
    ]
    cases.append(("notes-cli", refresh(http, api, cases[-1][1]["refresh_token"], "notes-cli").json(), api.url("/me")))
    for client_id, issued, audience in cases:
        assert jwt.get_unverified_header(issued["access_token"])["typ"] == "at+jwt"
        claims = claims_of(api, issued["access_token"], audience)
        assert claims["client_id"] == client_id
        assert {"iss", "exp", "aud", "sub", "client_id", "iat", "jti"} <= set(claims)


# -- the device grant (RFC 8628) ---------------------------------------------------------------------

def start_device(http, api, **data) -> dict:
    response = http.post(api.url("/oauth/device_authorization"), data={"client_id": "notes-tv", **data},
                         timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def poll(http, api, device_code: str, client_id: str = "notes-tv") -> requests.Response:
    return token_request(http, api, {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id})


def device_form(http, api, form: dict) -> requests.Response:
    return http.post(api.url("/device"), data=form, allow_redirects=False, timeout=TIMEOUT)


def test_device_authorization_response(http, api):
    body = start_device(http, api)
    assert set(body) == {"device_code", "user_code", "verification_uri", "verification_uri_complete",
                         "expires_in", "interval"}
    assert USER_CODE.fullmatch(body["user_code"]), body["user_code"]  # RFC 8628 §6.1
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", body["device_code"])
    assert body["verification_uri"] == api.url("/device")
    assert body["verification_uri_complete"] == api.url("/device") + "?user_code=" + body["user_code"]
    assert body["expires_in"] == 600
    assert body["interval"] == 5
    other = start_device(http, api, scope="profile")
    assert other["device_code"] != body["device_code"] and other["user_code"] != body["user_code"]


def test_device_authorization_refuses_other_scopes(http, api):
    response = http.post(api.url("/oauth/device_authorization"), data={"client_id": "notes-tv", "scope": "admin"},
                         timeout=TIMEOUT)
    assert_error(response, 400, "invalid_scope", "notes-tv may ask for: profile notes:read.")


def test_polling_too_fast_slows_down_by_5_seconds_each_time(http, api):
    device_code = start_device(http, api)["device_code"]
    assert_error(poll(http, api, device_code), 400, "authorization_pending", "has not approved yet")
    assert_error(poll(http, api, device_code), 400, "slow_down", "wait 10 s")  # sooner than 5 s
    api.clock.advance(6)  # after the old interval, before the new one
    assert_error(poll(http, api, device_code), 400, "slow_down", "wait 15 s")
    api.clock.advance(15)
    assert_error(poll(http, api, device_code), 400, "authorization_pending", "has not approved yet")
    api.clock.advance(14)  # the interval stays 15 s
    assert_error(poll(http, api, device_code), 400, "slow_down", "wait 20 s")


@pytest.mark.parametrize("typed", [str.lower, lambda code: code.replace("-", ""),
                                   lambda code: code.lower().replace("-", ""), lambda code: code.replace("-", " ")],
                         ids=["lower-case", "no-dash", "lower-no-dash", "space"])
def test_approved_device_gets_tokens_once(http, api, typed):
    started = start_device(http, api)
    assert_error(poll(http, api, started["device_code"]), 400, "authorization_pending", "Keep polling")
    page = device_form(http, api, {"user_code": typed(started["user_code"]), **ALLOW})
    assert page.status_code == 200
    assert "<h1>Device approved</h1>" in page.text and "notes-tv" in page.text
    api.clock.advance(5)
    body = assert_token_response(poll(http, api, started["device_code"]))
    claims = claims_of(api, body["access_token"], api.url("/me"))
    assert (claims["sub"], claims["client_id"]) == ("ada", "notes-tv")
    assert bearer(http, api, "/me", body["access_token"]).status_code == 200
    api.clock.advance(5)
    assert_error(poll(http, api, started["device_code"]), 400, "invalid_grant", "already used")
    assert_token_response(refresh(http, api, body["refresh_token"], "notes-tv"))


def test_denied_device_gets_access_denied(http, api):
    started = start_device(http, api)
    page = device_form(http, api, {"user_code": started["user_code"], "decision": "deny"})
    assert page.status_code == 200 and "<h1>Request denied</h1>" in page.text
    assert_error(poll(http, api, started["device_code"]), 400, "access_denied", "The user denied the request.")
    again = device_form(http, api, {"user_code": started["user_code"], **ALLOW})  # too late to change one's mind
    assert "That code is not valid" in again.text
    api.clock.advance(5)
    assert_error(poll(http, api, started["device_code"]), 400, "access_denied", "denied")


def test_device_code_expires_after_600_seconds(http, api):
    started = start_device(http, api)
    api.clock.advance(600)
    assert_error(poll(http, api, started["device_code"]), 400, "expired_token", "The device code has expired.")
    page = device_form(http, api, {"user_code": started["user_code"], **ALLOW})
    assert "That code is not valid (or has expired)." in page.text


@pytest.mark.parametrize("data, auth, status, error, phrase", [
    pytest.param({"scope": "profile"}, REPORTS_JOB, 400, "unauthorized_client",
                 "reports-job may not use the device grant", id="reports-job"),
    pytest.param({"scope": "profile"}, NOTES_WEB, 400, "unauthorized_client", "notes-web may not use the device grant",
                 id="notes-web"),
    pytest.param({"client_id": "notes-cli"}, None, 400, "unauthorized_client", "notes-cli may not use the device",
                 id="notes-cli"),
    pytest.param({"client_id": "notes-web"}, None, 401, "invalid_client", "confidential client",
                 id="notes-web-without-basic"),
    pytest.param({"scope": "profile"}, None, 401, "invalid_client", "Unknown client", id="no-client"),
])
def test_only_the_device_client_may_start_a_device_authorization(http, api, data, auth, status, error, phrase):
    response = http.post(api.url("/oauth/device_authorization"), data=data, auth=auth, timeout=TIMEOUT)
    assert_error(response, status, error, phrase)


def test_device_code_grant_is_for_the_device_client_only(http, api):
    device_code = start_device(http, api)["device_code"]
    assert_error(poll(http, api, device_code, "notes-cli"), 400, "unauthorized_client",
                 f"notes-cli may not use the {DEVICE_GRANT} grant")
    response = token_request(http, api, {"grant_type": DEVICE_GRANT, "device_code": device_code}, REPORTS_JOB)
    assert_error(response, 400, "unauthorized_client", "reports-job may not use")
    assert_error(poll(http, api, "x" * 43), 400, "invalid_grant", "not known for this client")
    assert_error(poll(http, api, ""), 400, "invalid_request", "device_code is missing")


@pytest.mark.parametrize("form, message", [
    pytest.param({"user_code": "BBBB-BBBB", **ALLOW}, "That code is not valid", id="wrong-code"),
    pytest.param({"user_code": "", **ALLOW}, "That code is not valid", id="no-code"),
    pytest.param({"username": "ada", "password": "guess", "decision": "approve"}, "Wrong user name or password.",
                 id="wrong-password"),
    pytest.param({"username": "nobody", "password": "guess", "decision": "approve"},
                 "Wrong user name or password.", id="unknown-user"),
    pytest.param({"decision": "approve"}, "Wrong user name or password.", id="no-credentials"),
    pytest.param(ADA, "Press Allow or Deny.", id="no-decision"),
    pytest.param({**ADA, "decision": "ok"}, "Press Allow or Deny.", id="unknown-decision"),
])
def test_device_page_refuses_a_wrong_code_or_password(http, api, form, message):
    started = start_device(http, api)
    form = {"user_code": started["user_code"], **form}
    page = device_form(http, api, form)
    assert page.status_code == 400  # not 401: that MUST carry a WWW-Authenticate (RFC 9110 §15.5.2)
    assert "<h1>Connect a device</h1>" in page.text
    assert message in page.text
    if "code is not valid" in message:  # back to typing the code: no Allow without a client to show
        assert 'value="continue"' in page.text and 'value="approve"' not in page.text
    else:  # the same request again, with what it asks for (RFC 8628 §5.4)
        assert '<input name="password" type="password"' in page.text
        assert "<strong>notes-tv</strong> asks to access your account" in page.text
    assert_error(poll(http, api, started["device_code"]), 400, "authorization_pending", "not approved")


def test_device_page_prefills_the_code_and_escapes_it(http, api):
    started = start_device(http, api)
    page = http.get(started["verification_uri_complete"], timeout=TIMEOUT)
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    assert f'<input name="user_code" value="{started["user_code"]}">' in page.text
    evil = '"><script>alert(1)</script>'
    request = requests.Request("GET", api.url("/device")).prepare()
    request.url = api.url("/device") + "?user_code=" + evil
    page = http.send(request, timeout=TIMEOUT)
    assert "<script>" not in page.text and html.escape(evil) in page.text
    posted = device_form(http, api, {"user_code": evil, **ALLOW})
    assert "<script>" not in posted.text and html.escape(evil) in posted.text


def test_device_page_shows_the_client_and_scopes_before_allow(http, api):
    """RFC 8628 §5.4 (remote phishing): the user must see which client asks, and for what, before
    approving. Allow appears only on a page that names them."""
    started = start_device(http, api, scope="profile")
    blank = http.get(api.url("/device"), timeout=TIMEOUT)
    assert blank.status_code == 200 and 'value="approve"' not in blank.text and 'value="continue"' in blank.text
    for page in (http.get(started["verification_uri_complete"], timeout=TIMEOUT),
                 device_form(http, api, {"user_code": started["user_code"].lower(), "decision": "continue"})):
        assert page.status_code == 200, page.text
        text = page.text
        assert "<strong>notes-tv</strong> asks to access your account: <code>profile</code>" in text
        assert text.index("<strong>notes-tv</strong>") < text.index('value="approve"')
        assert f'value="{started["user_code"]}"' in text
    assert_error(poll(http, api, started["device_code"]), 400, "authorization_pending", "not approved")
    api.clock.advance(5)  # the polling interval
    assert device_form(http, api, {"user_code": started["user_code"], **ALLOW}).status_code == 200
    assert_token_response(poll(http, api, started["device_code"]))


def test_device_page_escapes_the_client_and_scopes(http, api):
    evil_id, evil_scope = '<b onmouseover="x()">tv</b>', "<script>alert(1)</script>"
    with_clients(api, Client(evil_id, None, (DEVICE_GRANT,), f"profile {evil_scope}"))
    started = start_device(http, api, client_id=evil_id)
    page = http.get(started["verification_uri_complete"], timeout=TIMEOUT)
    assert page.status_code == 200
    assert "<script>" not in page.text and "<b " not in page.text
    assert html.escape(evil_id) in page.text and html.escape(evil_scope) in page.text


def test_device_page_lookups_by_get_count_toward_the_guess_limit(http, api):
    """Showing the client for a code is a lookup: a GET with a wrong code is a wrong guess too (RFC 8628 §5.1)."""
    start_device(http, api)
    statuses = [http.get(api.url("/device"), params={"user_code": f"BBBB-BB{a}{b}"}, timeout=TIMEOUT).status_code
                for a in "CD" for b in "CDFGHJKLMN"]
    assert 429 in statuses, statuses


def test_user_code_guessing_is_rate_limited(http, api):
    """RFC 8628 §5.1: "the authorization server SHOULD rate-limit user code verification"; DESIGN.md:
    the server answers repeated failures with 429 and Retry-After."""
    start_device(http, api)
    statuses = []
    for attempt in range(20):
        guess = "".join("BCDFGHJKLMNPQRSTVWXZ"[(attempt * 7 + n) % 20] for n in range(8))
        response = device_form(http, api, {"user_code": guess, **ALLOW})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["Retry-After"].isdigit()
            break
    assert 429 in statuses, f"20 wrong user codes in a row, and no 429: {statuses}"


# -- revocation (RFC 7009) --------------------------------------------------------------------------

def revoke(http, api, token: str | None, client_id: str | None = "notes-cli", **data) -> requests.Response:
    form = {"token": token, **data}
    auth = None
    if client_id in ("notes-web", "reports-job"):
        auth = NOTES_WEB if client_id == "notes-web" else REPORTS_JOB
    elif client_id:
        form["client_id"] = client_id
    return http.post(api.url("/oauth/revoke"), data={k: v for k, v in form.items() if v is not None}, auth=auth,
                     timeout=TIMEOUT)


def assert_revoked_ok(response: requests.Response) -> None:
    assert response.status_code == 200, response.text  # RFC 7009 §2.2
    assert response.content == b""
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("token", ["unknown-token", "not a token at all", "a.b.c", "é", "x" * 5000,
                                   "eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0."])
def test_revoking_an_unknown_or_garbage_token_is_200(http, api, token):
    for client_id in ("notes-cli", "notes-web", None):  # public, confidential, anonymous
        assert_revoked_ok(revoke(http, api, token, client_id, token_type_hint="refresh_token"))


def test_revoking_a_refresh_token_revokes_its_family(http, api):
    issued = user_tokens(http, api, "notes-cli")
    assert_revoked_ok(revoke(http, api, issued["refresh_token"], token_type_hint="refresh_token"))
    assert_error(refresh(http, api, issued["refresh_token"], "notes-cli"), 400, "invalid_grant", "revoked")
    assert_error(bearer(http, api, "/me", issued["access_token"]), 401, "invalid_token", "The token was revoked.")
    assert_revoked_ok(revoke(http, api, issued["refresh_token"]))  # again: still 200


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])  # a wrong hint must not matter
def test_revoking_an_access_token(http, api, hint):
    issued = user_tokens(http, api, "notes-web")
    assert_revoked_ok(revoke(http, api, issued["access_token"], "notes-web", token_type_hint=hint))
    response = bearer(http, api, "/me", issued["access_token"])
    assert_error(response, 401, "invalid_token", "The token was revoked.")
    assert 'error_description="The token was revoked."' in response.headers["WWW-Authenticate"]


def test_revoking_a_client_credentials_token(http, api):
    access_token = token_request(http, api, {"grant_type": "client_credentials"}, REPORTS_JOB).json()["access_token"]
    assert_revoked_ok(revoke(http, api, access_token, "reports-job"))
    assert_error(bearer(http, api, "/reports", access_token), 401, "invalid_token", "The token was revoked.")


@pytest.mark.parametrize("kind", ["refresh_token", "access_token"])
@pytest.mark.parametrize("owner, other", [("notes-cli", "notes-web"), ("notes-cli", None),
                                          ("notes-web", "notes-cli"), ("notes-cli", "reports-job")])
def test_a_client_cannot_revoke_another_clients_token(http, api, owner, other, kind):
    issued = user_tokens(http, api, owner)
    response = revoke(http, api, issued[kind], other)
    assert response.status_code == 400, response.text
    assert error_of(response)[1] == ("This token was issued to another client." if other else
                                     "This token was issued to an OAuth client: send its client_id, or authenticate it.")
    assert bearer(http, api, "/me", issued["access_token"]).status_code == 200
    assert_token_response(refresh(http, api, issued["refresh_token"], owner))


def test_revocation_needs_a_token_and_a_right_client(http, api):
    assert_error(revoke(http, api, None), 400, "invalid_request", "token is missing.")
    assert_error(revoke(http, api, ""), 400, "invalid_request", "token is missing.")
    issued = user_tokens(http, api, "notes-web")
    response = http.post(api.url("/oauth/revoke"), data={"token": issued["refresh_token"]},
                         auth=(NOTES_WEB[0], "wrong"), timeout=TIMEOUT)
    assert_invalid_client(response, "wrong client secret")
    assert bearer(http, api, "/me", issued["access_token"]).status_code == 200


# -- scopes at the resources (RFC 6750 §3.1) -----------------------------------------------------

def test_me_needs_the_profile_scope(http, api):
    issued = user_tokens(http, api, "notes-cli", scope="notes:read")
    assert issued["scope"] == "notes:read"
    response = bearer(http, api, "/me", issued["access_token"])
    assert_error(response, 403, "insufficient_scope", "lacks the 'profile' scope")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="practice", error="insufficient_scope", ' \
                                                   'scope="profile"'


def test_reports_needs_the_reports_read_scope(http, api):
    now = int(api.clock.now())
    claims = {"iss": api.base_url, "aud": api.url("/reports"), "sub": "reports-job", "client_id": "reports-job",
              "iat": now, "exp": now + 300, "scope": "profile", "jti": "test-scope"}
    token = jwt.encode(claims, PRIVATE_KEY, algorithm="RS256", headers={"kid": signing_key.KEY_ID, "typ": "at+jwt"})
    response = bearer(http, api, "/reports", token)
    assert_error(response, 403, "insufficient_scope", "lacks the 'reports:read' scope")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="practice", error="insufficient_scope", ' \
                                                   'scope="reports:read"'
    user = user_tokens(http, api, "notes-cli")  # a user token is for /me, not /reports
    assert_error(bearer(http, api, "/reports", user["access_token"]), 401, "invalid_token",
                 f"not {api.url('/reports')}")


# -- malformed input: 400 or 401, never a 500 -------------------------------------------------------

FORM_ENDPOINTS = ["/oauth/token", "/oauth/revoke", "/oauth/device_authorization", "/device"]


def _post_form_endpoint(http, api, path: str, **kwargs) -> requests.Response:
    url = api.url(path)
    if path == "/oauth/authorize":
        url = api.url("/oauth/authorize") + "?" + "&".join(f"{k}={quote(v, safe='')}"
                                                            for k, v in authorize_params().items())
    return http.post(url, allow_redirects=False, timeout=TIMEOUT, **kwargs)


@pytest.mark.parametrize("path", [*FORM_ENDPOINTS, "/oauth/authorize"])
def test_duplicated_form_fields_are_invalid_request(http, api, path):
    data = [("grant_type", "client_credentials"), ("token", "x"), ("client_id", "notes-tv"),
            ("client_id", "notes-tv"), ("user_code", "BBBB-BBBB"), ("username", "ada"), ("password", "x")]
    response = _post_form_endpoint(http, api, path, data=data)
    assert_error(response, 400, "invalid_request", "'client_id' appears more than once")


@pytest.mark.parametrize("duplicate", [
    "state=one&state=two", "scope=profile&scope=notes:read", "code_challenge=" + "A" * 43,
    "response_type=code", "client_id=notes-cli", "redirect_uri=" + quote(CLI_REDIRECT, safe=""),
])
def test_duplicated_authorization_parameters_are_refused(http, api, duplicate):
    """RFC 6749 §3.1: parameters MUST NOT be included more than once; §4.1.2.1: that is invalid_request
    (or, for client_id and redirect_uri, an error page). The login form must not be shown."""
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in authorize_params().items())
    response = http.get(api.url("/oauth/authorize") + "?" + query + "&" + duplicate, allow_redirects=False,
                        timeout=TIMEOUT)
    assert response.status_code in (302, 400), f"{response.status_code}: the login form was shown"
    if response.status_code == 302:
        got = parse_qs(urlsplit(response.headers["Location"]).query)
        assert got["error"] == ["invalid_request"] and "code" not in got
    else:
        assert "Location" not in response.headers
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("path", [*FORM_ENDPOINTS, "/oauth/authorize"])
@pytest.mark.parametrize("body", [b"grant_type=\xff\xfe", b"token=\xc3\x28&client_id=notes-tv"], ids=["ff", "c328"])
def test_non_utf8_form_body_is_invalid_request(http, api, path, body):
    response = _post_form_endpoint(http, api, path, data=body,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 400, "invalid_request", "not valid UTF-8 form encoding")


@pytest.mark.parametrize("path", [*FORM_ENDPOINTS, "/oauth/authorize"])
def test_json_instead_of_a_form_is_invalid_request(http, api, path):
    body = {"grant_type": "client_credentials", "client_id": "notes-tv", "token": "x", "user_code": "BBBB-BBBB",
            **ADA}
    response = _post_form_endpoint(http, api, path, json=body)
    assert_error(response, 400, "invalid_request", "Content-Type: application/x-www-form-urlencoded")


@pytest.mark.parametrize("path", FORM_ENDPOINTS)
def test_malformed_form_encoding_is_invalid_request(http, api, path):
    response = _post_form_endpoint(http, api, path, data=b"client_id=notes-tv&&=&token",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 400, "invalid_request", "not valid UTF-8 form encoding")


LONG = "A" * 200_000


@pytest.mark.parametrize("path, data, auth, status, error", [
    pytest.param("/oauth/token", {"grant_type": LONG}, None, 400, "unsupported_grant_type", id="grant-type"),
    pytest.param("/oauth/token", {"grant_type": "client_credentials", "client_id": LONG}, None, 401,
                 "invalid_client", id="client-id"),
    pytest.param("/oauth/token", {"grant_type": "client_credentials"}, (LONG, LONG), 401, "invalid_client",
                 id="basic"),
    pytest.param("/oauth/token", {"grant_type": "client_credentials", "scope": LONG}, REPORTS_JOB, 400,
                 "invalid_scope", id="scope"),
    pytest.param("/oauth/token", {"grant_type": "authorization_code", "client_id": "notes-cli", "code": LONG,
                                  "code_verifier": LONG}, None, 400, "invalid_grant", id="code"),
    pytest.param("/oauth/token", {"grant_type": "refresh_token", "refresh_token": LONG}, None, 400,
                 "invalid_grant", id="refresh-token"),
    pytest.param("/oauth/token", {"grant_type": DEVICE_GRANT, "client_id": "notes-tv", "device_code": LONG}, None,
                 400, "invalid_grant", id="device-code"),
    pytest.param("/oauth/revoke", {"token": LONG}, None, 200, None, id="revoke"),
    pytest.param("/oauth/device_authorization", {"client_id": "notes-tv", "scope": LONG}, None, 400,
                 "invalid_scope", id="device-scope"),
    pytest.param("/oauth/token", {"grant_type": "client_credentials", "pad": "x" * (1024 * 1024)}, REPORTS_JOB, 413,
                 "invalid_request", id="body-over-1-MB"),
])
def test_absurd_lengths_get_a_clear_answer(http, api, path, data, auth, status, error):
    response = http.post(api.url(path), data=data, auth=auth, timeout=TIMEOUT)
    assert response.status_code == status, response.text[:300]
    if error:
        assert error_of(response)[0] == error
        assert len(response.content) < 2000  # the description does not echo the input


def test_absurd_lengths_at_the_pages(http, api):
    params = authorize_params(state="s" * 100_000)
    got = redirect_params(authorize(http, api, params, ALLOW), CLI_REDIRECT)
    assert got["state"] == params["state"]
    long_code = authorize(http, api, authorize_params(code_challenge="A" * 100_000))
    assert redirect_params(long_code, CLI_REDIRECT)["error"] == "invalid_request"
    assert_error_page(authorize(http, api, authorize_params(client_id="c" * 100_000)), "Unknown client")
    assert_error_page(authorize(http, api, authorize_params(redirect_uri=CLI_REDIRECT + "x" * 100_000)),
                      "Invalid redirect URI")
    page = device_form(http, api, {"user_code": "B" * 100_000, **ALLOW})
    assert page.status_code == 400 and "That code is not valid" in page.text


def test_token_endpoint_refuses_the_password_grant(http, api):
    """RFC 9700 §2.4: the resource owner password credentials grant MUST NOT be used."""
    response = token_request(http, api, {"grant_type": "password", **ADA}, NOTES_WEB)
    assert_error(response, 400, "unsupported_grant_type", "'password'")
