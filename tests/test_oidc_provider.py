"""The practice API as an OpenID Provider (helpers/practice_api/oidc.py, notebook 08), rule by rule.

Sources: OpenID Connect Core 1.0 incorporating errata set 2 (§2 the ID token, §3.1.2.1 the
authentication request and its nonce, §3.1.3.3 the token response, §3.1.3.6 at_hash, §5.3 UserInfo,
§5.4 scopes to claims, §12.2 refresh), OpenID Connect Discovery 1.0 (§3, §4), RFC 6749 (§3.3 scope),
RFC 6750 (§2.1, §3), RFC 8414, RFC 8725 §3.11 and RFC 9068 §4 (an ID token is no access token).
Every test runs against the `api` fixture, which fails a test on any 500.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from helpers.practice_api import demo, oidc, signing_key, users
from helpers.practice_api.oauth import DEMO_CLIENTS

TIMEOUT = 5
ALLOW = {"username": "ada", "password": demo.password_of("ada"), "decision": "approve"}
SIGNIN = ("notes-signin", str(demo.client("notes-signin")["client_secret"]))
SIGNIN_REDIRECT = "http://127.0.0.1:8400/signin/callback"  # registered, port included: matched exactly
NOTES_WEB = ("notes-web", str(demo.client("notes-web")["client_secret"]))
KEYS = {kid: serialization.load_pem_private_key(pem, None) for kid, pem in signing_key.PEMS.items()}  # checked


# -- small tools ------------------------------------------------------------------------------

def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def signin_params(challenge: str, **changes) -> dict:
    """A correct OpenID Connect authentication request of notes-signin; None leaves a parameter out."""
    params = {"response_type": "code", "client_id": "notes-signin", "redirect_uri": SIGNIN_REDIRECT,
              "scope": "openid profile email", "state": "s-" + secrets.token_hex(4),
              "nonce": "n-" + secrets.token_urlsafe(16), "code_challenge": challenge,
              "code_challenge_method": "S256"}
    params.update(changes)
    return {name: value for name, value in params.items() if value is not None}


def authorize(http, api, params: dict, form: dict | None = None) -> requests.Response:
    if form is None:
        return http.get(api.url("/oauth/authorize"), params=params, allow_redirects=False, timeout=TIMEOUT)
    return http.post(api.url("/oauth/authorize"), params=params, data=form, allow_redirects=False, timeout=TIMEOUT)


def redirected(response: requests.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text
    location = response.headers["Location"]
    assert location.startswith(SIGNIN_REDIRECT + "?"), location
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def exchange(http, api, code: str, verifier: str, auth=SIGNIN) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": SIGNIN_REDIRECT}
    return http.post(api.url("/oauth/token"), data=data, auth=auth, timeout=TIMEOUT)


def sign_in(http, api, form: dict = ALLOW, **changes) -> tuple[dict, dict]:
    """ada signs in to notes-signin: (the token response, the authentication request's parameters)."""
    verifier, challenge = pkce()
    params = signin_params(challenge, **changes)
    got = redirected(authorize(http, api, params, form))
    assert "code" in got, got
    response = exchange(http, api, got["code"], verifier)
    assert response.status_code == 200, response.text
    return response.json(), params


def id_token_claims(api, token: str, kid: str = signing_key.KEY_ID) -> dict:
    """The ID token's claims, checked as OIDC Core §3.1.3.7 asks; times are the API clock's business."""
    return jwt.decode(token, KEYS[kid].public_key(), algorithms=["RS256"], audience="notes-signin",
                      issuer=api.base_url, options={"require": ["exp", "iat"], "verify_exp": False,
                                                    "verify_iat": False})


def discovery(http, api, path: str = "/.well-known/openid-configuration", **kwargs) -> requests.Response:
    return http.get(api.url(path), timeout=TIMEOUT, **kwargs)


def error_of(response: requests.Response) -> tuple[str, str]:
    assert response.headers["Content-Type"] == "application/json", response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    return body["error"], body["error_description"]


# -- discovery (OIDC Discovery 1.0 §3, §4) ------------------------------------------------------

def test_discovery_has_the_fields_of_discovery_section_3(http, any_api):
    response = discovery(http, any_api)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    document = response.json()
    base = any_api.base_url
    assert document["issuer"] == base  # §4.3: exactly the URL the document was fetched under, minus the path
    assert document["authorization_endpoint"] == base + "/oauth/authorize"
    assert document["token_endpoint"] == base + "/oauth/token"
    assert document["userinfo_endpoint"] == base + "/oauth/userinfo"
    assert document["jwks_uri"] == base + "/.well-known/jwks.json"
    assert {"openid", "profile", "email"} <= set(document["scopes_supported"])
    assert document["response_types_supported"] == ["code"]
    assert document["subject_types_supported"] == ["public"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]  # never "none"
    assert {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "name", "email",
            "email_verified"} <= set(document["claims_supported"])
    assert document["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "private_key_jwt",
                                                                 "tls_client_auth", "none"]  # 09 adds the middle two
    assert document["code_challenge_methods_supported"] == ["S256"]


def test_discovery_agrees_with_the_rfc_8414_metadata_on_every_shared_field(http, any_api):
    openid = discovery(http, any_api).json()
    oauth = discovery(http, any_api, "/.well-known/oauth-authorization-server").json()
    shared = set(openid) & set(oauth)
    assert len(shared) >= 15  # every RFC 8414 field is in the OpenID document too
    assert set(oauth) <= set(openid)
    assert {name: openid[name] for name in shared} == {name: oauth[name] for name in shared}


def test_discovery_ignores_unknown_query_parameters(http, api):
    """Discovery §4.1 defines no parameter: the document is the same for everyone, as at real providers."""
    plain = discovery(http, api).json()
    for query in ({"client_id": "evil"}, {"issuer": "https://evil.test"}, {"a": "\r\n"}, {"x": "é" * 3000}):
        response = discovery(http, api, params=query)
        assert response.status_code == 200 and response.json() == plain


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_discovery_refuses_other_methods_with_405_and_allow(http, api, method):
    """RFC 9110 §15.5.6: 405 carries Allow; HEAD goes wherever GET does (§9.1)."""
    response = http.request(method, api.url("/.well-known/openid-configuration"), timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert error_of(response)[0] == "method_not_allowed"


def test_discovery_head_has_the_get_headers_and_no_body(http, api):
    response = http.head(api.url("/.well-known/openid-configuration"), timeout=TIMEOUT)
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["Content-Length"]) == len(discovery(http, api).content)


# -- the demo relying party ----------------------------------------------------------------------

def test_notes_signin_is_a_confidential_web_app_with_a_fixed_redirect_uri():
    entry = demo.client("notes-signin")
    assert entry["token_endpoint_auth_method"] == "client_secret_basic"
    assert entry["grant_types"] == ["authorization_code", "refresh_token"]
    assert entry["scope"] == "openid profile email notes:read"
    assert entry["redirect_uris"] == [SIGNIN_REDIRECT]
    server_side = DEMO_CLIENTS["notes-signin"]
    # The server keeps only the hash of the published secret, as for every other client.
    assert server_side.secret_sha256 == hashlib.sha256(str(entry["client_secret"]).encode()).hexdigest()
    assert server_side.scope == entry["scope"] and server_side.redirect_uris == tuple(entry["redirect_uris"])
    assert entry in demo.credentials()["clients"]  # and so in the CLI's JSON line


@pytest.mark.parametrize("wrong", [
    "http://127.0.0.1:51234/signin/callback",  # another port: only native apps may vary it (RFC 9700 §2.1)
    "http://127.0.0.1/signin/callback", "http://[::1]:8400/signin/callback",
    "http://127.0.0.1:8400/signin/callback/", "http://localhost:8400/signin/callback",
    "http://127.0.0.1:8400/callback", "https://127.0.0.1:8400/signin/callback",
    "http://127.0.0.1:08400/signin/callback", "http://127.0.0.1:8400/signin/callback?x=1"])
def test_the_signin_redirect_uri_is_matched_exactly_port_included(http, api, wrong):
    """Core §3.1.2.1 (simple string comparison) and RFC 9700 §2.1: notes-signin is a confidential web
    app, not a native app, so RFC 8252 §7.3's variable loopback port is not its to use."""
    _, challenge = pkce()
    response = authorize(http, api, signin_params(challenge, redirect_uri=wrong))
    assert response.status_code == 400 and "Location" not in response.headers, wrong
    ok = authorize(http, api, signin_params(challenge))
    assert ok.status_code == 200 and "notes-signin" in ok.text


def test_a_native_app_keeps_the_variable_loopback_port():
    """RFC 8252 §7.3 for the public client notes-cli; the confidential notes-signin does not get it."""
    from helpers.practice_api.oauth import AuthorizationServer
    cli, signin = DEMO_CLIENTS["notes-cli"], DEMO_CLIENTS["notes-signin"]
    server = AuthorizationServer.__new__(AuthorizationServer)  # _redirect_uri reads only its arguments
    assert server._redirect_uri(cli, "http://127.0.0.1:51234/callback") == "http://127.0.0.1:51234/callback"
    assert server._redirect_uri(signin, "http://127.0.0.1:51234/signin/callback") is None
    assert server._redirect_uri(signin, SIGNIN_REDIRECT) == SIGNIN_REDIRECT


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_redirect_uri_is_required_with_openid(http, api, method):
    """Core §3.1.2.1: redirect_uri is REQUIRED in an authentication request. Without it the URI is
    not confirmed by the request, so the error is the 400 page, never a redirect (RFC 6749 §4.1.2.1)."""
    _, challenge = pkce()
    response = authorize(http, api, signin_params(challenge, redirect_uri=None),
                         ALLOW if method == "POST" else None)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "redirect_uri is required with scope openid" in response.text
    assert response.headers["Content-Type"].startswith("text/html")


def test_without_redirect_uri_no_id_token_is_ever_issued(http, api):
    """The reviewer's flow: authorize without redirect_uri, exchange without it. Neither step may work."""
    verifier, challenge = pkce()
    response = authorize(http, api, signin_params(challenge, redirect_uri=None), ALLOW)
    assert response.status_code == 400 and "Location" not in response.headers
    # A code from a correct request cannot be exchanged without the redirect_uri either (RFC 6749 §4.1.3).
    code = redirected(authorize(http, api, signin_params(challenge), ALLOW))["code"]
    token = http.post(api.url("/oauth/token"), data={"grant_type": "authorization_code", "code": code,
                                                     "code_verifier": verifier}, auth=SIGNIN, timeout=TIMEOUT)
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"
    assert "id_token" not in token.json()


def test_oauth_without_openid_may_still_omit_a_single_registered_redirect_uri(http, api):
    """RFC 6749 §3.1.2.3: with one registered URI, plain OAuth may leave it out (notes-web, notebook 04)."""
    _, challenge = pkce()
    params = {"response_type": "code", "client_id": "notes-web", "scope": "profile", "state": "s",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    response = authorize(http, api, params, {**ALLOW})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://notes-web.test/callback?code=")


# -- the authentication request: nonce and scope (OIDC Core §3.1.2.1, RFC 6749 §3.3) -------------

def test_nonce_is_required_with_openid(http, api):
    """Stricter than Core §3.1.2.1 (OPTIONAL in the code flow): see `oidc.nonce_problem` for why."""
    _, challenge = pkce()
    for missing in (None, ""):  # an empty parameter counts as omitted (RFC 6749 §3.1)
        got = redirected(authorize(http, api, signin_params(challenge, nonce=missing)))
        assert got["error"] == "invalid_request" and "nonce is required" in got["error_description"]
        assert got["iss"] == api.base_url and "code" not in got


def test_an_oversized_nonce_is_refused(http, api):
    _, challenge = pkce()
    assert "code" in redirected(authorize(http, api, signin_params(challenge, nonce="n" * 255), ALLOW))
    got = redirected(authorize(http, api, signin_params(challenge, nonce="n" * 256)))
    assert got["error"] == "invalid_request" and "longer than 255" in got["error_description"]


@pytest.mark.parametrize("nonce", ["a\x00b", "a\nb", "a\r\nSet-Cookie: x=1", "tab\there", "\x7f", "café", "\u2028"])
def test_a_nonce_with_control_or_non_ascii_characters_is_refused(http, api, nonce):
    """The nonce goes into the ID token unchanged: only printable ASCII (the syntax of state, RFC 6749 A.5)."""
    _, challenge = pkce()
    response = authorize(http, api, signin_params(challenge, nonce=nonce))
    got = redirected(response)
    assert got["error"] == "invalid_request" and "printable ASCII" in got["error_description"]
    assert nonce not in response.headers["Location"]  # never echoed


def test_a_repeated_nonce_is_refused(http, api):
    """RFC 6749 §3.1: parameters MUST NOT be included more than once; the name is echoed, the value not."""
    _, challenge = pkce()
    params = list(signin_params(challenge).items()) + [("nonce", "second")]
    got = redirected(http.get(api.url("/oauth/authorize"), params=params, allow_redirects=False, timeout=TIMEOUT))
    assert got["error"] == "invalid_request" and "nonce appeared more than once" in got["error_description"]


def test_a_client_not_registered_for_openid_gets_invalid_scope(http, api):
    """RFC 6749 §3.3 lets a server ignore part of a scope; this one refuses, as for any scope not
    registered (RFC 6749 §4.1.2.1 invalid_scope): a client that asked for sign-in must not silently
    get a plain OAuth answer without an ID token."""
    _, challenge = pkce()
    params = {"response_type": "code", "client_id": "notes-web", "redirect_uri": "https://notes-web.test/callback",
              "scope": "openid profile", "nonce": "n-1234", "state": "s", "code_challenge": challenge,
              "code_challenge_method": "S256"}
    response = authorize(http, api, params)
    assert response.status_code == 302
    got = parse_qs(urlsplit(response.headers["Location"]).query)
    assert got["error"] == ["invalid_scope"] and "code" not in got


def test_a_request_without_scope_gets_no_openid(http, api):
    """Without openid, what happens is "entirely unspecified" (Core §3.1.2.1): this provider grants the
    client's other scopes, no ID token, and needs no nonce."""
    verifier, challenge = pkce()
    got = redirected(authorize(http, api, signin_params(challenge, scope=None, nonce=None), ALLOW))
    response = exchange(http, api, got["code"], verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "profile email notes:read" and "id_token" not in body


def test_oauth_without_openid_ignores_a_nonce(http, api):
    """RFC 6749 §3.1: unrecognized parameters are ignored; a nonce means something only with openid."""
    verifier, challenge = pkce()
    got = redirected(authorize(http, api, signin_params(challenge, scope="profile", nonce="\x00" * 300), ALLOW))
    body = exchange(http, api, got["code"], verifier).json()
    assert "id_token" not in body and body["scope"] == "profile"


def test_pkce_stays_required_with_openid(http, api):
    _, challenge = pkce()
    got = redirected(authorize(http, api, signin_params(challenge, code_challenge=None)))
    assert got["error"] == "invalid_request" and "PKCE" in got["error_description"]


# -- the ID token (OIDC Core §2, §3.1.3.3, §3.1.3.6) ---------------------------------------------------

def test_the_code_flow_with_openid_returns_an_id_token(http, api):
    body, _ = sign_in(http, api)
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token", "id_token"}
    assert body["token_type"] == "Bearer" and body["scope"] == "openid profile email"


def test_the_id_token_header_is_rs256_with_a_kid_of_the_jwks_and_typ_jwt(http, api):
    body, _ = sign_in(http, api)
    header = jwt.get_unverified_header(body["id_token"])
    assert header == {"alg": "RS256", "kid": signing_key.KEY_ID, "typ": "JWT"}
    jwks = http.get(api.url("/.well-known/jwks.json"), timeout=TIMEOUT).json()
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}


def test_the_id_token_claims(http, api):
    """iss, sub, aud (the client_id), exp, iat, auth_time, nonce unchanged, at_hash; no azp (Core §2
    errata set 2: it "only occurs when extensions beyond the scope of this specification are used")."""
    before = int(api.clock.now())
    nonce = "n-0123456789-~._ !#$%&'()*+,/:;<=>?@[]^`{|}"  # every printable ASCII kind, as sent
    body, _ = sign_in(http, api, nonce=nonce)
    after = int(api.clock.now())
    claims = id_token_claims(api, body["id_token"])
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash"}
    assert claims["iss"] == api.base_url == discovery(http, api).json()["issuer"]  # Discovery §4.3
    assert claims["sub"] == "ada" and claims["aud"] == "notes-signin"
    assert claims["nonce"] == nonce
    assert before <= claims["auth_time"] <= claims["iat"] <= after and claims["exp"] == claims["iat"] + 300


def test_auth_time_is_when_the_user_signed_in_not_when_the_code_was_exchanged(http, api):
    verifier, challenge = pkce()
    before = int(api.clock.now())
    got = redirected(authorize(http, api, signin_params(challenge), ALLOW))
    after = int(api.clock.now())
    api.clock.advance(30)
    claims = id_token_claims(api, exchange(http, api, got["code"], verifier).json()["id_token"])
    assert before <= claims["auth_time"] <= after and claims["iat"] >= claims["auth_time"] + 30


def test_at_hash_is_the_left_half_of_sha256_of_the_access_token(http, api):
    """Core §3.1.3.6: base64url of the left-most 128 bits of SHA-256 of the ASCII access token."""
    body, _ = sign_in(http, api)
    digest = hashlib.sha256(body["access_token"].encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert id_token_claims(api, body["id_token"])["at_hash"] == expected == oidc.at_hash(body["access_token"])
    assert len(expected) == 22 and "=" not in expected


def test_the_id_token_iss_is_the_loopback_url_on_loopback(http):
    from helpers import serve_practice_api
    with serve_practice_api() as api:
        body, _ = sign_in(http, api)
        claims = id_token_claims(api, body["id_token"])
        assert claims["iss"] == api.base_url == discovery(http, api).json()["issuer"]
        assert api.base_url.startswith("http://127.0.0.1:")


def test_the_refresh_grant_returns_no_id_token(http, api):
    """Core §12.2: the refresh response "might not contain an id_token"; a refresh is no new sign-in."""
    body, _ = sign_in(http, api)
    response = http.post(api.url("/oauth/token"), data={"grant_type": "refresh_token",
                                                         "refresh_token": body["refresh_token"]},
                         auth=SIGNIN, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    refreshed = response.json()
    assert "id_token" not in refreshed and refreshed["scope"] == "openid profile email"


def test_a_replayed_code_gets_no_second_id_token(http, api):
    verifier, challenge = pkce()
    got = redirected(authorize(http, api, signin_params(challenge), ALLOW))
    assert "id_token" in exchange(http, api, got["code"], verifier).json()
    again = exchange(http, api, got["code"], verifier)
    assert again.status_code == 400 and error_of(again)[0] == "invalid_grant"


def test_the_id_token_and_the_access_token_differ_in_typ_and_aud(http, api):
    """So that a correct validator of either refuses the other (RFC 8725 §3.11, RFC 9068 §4)."""
    body, _ = sign_in(http, api)
    access_header = jwt.get_unverified_header(body["access_token"])
    id_header = jwt.get_unverified_header(body["id_token"])
    assert access_header["typ"] == "at+jwt" and id_header["typ"] == "JWT"
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert access["aud"] == api.base_url + "/me" and access["client_id"] == "notes-signin"
    with pytest.raises(jwt.InvalidAudienceError):  # an access token parsed as an ID token
        id_token_claims(api, body["access_token"])


@pytest.mark.parametrize("path", ["/me", "/reports", "/oauth/userinfo"])
def test_an_id_token_is_refused_as_an_access_token(http, api, path):
    body, _ = sign_in(http, api, scope="openid profile email")
    response = http.get(api.url(path), headers={"Authorization": f"Bearer {body['id_token']}"}, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="practice", error="invalid_token"')
    assert error_of(response)[0] == "invalid_token"


def test_users_have_stable_ascii_subjects_of_at_most_255_characters():
    """Core §2: sub is locally unique, never reassigned, at most 255 ASCII characters."""
    assert set(users.PROFILES) == set(users.PASSWORD_HASHES)
    for username in users.PROFILES:
        assert username.isascii() and 0 < len(username) <= 255
    assert users.PROFILES["ada"]["name"] == "Ada Lovelace"
    # Core §5.1: preferred_username is no key ("MUST NOT rely upon this value being unique"); it differs
    # from sub, so that keying accounts on it, not on (iss, sub), is a visible mistake (notebook 08).
    for username, profile in users.PROFILES.items():
        assert profile["preferred_username"] != username and profile["preferred_username"] != profile["email"]
    assert len({str(profile["preferred_username"]) for profile in users.PROFILES.values()}) == len(users.PROFILES)
    assert users.PROFILES["ada"]["email"] == "ada@practice.test" and users.PROFILES["ada"]["email_verified"] is True


def test_the_shipped_signing_keys_pass_the_rsa_consistency_check():
    """signing_key.private_key() skips that check for speed; here it runs (cryptography's default)."""
    for kid, key in KEYS.items():
        assert key.key_size == 2048 and key.public_key().public_numbers().e == 65537, kid
    numbers = {key.public_key().public_numbers().n for key in KEYS.values()}
    assert len(numbers) == len(KEYS)  # two different keys


def test_discovery_document_is_json_of_plain_types(http, api):
    assert json.loads(discovery(http, api).content) == api.app.oidc.document()


# -- UserInfo (OIDC Core §5.3, RFC 6750) --------------------------------------------------------------

def userinfo(http, api, token: str | None, method: str = "GET", **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return http.request(method, api.url("/oauth/userinfo"), headers=headers, timeout=TIMEOUT, **kwargs)


def assert_bearer_refusal(response: requests.Response, status: int, error: str | None, phrase: str = "") -> None:
    """RFC 6750 §3: a Bearer challenge; §3.1: the error code in it, none when no token came at all."""
    assert response.status_code == status, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="practice"'), challenge
    if error is None:
        assert "error=" not in challenge
    else:
        assert f'error="{error}"' in challenge and error_of(response)[0] == error
    assert phrase in response.json()["error_description"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_returns_sub_and_the_claims_of_the_granted_scopes(http, api, method):
    body, _ = sign_in(http, api, scope="openid profile email")
    response = userinfo(http, api, body["access_token"], method)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"  # personal data
    assert response.json() == {"sub": "ada", "name": "Ada Lovelace", "preferred_username": "ada.lovelace",
                               "email": "ada@practice.test", "email_verified": True}


@pytest.mark.parametrize("scope, claims", [
    ("openid", {"sub"}),
    ("openid profile", {"sub", "name", "preferred_username"}),
    ("openid email", {"sub", "email", "email_verified"}),
    ("openid notes:read", {"sub"}),
])
def test_userinfo_returns_only_what_the_scopes_allow(http, api, scope, claims):
    """Core §5.4: profile asks for name (and more), email for email and email_verified."""
    body, _ = sign_in(http, api, scope=scope)
    assert set(userinfo(http, api, body["access_token"]).json()) == claims


def test_userinfo_sub_equals_the_id_token_sub(http, api):
    """Core §5.3.2: the sub of the UserInfo response MUST be verified to exactly match the ID token's."""
    grace = {"username": "grace", "password": demo.password_of("grace"), "decision": "approve"}
    body, _ = sign_in(http, api, grace)
    assert userinfo(http, api, body["access_token"]).json()["sub"] == id_token_claims(api, body["id_token"])["sub"]
    assert userinfo(http, api, body["access_token"]).json()["name"] == "Grace Hopper"


def test_userinfo_without_a_token_gets_a_challenge_without_an_error_code(http, api):
    """RFC 6750 §3.1: a request without authentication gets no error code."""
    assert_bearer_refusal(userinfo(http, api, None), 401, None, "Send an access token")
    assert_bearer_refusal(userinfo(http, api, None, "POST"), 401, None, "Send an access token")


def test_userinfo_refuses_an_expired_token(http, api):
    body, _ = sign_in(http, api)
    api.clock.advance(300 + 6)  # past exp and the 5 s leeway
    assert_bearer_refusal(userinfo(http, api, body["access_token"]), 401, "invalid_token", "expired")


def test_userinfo_refuses_a_revoked_token(http, api):
    body, _ = sign_in(http, api)
    revoked = http.post(api.url("/oauth/revoke"), data={"token": body["access_token"]}, auth=SIGNIN, timeout=TIMEOUT)
    assert revoked.status_code == 200
    assert_bearer_refusal(userinfo(http, api, body["access_token"]), 401, "invalid_token", "revoked")


def test_userinfo_refuses_the_tokens_of_a_revoked_grant(http, api):
    """Revoking the refresh token revokes its family (RFC 7009 §2.1), the access token included."""
    body, _ = sign_in(http, api)
    http.post(api.url("/oauth/revoke"), data={"token": body["refresh_token"]}, auth=SIGNIN, timeout=TIMEOUT)
    assert_bearer_refusal(userinfo(http, api, body["access_token"]), 401, "invalid_token", "revoked")


def test_userinfo_refuses_an_id_token(http, api):
    """An ID token is for the client (aud = client_id, typ JWT), never a credential (RFC 9068 §4)."""
    body, _ = sign_in(http, api)
    assert_bearer_refusal(userinfo(http, api, body["id_token"]), 401, "invalid_token", "not an access token")


def test_userinfo_refuses_a_token_without_openid(http, api):
    """RFC 6750 §3.1 insufficient_scope: 403, and the scope it needs in the challenge."""
    token = http.post(api.url("/login"), json={"username": "ada", "password": demo.password_of("ada")},
                      timeout=TIMEOUT).json()["access_token"]
    response = userinfo(http, api, token)
    assert_bearer_refusal(response, 403, "insufficient_scope", "openid")
    assert 'scope="openid"' in response.headers["WWW-Authenticate"]
    verifier, challenge = pkce()  # an OAuth-only grant of the same client
    got = redirected(authorize(http, api, signin_params(challenge, scope="profile email"), ALLOW))
    oauth_only = exchange(http, api, got["code"], verifier).json()["access_token"]
    assert_bearer_refusal(userinfo(http, api, oauth_only), 403, "insufficient_scope", "openid")


def test_userinfo_refuses_a_token_for_another_audience(http, api):
    """RFC 9068 §4: a client-credentials token is for /reports, and a resource-indicator token (RFC 8707)
    for another API; even one granted openid is refused, for its audience alone."""
    reports = http.post(api.url("/oauth/token"), data={"grant_type": "client_credentials"},
                        auth=("reports-job", str(demo.client("reports-job")["client_secret"])),
                        timeout=TIMEOUT).json()["access_token"]
    assert_bearer_refusal(userinfo(http, api, reports), 401, "invalid_token", "another audience")
    notes = http.post(api.url("/login"), json={"username": "ada", "password": demo.password_of("ada"),
                                                "resource": "https://notes.practice.test"}, timeout=TIMEOUT)
    assert notes.status_code == 200 and jwt.decode(notes.json()["access_token"], options={
        "verify_signature": False})["aud"] == "https://notes.practice.test"
    assert_bearer_refusal(userinfo(http, api, notes.json()["access_token"]), 401, "invalid_token", "another audience")
    # The same, granted openid: only the audience is wrong (the demo key is public, anyone can sign this).
    forged = access_token_for(api, aud="https://notes.practice.test", scope="openid profile")
    assert_bearer_refusal(userinfo(http, api, forged), 401, "invalid_token", "another audience")
    assert userinfo(http, api, access_token_for(api, scope="openid profile")).status_code == 200  # the control


def access_token_for(api, **changes) -> str:
    """An access token as this API issues them (RFC 9068 §2), signed with the public demo key, changed."""
    now = int(api.clock.now())
    claims = {"iss": api.base_url, "aud": api.base_url + "/me", "sub": "ada", "client_id": "notes-signin",
              "iat": now, "exp": now + 60, "scope": "openid", "jti": secrets.token_hex(8), **changes}
    return jwt.encode(claims, KEYS[signing_key.KEY_ID], algorithm="RS256",
                      headers={"kid": signing_key.KEY_ID, "typ": "at+jwt"})


@pytest.mark.parametrize("path", ["/me", "/reports", "/oauth/userinfo"])
def test_an_id_token_typed_as_an_access_token_is_still_refused_for_its_audience(http, api, path):
    """RFC 8725 §3.11 and RFC 9068 §4: typ is one defence, aud the other. A token claiming typ at+jwt,
    with every claim of an access token, but aud = the client_id as in an ID token, is refused."""
    token = access_token_for(api, aud="notes-signin", scope="openid profile reports:read")
    response = http.get(api.url(path), headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    assert_bearer_refusal(response, 401, "invalid_token", "another audience")
    introspected = http.post(api.url("/oauth/introspect"), data={"token": token}, timeout=TIMEOUT,
                             auth=("notes-api", str(demo.client("notes-api")["client_secret"])))
    assert introspected.status_code == 200 and introspected.json() == {"active": False}


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer  ", "Basic YWRhOng=", "Bearer a b", "Bearer " + "x" * 5000,
                                           "Bearer not.a.jwt", "Bearer \x7f"])
def test_userinfo_refuses_malformed_authorization_headers(http, api, authorization):
    response = http.get(api.url("/oauth/userinfo"), headers={"Authorization": authorization}, timeout=TIMEOUT)
    assert response.status_code in (400, 401), response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert set(response.json()) == {"error", "error_description"}


def test_userinfo_takes_no_token_in_the_form_body(http, api):
    """RFC 6750 §2.2 (form-encoded body parameter) is optional for a server; this one says so."""
    body, _ = sign_in(http, api)
    response = http.post(api.url("/oauth/userinfo"), data={"access_token": body["access_token"]}, timeout=TIMEOUT)
    assert response.status_code == 400 and error_of(response) == (
        "invalid_request", "Send the access token in the Authorization header ('Authorization: Bearer <token>', "
                           "or 'Authorization: DPoP <token>' and a DPoP proof for a DPoP-bound one), not in the form "
                           "body.")
    # A POST with the token in the header and an unrelated form or JSON body still works.
    for extra in ({"data": {"x": "1"}}, {"json": {"x": 1}}, {}):
        assert userinfo(http, api, body["access_token"], "POST", **extra).status_code == 200


def test_userinfo_refuses_a_signed_token_about_nobody(http, api):
    """The demo key is public: a token it signs may name any sub. UserInfo knows only its users."""
    now = int(api.clock.now())
    claims = {"iss": api.base_url, "aud": api.base_url + "/me", "sub": "mallory", "client_id": "notes-signin",
              "iat": now, "exp": now + 60, "scope": "openid", "jti": "j1"}
    token = jwt.encode(claims, KEYS[signing_key.KEY_ID], algorithm="RS256",
                       headers={"kid": signing_key.KEY_ID, "typ": "at+jwt"})
    assert_bearer_refusal(userinfo(http, api, token), 401, "invalid_token", "not a user")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_userinfo_refuses_other_methods_with_405_and_allow(http, api, method):
    response = userinfo(http, api, None, method)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, POST, HEAD"


def test_a_changed_email_is_unverified_and_can_be_anyones(http, api):
    """The accounts-keyed-by-email attack of notebook 08: grace types ada's address into her profile.
    UserInfo then says so, with email_verified false; (iss, sub) still tells them apart (Core §5.7)."""
    api.change_email("grace", "ada@practice.test")
    grace = {"username": "grace", "password": demo.password_of("grace"), "decision": "approve"}
    body, _ = sign_in(http, api, grace)
    info = userinfo(http, api, body["access_token"]).json()
    assert info == {"sub": "grace", "name": "Grace Hopper", "preferred_username": "grace.hopper",
                    "email": "ada@practice.test", "email_verified": False}
    ada, _ = sign_in(http, api)
    assert userinfo(http, api, ada["access_token"]).json()["email_verified"] is True
    assert users.PROFILES["grace"]["email"] == "grace@practice.test"  # another API is not changed
    with pytest.raises(KeyError):
        api.change_email("mallory", "x@practice.test")


# -- signing key rotation (the JWKS holds old and new during the overlap) -----------------------------

def published_kids(http, api) -> list[str]:
    return [key["kid"] for key in http.get(api.url("/.well-known/jwks.json"), timeout=TIMEOUT).json()["keys"]]


def login_token(http, api) -> str:
    response = http.post(api.url("/login"), json={"username": "ada", "password": demo.password_of("ada")},
                         timeout=TIMEOUT)
    return response.json()["access_token"]


def me(http, api, token: str) -> requests.Response:
    return http.get(api.url("/me"), headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)


def test_rotation_publishes_then_signs_then_retires(http, api):
    """The three steps of `tokens.TokenService`: publish (JWKS holds both, signing unchanged), sign with
    the new key once verifiers can have fetched it, retire the old one once its tokens have expired."""
    old_token = login_token(http, api)
    new_kid = api.publish_signing_key()
    assert new_kid == signing_key.NEXT_KEY_ID
    assert published_kids(http, api) == [signing_key.KEY_ID, new_kid]  # both during the overlap
    # Published is not signing: a verifier that has not fetched the new JWKS yet still verifies these.
    assert jwt.get_unverified_header(login_token(http, api))["kid"] == signing_key.KEY_ID
    assert jwt.get_unverified_header(sign_in(http, api)[0]["id_token"])["kid"] == signing_key.KEY_ID

    api.clock.advance(300)  # the JWKS's max-age: every verifier can have the new set now
    api.sign_with(new_kid)
    old_id_token = sign_in(http, api)[0]["id_token"]  # (signed before the retirement below, with the new key)
    new_token = login_token(http, api)
    new_id_token = sign_in(http, api)[0]["id_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert jwt.get_unverified_header(new_id_token)["kid"] == new_kid
    id_token_claims(api, new_id_token, new_kid)  # the new key verifies it
    assert me(http, api, new_token).status_code == 200
    assert jwt.get_unverified_header(old_id_token)["kid"] == new_kid

    api.retire_signing_key(signing_key.KEY_ID)
    assert published_kids(http, api) == [new_kid]
    response = me(http, api, old_token)
    assert response.status_code == 401  # expired by now, and its key is gone
    assert me(http, api, new_token).status_code == 200
    jwks = jwt.PyJWKSet.from_dict(http.get(api.url("/.well-known/jwks.json"), timeout=TIMEOUT).json())
    assert [key.key_id for key in jwks.keys] == [new_kid]
    with pytest.raises(KeyError):
        jwks[signing_key.KEY_ID]  # a validator can no longer find the old key


def test_a_retired_key_fails_its_tokens_at_once(http, api):
    old_token = login_token(http, api)
    api.sign_with(api.publish_signing_key())
    assert me(http, api, old_token).status_code == 200  # tokens of the old key still work
    api.retire_signing_key(signing_key.KEY_ID)
    response = me(http, api, old_token)
    assert response.status_code == 401 and "kid names no key" in response.json()["error_description"]


def test_there_is_no_one_step_rotation_shortcut(api):
    """Publishing and signing at once is the unsafe order (see the PyJWKClient test): the handle offers
    only the three steps, so a learner cannot pick the shortcut."""
    for handle in (api, api.app.tokens):
        assert not hasattr(handle, "rotate_signing_key")
        assert all(callable(getattr(handle, step)) for step in
                   ("publish_signing_key", "sign_with", "retire_signing_key"))


def test_the_jwks_keys_are_the_shipped_public_keys(http, api):
    api.publish_signing_key()
    jwks = jwt.PyJWKSet.from_dict(http.get(api.url("/.well-known/jwks.json"), timeout=TIMEOUT).json())
    assert len(jwks.keys) == 2
    for key in jwks.keys:
        assert key.key.public_numbers() == KEYS[key.key_id].public_key().public_numbers()
        assert key.algorithm_name == "RS256" and key.public_key_use == "sig"


def test_rotation_refuses_what_would_break_or_cannot_be(api):
    with pytest.raises(ValueError, match="signs new tokens"):
        api.retire_signing_key(signing_key.KEY_ID)  # the only key: nothing would verify new tokens
    with pytest.raises(KeyError):
        api.retire_signing_key("practice-1999")
    with pytest.raises(KeyError, match="publish_signing_key"):
        api.sign_with(signing_key.NEXT_KEY_ID)  # not published: no verifier could find it
    new_kid = api.publish_signing_key()
    with pytest.raises(RuntimeError, match="two demo signing keys"):
        api.publish_signing_key()
    with pytest.raises(ValueError, match="signs new tokens"):
        api.retire_signing_key(signing_key.KEY_ID)  # published is not signing: the old key still signs
    api.sign_with(new_kid)
    api.retire_signing_key(signing_key.KEY_ID)
    with pytest.raises(RuntimeError):  # a retired key never comes back
        api.publish_signing_key()
    with pytest.raises(KeyError):
        api.retire_signing_key(signing_key.KEY_ID)
    with pytest.raises(KeyError):
        api.sign_with(signing_key.KEY_ID)  # retired: never signs again


def test_a_rotation_stays_in_its_own_api(http, api):
    api.sign_with(api.publish_signing_key())
    from helpers.practice_api.app import PracticeAPI
    assert PracticeAPI().tokens.jwks()["keys"][0]["kid"] == signing_key.KEY_ID
    assert len(PracticeAPI().tokens.jwks()["keys"]) == 1
    assert PracticeAPI().tokens.signing_kid == signing_key.KEY_ID


def test_a_token_is_signed_by_the_key_its_kid_names_even_during_a_rotation(api, monkeypatch):
    """`sign` reads the kid once: a rotation between reading the kid and loading the key (another
    thread) must not produce a token whose kid names the other key."""
    service = api.app.tokens
    real = signing_key.private_key
    calls = []

    def rotate_meanwhile(kid=signing_key.KEY_ID):
        if not calls:
            service.sign_with(service.publish_signing_key())  # what another thread could do just now
        calls.append(kid)
        return real(kid)

    monkeypatch.setattr(signing_key, "private_key", rotate_meanwhile)
    token = service.sign({"sub": "ada"}, "JWT")
    kid = jwt.get_unverified_header(token)["kid"]
    jwt.decode(token, real(kid).public_key(), algorithms=["RS256"])  # the key its kid names signed it


def test_rotation_on_loopback_with_pyjwkclient(http):
    """PyJWKClient (PyJWT >= 2.14) refetches the JWKS for an unknown kid only after cooldown_duration
    since its last fetch. In the safe order a client that fetched a moment ago (within the cooldown)
    verifies every token; in the unsafe one (publish and sign at once) it refuses."""
    from helpers import serve_practice_api
    with serve_practice_api() as server:
        url = server.url("/.well-known/jwks.json")
        before = jwt.PyJWKClient(url, cache_keys=False, lifespan=300, timeout=5)
        assert before.get_signing_key_from_jwt(sign_in(http, server)[0]["id_token"]).key_id == signing_key.KEY_ID
        new_kid = server.publish_signing_key()
        # Fetched before the publication: still right, the tokens carry the old kid.
        assert before.get_signing_key_from_jwt(sign_in(http, server)[0]["id_token"]).key_id == signing_key.KEY_ID
        after = jwt.PyJWKClient(url, cache_keys=False, lifespan=300, timeout=5)
        after.get_signing_keys()  # its cache refreshed after the publication: it is within its cooldown now
        server.sign_with(new_kid)
        token = sign_in(http, server)[0]["id_token"]
        key = after.get_signing_key_from_jwt(token)  # found in the set it holds: no refetch needed
        assert key.key_id == new_kid
        claims = jwt.decode(token, key, algorithms=["RS256"], audience="notes-signin", issuer=server.base_url)
        assert claims["sub"] == "ada"
        server.retire_signing_key(signing_key.KEY_ID)
        assert [k.key_id for k in jwt.PyJWKClient(url, timeout=5).get_signing_keys()] == [new_kid]

    with serve_practice_api() as server:  # the unsafe order
        url = server.url("/.well-known/jwks.json")
        client = jwt.PyJWKClient(url, cache_keys=False, lifespan=300, timeout=5)
        assert client.get_signing_key_from_jwt(sign_in(http, server)[0]["id_token"]).key_id == signing_key.KEY_ID
        new_kid = server.publish_signing_key()
        server.sign_with(new_kid)  # at once: no verifier can have fetched the new key yet
        token = sign_in(http, server)[0]["id_token"]
        assert jwt.get_unverified_header(token)["kid"] == new_kid
        with pytest.raises(jwt.PyJWKClientError):  # an unknown kid within the cooldown: no refetch
            client.get_signing_key_from_jwt(token)
        assert client.cooldown_duration == 30  # PyJWT's default, the reason for the two steps


# -- what a maintained library says about these tokens --------------------------------------------------

def test_authlib_validates_the_id_token_nonce_and_at_hash(http, api):
    """An independent check of the claims, at_hash included: joserfc verifies the signature, Authlib's
    CodeIDToken the claims (Core §3.1.3.7). Neither imports authlib.jose, which Authlib 1.9 deprecates."""
    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt as joserfc_jwt
    from joserfc.errors import InvalidClaimError  # what Authlib 1.9's claims raise
    from joserfc.jwk import KeySet

    body, params = sign_in(http, api)
    keys = KeySet.import_key_set(http.get(api.url("/.well-known/jwks.json"), timeout=TIMEOUT).json())
    token = joserfc_jwt.decode(body["id_token"], keys, algorithms=["RS256"])

    def validate(nonce: str, access_token: str) -> None:
        claims = CodeIDToken(token.claims, token.header, {"iss": {"essential": True, "value": api.base_url}},
                             {"nonce": nonce, "client_id": "notes-signin", "access_token": access_token})
        claims.validate(now=int(api.clock.now()), leeway=5)

    validate(params["nonce"], body["access_token"])
    with pytest.raises(InvalidClaimError, match="nonce"):
        validate("another nonce", body["access_token"])
    with pytest.raises(InvalidClaimError, match="at_hash"):
        validate(params["nonce"], login_token(http, api))


# -- the rest of the authentication request (OIDC Core §3.1.2.1, §6) --------------------------------------

@pytest.mark.parametrize("name, error", [("request", "request_not_supported"),
                                         ("request_uri", "request_uri_not_supported")])
def test_request_objects_are_refused_not_ignored(http, api, name, error):
    """Core §6.1, §6.2: an OP that does not support them MUST return these errors."""
    _, challenge = pkce()
    got = redirected(authorize(http, api, signin_params(challenge, **{name: "eyJhbGciOiJub25lIn0.e30."})))
    assert got["error"] == error and "code" not in got


def test_discovery_says_request_uri_is_not_supported(http, api):
    """Discovery §3: request_uri_parameter_supported defaults to true when omitted."""
    document = discovery(http, api).json()
    assert document["request_uri_parameter_supported"] is False
    assert document["request_parameter_supported"] is False and document["claims_parameter_supported"] is False


def test_prompt_none_gets_login_required(http, api):
    """Core §3.1.2.1: with prompt=none no login page may be shown; this provider has no session."""
    _, challenge = pkce()
    response = authorize(http, api, signin_params(challenge, prompt="none"))
    got = redirected(response)
    assert response.status_code == 302 and got["error"] == "login_required"
    mixed = redirected(authorize(http, api, signin_params(challenge, prompt="none login")))
    assert mixed["error"] == "invalid_request"
    page = authorize(http, api, signin_params(challenge, prompt="login consent"))
    assert page.status_code == 200 and "Sign in" in page.text


def test_max_age_is_met_by_a_fresh_sign_in_with_auth_time(http, api):
    """Core §3.1.2.1: with max_age, the ID token MUST carry auth_time; every sign-in here is fresh."""
    body, _ = sign_in(http, api, max_age="0")
    claims = id_token_claims(api, body["id_token"])
    assert claims["iat"] - claims["auth_time"] <= 1


def test_introspection_calls_an_id_token_inactive(http, api):
    """RFC 7662 §2.2: a resource server asking about an ID token learns only active: false."""
    body, _ = sign_in(http, api)
    api_client = ("notes-api", str(demo.client("notes-api")["client_secret"]))
    answers = [http.post(api.url("/oauth/introspect"), data={"token": token}, auth=api_client, timeout=TIMEOUT).json()
               for token in (body["id_token"], body["access_token"])]
    assert answers[0] == {"active": False}
    assert answers[1]["active"] is True and answers[1]["scope"] == "openid profile email"


# -- review 15 (fix15s): caching, parameters, UserInfo after verification -------------------------

@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
                                  "/.well-known/jwks.json"])
def test_the_published_documents_share_one_cache_rule(http, any_api, path):
    """Both discovery documents describe the same server (the OpenID one is built from the RFC 8414
    one): a client must not see them cached differently. The JWKS follows the same rule."""
    from helpers.practice_api.wsgi import PUBLISHED_MAX_AGE
    response = http.get(any_api.url(path), timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == f"max-age={PUBLISHED_MAX_AGE}"


@pytest.mark.parametrize("max_age", ["-1", "1.5", "1e3", "+5", " 5", "5 ", "abc", "0x10", "\u0663", "９"])
def test_max_age_must_be_a_non_negative_integer(http, api, max_age):
    """Core §3.1.2.1: max_age is a number of seconds. Anything else is invalid_request, not ignored."""
    _, challenge = pkce()
    got = redirected(authorize(http, api, signin_params(challenge, max_age=max_age), ALLOW))
    assert got["error"] == "invalid_request" and "max_age" in got["error_description"] and "code" not in got


@pytest.mark.parametrize("max_age", ["0", "300", "86400", "9" * 30])
def test_any_non_negative_integer_max_age_is_met(http, api, max_age):
    _, challenge = pkce()
    assert "code" in redirected(authorize(http, api, signin_params(challenge, max_age=max_age), ALLOW))


@pytest.mark.parametrize("mode", ["fragment", "form_post", "web_message", "QUERY", "query.jwt"])
@pytest.mark.parametrize("client", ["notes-signin", "notes-cli"])
def test_only_response_mode_query_is_accepted(http, api, mode, client):
    """Discovery and RFC 8414 say response_modes_supported ["query"]: another mode is refused, not
    ignored, or the client would wait for a fragment or a form post that never comes."""
    _, challenge = pkce()
    params = signin_params(challenge, response_mode=mode)
    if client == "notes-cli":
        params.update(client_id="notes-cli", scope="profile", redirect_uri="http://127.0.0.1:8765/callback")
        params.pop("nonce")
    response = authorize(http, api, params, ALLOW)
    assert response.status_code == 303
    got = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    assert got["error"] == "invalid_request" and "response_mode=query" in got["error_description"]
    assert api.app.oauth.metadata_document()["response_modes_supported"] == ["query"]
    assert "code" in redirected(authorize(http, api, signin_params(challenge, response_mode="query"), ALLOW))


@pytest.mark.parametrize("nonce", [" ", "   ", " " * 255])
def test_a_nonce_of_spaces_only_is_refused(http, api, nonce):
    """A nonce binds the ID token to one request (Core §3.1.2.1, §15.5.2): spaces only bind nothing."""
    _, challenge = pkce()
    got = redirected(authorize(http, api, signin_params(challenge, nonce=nonce), ALLOW))
    assert got["error"] == "invalid_request" and "other than space" in got["error_description"]
    assert "code" in redirected(authorize(http, api, signin_params(challenge, nonce=" n "), ALLOW))


@pytest.mark.parametrize("prompt", ["none ", " none", "login ", "login  consent", "none\tlogin", "Login", "NONE",
                                    "always", "login,consent"])
def test_prompt_is_space_separated_values_as_strictly_as_scope(http, api, prompt):
    """Core §3.1.2.1: "space delimited, case sensitive list of ASCII string values", parsed like scope
    (RFC 6749 §3.3: one SP between values, none around them), of the four values Core defines. A
    trailing space is refused, as in scope: never quietly taken for prompt=none or ignored."""
    _, challenge = pkce()
    got = redirected(authorize(http, api, signin_params(challenge, prompt=prompt)))
    assert got["error"] == "invalid_request" and "prompt is a list of values" in got["error_description"]


@pytest.mark.parametrize("prompt", ["login", "consent", "select_account", "login consent", "consent login"])
def test_prompt_values_other_than_none_show_the_sign_in_page(http, api, prompt):
    """Every sign-in here is fresh and asks for consent: login, consent and select_account are met."""
    _, challenge = pkce()
    page = authorize(http, api, signin_params(challenge, prompt=prompt))
    assert page.status_code == 200 and "Sign in" in page.text


@pytest.mark.parametrize("authorization", [None, "", "Basic YWRhOng=", "Token abc"])
def test_userinfo_and_me_answer_a_missing_token_alike(http, api, authorization):
    """RFC 6750 §3.1: a request without authentication information gets a challenge with no error
    code. UserInfo and /me share the parsing (`tokens._bearer_token`), so their answers are identical;
    the body's `missing_token` is this API's own code (as missing_credentials is Basic's), never in
    the challenge."""
    headers = {} if authorization is None else {"Authorization": authorization}
    answers = [http.get(api.url(path), headers=headers, timeout=TIMEOUT) for path in ("/me", "/oauth/userinfo")]
    for response in answers:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="practice"'
        assert error_of(response)[0] == "missing_token"
    assert answers[0].json() == answers[1].json()


def test_userinfo_keeps_the_binding_of_a_dpop_bound_token_rfc9449_section_7_1(http, api):
    """A DPoP-bound access token granted openid is refused at UserInfo as a bare Bearer token, and
    accepted with `Authorization: DPoP` and a proof of its key: UserInfo checks bindings as /me does."""
    from helpers.client.dpop import DPoPAuth
    verifier, challenge = pkce()
    got = redirected(authorize(http, api, signin_params(challenge), ALLOW))
    dpop = DPoPAuth()
    response = http.post(api.url("/oauth/token"), data={"grant_type": "authorization_code", "code": got["code"],
                                                        "code_verifier": verifier, "redirect_uri": SIGNIN_REDIRECT},
                         auth=dpop.token_auth(requests.auth.HTTPBasicAuth(*SIGNIN)), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "DPoP" and "id_token" in tokens
    as_bearer = http.get(api.url("/oauth/userinfo"), headers={"Authorization": "Bearer " + tokens["access_token"]},
                         timeout=TIMEOUT)
    assert as_bearer.status_code == 401, as_bearer.text
    assert error_of(as_bearer)[0] == "invalid_token" and "DPoP" in error_of(as_bearer)[1]
    challenge = as_bearer.headers["WWW-Authenticate"]
    assert challenge.startswith('DPoP realm="practice", algs="') and 'error="invalid_token"' in challenge
    dpop.use_token(tokens)
    with_proof = http.get(api.url("/oauth/userinfo"), auth=dpop, timeout=TIMEOUT)
    assert with_proof.status_code == 200, with_proof.text
    assert with_proof.json()["sub"] == "ada"
