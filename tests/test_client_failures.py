"""Failures handled where they belong: api_session's timeouts and urllib3 retries, the 401 rules, sign-out.

Retries are checked on a real loopback server: `responses` bypasses urllib3's sleeping, so only a
socket shows what urllib3 really waits (FACTS: urllib3). Waits are recorded by replacing the
`time.sleep` urllib3's Retry calls, except in the test of the cap, which waits for real (0.1 s).
"""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses
import urllib3.util.retry

from helpers import (FileTokenStore, RefreshingBearerAuth, SignInAgain, SignOutError, api_session,
                     serve_practice_api, start_practice_api)
from helpers.client.session import DEFAULT_TIMEOUT

from conftest import ada_login, token_calls  # tests/ is on sys.path

KEY = ("https://api.practice.test", "notes-cli", "ada")


class Scripted(BaseHTTPRequestHandler):
    """Answers each path from a script: a list of (status, headers, delay) used in order, the last one repeated."""
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.hits.append((self.command, self.path, time.monotonic()))
        script = self.server.script[self.path]
        status, headers, delay = script.pop(0) if len(script) > 1 else script[0]
        if delay:
            time.sleep(delay)  # the server is slow for real: a read timeout needs a socket that waits
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    httpd.script, httpd.hits = {}, []
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_port}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def waits(monkeypatch):
    """What urllib3's Retry would have slept, without sleeping."""
    slept: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", slept.append)
    return slept


OK = (200, {}, 0)


def hits_soon(server, expected: int) -> int:
    """How many requests the server has read, once it has read `expected` (or after 2 s).

    The client gives up after its read timeout, maybe before the server's thread has even read the
    request: the count is only settled when that thread has run.
    """
    deadline = time.monotonic() + 2
    while len(server.hits) < expected and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.02)  # and no more come
    return len(server.hits)


def busy(retry_after: str | None = None, status: int = 503):
    return status, ({} if retry_after is None else {"Retry-After": retry_after}), 0


# -- retries -------------------------------------------------------------------------------------------

def test_a_get_is_retried_on_503_and_429_and_retry_after_is_honoured(server, waits):
    server.script["/notes"] = [busy("1"), busy("2", status=429), OK]
    with api_session() as session:
        response = session.get(server.url + "/notes")
    assert response.status_code == 200 and len(server.hits) == 3
    assert waits == [1, 2]  # what the server asked for, not the backoff


def test_a_retry_after_above_retry_after_max_returns_the_answer_at_once_rfc9110_10_2_3(server, waits):
    """Retrying at the cap would be before the time the server named: the caller gets the answer instead."""
    server.script["/notes"] = [busy("3600"), OK]
    with api_session(retry_after_max=60) as session:
        response = session.get(server.url + "/notes")
    assert response.status_code == 503 and response.headers["Retry-After"] == "3600"
    assert len(server.hits) == 1 and waits == []


def test_a_retry_after_at_or_below_retry_after_max_is_waited_for_real(server):
    server.script["/notes"] = [busy("1"), OK]
    with api_session(retry_after_max=1) as session:
        assert session.get(server.url + "/notes").status_code == 200
    waited = server.hits[1][2] - server.hits[0][2]
    assert 1 <= waited < 2


def test_an_http_date_retry_after_beyond_the_cap_is_not_waited_either(server, waits):
    server.script["/notes"] = [busy("Fri, 31 Dec 9999 23:59:59 GMT"), OK]
    with api_session(retry_after_max=60) as session:
        assert session.get(server.url + "/notes").status_code == 503
    assert len(server.hits) == 1 and waits == []


@pytest.mark.parametrize("seconds", ["9" * 64, "9" * 309, "9" * 400])
def test_a_retry_after_no_float_can_hold_is_a_wait_too_long_not_an_overflowerror_rfc9110_10_2_3(
        server, waits, seconds):
    """float("9" * 309) is inf, and formatting a huge int with :.0f raises OverflowError: either way the
    server asked for longer than the cap, so the caller gets the answer at once."""
    server.script["/notes"] = [busy(seconds), OK]
    with api_session(retry_after_max=60) as session:
        response = session.get(server.url + "/notes")
    assert response.status_code == 503 and len(server.hits) == 1 and waits == []


def test_the_practice_api_refuses_a_retry_after_int_longer_than_its_text_form_allows():
    """faults.busy caps a text Retry-After at 64 characters: an int's digits are capped the same way."""
    from helpers.practice_api.faults import Faults
    faults = Faults()
    faults.busy("/notes", retry_after=10 ** 63)  # 64 digits: allowed
    with pytest.raises(ValueError, match="64"):
        faults.busy("/notes", retry_after=10 ** 64)


def test_a_413_with_retry_after_is_retried_too_as_urllib3_does(server, waits):
    """urllib3's Retry.RETRY_AFTER_STATUS_CODES holds 413: the module docstring says so."""
    assert 413 in urllib3.util.retry.Retry.RETRY_AFTER_STATUS_CODES
    server.script["/notes"] = [(413, {"Retry-After": "2"}, 0), OK]
    with api_session() as session:
        assert session.get(server.url + "/notes").status_code == 200
    assert waits == [2] and len(server.hits) == 2


def test_the_first_retry_has_no_backoff_and_no_jitter(server, waits):
    server.script["/notes"] = [busy(), busy(), OK]
    with api_session(backoff=0.5, jitter=0.5) as session:
        assert session.get(server.url + "/notes").status_code == 200
    assert len(waits) == 1 and 1.0 <= waits[0] <= 1.5  # the first retry slept nothing (0 is not slept)


def test_the_practice_api_on_loopback_asking_for_two_minutes_gets_its_429_back_at_once(waits):
    with serve_practice_api() as api:
        api.app.faults.busy("/me", retry_after=120)
        with api_session(retry_after_max=5) as session:
            response = session.get(api.url("/me"))
        assert response.status_code == 429 and response.headers["Retry-After"] == "120" and waits == []
        assert requests.get(api.url("/me"), timeout=5).status_code == 401  # the one busy answer was used


def test_a_retry_after_date_is_honoured_and_a_malformed_one_ignored(server, waits):
    server.script["/notes"] = [busy("soon"), busy("Wed, 21 Oct 2015 07:28:00 GMT"), busy("-5"), OK]
    with api_session(backoff=0.5, jitter=0) as session:
        assert session.get(server.url + "/notes").status_code == 200  # urllib3 alone raises InvalidHeader
    # "soon": ignored, first retry: urllib3's backoff is 0; a date in the past: 0 s, so the backoff
    # (0.5 * 2); "-5" is neither: ignored, the backoff (0.5 * 4)
    assert waits == [1.0, 2.0]


def test_urllib3_alone_ends_the_call_on_a_malformed_retry_after(server):
    """Why PatientRetry exists: a server's bad header should not be the client's exception."""
    server.script["/notes"] = [busy("soon"), OK]
    with requests.Session() as session:
        session.mount("http://", requests.adapters.HTTPAdapter(
            max_retries=urllib3.util.retry.Retry(total=2, status_forcelist=[503])))
        with pytest.raises(requests.exceptions.InvalidHeader):
            session.get(server.url + "/notes", timeout=5)


def test_without_retry_after_the_backoff_grows_with_jitter(server, waits, monkeypatch):
    monkeypatch.setattr(urllib3.util.retry.random, "random", lambda: 0.5)
    server.script["/notes"] = [busy(), busy(status=502), busy(status=504), OK]
    with api_session(backoff=0.5, jitter=0.2) as session:
        assert session.get(server.url + "/notes").status_code == 200
    # urllib3 retries the first failure at once, then backoff * 2 ** (n - 1) + jitter * random()
    assert waits == [0.5 * 2 + 0.1, 0.5 * 4 + 0.1]


@pytest.mark.parametrize("status", [503, 429])
def test_a_post_is_never_retried(server, waits, status):
    server.script["/notes"] = [busy("1", status=status), OK]
    with api_session() as session:
        response = session.post(server.url + "/notes", json={"text": "once"})
    assert response.status_code == status and len(server.hits) == 1 and waits == []


@pytest.mark.parametrize("method", ["PUT", "DELETE", "HEAD"])
def test_idempotent_methods_are_retried(server, waits, method):
    server.script["/notes/1"] = [busy("1"), OK]
    with api_session() as session:
        assert session.request(method, server.url + "/notes/1").status_code == 200
    assert len(server.hits) == 2


def test_out_of_retries_the_last_answer_comes_back_for_raise_for_status(server, waits):
    server.script["/notes"] = [busy("1")]
    with api_session(retries=2) as session:
        response = session.get(server.url + "/notes")
    assert response.status_code == 503 and len(server.hits) == 3 and waits == [1, 1]
    with pytest.raises(requests.HTTPError, match="503"):
        response.raise_for_status()


def test_statuses_that_are_not_transient_are_not_retried(server, waits):
    for status in (400, 401, 403, 404, 500, 501):
        server.script["/notes"] = [busy(status=status)]
        with api_session() as session:
            assert session.get(server.url + "/notes").status_code == status
    assert len(server.hits) == 6


# -- timeouts ------------------------------------------------------------------------------------------

def test_every_call_gets_the_default_timeout():
    with api_session() as session:
        assert session.get_adapter("https://api.example.com").timeout == DEFAULT_TIMEOUT == (3.05, 10)


def test_the_session_reads_nothing_from_the_environment_and_takes_verify_and_proxies(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nowhere/ca.pem")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with api_session() as session:
        settings = session.merge_environment_settings("https://api.example.com", {}, None, None, None)
        assert session.trust_env is False and settings["verify"] is True and settings["proxies"] == {}
    with api_session(verify="/etc/ca.pem", proxies={"https": "http://proxy.example:3128"}) as session:
        settings = session.merge_environment_settings("https://api.example.com", {}, None, None, None)
        assert settings["verify"] == "/etc/ca.pem" and settings["proxies"]["https"] == "http://proxy.example:3128"


def test_a_slow_server_times_out_without_a_timeout_argument_and_a_get_is_retried(server):
    server.script["/slow"] = [(200, {}, 0.5)]
    with api_session(timeout=(2, 0.1), retries=1) as session:
        with pytest.raises(requests.ReadTimeout):  # not ConnectionError, as urllib3's retries would make it
            session.get(server.url + "/slow")
        assert hits_soon(server, 2) == 2
        with pytest.raises(requests.ReadTimeout):
            session.post(server.url + "/slow")  # it may have been applied: never sent again
        assert hits_soon(server, 3) == 3
        assert session.get(server.url + "/slow", timeout=5).status_code == 200  # the call's own timeout wins


def test_a_connection_refused_is_retried_even_for_a_post(waits):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    with api_session(retries=2) as session:
        with pytest.raises(requests.ConnectionError):
            session.post(f"http://127.0.0.1:{port}/notes", json={})
    assert len(waits) == 1  # two retries: urllib3 sleeps only before the second (the first is at once)


# -- the 401 rules -------------------------------------------------------------------------------------

def test_a_revoked_access_token_is_refreshed_and_the_request_retried_once(api):
    """RFC 6750 §3.1 invalid_token ("revoked"): a new token from the same grant may work."""
    auth = RefreshingBearerAuth(api.url("/oauth/token"), ada_login(api), now=api.clock.now)
    requests.post(api.url("/oauth/revoke"), data={"token": auth.access_token, "token_type_hint": "access_token"},
                  timeout=5).raise_for_status()
    response = requests.get(api.url("/me"), auth=auth, timeout=5)
    assert response.status_code == 200 and [r.status_code for r in response.history] == [401]
    assert auth.refreshes == 1 and len(token_calls(api)) == 1


def test_a_bare_401_is_retried_at_most_once_after_a_refresh():
    auth = RefreshingBearerAuth("https://auth.example.test/token",
                                {"access_token": "a1", "token_type": "Bearer", "refresh_token": "r1"})
    with responses.RequestsMock() as mock:
        api = mock.get("https://api.example.test/notes", status=401)  # no WWW-Authenticate at all
        token = mock.post("https://auth.example.test/token",
                          json={"access_token": "a2", "token_type": "Bearer", "refresh_token": "r2"})
        response = requests.get("https://api.example.test/notes", auth=auth, timeout=5)
        assert response.status_code == 401 and len(response.history) == 1
        assert api.call_count == 2 and token.call_count == 1  # never loops


def test_a_bare_401_after_a_cross_host_redirect_does_not_refresh():
    auth = RefreshingBearerAuth("https://auth.example.test/token",
                                {"access_token": "SECRET", "token_type": "Bearer", "refresh_token": "r1"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("https://api.example.test/files/1", status=302, headers={"Location": "https://cdn.example.test/1"})
        mock.get("https://cdn.example.test/1", status=401)
        token = mock.post("https://auth.example.test/token", json={"access_token": "NEW", "token_type": "Bearer"})
        response = requests.get("https://api.example.test/files/1", auth=auth, timeout=5)
        assert [call.request.headers.get("Authorization") for call in mock.calls] == ["Bearer SECRET", None]
    assert response.status_code == 401 and token.call_count == 0


def test_the_auth_works_through_api_session_and_a_retry_keeps_the_token(api):
    auth = RefreshingBearerAuth(api.url("/oauth/token"), ada_login(api), now=api.clock.now)
    with api_session(auth=auth) as session:
        assert session.get(api.url("/me")).json()["username"] == "ada"
    assert api.calls[-1].header("authorization") == "Bearer " + auth.access_token


# -- sign-out (RFC 7009) -------------------------------------------------------------------------------

@pytest.fixture
def api():
    handle = start_practice_api()
    yield handle
    handle.stop()
    assert handle.app.errors == []


def test_sign_out_revokes_the_refresh_token_and_deletes_the_entry(api, tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    tokens = ada_login(api)
    auth = RefreshingBearerAuth(api.url("/oauth/token"), tokens, now=api.clock.now, store=store, store_key=KEY)
    auth.sign_out(api.url("/oauth/revoke"))
    sent = api.calls[-1]
    assert sent.path == "/oauth/revoke" and sent.form() == {"token": tokens["refresh_token"],
                                                            "token_type_hint": "refresh_token"}
    assert store.load(KEY) is None and auth.state() == {}
    # the server revoked the whole grant: the refresh token, and the access token already issued
    refused = requests.post(api.url("/oauth/token"), data={"grant_type": "refresh_token",
                                                           "refresh_token": tokens["refresh_token"]}, timeout=5)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    me = requests.get(api.url("/me"), headers={"Authorization": "Bearer " + tokens["access_token"]}, timeout=5)
    assert me.status_code == 401 and 'error="invalid_token"' in me.headers["WWW-Authenticate"]
    calls = len(api.calls)
    with pytest.raises(SignInAgain):  # and this auth sends nothing more
        requests.get(api.url("/me"), auth=auth, timeout=5)
    assert len(api.calls) == calls


def test_sign_out_revokes_the_newest_token_another_process_saved(api, tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    mine = RefreshingBearerAuth(api.url("/oauth/token"), ada_login(api), now=api.clock.now, store=store, store_key=KEY)
    other = RefreshingBearerAuth.from_store(api.url("/oauth/token"), store, KEY, now=api.clock.now)
    other.refresh()  # rotated: mine holds a spent refresh token
    newest = store.load(KEY)["refresh_token"]
    mine.sign_out(api.url("/oauth/revoke"))
    assert api.calls[-1].form()["token"] == newest and store.load(KEY) is None


@pytest.mark.parametrize("client_secret", [None, "web-secret"])
def test_sign_out_authenticates_the_client_as_the_refresh_does(client_secret):
    auth = RefreshingBearerAuth("https://auth.example.test/token",
                                {"access_token": "a1", "token_type": "Bearer", "refresh_token": "r1"},
                                client_id="notes web", client_secret=client_secret)
    with responses.RequestsMock() as mock:
        mock.post("https://auth.example.test/revoke", status=200)
        auth.sign_out("https://auth.example.test/revoke")
        sent = mock.calls[0].request
    assert ("client_id=notes+web" in sent.body) == (client_secret is None)
    assert sent.headers.get("Authorization") == (None if client_secret is None else
                                                 requests.auth._basic_auth_str("notes+web", "web-secret"))


def test_a_sign_out_the_server_did_not_confirm_deletes_nothing_and_can_be_tried_again(tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    auth = RefreshingBearerAuth("https://auth.example.test/token",
                                {"access_token": "a1", "token_type": "Bearer", "refresh_token": "REFRESH-1"},
                                store=store, store_key=KEY)
    with responses.RequestsMock() as mock:
        mock.post("https://auth.example.test/revoke", status=503, headers={"Retry-After": "30"},
                  json={"error": "temporarily_unavailable", "error_description": "REFRESH-1 later"})
        mock.post("https://auth.example.test/revoke", status=200)
        with pytest.raises(SignOutError, match="503.*nothing was deleted") as failed:
            auth.sign_out("https://auth.example.test/revoke")
        assert "REFRESH-1" not in str(failed.value)
        assert store.load(KEY)["refresh_token"] == "REFRESH-1"
        auth.sign_out("https://auth.example.test/revoke")
    assert store.load(KEY) is None
    auth.sign_out("https://auth.example.test/revoke")  # signed out already: nothing is sent


def test_sign_out_refuses_plain_http():
    auth = RefreshingBearerAuth("https://auth.example.test/token",
                                {"access_token": "a1", "token_type": "Bearer", "refresh_token": "r1"})
    with pytest.raises(ValueError, match="TLS"):
        auth.sign_out("http://auth.example.test/revoke")
