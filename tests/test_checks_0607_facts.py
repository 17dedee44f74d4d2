"""The library behaviour notebooks 06 and 07 teach, pinned by tests so that an upgrade that changes it fails here
first: the debuglevel trap, the two timeouts on a silent loopback listener, and a replay by a fast client."""
from __future__ import annotations

import contextlib
import http.client
import io
import logging
import socket
import sys

import pytest
import requests

from helpers import RedactSecrets, serve_practice_api
from helpers.practice_api import demo

KEY = demo.api_key("ro-1")


@pytest.fixture(scope="module")
def tls_api():
    with serve_practice_api(tls=True) as api:
        yield api


def keyed_session(api) -> requests.Session:
    session = requests.Session()
    session.verify, session.trust_env = api.ca_bundle, False
    session.headers["X-API-Key"] = KEY
    return session


@pytest.fixture
def urllib3_log():
    """urllib3's logger, through a handler with RedactSecrets, put back as it was afterwards."""
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("urllib3")
    saved = logger.handlers, logger.level, logger.propagate
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.DEBUG)
    try:
        yield text
    finally:
        logger.handlers, logger.propagate = saved[0], saved[2]
        logger.setLevel(saved[1])


def test_debuglevel_prints_the_key_past_a_logging_filter(tls_api, urllib3_log):
    printed = io.StringIO()
    http.client.HTTPConnection.debuglevel = 1
    try:
        with contextlib.redirect_stdout(printed):
            keyed_session(tls_api).get(tls_api.url("/keys/whoami"), timeout=5).raise_for_status()
    finally:
        http.client.HTTPConnection.debuglevel = 0
    assert f"X-API-Key: {KEY}" in printed.getvalue()  # print(): no handler, no filter
    assert "header: Content-Type: application/json" in printed.getvalue()  # the response headers too
    assert KEY not in urllib3_log.getvalue()


def test_urllib3_logs_the_request_line_and_no_header(tls_api, urllib3_log):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        keyed_session(tls_api).get(tls_api.url("/keys/whoami"), timeout=5).raise_for_status()
    assert printed.getvalue() == ""
    assert '"GET /keys/whoami HTTP/1.1" 200' in urllib3_log.getvalue()
    assert KEY not in urllib3_log.getvalue() and "X-API-Key" not in urllib3_log.getvalue()


def outcome(url: str, timeout) -> str:
    try:
        requests.get(url, timeout=timeout).raise_for_status()
        return "an answer"
    except requests.Timeout as error:
        return type(error).__name__
    except requests.ConnectionError as error:
        return f"{type(error).__name__}, not a timeout"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a full listen queue drops SYNs on Linux")
def test_silent_listener_gives_read_then_connect_timeout():
    """Notebook 06, section 7: one queued connection, then a full queue (backlog=0)."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        assert outcome(url, timeout=(2, 0.05)) == "ReadTimeout"
        assert outcome(url, timeout=(0.05, 2)) == "ConnectTimeout"
    assert issubclass(requests.ConnectTimeout, requests.ConnectionError)
    assert issubclass(requests.ReadTimeout, requests.Timeout) and issubclass(requests.ConnectTimeout, requests.Timeout)


def test_a_stalled_tls_handshake_is_a_read_timeout_timed_by_the_connect_value():
    """Notebook 06, section 7: over https the handshake runs under the connect timeout, reported as ReadTimeout."""
    with socket.create_server(("127.0.0.1", 0), backlog=8) as silent:
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(requests.ReadTimeout) as caught:
            requests.get(url, timeout=(0.05, 30))  # were the read value used, this would take 30 s
    assert "read timeout=0.05" in str(caught.value)


def test_a_fast_clients_order_cannot_be_replayed_after_301_s():
    """Notebook 07, cell 23: a client 250 s ahead; the same bytes 301 s later, then 551 s later."""
    import hashlib
    import hmac
    import uuid
    from urllib.parse import urlsplit

    from helpers import start_practice_api

    secret = demo.SIGNING_KEYS[0]["secret"].encode()
    api = start_practice_api()
    try:
        def sign(request):
            stamp, rid = str(int(api.clock.now() + 250)), str(uuid.uuid4())
            message = "\n".join([request.method, urlsplit(request.url).path, stamp, rid,
                                 hashlib.sha256(request.body or b"").hexdigest()]).encode()
            request.headers.update({"X-Key-Id": demo.SIGNING_KEYS[0]["key_id"], "X-Timestamp": stamp,
                                    "X-Request-Id": rid,
                                    "X-Signature": hmac.new(secret, message, hashlib.sha256).hexdigest()})
            return request

        session = requests.Session()
        first = session.post(api.url("/signed/orders"), json={"item": "tea", "quantity": 2}, auth=sign, timeout=5)
        assert first.status_code == 201
        api.clock.advance(301)
        again = session.send(first.request, timeout=5)
        assert (again.status_code, again.json()["error"]) == (401, "replayed_request")
        api.clock.advance(250)
        late = session.send(first.request, timeout=5)
        assert (late.status_code, late.json()["error"]) == (401, "stale_timestamp")
    finally:
        api.stop()
