"""Odd JOSE headers and odd claims at every endpoint that reads a token: a refusal, never a 500.

The demo signing key is public (helpers/practice_api/signing_key.py), so anyone can sign a token whose
header or claims hold anything: a `kid` that is a list, a `crit` naming an extension, a
`typ` that is a number, a `scope` that is an object. Each one must get what a malformed
token gets: 401 invalid_token at /me and /reports, `{"active": false}` from the
introspection endpoint, and the 200 of RFC 7009 §2.2 from the revocation endpoint.

Review 03, finding 1: PyJWT 2.15 raises plain `jwt.InvalidTokenError` (not `DecodeError`)
for a `kid` that is not a string and for a `crit` it does not support, and the API let it
through as a 500.
"""
from __future__ import annotations

import base64
import json
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import start_practice_api
from helpers.practice_api import demo, signing_key, tokens
from helpers.practice_api.app import PracticeAPI
from helpers.serving.gateway import call_app, make_environ

PRIVATE_KEY = serialization.load_pem_private_key(signing_key.PRIVATE_KEY_PEM, None)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # an attacker's own key
NOTES_API = "Basic " + base64.b64encode(f"notes-api:{demo.client('notes-api')['client_secret']}".encode()).decode()
GOOD_HEADER = {"alg": "RS256", "kid": signing_key.KEY_ID, "typ": "at+jwt"}
# The last is long, yet the token stays under MAX_TOKEN_LENGTH.
ODD_VALUES = [None, 1, 0, -1, 1.5, True, False, "", [], ["x"], [signing_key.KEY_ID], {}, {"a": 1}, "x" * 1000]
CHALLENGE_SAFE = set(range(0x20, 0x7F))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value) -> str:
    return b64url(json.dumps(value).encode("utf-8"))


def rs256(signing_input: str, key=PRIVATE_KEY) -> str:
    """An RS256 signature made by hand: PyJWT's encode() refuses to write a non-string kid."""
    algorithm = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
    return b64url(algorithm.sign(signing_input.encode("ascii"), key))


def good_claims(**changes) -> dict:
    now = int(APP.clock.now())
    claims = {"iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": "ada", "client_id": "notes-cli",
              "iat": now, "exp": now + 300, "scope": "profile notes:read",
              "jti": uuid.uuid4().hex}  # a jti of its own: some tests revoke their token
    claims.update(changes)
    return claims


def token_with(header, claims=None, *, signed: bool = True, key=PRIVATE_KEY) -> str:
    signing_input = segment(header) + "." + segment(good_claims() if claims is None else claims)
    return signing_input + "." + (rs256(signing_input, key) if signed else "c2ln")


APP = PracticeAPI()  # one app for every example, as in tests/test_fuzz.py: the point is "never a 500"


def send(method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"") -> tuple[int, dict, bytes]:
    environ = make_environ(method=method, target=path, headers=headers, body=body, scheme="https",
                           host="api.practice.test", port=443)
    errors_before = len(APP.errors)
    status, _, reply_headers, payload = call_app(APP, environ)
    assert len(APP.errors) == errors_before, APP.errors[-1]  # a 500
    for name, value in reply_headers:
        assert set(map(ord, value)) <= CHALLENGE_SAFE, (name, value)
    return status, dict(reply_headers), payload


def at_resource(path: str, token: str) -> tuple[int, dict, dict]:
    status, headers, body = send("GET", path, [("Authorization", "Bearer " + token)])
    return status, headers, json.loads(body)


def introspected(token: str) -> dict:
    status, headers, body = send("POST", "/oauth/introspect", [
        ("Authorization", NOTES_API), ("Content-Type", "application/x-www-form-urlencoded")],
        ("token=" + token).encode("ascii"))
    assert status == 200 and headers["Cache-Control"] == "no-store", body
    return json.loads(body)


def revoked_by_its_client(token: str) -> int:
    """POST /oauth/revoke as notes-cli, the public client the test tokens name."""
    return send("POST", "/oauth/revoke", [("Content-Type", "application/x-www-form-urlencoded")],
                ("client_id=notes-cli&token=" + token).encode("ascii"))[0]


def assert_refused_everywhere(token: str) -> None:
    for path in ("/me", "/reports"):
        status, headers, body = at_resource(path, token)
        assert status == 401, (path, status, body)
        assert body["error"] == "invalid_token" and body["error_description"]
        assert headers["WWW-Authenticate"].startswith('Bearer realm="practice", error="invalid_token"')
    assert introspected(token) == {"active": False}
    assert revoked_by_its_client(token) == 200  # RFC 7009 §2.2: an invalid token is simply ignored


def test_the_control_token_is_accepted():
    """The tokens below differ from this one in one place only, so that the refusals mean something."""
    token = token_with(GOOD_HEADER)
    assert at_resource("/me", token)[0] == 200
    assert introspected(token)["active"] is True


# -- review 03, finding 1: PyJWT's own header checks raise InvalidTokenError -----------------------

@pytest.mark.parametrize("header", [
    pytest.param({**GOOD_HEADER, "kid": ["x"]}, id="kid-list"),
    pytest.param({**GOOD_HEADER, "kid": {"a": 1}}, id="kid-object"),
    pytest.param({**GOOD_HEADER, "kid": None}, id="kid-null"),
    pytest.param({**GOOD_HEADER, "kid": 2026}, id="kid-number"),
    pytest.param({**GOOD_HEADER, "crit": ["exp"]}, id="crit-unsupported"),
    pytest.param({**GOOD_HEADER, "crit": "b64"}, id="crit-string"),
    pytest.param({**GOOD_HEADER, "crit": []}, id="crit-empty"),
    pytest.param({**GOOD_HEADER, "crit": [1]}, id="crit-number"),
    pytest.param({**GOOD_HEADER, "crit": ["b64"]}, id="crit-b64-missing"),
])
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_headers_pyjwt_refuses_are_401_not_500(header, signed):
    token = token_with(header, signed=signed)
    assert_refused_everywhere(token)
    assert "header is malformed" in at_resource("/me", token)[2]["error_description"]


def test_a_critical_extension_is_refused_even_when_pyjwt_knows_it():
    """RFC 7515 §4.1.11: a recipient that does not understand a listed extension must refuse the JWS.
    PyJWT understands b64 (RFC 7797); this API, reading RFC 9068 access tokens, understands none."""
    token = token_with({**GOOD_HEADER, "crit": ["b64"], "b64": True})  # b64=true: the payload as usual
    assert_refused_everywhere(token)
    assert "header is malformed" in at_resource("/me", token)[2]["error_description"]
    assert_refused_everywhere(token_with({**GOOD_HEADER, "crit": ["b64"], "b64": False}))


# -- every header parameter with every odd value -----------------------------------------------------

@pytest.mark.parametrize("name", ["alg", "kid", "typ", "crit", "b64", "cty", "jku", "x5u", "jwk", "x5c", "zip"])
@pytest.mark.parametrize("value", ODD_VALUES, ids=lambda value: repr(value)[:12])
def test_each_header_parameter_with_an_odd_value(name, value):
    header = {**GOOD_HEADER, name: value}
    token = token_with(header)
    if name in ("cty", "jku", "x5u", "jwk", "x5c", "zip"):
        # Parameters this API ignores, as it must: it never fetches a key a token points to.
        assert at_resource("/me", token)[0] == 200
        return
    assert_refused_everywhere(token)


def test_a_key_embedded_in_the_header_is_not_trusted():
    """The embedded-jwk attack (CVE-2018-0114): sign with your own key and put it in the header."""
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(OTHER_KEY.public_key(), as_dict=True)
    for extra in ({"jwk": jwk}, {"jku": "https://evil.test/jwks.json"}, {"x5u": "https://evil.test/cert.pem"}):
        token = token_with({**GOOD_HEADER, **extra}, key=OTHER_KEY)
        assert_refused_everywhere(token)
        assert "signature does not match" in at_resource("/me", token)[2]["error_description"]


@pytest.mark.parametrize("header", [[], ["RS256"], "RS256", 1, None, True])
def test_a_header_that_is_not_an_object(header):
    assert_refused_everywhere(token_with(header))


# -- odd claims in a properly signed token -----------------------------------------------------------

def acceptable(name: str, value) -> bool:
    """Odd but valid: a time in the past for iat or nbf, any non-empty string for sub, client_id and jti."""
    if name in ("iat", "nbf"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return name in ("sub", "client_id", "jti") and isinstance(value, str) and value != ""


@pytest.mark.parametrize("name", ["scope", "client_id", "sub", "jti", "aud", "iss", "exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ODD_VALUES, ids=lambda value: repr(value)[:12])
def test_each_claim_with_an_odd_value(name, value):
    """RFC 9068 §2.2: sub, client_id and jti are strings, scope a string; RFC 7519 §4.1: times are numbers."""
    token = token_with(GOOD_HEADER, good_claims(**{name: value}))
    if acceptable(name, value):
        assert at_resource("/me", token)[0] == 200
        assert introspected(token)["active"] is True
    elif name == "scope" and isinstance(value, str):
        assert at_resource("/me", token)[0] == 403  # a scope that grants nothing
    else:
        assert_refused_everywhere(token)


def test_a_missing_scope_grants_nothing():
    claims = good_claims()
    del claims["scope"]
    token = token_with(GOOD_HEADER, claims)
    status, _, body = at_resource("/me", token)
    assert (status, body["error"]) == (403, "insufficient_scope")
    answer = introspected(token)
    assert answer["active"] is True and "scope" not in answer  # RFC 7662 §2.2: scope is OPTIONAL


# -- and anything at all, as hypothesis finds it -----------------------------------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=8)
header_names = st.sampled_from(["alg", "kid", "typ", "crit", "b64", "cty", "jku", "jwk", "x5u", "x5c", "zip", "enc"])
headers = st.dictionaries(header_names, json_values, max_size=4).map(lambda odd: {**GOOD_HEADER, **odd})
claim_names = st.sampled_from(["iss", "aud", "sub", "client_id", "iat", "exp", "nbf", "scope", "jti"])
claims = st.dictionaries(claim_names, json_values, max_size=3).map(lambda odd: good_claims(**odd))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=headers, claims=claims, signed=st.booleans())
def test_any_header_and_claims(header, claims, signed):
    token = token_with(header, claims, signed=signed)
    for path in ("/me", "/reports"):
        status, _, body = at_resource(path, token)
        assert status in (200, 401, 403), (status, body)
    answer = introspected(token)
    assert answer == {"active": False} or answer["active"] is True and isinstance(answer.get("scope", ""), str) \
        and isinstance(answer["client_id"], str) and isinstance(answer["sub"], str)
    assert revoked_by_its_client(token) in (200, 400)


def test_the_in_process_and_loopback_transports_agree(http):
    """The same refusal on the wire: the finding was first seen as `HTTP/1.1 500` on loopback."""
    from helpers import serve_practice_api

    token = token_with({**GOOD_HEADER, "kid": ["x"]}, signed=False)
    for api in (start_practice_api(), serve_practice_api()):
        try:
            response = http.get(api.url("/me"), headers={"Authorization": "Bearer " + token}, timeout=5)
            assert response.status_code == 401 and response.json()["error"] == "invalid_token"
            answer = http.post(api.url("/oauth/introspect"), data={"token": token}, timeout=5,
                               auth=("notes-api", str(demo.client("notes-api")["client_secret"])))
            assert answer.json() == {"active": False}
            assert api.app.errors == []
        finally:
            api.stop()
