"""BearerAuth and RefreshingBearerAuth, review 3: request bodies on the retry, TLS only, token_type, the margin."""
from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses

from helpers import BearerAuth, RefreshingBearerAuth, TokenRefreshError
from helpers.client.auth import InsecureTransportError

TOKENS = {"access_token": "old", "token_type": "Bearer", "refresh_token": "r1"}


# -- a body already sent is rewound before the retry, or not resent at all (finding 3) -----------------

class Recorder(BaseHTTPRequestHandler):
    """/token gives a new token; /upload refuses "Bearer old" with invalid_token and records what it read."""

    protocol_version = "HTTP/1.1"
    seen: list = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = b""
            while (size := int(self.rfile.readline().strip(), 16)) != 0:
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/token":
            out = json.dumps({"access_token": "new", "token_type": "Bearer", "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            self.seen.append((self.headers.get("Authorization"), body))
            out = b""
            if self.headers.get("Authorization") == "Bearer old":
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            else:
                self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture
def recorder():
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", Recorder.seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("body", [b"important payload", "important payload", {"note": "important payload"}])
def test_a_body_in_memory_is_sent_again_whole(recorder, body):
    base, seen = recorder
    auth = RefreshingBearerAuth(base + "/token", TOKENS)
    response = requests.post(base + "/upload", data=body, auth=auth, timeout=2)
    assert response.status_code == 200 and auth.refreshes == 1
    assert [token for token, _ in seen] == ["Bearer old", "Bearer new"]
    assert seen[0][1] == seen[1][1] != b""


def test_a_file_body_is_rewound_before_the_retry(recorder):
    base, seen = recorder
    upload = io.BytesIO(b"header:important payload")
    upload.seek(7)  # a file already partly read: what was sent starts here, and so does the retry
    response = requests.post(base + "/upload", data=upload, auth=RefreshingBearerAuth(base + "/token", TOKENS),
                             timeout=2)
    assert response.status_code == 200
    assert seen == [("Bearer old", b"important payload"), ("Bearer new", b"important payload")]


def test_a_generator_body_is_not_sent_twice_the_401_comes_back(recorder):
    base, seen = recorder
    auth = RefreshingBearerAuth(base + "/token", TOKENS)
    response = requests.post(base + "/upload", data=(chunk for chunk in [b"a", b"b"]), auth=auth, timeout=2)
    assert response.status_code == 401 and response.history == []  # the caller learns it was not accepted
    assert seen == [("Bearer old", b"ab")]  # no second, empty, "successful" upload
    assert auth.refreshes == 1 and auth.access_token == "new"  # the next request carries the fresh token
    again = requests.post(base + "/upload", data=(chunk for chunk in [b"a", b"b"]), auth=auth, timeout=2)
    assert again.status_code == 200 and seen[-1] == ("Bearer new", b"ab")


# -- TLS: https, or http only to a loopback IP literal (RFC 6750 §5.3, RFC 6749 §3.2, RFC 8252 §8.3) ----

INSECURE = ["http://api.example.test/me", "http://localhost:8000/me", "http://LOCALHOST/me", "http://127.0.0.1.nip.io/me",
            "http://10.0.0.1/me", "http://[::2]/me", "ftp://api.example.test/me", "HTTP://api.example.test/me"]
ALLOWED = ["https://api.example.test/me", "HTTPS://api.example.test/me", "http://127.0.0.1:8000/me",
           "http://127.0.0.1/me", "http://[::1]:8000/me", "http://127.0.0.2/me"]


@pytest.mark.parametrize("url", INSECURE)
def test_bearer_auth_refuses_plain_http_to_another_host_before_sending(url):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru("ftp://")
        with pytest.raises(InsecureTransportError, match=r"https") as refused:
            requests.get(url, auth=BearerAuth("SECRET-TOKEN"), timeout=5)
        assert len(mock.calls) == 0  # nothing was sent
    assert isinstance(refused.value, ValueError) and "SECRET-TOKEN" not in str(refused.value)


@pytest.mark.parametrize("url", INSECURE)
def test_refreshing_bearer_auth_refuses_a_plain_http_token_url_at_construction(url):
    with pytest.raises(InsecureTransportError, match=r"https"):
        RefreshingBearerAuth(url, TOKENS, client_id="c", client_secret="s")


@pytest.mark.parametrize("url", INSECURE)
def test_refreshing_bearer_auth_refuses_a_plain_http_api_url(url):
    auth = RefreshingBearerAuth("https://auth.example.test/token", {**TOKENS, "expires_in": 0})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        token_endpoint = mock.post("https://auth.example.test/token", json={**TOKENS, "access_token": "new"})
        with pytest.raises(InsecureTransportError, match=r"https"):
            requests.get(url, auth=auth, timeout=5)
        assert len(mock.calls) == 0 and token_endpoint.call_count == 0  # not even the refresh was sent


@pytest.mark.parametrize("url", ALLOWED)
def test_https_and_loopback_literals_are_accepted(url):
    with responses.RequestsMock() as mock:
        mock.get(url.lower(), body="ok")
        assert requests.get(url, auth=BearerAuth("t"), timeout=5).status_code == 200
        auth = RefreshingBearerAuth(url, TOKENS)
        assert requests.get(url, auth=auth, timeout=5).status_code == 200
        assert [call.request.headers["Authorization"] for call in mock.calls] == ["Bearer t", "Bearer old"]


def test_the_refusal_says_why_and_names_no_secret_in_the_url():
    with pytest.raises(InsecureTransportError) as refused:
        requests.get("http://ada:pw@api.example.test/me?api_key=K123", auth=BearerAuth("t"), timeout=5)
    message = str(refused.value)
    assert "http://api.example.test" in message and "RFC 6750" in message and "127.0.0.1" in message
    assert "pw" not in message and "K123" not in message


# -- token_type: Bearer only, case-insensitively (RFC 6749 §7.1, §5.1) -------------------------------

def test_a_token_type_other_than_bearer_is_refused_at_construction():
    for token_type in ("DPoP", "mac", "N_A", ""):
        with pytest.raises(ValueError, match="token_type"):
            RefreshingBearerAuth("https://auth.example.test/token", {**TOKENS, "token_type": token_type})
    for token_type in ("Bearer", "bearer", "BEARER"):
        assert RefreshingBearerAuth("https://auth.example.test/token",
                                    {**TOKENS, "token_type": token_type}).access_token == "old"


@pytest.mark.parametrize("answer", [{"access_token": "new", "token_type": "DPoP", "refresh_token": "r2"},
                                    {"access_token": "new", "refresh_token": "r2"},  # token_type is REQUIRED
                                    {"access_token": "new", "token_type": None}])
def test_a_refresh_response_without_a_bearer_token_type_is_refused_and_not_stored(answer):
    auth = RefreshingBearerAuth("https://auth.example.test/token", TOKENS)
    with responses.RequestsMock() as mock:
        mock.post("https://auth.example.test/token", json=answer)
        with pytest.raises(TokenRefreshError, match="token_type"):  # log in again: the refresh token may be spent
            auth.refresh()
    assert (auth.access_token, auth.refreshes) == (None, 0)  # never sent as a Bearer token, and forgotten


def test_a_bearer_refresh_response_in_any_case_is_used():
    auth = RefreshingBearerAuth("https://auth.example.test/token", TOKENS)
    with responses.RequestsMock() as mock:
        mock.post("https://auth.example.test/token", json={"access_token": "new", "token_type": "bEaReR"})
        assert auth.refresh() == "new"


# -- the margin is capped at half the token's lifetime ---------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("expires_in, margin, refresh_after", [(20, 30, 10), (60, 30, 30), (300, 30, 270), (2, 30, 1)])
def test_a_short_lived_token_is_not_refreshed_before_every_request(expires_in, margin, refresh_after):
    clock = Clock()
    auth = RefreshingBearerAuth("https://auth.example.test/token", {**TOKENS, "expires_in": expires_in},
                                margin=margin, now=clock)
    answer = {"access_token": "new", "token_type": "Bearer", "expires_in": expires_in}
    with responses.RequestsMock() as mock:
        token_endpoint = mock.post("https://auth.example.test/token", json=answer)
        mock.get("https://api.example.test/me", body="ok")
        for _ in range(3):
            requests.get("https://api.example.test/me", auth=auth, timeout=5)
        clock.t += refresh_after - 0.5
        requests.get("https://api.example.test/me", auth=auth, timeout=5)
        assert token_endpoint.call_count == 0
        clock.t += 0.5
        requests.get("https://api.example.test/me", auth=auth, timeout=5)
        requests.get("https://api.example.test/me", auth=auth, timeout=5)
        assert token_endpoint.call_count == 1  # once, and the fresh token is not refreshed straight away
