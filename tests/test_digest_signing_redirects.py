"""Digest (RFC 7616), HMAC-signed requests, and what survives a redirect, on the practice API."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest
import requests
from requests.auth import HTTPDigestAuth

from helpers.practice_api import demo
from helpers.practice_api.wsgi import HTTPError, Request

ADA = ("ada", "analytical:engine:1843")
SECRET = demo.SIGNING_KEYS[0]["secret"].encode()


def digest_challenge(response: requests.Response) -> dict[str, str]:
    from helpers.practice_api.digest_auth import parse_auth_params

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


def test_a_request_signed_with_a_fast_clock_cannot_be_replayed_after_the_window(http, api):
    """The reviewer's scenario: a client clock 250 s fast; 301 s later the same bytes came back as a new order.
    The id must be kept until its timestamp leaves the window (timestamp + 300 s), not 300 s after acceptance."""
    headers = signed_headers(ORDER, api.clock.now() + 250)
    assert http.post(api.url("/signed/orders"), data=ORDER, headers=headers, timeout=5).status_code == 201
    api.clock.advance(301)
    replay = http.post(api.url("/signed/orders"), data=ORDER, headers=headers, timeout=5)
    assert replay.status_code == 401 and replay.json()["error"] == "replayed_request"
    api.clock.advance(250)  # now past timestamp + 300 s: the timestamp itself refuses it
    assert http.post(api.url("/signed/orders"), data=ORDER, headers=headers, timeout=5).json()["error"] == \
        "stale_timestamp"
    assert len(api.app.orders) == 1


class FrozenClock:
    def __init__(self, now: float) -> None:
        self.time = now

    def now(self) -> float:
        return self.time


@pytest.mark.parametrize("skew", [-300, -1, 0, 120, 300])
def test_the_replay_cache_keeps_an_id_while_its_timestamp_is_accepted(skew):
    """Each boundary: an id is refused as a replay up to timestamp + 300 s, then the timestamp is stale,
    and only then does the cache let the id go (so it does not grow forever)."""
    from helpers.practice_api.request_signing import WINDOW_SECONDS, SignatureChecker

    clock = FrozenClock(1_800_000_000)
    checker = SignatureChecker(clock)
    headers = signed_headers(ORDER, clock.time + skew)
    request = Request("POST", "/signed/orders", headers={k.lower(): v for k, v in headers.items()}, body=ORDER)
    assert checker.verify(request) == "orders-client"
    clock.time += skew + WINDOW_SECONDS  # the last second the timestamp is accepted
    with pytest.raises(HTTPError) as replayed:
        checker.verify(request)
    assert replayed.value.error == "replayed_request"
    clock.time += 1
    with pytest.raises(HTTPError) as stale:
        checker.verify(request)
    assert stale.value.error == "stale_timestamp"
    fresh = signed_headers(ORDER, clock.time)
    checker.verify(Request("POST", "/signed/orders", headers={k.lower(): v for k, v in fresh.items()}, body=ORDER))
    assert ("orders-client", headers["X-Request-Id"]) not in checker.seen
    assert ("orders-client", fresh["X-Request-Id"]) in checker.seen


@pytest.mark.parametrize("change, error", [
    ({"X-Signature": None}, "missing_signature"),
    ({"X-Key-Id": "someone-else"}, "invalid_key"),
    ({"X-Timestamp": "yesterday"}, "invalid_request"),
    ({"X-Signature": "é" * 64}, "invalid_signature"),  # hmac.compare_digest raises TypeError on non-ASCII str
    ({"X-Signature": "ab"}, "invalid_signature"),
    ({"X-Request-Id": "x" * 101}, "invalid_request"),
])
def test_signed_request_bad_headers(http, api, change, error):
    headers = {**signed_headers(ORDER, api.clock.now()), **change}
    headers = {name: value for name, value in headers.items() if value is not None}
    response = http.post(api.url("/signed/orders"), data=ORDER, headers=headers, timeout=5)
    assert response.status_code in (400, 401) and response.json()["error"] == error


@pytest.mark.parametrize("timestamp", ["²", "1²", "¹", "1" * 5000, "+1800000000", " 1800000000", "1_800_000_000"])
def test_a_signed_but_malformed_timestamp_is_invalid_request(http, api, timestamp):
    """Whole ASCII seconds only: str.isdigit() accepts '²' and '¹' (both Latin-1), and int() of 5000 digits
    raises on Python 3.11+. Even a correctly signed request must get a 400, never a 500."""
    request_id = str(uuid.uuid4())
    message = "\n".join(["POST", "/signed/orders", timestamp, request_id, hashlib.sha256(ORDER).hexdigest()])
    headers = {"X-Key-Id": "orders-client", "X-Timestamp": timestamp, "X-Request-Id": request_id,
               "X-Signature": hmac.new(SECRET, message.encode(), hashlib.sha256).hexdigest(),
               "Content-Type": "application/json"}
    prepared = requests.Request("POST", api.url("/signed/orders"), data=ORDER).prepare()
    prepared.headers.update(headers)
    response = http.send(prepared, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request", response.text


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


@pytest.mark.parametrize("response_value", ["é" * 64, "\u00ff" * 32, "0" * 63 + "é", "G" * 64, " " + "0" * 64])
def test_digest_a_response_that_is_not_hex_is_401_not_500(http, any_api, response_value):
    challenge = digest_challenge(http.get(any_api.url("/digest/whoami"), timeout=5))
    header = (f'Digest username="ada", realm="practice", nonce="{challenge["nonce"]}", uri="/digest/whoami", '
              f'response="{response_value}", qop=auth, nc=00000001, cnonce="abc", algorithm=SHA-256')
    response = http.get(any_api.url("/digest/whoami"), headers={"Authorization": header}, timeout=5)
    assert response.status_code == 401 and response.json()["error"] == "invalid_credentials"


def test_digest_forgets_the_counts_of_expired_nonces(http, api):
    from helpers.practice_api.digest_auth import NONCE_SECONDS

    for _ in range(3):
        assert http.get(api.url("/digest/whoami"), auth=HTTPDigestAuth(*ADA), timeout=5).status_code == 200
    assert len(api.app.digest.seen_counts) == 3
    api.clock.advance(NONCE_SECONDS + 1)
    assert http.get(api.url("/digest/whoami"), auth=HTTPDigestAuth(*ADA), timeout=5).status_code == 200
    assert len(api.app.digest.seen_counts) == 1


def signed_request(timestamp: float, request_id: str | None = None, key_id: str = "orders-client",
                   secret: bytes = SECRET) -> Request:
    headers = signed_headers(ORDER, timestamp, request_id=request_id, secret=secret) | {"X-Key-Id": key_id}
    return Request("POST", "/signed/orders", headers={k.lower(): v for k, v in headers.items()}, body=ORDER)


@pytest.mark.parametrize("request_id", ["a\nb", "a\r\nb", "a b", "a\tb", "é", "x" * 101, "a\x00"])
def test_a_request_id_that_is_not_visible_ascii_is_400(request_id):
    """One field per line: with a newline in the id, two different requests could sign the same string."""
    from helpers.practice_api.request_signing import SignatureChecker

    clock = FrozenClock(1_800_000_000)
    with pytest.raises(HTTPError) as refused:
        SignatureChecker(clock).verify(signed_request(clock.time, request_id))
    assert refused.value.status == 400 and "visible ASCII" in refused.value.description


def test_two_clients_may_use_the_same_request_id(monkeypatch):
    from helpers.practice_api import request_signing

    monkeypatch.setitem(request_signing.SECRETS, "other-client", b"another-secret-of-32-bytes-or-more!!")
    clock = FrozenClock(1_800_000_000)
    checker = request_signing.SignatureChecker(clock)
    assert checker.verify(signed_request(clock.time, "order-1")) == "orders-client"
    other = signed_request(clock.time, "order-1", "other-client", b"another-secret-of-32-bytes-or-more!!")
    assert checker.verify(other) == "other-client"
    with pytest.raises(HTTPError) as replayed:
        checker.verify(other)
    assert replayed.value.error == "replayed_request"


def test_a_clock_stepped_back_makes_no_forgotten_id_acceptable_again():
    """The cache is pruned against the highest time seen, and timestamps are judged against it too."""
    from helpers.practice_api.request_signing import WINDOW_SECONDS, SignatureChecker

    clock = FrozenClock(1_800_000_000)
    checker = SignatureChecker(clock)
    first = signed_request(clock.time)
    assert checker.verify(first) == "orders-client"
    clock.time += WINDOW_SECONDS + 60
    checker.verify(signed_request(clock.time))  # prunes the first id
    clock.time -= 120  # NTP steps the clock back: the first timestamp is within 300 s of it again
    with pytest.raises(HTTPError) as refused:
        checker.verify(first)
    assert refused.value.error in ("stale_timestamp", "replayed_request")
