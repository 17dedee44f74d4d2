"""DPoPAuth (helpers/client/dpop.py): the proofs it makes, the nonces it follows, what it never does.

The first tests read the proofs against a small stand-in server written here with `responses` (each
rule as RFC 9449 states it); the last ones run against the practice API itself.
"""
from __future__ import annotations

import base64
import hashlib
import io
import pickle
import threading

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric import ec

from helpers.client.dpop import DPoPAuth, InsecureTransportError, ath, htu, jwk_thumbprint

API = "https://api.practice.test"


def read_proof(proof: str) -> tuple[dict, dict]:
    """Header and claims of a proof, its signature checked with the jwk it carries (RFC 9449 §4.3)."""
    header = jwt.get_unverified_header(proof)
    claims = jwt.decode(proof, jwt.PyJWK(header["jwk"]), algorithms=["ES256", "ES384"],
                        options={"verify_iat": False})
    return header, claims


class StandIn:
    """A resource server and token endpoint that demand a nonce, and remember every proof they got."""

    def __init__(self, mock: responses.RequestsMock, nonce: str = "n-1") -> None:
        self.nonce = nonce
        self.proofs: list[str] = []
        mock.add_callback(responses.GET, f"{API}/me", callback=self.resource)
        mock.add_callback(responses.POST, f"{API}/me", callback=self.resource)
        mock.add_callback(responses.POST, f"{API}/oauth/token", callback=self.token)

    def _nonce_ok(self, request) -> bool:
        self.proofs.append(request.headers.get("DPoP", ""))
        return read_proof(request.headers["DPoP"])[1].get("nonce") == self.nonce

    def resource(self, request):
        if not self._nonce_ok(request):
            return 401, {"WWW-Authenticate": 'DPoP algs="ES256", error="use_dpop_nonce"',
                         "DPoP-Nonce": self.nonce}, "{}"
        return 200, {}, '{"ok": true}'

    def token(self, request):
        if not self._nonce_ok(request):
            return 400, {"DPoP-Nonce": self.nonce, "Content-Type": "application/json"}, '{"error": "use_dpop_nonce"}'
        return 200, {"Content-Type": "application/json"}, '{"access_token": "at-1", "token_type": "DPoP"}'


@pytest.fixture
def stand_in():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield StandIn(mock)


def test_proof_header_and_claims_rfc9449_4_2():
    """typ dpop+jwt, alg ES256, the public jwk; jti, htm, htu, iat, and ath of the token sent (RFC 9449 §4.2)."""
    auth = DPoPAuth(access_token="token-1", now=lambda: 1_700_000_000.7)
    request = requests.Request("GET", f"{API}/me?page=2#top").prepare()
    auth(request)
    header, claims = read_proof(request.headers["DPoP"])
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert set(header["jwk"]) == {"kty", "crv", "x", "y"}
    assert claims["htm"] == "GET" and claims["htu"] == f"{API}/me" and claims["iat"] == 1_700_000_000
    assert claims["ath"] == base64.urlsafe_b64encode(hashlib.sha256(b"token-1").digest()).rstrip(b"=").decode()
    assert len(base64.urlsafe_b64decode(claims["jti"] + "==")) >= 16
    assert request.headers["Authorization"] == "DPoP token-1"


def test_never_the_private_key_in_the_jwk_rfc9449_4_2():
    """The jwk header MUST NOT contain a private key (RFC 9449 §4.2): no "d" anywhere in the proof."""
    key = ec.generate_private_key(ec.SECP256R1())
    d = base64.urlsafe_b64encode(key.private_numbers().private_value.to_bytes(32, "big")).rstrip(b"=").decode()
    proof = DPoPAuth(key).proof("GET", f"{API}/me")
    header, claims = read_proof(proof)
    assert "d" not in header["jwk"] and d not in proof


def test_a_new_proof_for_every_request_rfc9449_11_1():
    """Each proof has its own jti, even for the same method, URL and second (RFC 9449 §4.2, §11.1)."""
    auth = DPoPAuth(access_token="t", now=lambda: 1_700_000_000)
    proofs = {auth.proof("GET", f"{API}/me", "t") for _ in range(50)}
    jtis = {read_proof(proof)[1]["jti"] for proof in proofs}
    assert len(proofs) == 50 and len(jtis) == 50


@pytest.mark.parametrize("url, expected", [
    (f"{API}/me?token=x", f"{API}/me"),  # no query (§4.2)
    (f"{API}/me#frag", f"{API}/me"),  # no fragment
    ("HTTPS://API.Practice.TEST:443/me", f"{API}/me"),  # case and default port (RFC 3986 §6.2.2, §6.2.3)
    ("https://api.practice.test", f"{API}/"),  # empty path is "/"
    ("https://api.practice.test:8443/a/B", "https://api.practice.test:8443/a/B"),  # other port, path case kept
    ("http://127.0.0.1:80/x", "http://127.0.0.1/x"),
    ("https://[::1]:8443/x?y", "https://[::1]:8443/x"),
    # RFC 3986 §6.2.2: IDNA host, dot segments, %-encoding case, unreserved decoded (as requests sends it)
    ("https://bücher.example/straße?q=1", "https://xn--bcher-kva.example/stra%C3%9Fe"),
    ("https://API.practice.test:443/a/../reports", f"{API}/reports"),
    ("https://api.practice.test/%7Euser/%2fx", f"{API}/~user/%2Fx"),
    ("HTTPS://api.practice.test/./me/.", f"{API}/me/"),
    ("https://api.practice.test/€", f"{API}/%E2%82%AC"),
])
def test_htu_has_no_query_or_fragment_rfc9449_4_2(url, expected):
    """htu: the target URI without query and fragment (RFC 9449 §4.2), in the normal form of RFC 3986 §6."""
    assert htu(url) == expected


def test_ath_is_for_the_token_actually_sent_rfc9449_4_2():
    """After use_token() the header and ath both name the new token, never the old one."""
    auth = DPoPAuth(access_token="old")
    auth.use_token({"access_token": "new", "token_type": "DPoP"})
    request = auth(requests.Request("GET", f"{API}/me").prepare())
    assert request.headers["Authorization"] == "DPoP new"
    assert read_proof(request.headers["DPoP"])[1]["ath"] == ath("new") != ath("old")


@pytest.mark.parametrize("tokens", [{"access_token": "a", "token_type": "Bearer"}, {"access_token": "a"},
                                    {"token_type": "DPoP"}, "not a dict"])
def test_a_token_not_bound_is_not_used_rfc9449_5(tokens):
    """token_type must be DPoP (RFC 9449 §5); a Bearer answer means the server did not bind the token."""
    auth = DPoPAuth()
    with pytest.raises(ValueError):
        auth.use_token(tokens)
    assert auth.access_token is None


@pytest.mark.parametrize("url", ["http://api.practice.test/me", "http://localhost/me", "ftp://api.practice.test/"])
def test_refuses_plain_http_rfc6750_5_3(url):
    """No TLS, nothing sent (RFC 6750 §5.3, RFC 6749 §10.3); loopback IP literals only are allowed."""
    with pytest.raises(InsecureTransportError):
        DPoPAuth(access_token="t")(requests.Request("GET", url).prepare())
    with pytest.raises(InsecureTransportError):
        DPoPAuth().token_auth()(requests.Request("POST", url).prepare())
    DPoPAuth(access_token="t")(requests.Request("GET", "http://127.0.0.1:8000/me").prepare())


def test_key_stays_out_of_repr_tokens_and_pickles():
    """The private key lives in the auth object only: not in its repr, the token dict, or a pickle."""
    key = ec.generate_private_key(ec.SECP256R1())
    auth = DPoPAuth(key)
    tokens = {"access_token": "secret-token", "token_type": "DPoP", "refresh_token": "r"}
    auth.use_token(tokens)
    assert "secret-token" not in repr(auth) and str(key.private_numbers().private_value) not in repr(auth)
    assert set(tokens) == {"access_token", "token_type", "refresh_token"}  # nothing added
    with pytest.raises(TypeError):
        pickle.dumps(auth)


def test_other_curves_and_keys():
    assert read_proof(DPoPAuth(ec.generate_private_key(ec.SECP384R1())).proof("GET", API))[0]["alg"] == "ES384"
    with pytest.raises(ValueError):
        DPoPAuth(ec.generate_private_key(ec.SECP521R1()))
    with pytest.raises(TypeError):
        DPoPAuth("-----BEGIN PRIVATE KEY-----")


RFC7638_EXAMPLE_N = (  # RFC 7638 §3.1: the example RSA key and its thumbprint
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
    "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdA"
    "ZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur"
    "-kEgU8awapJzKnqDKgw")


def test_thumbprint_of_the_rfc7638_3_1_example():
    jwk = {"kty": "RSA", "n": RFC7638_EXAMPLE_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_is_rfc7638():
    """For EC: SHA-256 of {"crv","kty","x","y"} in order, no spaces (RFC 7638 §3.2)."""
    auth = DPoPAuth()
    jwk = auth.public_jwk
    members = f'{{"crv":"{jwk["crv"]}","kty":"EC","x":"{jwk["x"]}","y":"{jwk["y"]}"}}'.encode()
    assert auth.thumbprint == base64.urlsafe_b64encode(hashlib.sha256(members).digest()).rstrip(b"=").decode()


def test_resource_nonce_retried_once_rfc9449_9(stand_in):
    """401 use_dpop_nonce + DPoP-Nonce: one retry, a new proof (new jti) with the nonce (RFC 9449 §9)."""
    auth = DPoPAuth(access_token="t")
    response = requests.get(f"{API}/me", auth=auth, timeout=5)
    assert response.status_code == 200 and len(response.history) == 1
    first, second = (read_proof(proof)[1] for proof in stand_in.proofs)
    assert "nonce" not in first and second["nonce"] == "n-1" and first["jti"] != second["jti"]
    assert second["ath"] == ath("t")
    requests.get(f"{API}/me", auth=auth, timeout=5)  # the nonce is kept: no second 401
    assert len(stand_in.proofs) == 3 and read_proof(stand_in.proofs[2])[1]["nonce"] == "n-1"


def test_resource_nonce_no_loop_when_refused_again_rfc9449_9(stand_in):
    """A server that refuses its own nonce gets one retry, not a loop: the 401 goes back to the caller."""
    auth = DPoPAuth(access_token="t")
    stand_in._nonce_ok = lambda request: stand_in.proofs.append(request.headers["DPoP"]) and False
    response = requests.get(f"{API}/me", auth=auth, timeout=5)
    assert response.status_code == 401 and len(stand_in.proofs) == 2


def test_stream_body_not_resent(stand_in):
    """A generator body cannot be sent twice: the 401 comes back, and the next request has the nonce."""
    auth = DPoPAuth(access_token="t")
    response = requests.post(f"{API}/me", data=(chunk for chunk in [b"a", b"b"]), auth=auth, timeout=5)
    assert response.status_code == 401 and len(stand_in.proofs) == 1
    assert auth.nonce_for(f"{API}/other") == "n-1"
    file_body = io.BytesIO(b"abc")
    assert requests.post(f"{API}/me", data=file_body, auth=auth, timeout=5).status_code == 200


def test_token_endpoint_nonce_rfc9449_8(stand_in):
    """400 use_dpop_nonce at the token endpoint: one retry with the nonce, no ath (RFC 9449 §8, §5)."""
    auth = DPoPAuth()
    client_auth = requests.auth.HTTPBasicAuth("client", "secret")
    response = requests.post(f"{API}/oauth/token", data={"grant_type": "client_credentials"},
                             auth=auth.token_auth(client_auth), timeout=5)
    assert response.status_code == 200 and len(stand_in.proofs) == 2
    assert response.request.headers["Authorization"].startswith("Basic ")
    assert all("ath" not in read_proof(proof)[1] for proof in stand_in.proofs)
    auth.use_token(response.json())
    assert auth.access_token == "at-1"


def test_nonce_rotation_from_any_response_rfc9449_8_2():
    """A DPoP-Nonce on a 200 replaces the kept one (RFC 9449 §8.2); a malformed one is ignored (§8.1)."""
    auth = DPoPAuth(access_token="t")
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/me", headers={"DPoP-Nonce": "n-2"}, json={})
        mock.add(responses.GET, f"{API}/me", headers={"DPoP-Nonce": 'bad"nonce'}, json={})
        requests.get(f"{API}/me", auth=auth, timeout=5)
        assert auth.nonce_for(API) == "n-2"
        requests.get(f"{API}/me", auth=auth, timeout=5)
        assert auth.nonce_for(API) == "n-2"
    assert auth.nonce_for("https://other.practice.test/") is None  # nonces are per server


def test_threads_share_one_auth(stand_in):
    """Eight threads, one Session each, one DPoPAuth: every request succeeds, no two proofs share a jti."""
    auth = DPoPAuth(access_token="t")
    statuses = []

    def work():
        with requests.Session() as session:
            for _ in range(5):
                statuses.append(session.get(f"{API}/me", auth=auth, timeout=5).status_code)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 40
    jtis = [read_proof(proof)[1]["jti"] for proof in stand_in.proofs]
    assert len(jtis) == len(set(jtis))


@pytest.mark.parametrize("header", ['Bearer error="use_dpop_nonce"', 'DPoP error="invalid_token"',
                                    'DPoP algs="ES256 use_dpop_nonce"', "DPoP", '"', ",,,"])
def test_other_challenges_are_not_a_nonce_demand(header):
    """Only a DPoP challenge's error=use_dpop_nonce asks for a retry (RFC 9449 §9); junk never raises."""
    auth = DPoPAuth(access_token="t")
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/me", status=401, headers={"WWW-Authenticate": header, "DPoP-Nonce": "n"})
        response = requests.get(f"{API}/me", auth=auth, timeout=5)
    assert response.status_code == 401 and response.history == []


# -- against the practice API (helpers/practice_api/dpop.py) ------------------------------------------

def _assertion(api) -> dict:
    """A private_key_jwt client assertion for reports-signer, as notebook 09 makes it."""
    import secrets as random
    import time

    signer = next(client for client in api.credentials["clients"] if client["client_id"] == "reports-signer")
    now = int(time.time())
    claims = {"iss": "reports-signer", "sub": "reports-signer", "aud": api.base_url, "iat": now, "exp": now + 60,
              "jti": random.token_urlsafe(16)}
    return {"grant_type": "client_credentials", "scope": "reports:read",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt.encode(claims, signer["private_key"], algorithm="ES256")}


@pytest.fixture
def practice_api():
    from helpers import start_practice_api

    api = start_practice_api()
    yield api
    api.stop()
    assert api.app.errors == []


def _bound_auth(api, http) -> DPoPAuth:
    auth = DPoPAuth(now=api.clock.now)
    response = http.post(api.url("/oauth/token"), data=_assertion(api), auth=auth.token_auth(), timeout=5,
                         allow_redirects=False)
    assert response.status_code == 200, response.text
    auth.use_token(response.json())
    return auth


def test_practice_api_binds_and_accepts_rfc9449_5_7(practice_api, http):
    """Token request with a proof: token_type DPoP, cnf.jkt = our thumbprint (§6.1); /reports accepts it (§7.1)."""
    auth = _bound_auth(practice_api, http)
    claims = jwt.decode(auth.access_token, options={"verify_signature": False})
    assert claims["cnf"]["jkt"] == auth.thumbprint
    assert http.get(practice_api.url("/reports"), auth=auth, timeout=5).status_code == 200
    assert http.get(practice_api.url("/reports"), auth=auth, timeout=5).status_code == 200  # a new proof each time


def test_practice_api_refuses_the_token_as_bearer_rfc9449_7_1(practice_api, http):
    auth = _bound_auth(practice_api, http)
    response = http.get(practice_api.url("/reports"), headers={"Authorization": f"Bearer {auth.access_token}"},
                        timeout=5)
    assert response.status_code == 401


def test_practice_api_refuses_another_key_rfc9449_4_3(practice_api, http):
    auth = _bound_auth(practice_api, http)
    thief = DPoPAuth(access_token=auth.access_token, now=practice_api.clock.now)
    assert http.get(practice_api.url("/reports"), auth=thief, timeout=5).status_code == 401


def test_practice_api_resource_nonce_rfc9449_9(practice_api, http):
    """With nonces on, the API's 401 use_dpop_nonce is answered by one retry that succeeds (§9)."""
    auth = _bound_auth(practice_api, http)
    practice_api.require_dpop_nonce(True)
    response = http.get(practice_api.url("/reports"), auth=auth, timeout=5)
    assert response.status_code == 200 and [r.status_code for r in response.history] == [401]
    again = http.get(practice_api.url("/reports"), auth=auth, timeout=5)
    assert again.status_code == 200 and again.history == []


def test_practice_api_token_endpoint_nonce_keeps_the_assertion_rfc9449_8(practice_api, http):
    """The AS's 400 use_dpop_nonce, then one retry with the same form: the assertion's jti was not spent (§8)."""
    practice_api.require_dpop_nonce(True)
    auth = DPoPAuth(now=practice_api.clock.now)
    response = http.post(practice_api.url("/oauth/token"), data=_assertion(practice_api), auth=auth.token_auth(),
                         timeout=5, allow_redirects=False)
    assert response.status_code == 200, response.text
    assert [r.status_code for r in response.history] == [400]
    auth.use_token(response.json())
    assert http.get(practice_api.url("/reports"), auth=auth, timeout=5).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/x", "http://api.practice.test/new",
                                    "https://api.practice.test:8443/new", f"{API}/new"],
                         ids=["other-host", "http-downgrade", "other-port", "same-origin"])
def test_no_token_or_proof_follows_a_redirect_rfc9449_4_3_rfc6750_5_3(target):
    """requests follows a redirect without calling the auth again: the proof names the old URL and the
    token would reach wherever Location points (RFC 6750 §5.3: tokens go only where they belong).
    DPoPAuth removes Authorization and DPoP before requests follows; the caller sends a new request."""
    seen = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, f"{API}/old", status=302, headers={"Location": target})
        mock.add_callback(responses.GET, target,
                          callback=lambda request: (seen.append(dict(request.headers)), (200, {}, "ok"))[1])
        with requests.Session() as session:
            session.trust_env = False
            response = session.get(f"{API}/old", auth=DPoPAuth(access_token="secret-token"), timeout=5)
    assert response.status_code == 200 and len(seen) == 1
    assert "DPoP" not in seen[0] and "Authorization" not in seen[0]


def test_token_request_proof_and_basic_do_not_follow_a_redirect():
    """The token request's proof and client authentication stay with the URL they were made for."""
    seen = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{API}/oauth/token", status=307,
                 headers={"Location": "https://api.practice.test:8443/oauth/token"})
        mock.add_callback(responses.POST, "https://api.practice.test:8443/oauth/token",
                          callback=lambda request: (seen.append(dict(request.headers)), (400, {}, "{}"))[1])
        auth = DPoPAuth().token_auth(requests.auth.HTTPBasicAuth("client", "secret"))
        requests.post(f"{API}/oauth/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=5)
    assert len(seen) == 1 and "DPoP" not in seen[0] and "Authorization" not in seen[0]


def test_redirect_after_the_nonce_retry_carries_nothing():
    """A retry answered with a redirect: requests follows it with the first request's copy, so neither
    request's token or proof may go along."""
    seen, calls = [], []

    def old(request):
        calls.append(request.headers["DPoP"])
        if len(calls) == 1:
            return 401, {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "n-9"}, ""
        return 302, {"Location": "https://evil.example/x"}, ""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, f"{API}/old", callback=old)
        mock.add_callback(responses.GET, "https://evil.example/x",
                          callback=lambda request: (seen.append(dict(request.headers)), (200, {}, "ok"))[1])
        requests.get(f"{API}/old", auth=DPoPAuth(access_token="secret-token"), timeout=5)
    assert len(calls) == 2 and len(seen) == 1
    assert "DPoP" not in seen[0] and "Authorization" not in seen[0]
