"""The loopback redirect listener: catches one redirect, answers the browser, stays quiet, frees its port."""
from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from helpers import RedirectListener, serve_practice_api


def get(http, url, **kwargs):
    return http.get(url, timeout=5, **kwargs)


def test_redirect_uri_is_loopback_ip_with_the_bound_port():
    with RedirectListener() as listener:
        url = urlsplit(listener.redirect_uri)
        assert (url.scheme, url.hostname, url.path) == ("http", "127.0.0.1", "/callback")
        assert url.port == listener.port > 0


def test_returns_the_callback_url_and_answers_with_a_page(http):
    with RedirectListener() as listener:
        response = get(http, listener.redirect_uri + "?code=abc%2Fdef&state=xyz&iss=https%3A%2F%2Fas.test")
        assert listener.wait(timeout=5) == listener.redirect_uri + "?code=abc%2Fdef&state=xyz&iss=https%3A%2F%2Fas.test"
        assert listener.params == {"code": "abc/def", "state": "xyz", "iss": "https://as.test"}
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "close this tab" in response.text
    assert "abc" not in response.text and "xyz" not in response.text, "the page never echoes the code or state"


def test_an_error_redirect_is_returned_too_and_the_page_says_so(http):
    with RedirectListener() as listener:
        response = get(http, listener.redirect_uri + "?error=access_denied&state=s")
        assert listener.params["error"] == "access_denied"
    assert "access_denied" in response.text and "not completed" in response.text


def test_the_error_code_is_escaped_in_the_page(http):
    with RedirectListener() as listener:
        response = get(http, listener.redirect_uri + "?error=%3Cscript%3E")
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text


def test_wrong_path_gets_404_and_it_keeps_waiting(http):
    with RedirectListener() as listener:
        base = f"http://127.0.0.1:{listener.port}"
        assert get(http, base + "/favicon.ico").status_code == 404
        assert get(http, base + "/callback/extra?code=x").status_code == 404
        assert listener.params == {}
        with pytest.raises(TimeoutError):
            listener.wait(timeout=0.05)
        assert get(http, listener.redirect_uri + "?code=c&state=s").status_code == 200
        assert listener.params == {"code": "c", "state": "s"}


def test_post_is_refused_and_does_not_count(http):
    with RedirectListener() as listener:
        response = http.post(listener.redirect_uri, data={"code": "c"}, timeout=5)
        assert response.status_code == 405 and response.headers["Allow"] == "GET"
        assert listener.params == {}


def test_timeout_raises_a_clear_error():
    with RedirectListener() as listener:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"No redirect reached http://127\.0\.0\.1:\d+/callback within 0\.1 s"):
            listener.wait(timeout=0.1)
        assert time.monotonic() - started < 2


def test_only_the_first_redirect_counts(http):
    with RedirectListener() as listener:
        get(http, listener.redirect_uri + "?code=first&state=s")
        second = get(http, listener.redirect_uri + "?code=second&state=s")
        assert listener.params["code"] == "first"
    assert "already received" in second.text


def test_a_redirect_that_arrives_before_wait_is_kept(http):
    with RedirectListener() as listener:
        get(http, listener.redirect_uri + "?code=early&state=s")
        time.sleep(0.01)
        assert listener.wait(timeout=1).endswith("?code=early&state=s")


def test_wait_in_one_thread_while_the_browser_comes_from_another(http):
    with RedirectListener(path="/oauth/done") as listener:
        browser = threading.Timer(0.05, lambda: get(http, listener.redirect_uri + "?code=c&state=s"))
        browser.start()
        assert listener.wait(timeout=5).endswith("/oauth/done?code=c&state=s")
        browser.join()


def test_an_idle_spare_connection_does_not_block_the_redirect(http):
    """Browsers open spare connections; a one-connection-at-a-time server would hang on one."""
    with RedirectListener() as listener:
        idle = socket.create_connection(("127.0.0.1", listener.port), timeout=5)
        try:
            get(http, listener.redirect_uri + "?code=c&state=s")
            assert listener.wait(timeout=2)
        finally:
            idle.close()


def test_close_frees_the_port_and_is_idempotent():
    listener = RedirectListener()
    port = listener.port
    listener.close()
    listener.close()
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # would raise if the listener still held it
    with pytest.raises(RuntimeError, match="closed"):
        listener.wait(timeout=0.01)


def test_wait_after_close_still_returns_a_received_redirect(http):
    with RedirectListener() as listener:
        get(http, listener.redirect_uri + "?code=c&state=s")
        listener.wait(timeout=5)
    assert listener.wait(timeout=0).endswith("code=c&state=s")


def test_a_given_port_is_used_and_a_busy_one_fails_loudly():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    with RedirectListener(port=free_port) as listener:
        assert listener.redirect_uri == f"http://127.0.0.1:{free_port}/callback"
        with pytest.raises(OSError):
            RedirectListener(port=free_port)


def test_binds_loopback_only():
    with RedirectListener() as listener:
        assert listener._server.server_address[0] == "127.0.0.1"


def test_path_must_be_absolute():
    with pytest.raises(ValueError, match="start with '/'"):
        RedirectListener(path="callback")


def test_nothing_on_stderr_and_repr_hides_the_code(http, capfd):
    with RedirectListener() as listener:
        get(http, listener.redirect_uri + "?code=SECRETCODE&state=s")
        get(http, f"http://127.0.0.1:{listener.port}/nope")
        socket.create_connection(("127.0.0.1", listener.port), timeout=5).close()  # a client that hangs up
        text = repr(listener)
    out, err = capfd.readouterr()
    assert err == "" and out == ""
    assert "SECRETCODE" not in text and "received" in text


def test_a_whole_sign_in_with_the_loopback_practice_api(http):
    """What a browser does, played by requests: the form POST is redirected to the listener."""
    with serve_practice_api() as server, RedirectListener() as listener:
        import base64
        import hashlib
        import secrets
        from urllib.parse import urlencode

        metadata = get(http, server.url("/.well-known/oauth-authorization-server")).json()
        verifier, state = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        auth_url = metadata["authorization_endpoint"] + "?" + urlencode({
            "response_type": "code", "client_id": "notes-cli", "redirect_uri": listener.redirect_uri,
            "scope": "profile", "state": state, "code_challenge": challenge, "code_challenge_method": "S256"})
        page = http.post(auth_url, data={"username": "ada", "password": "analytical:engine:1843",
                                         "decision": "approve"}, timeout=5)  # the Allow button
        assert page.status_code == 200 and "close this tab" in page.text
        listener.wait(timeout=5)
        params = listener.params
        assert secrets.compare_digest(params["state"], state) and params["iss"] == metadata["issuer"]
        tokens = http.post(metadata["token_endpoint"], data={
            "grant_type": "authorization_code", "code": params["code"], "redirect_uri": listener.redirect_uri,
            "code_verifier": verifier, "client_id": "notes-cli"}, timeout=5)
        assert tokens.status_code == 200, tokens.text
        me = http.get(server.url("/me"), headers={"Authorization": "Bearer " + tokens.json()["access_token"]},
                      timeout=5)
        assert me.json()["username"] == "ada"


def test_requests_reaches_it_through_the_in_process_mock(api):
    """The in-process API lets loopback through, so notebooks can use both at once."""
    with RedirectListener() as listener:
        assert requests.get(listener.redirect_uri + "?code=c&state=s", timeout=5).status_code == 200
        assert listener.params["code"] == "c"
