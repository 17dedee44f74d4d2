"""Digest (RFC 7616), HMAC-signed requests, and what survives a redirect, on the practice API."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest
import requests
from requests.auth import HTTPDigestAuth

from helpers import demo

ADA = ("ada", "analytical:engine:1843")
SECRET = demo.SIGNING_KEYS[0]["secret"].encode()


def digest_challenge(response: requests.Response) -> dict[str, str]:
    from helpers.digest_auth import parse_auth_params

    scheme, _, params = response.headers["WWW-Authenticate"].partition(" ")
    assert scheme == "Digest"
    return parse_auth_params(params)


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_digest_good_on_both_transports(http, any_api, algorithm):
    query = "?algorithm=MD5" if algorithm == "MD5" else ""
    first = http.get(any_api.url("/digest/whoami" + query), timeout=5)
    challenge = digest_challenge(first)
    assert first.status_code == 401 and challenge["algorithm"] == algorithm and challenge["qop"] == "auth"
    assert challenge["realm"] == "practice" and "stale" not in challenge
    response = http.get(any_api.url("/digest/whoami" + query), auth=HTTPDigestAuth(*ADA), timeout=5)
    assert response.status_code == 200 and response.json() == {"username": "ada", "scheme": "Digest"}
    assert [hop.status_code for hop in response.history] == [401]
    assert "analytical" not in any_api.calls[-1].header("authorization")  # the password never travels


def test_digest_wrong_password_and_unknown_user(http, api):
    for user, password in [("ada", "wrong"), ("nobody", "analytical:engine:1843")]:
        response = http.get(api.url("/digest/whoami"), auth=HTTPDigestAuth(user, password), timeout=5)
        assert response.status_code == 401 and response.json()["error"] == "invalid_credentials"
        assert "stale" not in digest_challenge(response)


def test_digest_stale_nonce_gets_stale_true_and_requests_recovers(http, api):
    http.auth = HTTPDigestAuth(*ADA)
    assert http.get(api.url("/digest/whoami"), timeout=5).status_code == 200
    api.clock.advance(301)
    response = http.get(api.url("/digest/whoami"), timeout=5)  # the nonce it reuses is now too old
    assert response.status_code == 200
    stale = response.history[0]
    assert stale.status_code == 401 and stale.json()["error"] == "stale_nonce"
    assert digest_challenge(stale)["stale"] == "true"


def test_digest_replayed_nonce_count_is_refused(http, api):
    ok = http.get(api.url("/digest/whoami"), auth=HTTPDigestAuth(*ADA), timeout=5)
    assert ok.status_code == 200
    replay = http.get(api.url("/digest/whoami"), headers={"Authorization": ok.request.headers["Authorization"]},
                      timeout=5)
    assert replay.status_code == 401 and replay.json()["error"] == "replayed_request"


@pytest.mark.parametrize("header, status", [
    ('Digest username="ada"', 400),
    ("Digest ,,,", 400),
    ('Digest username="ada", realm="practice", nonce="bm9wZQ==", uri="/digest/whoami", response="00", '
     'qop=auth, nc=00000001, cnonce="x", algorithm=SHA-256', 401),
    ("Basic YWRhOng=", 401),
])
def test_digest_malformed_credentials(http, api, header, status):
    response = http.get(api.url("/digest/whoami"), headers={"Authorization": header}, timeout=5)
    assert response.status_code == status and "error" in response.json()


def signed_headers(body: bytes, timestamp: float, *, path="/signed/orders", request_id=None, secret=SECRET) -> dict:
    request_id = request_id or str(uuid.uuid4())
    stamp = str(int(timestamp))
    message = "\n".join(["POST", path, stamp, request_id, hashlib.sha256(body).hexdigest()]).encode()
    return {"X-Key-Id": "orders-client", "X-Timestamp": stamp, "X-Request-Id": request_id,
            "X-Signature": hmac.new(secret, message, hashlib.sha256).hexdigest(), "Content-Type": "application/json"}


ORDER = json.dumps({"item": "tea", "quantity": 2}).encode()


def test_signed_request_good_on_both_transports(http, any_api):
    response = http.post(any_api.url("/signed/orders"), data=ORDER, headers=signed_headers(ORDER, any_api.clock.now()),
                         timeout=5)
    assert response.status_code == 201 and response.json()["accepted"] == {"item": "tea", "quantity": 2}
    assert SECRET.decode() not in str(any_api.calls[-1].headers)  # the secret never travels


def test_signed_request_tampered_body(http, api):
    headers = signed_headers(ORDER, api.clock.now())
    tampered = ORDER.replace(b"2", b"20")
    response = http.post(api.url("/signed/orders"), data=tampered, headers=headers, timeout=5)
    assert response.status_code == 401 and response.json()["error"] == "invalid_signature"
    assert response.headers["WWW-Authenticate"].startswith("PracticeHMAC")


def test_signed_request_skewed_clock(http, api):
    old = signed_headers(ORDER, api.clock.now())
    api.clock.advance(301)
    response = http.post(api.url("/signed/orders"), data=ORDER, headers=old, timeout=5)
    assert response.status_code == 401 and response.json()["error"] == "stale_timestamp"
    future = signed_headers(ORDER, api.clock.now() + 301)
    assert http.post(api.url("/signed/orders"), data=ORDER, headers=future, timeout=5).json()["error"] == \
        "stale_timestamp"


def test_signed_request_replay(http, api):
    headers = signed_headers(ORDER, api.clock.now())
    assert http.post(api.url("/signed/orders"), data=ORDER, headers=headers, timeout=5).status_code == 201
    replay = http.post(api.url("/signed/orders"), data=ORDER, headers=headers, timeout=5)
    assert replay.status_code == 401 and replay.json()["error"] == "replayed_request"


@pytest.mark.parametrize("change, error", [
    ({"X-Signature": None}, "missing_signature"),
    ({"X-Key-Id": "someone-else"}, "invalid_key"),
    ({"X-Timestamp": "yesterday"}, "invalid_request"),
])
def test_signed_request_bad_headers(http, api, change, error):
    headers = {**signed_headers(ORDER, api.clock.now()), **change}
    headers = {name: value for name, value in headers.items() if value is not None}
    assert http.post(api.url("/signed/orders"), data=ORDER, headers=headers, timeout=5).json()["error"] == error


def test_signed_with_the_wrong_secret_or_path(http, api):
    wrong_secret = signed_headers(ORDER, api.clock.now(), secret=b"x" * 32)
    assert http.post(api.url("/signed/orders"), data=ORDER, headers=wrong_secret, timeout=5).status_code == 401
    wrong_path = signed_headers(ORDER, api.clock.now(), path="/signed/other")
    assert http.post(api.url("/signed/orders"), data=ORDER, headers=wrong_path, timeout=5).json()["error"] == \
        "invalid_signature"


def test_authorization_is_dropped_on_a_cross_host_redirect_and_kept_on_the_same_host(http, any_api):
    http.auth = ADA
    same = http.get(any_api.url("/redirect/same-host"), timeout=5)
    other = http.get(any_api.url("/redirect/other-host"), timeout=5)
    assert same.status_code == other.status_code == 200
    assert same.history[0].status_code == other.history[0].status_code == 302
    assert same.json()["authorization"] == "Basic (credentials hidden)"
    assert other.json()["authorization"] is None
    assert other.json()["host"] != same.json()["host"]
    assert "authorization" not in any_api.calls[-1].headers


def test_a_custom_key_header_follows_a_cross_host_redirect(http, any_api):
    response = http.get(any_api.url("/redirect/other-host"), headers={"X-API-Key": demo.api_key("ro-1")}, timeout=5)
    assert response.json()["x-api-key"] == "(hidden)", "requests does not know X-API-Key is a secret"
    stopped = http.get(any_api.url("/redirect/other-host"), headers={"X-API-Key": demo.api_key("ro-1")},
                       allow_redirects=False, timeout=5)
    assert stopped.status_code == 302 and stopped.headers["Location"].endswith("/headers")
