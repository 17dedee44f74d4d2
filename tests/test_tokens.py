"""Bearer tokens on the practice API (notebook 03): /login, /oauth/token, /me and the JWKS.

Issuing is checked claim by claim; verifying is attacked one way per test, and each attack
must be refused with 401 invalid_token and its own error_description, in the JSON body and
in the RFC 6750 §3 challenge alike. Most tests use the in-process transport; a few run on
the loopback transport as well, to show it answers the same.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from helpers import serve_practice_api, start_practice_api
from helpers.practice_api import demo, signing_key, tokens

TIMEOUT = 5
ADA = {"username": "ada", "password": demo.password_of("ada")}
GRACE = {"username": "grace", "password": demo.password_of("grace")}
PRIVATE_KEY = serialization.load_pem_private_key(signing_key.PRIVATE_KEY_PEM, None)
PUBLIC_KEY_PEM = PRIVATE_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
BARE_CHALLENGE = 'Bearer realm="practice"'
CHALLENGE = re.compile(r'Bearer realm="practice", error="([a-z_]+)", '
                       r'error_description="([\x20-\x21\x23-\x5b\x5d-\x7e]*)"')  # RFC 6750 §3 charset

# What each attack's error_description says. Each must be distinct, so that a learner (and
# this file) can tell which check refused the token.
ATTACK_PHRASES = {
    "alg_none": "Unsigned tokens (alg=none) are refused.",
    "tampered": "The signature does not match",
    "key_confusion": "The algorithm 'HS256' is not accepted; this API accepts RS256 only.",
    "wrong_aud": f"meant for another audience, not {tokens.AUDIENCE}",
    "wrong_iss": f"The token was not issued by {tokens.ISSUER}.",
    "expired": "expired",
    "unknown_kid": "kid names no key in /.well-known/jwks.json",
    "wrong_typ": "typ is not at+jwt: it is not an access token",
    "malformed_header": "header is malformed",
    "revoked": "The token was revoked.",
}


# -- fixtures and small tools ------------------------------------------------------------------

@pytest.fixture
def api():
    api = start_practice_api()  # the demo key is parsed once per process, not per app
    try:
        yield api
    finally:
        api.stop()
    assert api.app.errors == [], "the practice API hit a bug (500):\n" + "\n".join(api.app.errors)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    return json.loads(unb64url(header)), json.loads(unb64url(payload)), signature


def claims_now(api, **changes) -> dict:
    """The claims a real access token of ada carries now, with `changes` (None removes a claim)."""
    now = int(api.clock.now())
    claims = {"iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": "ada", "client_id": tokens.LOGIN_CLIENT_ID,
              "iat": now, "exp": now + tokens.ACCESS_TOKEN_SECONDS, "scope": "profile notes:read",
              "jti": "test-" + str(now)}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict, kid: str = signing_key.KEY_ID, typ: str | None = "at+jwt") -> str:
    """A properly signed RS256 token with the demo private key: only what the test changed is wrong.

    `typ=None` leaves typ out (PyJWT writes "JWT" unless told otherwise)."""
    return jwt.encode(claims, PRIVATE_KEY, algorithm="RS256", headers={"kid": kid, "typ": typ})


def login(http, api, body: dict | None = None, **kwargs) -> requests.Response:
    if body is None and "data" not in kwargs and "json" not in kwargs:
        body = ADA
    if body is not None:
        kwargs["json"] = body
    return http.post(api.url("/login"), timeout=TIMEOUT, **kwargs)


def tokens_of(http, api, body: dict | None = None) -> dict:
    response = login(http, api, body)
    assert response.status_code == 200, response.text
    return response.json()


def me(http, api, token: str | None = None, *, authorization: str | None = None) -> requests.Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    return http.get(api.url("/me"), headers=headers, timeout=TIMEOUT)


def refresh(http, api, refresh_token: str) -> requests.Response:
    return http.post(api.url("/oauth/token"), data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                     timeout=TIMEOUT)


def error_of(response: requests.Response) -> tuple[str, str]:
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "error_description"}
    return body["error"], body["error_description"]


def assert_token_error(response: requests.Response, status: int, code: str, phrase: str) -> str:
    """A bearer error: the JSON body and the challenge carry the same code and description."""
    assert response.status_code == status, response.text
    error, description = error_of(response)
    assert error == code
    assert phrase in description, description
    challenge = CHALLENGE.fullmatch(response.headers["WWW-Authenticate"])
    assert challenge, response.headers["WWW-Authenticate"]
    assert challenge.group(1) == code
    assert challenge.group(2) == description  # every description of this API is plain ASCII
    return description


def assert_attack_refused(response: requests.Response, attack: str) -> None:
    description = assert_token_error(response, 401, "invalid_token", ATTACK_PHRASES[attack])
    others = [name for name, phrase in ATTACK_PHRASES.items() if name != attack and phrase in description]
    assert others == [], f"{attack} is described like {others}: {description}"


def assert_grant_error(response: requests.Response, code: str, phrase: str) -> None:
    assert response.status_code == 400, response.text
    assert "WWW-Authenticate" not in response.headers
    error, description = error_of(response)
    assert error == code
    assert phrase in description, description


# -- POST /login ------------------------------------------------------------------------------

def test_login_returns_a_token_response(http, api):
    before = api.clock.now()
    response = login(http, api)
    after = api.clock.now()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"  # RFC 6749 §5.1
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "profile notes:read"

    header, claims, signature = parts(body["access_token"])
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": signing_key.KEY_ID}  # RFC 9068 §2.1
    assert set(claims) == {"iss", "aud", "sub", "client_id", "iat", "exp", "scope", "jti"}  # RFC 9068 §2.2
    assert claims["iss"] == tokens.ISSUER == "https://api.practice.test"
    assert claims["aud"] == tokens.AUDIENCE
    assert claims["sub"] == "ada"
    assert claims["client_id"] == tokens.LOGIN_CLIENT_ID == "practice-login"  # the API's own first-party login
    assert int(before) <= claims["iat"] <= after
    assert claims["exp"] == claims["iat"] + 300
    assert claims["scope"] == "profile notes:read"
    assert re.fullmatch(r"[0-9a-f]{32}", claims["jti"])
    assert len(unb64url(signature)) == 256  # RSA-2048
    verified = jwt.decode(body["access_token"], PRIVATE_KEY.public_key(), algorithms=["RS256"],
                          audience=tokens.AUDIENCE, issuer=tokens.ISSUER)
    assert verified == claims


@pytest.mark.parametrize("auth, data", [
    (None, {"client_id": tokens.LOGIN_CLIENT_ID}),
    ((tokens.LOGIN_CLIENT_ID, ""), {}),
    ((tokens.LOGIN_CLIENT_ID, "x"), {}),
], ids=["as-a-public-client", "basic-empty-secret", "basic-some-secret"])
def test_nobody_can_act_as_the_login_client(http, api, auth, data):
    """The client_id of /login tokens is a name, not a registered client: no request can authenticate
    as it, so it cannot refresh someone else's token or get tokens of its own."""
    refresh_token = tokens_of(http, api)["refresh_token"]
    response = http.post(api.url("/oauth/token"), data={"grant_type": "refresh_token", "refresh_token": refresh_token,
                                                        **data}, auth=auth, timeout=TIMEOUT)
    assert response.status_code == 401, response.text
    assert error_of(response)[0] == "invalid_client"
    assert tokens.LOGIN_CLIENT_ID not in {client["client_id"] for client in demo.CLIENTS}


def test_refresh_token_is_opaque_and_stored_as_hash(http, api):
    body = tokens_of(http, api)
    refresh_token = body["refresh_token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", refresh_token)  # 32 random bytes or more, no structure
    with pytest.raises(jwt.DecodeError):
        jwt.get_unverified_header(refresh_token)
    service = api.app.tokens
    assert refresh_token not in repr({digest: vars(record) for digest, record in service.refresh_tokens.items()})
    assert hashlib.sha256(refresh_token.encode()).hexdigest() in service.refresh_tokens


def test_each_login_gets_new_tokens(http, api):
    first, second = tokens_of(http, api), tokens_of(http, api)
    assert first["access_token"] != second["access_token"]
    assert first["refresh_token"] != second["refresh_token"]
    assert parts(first["access_token"])[1]["jti"] != parts(second["access_token"])[1]["jti"]


def test_grace_with_non_ascii_password_logs_in(http, api):
    body = tokens_of(http, api, GRACE)
    assert me(http, api, body["access_token"]).json() == {"username": "grace", "scope": "profile notes:read"}


def test_wrong_password_is_invalid_grant(http, api):
    response = login(http, api, {"username": "ada", "password": "not-it"})
    assert_grant_error(response, "invalid_grant", "Wrong user name or password.")


def test_unknown_user_looks_like_wrong_password(http, api):
    wrong_password = login(http, api, {"username": "ada", "password": "not-it"})
    unknown_user = login(http, api, {"username": "nobody", "password": "not-it"})
    assert wrong_password.status_code == unknown_user.status_code == 400
    assert wrong_password.content == unknown_user.content


def test_five_failures_lock_login_out_with_retry_after(http, api):
    for attempt in range(5):
        assert login(http, api, {"username": "ada", "password": f"guess-{attempt}"}).status_code == 400
    response = login(http, api)  # even the right password
    assert response.status_code == 429
    error, description = error_of(response)
    assert error == "too_many_attempts"
    assert "'ada'" in description and "Retry-After" in description
    assert response.headers["Retry-After"].isdigit()
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert login(http, api, GRACE).status_code == 200  # per user
    api.clock.advance(int(response.headers["Retry-After"]))
    assert login(http, api).status_code == 200


def test_lockout_is_shared_with_basic_auth(http, api):
    for attempt in range(3):
        assert login(http, api, {"username": "ada", "password": f"guess-{attempt}"}).status_code == 400
    for attempt in range(2):
        basic = http.get(api.url("/basic/whoami"), auth=("ada", f"basic-guess-{attempt}"), timeout=TIMEOUT)
        assert basic.status_code == 401
    assert login(http, api).status_code == 429
    basic = http.get(api.url("/basic/whoami"), auth=(ADA["username"], ADA["password"]), timeout=TIMEOUT)
    assert basic.status_code == 429
    assert basic.headers["Retry-After"].isdigit()


@pytest.mark.parametrize("body", [
    pytest.param({}, id="empty"),
    pytest.param({"username": "ada"}, id="no-password"),
    pytest.param({"password": ADA["password"]}, id="no-username"),
    pytest.param({"username": "ada", "password": None}, id="null-password"),
    pytest.param({"username": 42, "password": ADA["password"]}, id="number-username"),
    pytest.param({"username": ["ada"], "password": ADA["password"]}, id="list-username"),
    pytest.param({"username": "ada", "password": {"value": "x"}}, id="object-password"),
    pytest.param({"user": "ada", "pass": ADA["password"]}, id="wrong-names"),
])
def test_missing_or_non_string_fields_are_invalid_request(http, api, body):
    response = login(http, api, body)
    assert_grant_error(response, "invalid_request", '{"username": "...", "password": "..."} as strings')


@pytest.mark.parametrize("kwargs, phrase", [
    pytest.param({"data": b"username=ada", "headers": {"Content-Type": "application/json"}}, "not valid JSON",
                 id="not-json"),
    pytest.param({"data": b"\xff\xfe", "headers": {"Content-Type": "application/json"}}, "not valid JSON",
                 id="not-utf8"),
    pytest.param({"json": ["ada", "pw"]}, "must be an object", id="array"),
    pytest.param({"data": ADA}, "Content-Type: application/json", id="form"),
    pytest.param({"data": json.dumps(ADA).encode(), "headers": {"Content-Type": "text/plain"}},
                 "Content-Type: application/json", id="text-plain"),
])
def test_non_json_login_is_invalid_request(http, api, kwargs, phrase):
    response = login(http, api, None, **kwargs)
    assert_grant_error(response, "invalid_request", phrase)


def test_deeply_nested_json_login_is_400_not_500(http, api):
    body = b'{"username": ' + b"[" * 50_000 + b"]" * 50_000 + b', "password": "x"}'
    response = login(http, api, None, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert error_of(response)[0] == "invalid_request"


@pytest.mark.parametrize("scope", ["admin", "", "   ", "profile admin", "notes:write", 5, ["profile"]])
def test_invalid_scope_is_400(http, api, scope):
    response = login(http, api, {**ADA, "scope": scope})
    assert_grant_error(response, "invalid_scope", "space-separated list of: notes:read profile")


def test_invalid_scope_does_not_count_as_a_failed_login(http, api):
    for _ in range(6):
        assert login(http, api, {**ADA, "scope": "admin"}).status_code == 400
    assert login(http, api).status_code == 200


def test_narrowed_scope_cannot_read_me(http, api):
    body = tokens_of(http, api, {**ADA, "scope": "notes:read"})
    assert body["scope"] == "notes:read"
    assert parts(body["access_token"])[1]["scope"] == "notes:read"
    response = me(http, api, body["access_token"])
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == \
        'Bearer realm="practice", error="insufficient_scope", scope="profile"'
    error, description = error_of(response)
    assert error == "insufficient_scope"
    assert "'profile'" in description


def test_profile_scope_alone_reads_me(http, api):
    body = tokens_of(http, api, {**ADA, "scope": "profile"})  # SP-separated only: see test_oauth_review04
    assert body["scope"] == "profile"
    assert me(http, api, body["access_token"]).json() == {"username": "ada", "scope": "profile"}


def test_resource_indicator_sets_the_audience(http, api):
    """RFC 8707: a token asked for another API of this issuer carries that audience, and so does
    its refreshed successor; /me refuses it."""
    body = tokens_of(http, api, {**ADA, "resource": "https://notes.practice.test"})
    assert parts(body["access_token"])[1]["aud"] == "https://notes.practice.test"
    assert_attack_refused(me(http, api, body["access_token"]), "wrong_aud")
    rotated = refresh(http, api, body["refresh_token"]).json()
    assert parts(rotated["access_token"])[1]["aud"] == "https://notes.practice.test"
    default = tokens_of(http, api, {**ADA, "resource": tokens.AUDIENCE})
    assert me(http, api, default["access_token"]).status_code == 200


@pytest.mark.parametrize("resource", ["https://evil.test", "https://api.practice.test", None, 5, ["x"],
                                      {"uri": tokens.AUDIENCE}, [tokens.AUDIENCE]],
                         ids=["other-host", "issuer", "null", "number", "list", "object", "list-of-audience"])
def test_unknown_or_malformed_resource_is_invalid_target(http, api, resource):
    response = login(http, api, {**ADA, "resource": resource})
    assert_grant_error(response, "invalid_target", "resource is one of")


# -- GET /me: the request ---------------------------------------------------------------------

def test_me_with_a_fresh_token(http, api):
    response = me(http, api, tokens_of(http, api)["access_token"])
    assert response.status_code == 200
    assert response.json() == {"username": "ada", "scope": "profile notes:read"}
    assert "WWW-Authenticate" not in response.headers


def test_me_without_credentials_gets_a_bare_challenge(http, api):
    """RFC 6750 §3.1: no authentication information, so no error code in the challenge."""
    response = me(http, api)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == BARE_CHALLENGE
    assert "error=" not in response.headers["WWW-Authenticate"]
    error, description = error_of(response)
    assert error == "missing_token"
    assert "Authorization: Bearer <token>" in description


@pytest.mark.parametrize("value", ["Basic YWRhOnB3", "Digest username=\"ada\"", "Token abc"])
def test_me_with_another_scheme_gets_a_bare_challenge(http, api, value):
    response = me(http, api, authorization=value)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == BARE_CHALLENGE
    error, description = error_of(response)
    assert error == "missing_token"
    assert repr(value.split(" ")[0]) in description


def test_me_with_a_token_but_no_scheme_does_not_echo_it(http, api):
    token = tokens_of(http, api)["access_token"]
    response = me(http, api, authorization=token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == BARE_CHALLENGE
    assert token[:20] not in response.text


@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
def test_bearer_scheme_is_case_insensitive(http, api, scheme):
    token = tokens_of(http, api)["access_token"]
    assert me(http, api, authorization=f"{scheme} {token}").status_code == 200


@pytest.mark.parametrize("value", ["Bearer", "Bearer ", "Bearer abc def", "Bearer a.b.c extra"])
def test_empty_token_or_token_with_spaces_is_invalid_request(http, api, value):
    response = me(http, api, authorization=value)
    assert_token_error(response, 400, "invalid_request", "exactly one token, with no spaces")


def test_over_long_authorization_header_is_invalid_request(http, api):
    response = me(http, api, authorization="Bearer " + "a" * tokens.MAX_TOKEN_LENGTH)
    assert_token_error(response, 400, "invalid_request", f"longer than {tokens.MAX_TOKEN_LENGTH} characters")


@pytest.mark.parametrize("token", ["garbage", "a.b", "not.a.jwt", "....", "eyJhbGciOiJSUzI1NiJ9.e30"])
def test_garbage_token_is_invalid_token(http, api, token):
    response = me(http, api, token)
    assert_token_error(response, 401, "invalid_token", "not a JWT")


# -- GET /me: one test per attack ----------------------------------------------------------------

def test_attack_alg_none(http, api):
    header = b64url_json({"alg": "none", "typ": "JWT", "kid": signing_key.KEY_ID})
    token = f"{header}.{b64url_json(claims_now(api))}."
    assert_attack_refused(me(http, api, token), "alg_none")


@pytest.mark.parametrize("alg", ["None", "NONE"])
def test_attack_alg_none_in_other_case(http, api, alg):
    header = b64url_json({"alg": alg, "typ": "JWT", "kid": signing_key.KEY_ID})
    token = f"{header}.{b64url_json(claims_now(api))}."
    assert_attack_refused(me(http, api, token), "alg_none")


@pytest.mark.parametrize("change", [{"sub": "grace"}, {"scope": "profile notes:read notes:write admin"}])
def test_attack_tampered_payload(http, api, change):
    header, payload, signature = tokens_of(http, api)["access_token"].split(".")
    claims = json.loads(unb64url(payload))
    tampered = f"{header}.{b64url_json({**claims, **change})}.{signature}"
    assert_attack_refused(me(http, api, tampered), "tampered")


def test_attack_key_confusion_hs256_with_the_public_key(http, api):
    """The classic: HMAC-sign with the server's PUBLIC key. A server that takes `alg` from the
    token and feeds its RSA public key to HMAC would accept it."""
    signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT', 'kid': signing_key.KEY_ID})}." \
                    f"{b64url_json(claims_now(api))}"
    signature = hmac.new(PUBLIC_KEY_PEM, signing_input.encode("ascii"), hashlib.sha256).digest()
    token = f"{signing_input}.{b64url(signature)}"
    assert_attack_refused(me(http, api, token), "key_confusion")


def test_attack_wrong_audience(http, api):
    token = sign(claims_now(api, aud="https://other.practice.test/api"))
    assert_attack_refused(me(http, api, token), "wrong_aud")


def test_attack_wrong_issuer(http, api):
    token = sign(claims_now(api, iss="https://evil.practice.test"))
    assert_attack_refused(me(http, api, token), "wrong_iss")


def test_attack_expired_token(http, api):
    token = tokens_of(http, api)["access_token"]
    api.clock.advance(301 + tokens.LEEWAY_SECONDS)
    assert_attack_refused(me(http, api, token), "expired")


def test_token_is_still_accepted_within_the_leeway(http, api):
    token = tokens_of(http, api)["access_token"]
    api.clock.advance(300)
    assert me(http, api, token).status_code == 200


def test_attack_unknown_kid(http, api):
    token = sign(claims_now(api), kid="practice-2020")
    assert_attack_refused(me(http, api, token), "unknown_kid")


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "application/jwt", "id_token+jwt", "at+jwt+x", "at-jwt",
                                 "application/at+jwt; x=1"],
                         ids=["missing", "JWT", "jwt", "application-jwt", "id-token", "suffix", "dash", "parameter"])
def test_attack_another_kind_of_jwt_signed_with_the_same_key(http, api, typ):
    """RFC 9068 §4: the resource server MUST check that typ is at+jwt (or application/at+jwt) and refuse
    any other value; RFC 8725 §3.11: so that an ID token or a client assertion signed by the same
    issuer cannot pass for an access token. PyJWT does not check typ: the API does."""
    assert_attack_refused(me(http, api, sign(claims_now(api), typ=typ)), "wrong_typ")


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "Application/AT+JWT"])
def test_both_spellings_of_the_access_token_type_are_accepted(http, api, typ):
    """RFC 9068 §4 names both; a media type is compared without case (RFC 7515 §4.1.9, RFC 2045)."""
    assert me(http, api, sign(claims_now(api), typ=typ)).status_code == 200


@pytest.mark.parametrize("changes", [{"kid": ["x"]}, {"kid": {"a": 1}}, {"kid": 2026}, {"crit": ["exp"]},
                                     {"crit": ["b64"], "b64": True}],
                         ids=["kid-list", "kid-object", "kid-number", "crit-unsupported", "crit-b64"])
def test_attack_malformed_header_is_401_not_500(http, any_api, changes):
    """Review 03, finding 1: PyJWT raises plain InvalidTokenError (not DecodeError) for these, and /me
    answered 500. The rest of the header fuzzing is in tests/test_fuzz_jwt_headers.py."""
    header = b64url_json({"alg": "RS256", "kid": signing_key.KEY_ID, "typ": "at+jwt", **changes})
    token = f"{header}.{b64url_json(claims_now(any_api))}.AAAA"
    assert_attack_refused(me(http, any_api, token), "malformed_header")


def test_attack_revoked_token_after_refresh_reuse(http, api):
    body = tokens_of(http, api)
    assert refresh(http, api, body["refresh_token"]).status_code == 200
    assert me(http, api, body["access_token"]).status_code == 200  # rotation alone revokes nothing
    assert refresh(http, api, body["refresh_token"]).status_code == 400  # reuse: the family is revoked
    assert_attack_refused(me(http, api, body["access_token"]), "revoked")


def test_attack_descriptions_are_distinct():
    phrases = list(ATTACK_PHRASES.values())
    for phrase in phrases:
        assert [other for other in phrases if phrase in other] == [phrase]


# -- GET /me: odd claims ------------------------------------------------------------------------

@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "client_id", "iat", "exp", "jti"])
def test_missing_required_claim_is_named(http, api, claim):
    """RFC 9068 §2.2: every one of these is REQUIRED in a JWT access token."""
    token = sign(claims_now(api, **{claim: None}))
    assert_token_error(me(http, api, token), 401, "invalid_token", f"The token has no '{claim}' claim.")


def test_iat_in_the_future_is_refused(http, api):
    now = int(api.clock.now())
    token = sign(claims_now(api, iat=now + 60, exp=now + 360))
    assert_token_error(me(http, api, token), 401, "invalid_token", "issued in the future")


def test_nbf_in_the_future_is_refused(http, api):
    """RFC 7519 §4.1.5: a token MUST NOT be accepted before its nbf. The issuer sets none; a token
    that has one is held to it, with the same leeway as iat."""
    now = int(api.clock.now())
    assert_token_error(me(http, api, sign(claims_now(api, nbf=now + 60))), 401, "invalid_token", "not valid yet")
    assert me(http, api, sign(claims_now(api, nbf=now + 2))).status_code == 200
    assert me(http, api, sign(claims_now(api, nbf=now - 60))).status_code == 200


@pytest.mark.parametrize("changes", [{"client_id": ["notes-web"]}, {"client_id": ""}, {"sub": ""}, {"jti": ""},
                                     {"scope": ["profile"]}, {"scope": {"profile": True}}, {"nbf": "now"}],
                         ids=["client-id-list", "client-id-empty", "sub-empty", "jti-empty", "scope-list",
                              "scope-object", "nbf-string"])
def test_claims_of_the_wrong_type_are_refused(http, api, changes):
    """RFC 9068 §2.2: client_id, sub, jti are strings; scope is one space-separated string (§2.2.3)."""
    response = me(http, api, sign(claims_now(api, **changes)))
    assert response.status_code == 401, response.text
    assert error_of(response)[0] == "invalid_token"


def test_iat_slightly_ahead_is_within_the_leeway(http, api):
    now = int(api.clock.now())
    token = sign(claims_now(api, iat=now + 2, exp=now + 302))
    assert me(http, api, token).status_code == 200


@pytest.mark.parametrize("changes", [{"exp": "soon"}, {"exp": [1]}, {"exp": {"at": 1}}, {"iat": "now"}],
                         ids=["exp-string", "exp-list", "exp-object", "iat-string"])
def test_non_numeric_times_are_401_not_500(http, api, changes):
    token = sign(claims_now(api, **changes))
    response = me(http, api, token)
    assert response.status_code == 401
    assert error_of(response)[0] == "invalid_token"


@pytest.mark.parametrize("claim, value", [("exp", float("nan")), ("exp", float("inf")), ("exp", float("-inf")),
                                          ("iat", float("nan"))],
                         ids=["exp-NaN", "exp-Infinity", "exp-minus-Infinity", "iat-NaN"])
def test_non_finite_times_are_refused(http, api, claim, value):
    """NaN and Infinity are not JSON (RFC 8259 §6), so not NumericDates (RFC 7519 §2); Python's
    json module reads them anyway. exp=NaN would never expire; exp=-Infinity must not crash."""
    token = sign(claims_now(api, **{claim: value}))
    payload = unb64url(token.split(".")[1]).decode()
    assert "NaN" in payload or "Infinity" in payload  # what PyJWT's json.dumps writes for them
    response = me(http, api, token)
    assert response.status_code == 401, response.text
    assert error_of(response)[0] == "invalid_token"


def test_non_string_alg_is_refused(http, api):
    header = b64url_json({"alg": ["RS256"], "typ": "JWT", "kid": signing_key.KEY_ID})
    token = f"{header}.{b64url_json(claims_now(api))}.c2ln"
    response = me(http, api, token)
    assert response.status_code == 401
    assert error_of(response)[0] == "invalid_token"


@pytest.mark.parametrize("alg", [
    pytest.param('RS256"\r\nSet-Cookie: pwned=1', id="crlf-set-cookie"),
    pytest.param('x", error="none', id="close-quote"),
    pytest.param("RS256\\", id="backslash"),
    pytest.param("\r\n\r\n<html>", id="crlf-body"),
    pytest.param("Grüße€", id="non-ascii"),
    pytest.param("\x00\x1b[31m", id="control"),
])
def test_challenge_cannot_be_injected_through_the_alg_header(http, any_api, alg):
    """error_description is a quoted-string of printable ASCII without '"' or '\\' (RFC 6750 §3):
    whatever the token's header says, the challenge stays one well-formed header."""
    header = b64url_json({"alg": alg, "typ": "JWT", "kid": signing_key.KEY_ID})
    token = f"{header}.{b64url_json(claims_now(any_api))}.c2ln"
    response = me(http, any_api, token)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert "\r" not in challenge and "\n" not in challenge
    match = CHALLENGE.fullmatch(challenge)
    assert match, challenge
    assert match.group(1) == "invalid_token"
    assert '"' not in match.group(2) and "\\" not in match.group(2)
    assert "not accepted" in match.group(2)
    assert "Set-Cookie" not in response.headers
    assert error_of(response)[0] == "invalid_token"


# -- POST /oauth/token: refresh rotation and reuse detection ---------------------------------------

def test_refresh_rotates_both_tokens(http, api):
    first = tokens_of(http, api)
    response = refresh(http, api, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert second["token_type"] == "Bearer" and second["expires_in"] == 300
    assert second["scope"] == "profile notes:read"
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert parts(second["access_token"])[1]["jti"] != parts(first["access_token"])[1]["jti"]
    assert me(http, api, second["access_token"]).json() == {"username": "ada", "scope": "profile notes:read"}
    third = refresh(http, api, second["refresh_token"])
    assert third.status_code == 200


def test_refresh_keeps_a_narrowed_scope(http, api):
    first = tokens_of(http, api, {**ADA, "scope": "notes:read"})
    second = refresh(http, api, first["refresh_token"]).json()
    assert second["scope"] == "notes:read"
    assert me(http, api, second["access_token"]).status_code == 403


def test_refresh_after_access_token_expiry(http, api):
    first = tokens_of(http, api)
    api.clock.advance(3600)
    assert me(http, api, first["access_token"]).status_code == 401
    second = refresh(http, api, first["refresh_token"])
    assert second.status_code == 200
    assert me(http, api, second.json()["access_token"]).status_code == 200


def test_refresh_token_reuse_revokes_the_whole_family(http, api):
    first = tokens_of(http, api)
    other_login = tokens_of(http, api, GRACE)
    second = refresh(http, api, first["refresh_token"]).json()
    third = refresh(http, api, second["refresh_token"]).json()

    reuse = refresh(http, api, first["refresh_token"])  # an attacker's (or the victim's) copy
    assert_grant_error(reuse, "invalid_grant", "already used, so it may have been stolen")

    newest = refresh(http, api, third["refresh_token"])  # the newest one goes too
    assert_grant_error(newest, "invalid_grant", "revoked")
    for access_token in (first["access_token"], second["access_token"], third["access_token"]):
        assert_attack_refused(me(http, api, access_token), "revoked")

    # grace's login is another family: untouched
    assert me(http, api, other_login["access_token"]).json()["username"] == "grace"
    rotated = refresh(http, api, other_login["refresh_token"])
    assert rotated.status_code == 200
    assert me(http, api, rotated.json()["access_token"]).status_code == 200

    # and ada can log in again
    assert me(http, api, tokens_of(http, api)["access_token"]).status_code == 200


def test_unknown_refresh_token_is_invalid_grant(http, api):
    assert_grant_error(refresh(http, api, "x" * 43), "invalid_grant", "not known")


def test_an_access_token_is_not_a_refresh_token(http, api):
    assert_grant_error(refresh(http, api, tokens_of(http, api)["access_token"]), "invalid_grant", "not known")


def test_expired_refresh_token_is_invalid_grant(http, api):
    body = tokens_of(http, api)
    api.clock.advance(tokens.REFRESH_TOKEN_SECONDS)
    assert_grant_error(refresh(http, api, body["refresh_token"]), "invalid_grant", "expired")


def test_refresh_token_just_before_expiry_still_works(http, api):
    body = tokens_of(http, api)
    api.clock.advance(tokens.REFRESH_TOKEN_SECONDS - 60)
    assert refresh(http, api, body["refresh_token"]).status_code == 200


@pytest.mark.parametrize("data, code, phrase", [
    pytest.param({"refresh_token": "x"}, "invalid_request", "grant_type is missing", id="no-grant-type"),
    pytest.param({"grant_type": "", "refresh_token": "x"}, "invalid_request", "grant_type", id="empty-grant-type"),
    pytest.param({"grant_type": "password", "username": "ada", "password": "x"}, "unsupported_grant_type",
                 "'password'", id="password-grant"),
    pytest.param({"grant_type": "authorization_cod"}, "unsupported_grant_type", "'authorization_cod'", id="typo"),
    pytest.param({"grant_type": "refresh_token"}, "invalid_request", "refresh_token is missing", id="no-token"),
    pytest.param({"grant_type": "refresh_token", "refresh_token": ""}, "invalid_request", "refresh_token is missing",
                 id="empty-token"),
    pytest.param([("grant_type", "refresh_token"), ("grant_type", "refresh_token"), ("refresh_token", "x")],
                 "invalid_request", "'grant_type' appears more than once", id="duplicate-grant-type"),
    pytest.param([("grant_type", "refresh_token"), ("refresh_token", "x"), ("refresh_token", "y")],
                 "invalid_request", "'refresh_token' appears more than once", id="duplicate-token"),
])
def test_token_endpoint_errors(http, api, data, code, phrase):
    response = http.post(api.url("/oauth/token"), data=data, timeout=TIMEOUT)
    assert_grant_error(response, code, phrase)


def test_token_endpoint_wants_a_form_not_json(http, api):
    body = tokens_of(http, api)
    response = http.post(api.url("/oauth/token"), json={"grant_type": "refresh_token",
                                                        "refresh_token": body["refresh_token"]}, timeout=TIMEOUT)
    assert_grant_error(response, "invalid_request", "application/x-www-form-urlencoded")
    assert refresh(http, api, body["refresh_token"]).status_code == 200  # the refused call spent nothing


def test_duplicate_field_does_not_spend_the_refresh_token(http, api):
    body = tokens_of(http, api)
    data = [("grant_type", "refresh_token"), ("refresh_token", body["refresh_token"]),
            ("refresh_token", body["refresh_token"])]
    assert http.post(api.url("/oauth/token"), data=data, timeout=TIMEOUT).status_code == 400
    assert refresh(http, api, body["refresh_token"]).status_code == 200


def test_get_on_the_token_endpoint_is_405(http, api):
    response = http.get(api.url("/oauth/token"), timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


# -- GET /.well-known/jwks.json -----------------------------------------------------------------

def test_the_demo_signing_key_passes_the_checks_the_practice_api_skips():
    """signing_key.private_key() skips cryptography's RSA consistency check for speed; this is that check."""
    checked = serialization.load_pem_private_key(signing_key.PRIVATE_KEY_PEM, None)  # validates the numbers
    assert checked.key_size == 2048
    assert checked.private_numbers() == signing_key.private_key().private_numbers()
    assert signing_key.private_key() is signing_key.private_key()  # parsed once per process


def test_jwks_publishes_one_public_signing_key(http, api):
    response = http.get(api.url("/.well-known/jwks.json"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    jwks = response.json()
    assert list(jwks) == ["keys"] and len(jwks["keys"]) == 1
    key = jwks["keys"][0]
    assert key["kty"] == "RSA"
    assert key["kid"] == signing_key.KEY_ID
    assert key["use"] == "sig"
    assert key["alg"] == "RS256"
    assert "key_ops" not in key  # RFC 7517 §4.3: not together with "use"
    assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}  # no private members (d, p, q, dp, dq, qi)
    numbers = PRIVATE_KEY.public_key().public_numbers()
    assert int.from_bytes(unb64url(key["n"]), "big") == numbers.n
    assert int.from_bytes(unb64url(key["e"]), "big") == numbers.e


def test_jwks_verifies_a_login_token(http, api):
    jwks = jwt.PyJWKSet.from_dict(http.get(api.url("/.well-known/jwks.json"), timeout=TIMEOUT).json())
    access_token = tokens_of(http, api)["access_token"]
    kid = jwt.get_unverified_header(access_token)["kid"]
    claims = jwt.decode(access_token, jwks[kid].key, algorithms=["RS256"],
                        audience=tokens.AUDIENCE, issuer=tokens.ISSUER)
    assert claims["sub"] == "ada"
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(access_token, jwks[kid].key, algorithms=["RS256"], audience="https://other.test",
                   issuer=tokens.ISSUER)


# -- the same story on both transports --------------------------------------------------------------

def token_story(http, api) -> list:
    """Login, /me, refresh, reuse, expiry: what a learner does in notebook 03, as a summary."""
    story = []

    def note(response, *fields):
        body = response.json()
        story.append((response.status_code, response.headers.get("WWW-Authenticate"),
                      response.headers.get("Cache-Control"), *[body.get(field) for field in fields]))

    first = login(http, api)
    note(first, "token_type", "expires_in", "scope")
    access, refresh_token = first.json()["access_token"], first.json()["refresh_token"]
    note(me(http, api, access), "username", "scope")
    rotated = refresh(http, api, refresh_token)
    note(rotated, "token_type", "expires_in")
    note(me(http, api, rotated.json()["access_token"]), "username")
    note(refresh(http, api, refresh_token), "error")
    note(me(http, api, rotated.json()["access_token"]), "error", "error_description")
    fresh = login(http, api).json()["access_token"]
    api.clock.advance(301 + tokens.LEEWAY_SECONDS)
    note(me(http, api, fresh), "error", "error_description")
    return story


REVOKED = "The token was revoked."
STORY = [
    (200, None, "no-store", "Bearer", 300, "profile notes:read"),
    (200, None, None, "ada", "profile notes:read"),
    (200, None, "no-store", "Bearer", 300),
    (200, None, None, "ada"),
    (400, None, None, "invalid_grant"),
    (401, f'Bearer realm="practice", error="invalid_token", error_description="{REVOKED}"', None, "invalid_token",
     REVOKED),
    (401, "expired", None, "invalid_token", "expired"),
]


def test_token_story_on_each_transport(http, any_api):
    story = token_story(http, any_api)
    # the expiry message may count seconds; keep only what does not depend on timing
    status, challenge, cache, error, description = story[-1]
    assert "expired" in description
    assert challenge == f'Bearer realm="practice", error="invalid_token", error_description="{description}"'
    story[-1] = (status, "expired", cache, error, "expired")
    assert story == STORY


def test_loopback_serves_the_jwks_to_urllib(http, monkeypatch):
    """PyJWKClient fetches with urllib, which only the loopback transport can answer."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)  # urllib would send even 127.0.0.1 through a proxy
    with serve_practice_api() as api:
        access_token = tokens_of(http, api)["access_token"]
        client = jwt.PyJWKClient(api.url("/.well-known/jwks.json"), timeout=TIMEOUT)
        key = client.get_signing_key_from_jwt(access_token)
        # On loopback the issuer is the server's own URL, as RFC 8414 §3.3 wants it to match the metadata.
        claims = jwt.decode(access_token, key.key, algorithms=["RS256"], audience=api.url("/me"),
                            issuer=api.base_url)
        assert claims["sub"] == "ada"
    assert api.app.errors == []


def test_a_refresh_may_narrow_the_scope_but_never_widen_it(http, api):
    tokens = http.post(api.url("/login"), json={"username": "ada", "password": "analytical:engine:1843",
                                               "scope": "profile"}, timeout=5).json()
    wider = http.post(api.url("/oauth/token"), data={"grant_type": "refresh_token", "scope": "profile notes:read",
                                                    "refresh_token": tokens["refresh_token"]}, timeout=5)
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    full = http.post(api.url("/login"), json={"username": "ada", "password": "analytical:engine:1843"},
                     timeout=5).json()
    narrower = http.post(api.url("/oauth/token"), data={"grant_type": "refresh_token", "scope": "notes:read",
                                                       "refresh_token": full["refresh_token"]}, timeout=5).json()
    assert narrower["scope"] == "notes:read"
    back = http.post(api.url("/oauth/token"), data={"grant_type": "refresh_token",
                                                   "refresh_token": narrower["refresh_token"]}, timeout=5).json()
    assert back["scope"] == "profile notes:read", "the grant itself keeps its original scope"


# -- the API's clock ------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf"), float("-inf")], ids=["negative", "NaN", "inf",
                                                                                           "minus-inf"])
def test_the_clock_moves_forward_only_by_a_finite_amount(seconds):
    """NaN passed `seconds < 0` and made every time comparison false: no token would ever expire."""
    from helpers.practice_api.clock import Clock

    clock = Clock()
    with pytest.raises(ValueError, match="advance"):
        clock.advance(seconds)
    assert clock.offset == 0
    clock.advance(60)
    assert clock.offset == 60
