"""The practice servers' limits: memory, slow clients, what they accept as a media type, what they log.

Review findings 6, 10 and doubts 2, 4, 6, 8, 11 of the server attack review.
"""
from __future__ import annotations

import gc
import http.client
import io
import json
import socket
import time
from pathlib import Path

import pytest
import requests

from helpers import serve_practice_api, start_practice_api
from helpers.practice_api import demo
from helpers.practice_api.app import PracticeAPI
from helpers.serving.gateway import call_app, make_environ
from helpers.practice_api import wsgi
from helpers.practice_api.wsgi import MAX_BODY_BYTES

RW_KEY = demo.api_key("rw-2")


def wsgi_call(app: PracticeAPI, method: str = "GET", target: str = "/", headers=(), body: bytes = b""):
    environ = make_environ(method=method, target=target, headers=list(headers), body=body, scheme="https",
                           host="api.practice.test", port=443)
    status, _reason, reply_headers, payload = call_app(app, environ)
    return status, dict(reply_headers), payload


def raw_exchange(api, data: bytes, timeout: float = 3.0) -> bytes:
    with socket.create_connection((api.host, api.port), timeout=timeout) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer


# -- Finding 6: the request log never carries a terminal escape ------------------------------------------


def test_the_request_log_escapes_control_characters_in_the_target():
    lines: list[str] = []
    with serve_practice_api(log=lines.append) as api:
        raw_exchange(api, b"GET /\x1b]0;pwned\x07\x1b[2J?\x7f\x9b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert lines, "the request was not logged"
    for line in lines:
        assert not any(ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 for c in line), repr(line)
    assert "\\x1b]0;pwned\\x07" in lines[0]  # escaped the way http.server's own log_message escapes


def test_a_malformed_request_line_is_logged_without_its_control_characters():
    lines: list[str] = []
    with serve_practice_api(log=lines.append) as api:
        raw_exchange(api, b"\x1b[2J\x1b]0;x\x07 / HTTP/1.1 extra\r\n\r\n")
    assert lines == ["- - -> 400"]  # logged (before: an AttributeError, so no line), and nothing of it echoed
    assert not any(ord(c) < 0x20 for line in lines for c in line), lines


# -- Finding 10: nothing kept per request grows without bound ---------------------------------------------


def test_calls_keep_only_the_newest_requests():
    app = PracticeAPI()
    limit = app.calls.max_items
    for n in range(limit + 50):
        wsgi_call(app, target=f"/nowhere?n={n}")
    assert len(app.calls) == limit and len(app.access_log) <= app.access_log.max_items
    assert app.calls[-1].query == f"n={limit + 49}" and app.calls[0].query == "n=50"
    assert app.calls.total == limit + 50  # the dropped ones still count: `make bench` checks none was lost
    assert app.access_log[-1].split('"')[1] == f"GET /nowhere?n={limit + 49} HTTP/1.1"


def test_calls_keep_a_bounded_number_of_body_bytes():
    app = PracticeAPI()
    big = b"x" * (MAX_BODY_BYTES - 10)
    for _ in range(40):
        wsgi_call(app, "POST", "/nowhere", body=big)
    kept = sum(len(call.body) for call in app.calls)
    assert kept <= app.calls.max_bytes < 40 * len(big)
    assert app.calls[-1].body == big  # the newest request is always kept whole


def test_calls_still_read_like_a_list():
    api = start_practice_api()
    assert api.calls == [] and api.app.errors == []
    for path in ("/", "/nowhere", "/basic/whoami"):
        requests.get(api.url(path), timeout=5)
    assert [call.path for call in api.calls[-2:]] == ["/nowhere", "/basic/whoami"]
    assert len(api.calls) == 3 and api.calls[0].path == "/"
    assert next(line for line in reversed(api.app.access_log) if "/nowhere" in line)
    api.stop()


def test_notes_and_orders_are_bounded():
    app = PracticeAPI()
    for n in range(app.MAX_NOTES + 5):
        status, _, body = wsgi_call(app, "POST", "/keys/notes", [("X-API-Key", RW_KEY),
                                                              ("Content-Type", "application/json")],
                                    json.dumps({"text": f"note {n}"}).encode())
        assert status == 201, body
    assert len(app.notes) == app.MAX_NOTES
    assert json.loads(body)["id"] == app.MAX_NOTES + 5  # ids still count every note ever added
    assert app.errors == []


# -- Doubt 2: a slow client gets 408 after a deadline for the whole request -------------------------------


@pytest.fixture
def quick_deadline():
    api = serve_practice_api()
    api.server.request_deadline = 0.4
    yield api
    api.stop()


def trickle(api, head: bytes, drip: bytes, every: float = 0.05, seconds: float = 2.0) -> tuple[bytes, float]:
    """Send `head`, then `drip` every `every` seconds, each within the per-read timeout; return the answer."""
    started = time.monotonic()
    with socket.create_connection((api.host, api.port), timeout=3) as connection:
        connection.sendall(head)
        connection.settimeout(every)
        answer = b""
        while time.monotonic() - started < seconds:
            try:
                chunk = connection.recv(65536)
            except socket.timeout:
                try:
                    connection.sendall(drip)
                except OSError:  # the server closed: read what it said
                    connection.settimeout(1)
                    continue
                continue
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


def test_a_trickled_header_section_gets_408_at_the_deadline(quick_deadline):
    answer, took = trickle(quick_deadline, b"GET / HTTP/1.1\r\nHost: x\r\n", b"X-a: b\r\n")
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert b"Connection: close" in answer
    assert 0.35 < took < 1.5


def test_a_request_line_that_stops_half_way_gets_408_at_the_deadline():
    lines: list[str] = []
    with serve_practice_api(log=lines.append) as api:
        api.server.request_deadline = 0.4
        with socket.create_connection((api.host, api.port), timeout=3) as connection:
            connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # a first request, answered
            first = b""
            while not first.endswith(b"}"):  # the whole JSON answer, head and body
                first += connection.recv(65536)
            started = time.monotonic()
            connection.sendall(b"GET /sec")  # then half a request line, and nothing more
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert 0.35 < time.monotonic() - started < 1.5
    assert lines[-1] == "- - -> 408"  # not the previous request's target


def test_a_trickled_body_gets_408_at_the_deadline(quick_deadline):
    head = (b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100000\r\n\r\na=")
    answer, took = trickle(quick_deadline, head, b"b")
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert 0.35 < took < 1.5


def test_a_trickled_chunked_body_gets_408_at_the_deadline(quick_deadline):
    head = (b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    answer, took = trickle(quick_deadline, head, b"1\r\nb\r\n")
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert 0.35 < took < 1.5


def test_the_deadline_is_per_request_and_idle_keep_alive_is_not_a_slow_request(quick_deadline):
    connection = http.client.HTTPConnection(quick_deadline.host, quick_deadline.port, timeout=3)
    for _ in range(3):
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and not response.will_close
        time.sleep(0.25)  # idle between requests: together longer than one deadline
    connection.close()
    assert len(quick_deadline.calls) == 3 and quick_deadline.app.errors == []


def test_the_default_deadline_is_ten_seconds():
    with serve_practice_api() as api:
        assert api.server.request_deadline == 10.0


# -- Doubt 4: media types are parsed, not searched for a substring -----------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("application/json", ("application/json", {})),
    ("Application/JSON ; Charset=\"UTF-8\"", ("application/json", {"charset": "UTF-8"})),
    ("application/x-www-form-urlencoded;charset=utf-8", ("application/x-www-form-urlencoded", {"charset": "utf-8"})),
    ('text/plain; a="application/x-www-form-urlencoded"', ("text/plain", {"a": "application/x-www-form-urlencoded"})),
    ("text/plain;;  ; q=\"a\\\"b\"", ("text/plain", {"q": 'a"b'})),
    ("application/json;", ("application/json", {})),
])
def test_media_type_parses_rfc_9110_section_8_3_1(value, expected):
    assert wsgi.media_type(value) == expected


@pytest.mark.parametrize("value", ["", "json", "application/", "/json", "application/json/x", "application /json",
                                   "application/json; charset", "application/json; =x",
                                   "app\u00e9/json", "text/plain; a=application/x-www-form-urlencoded",  # '/': no tchar
                                   'application/json; a="unterminated', "application/json x"])
def test_media_type_refuses_what_is_not_one(value):
    assert wsgi.media_type(value) is None


@pytest.mark.parametrize("content_type", [
    "text/plain; charset=json", "application/jsonp", "text/json-ish", "application/x-json; x=application/json",
    "application/json; charset=latin-1", "application/json x", "multipart/form-data; boundary=json",
])
def test_login_refuses_a_body_whose_media_type_is_not_json(api, content_type):
    body = json.dumps({"username": "ada", "password": "nope"})
    response = requests.post(api.url("/login"), data=body, headers={"Content-Type": content_type}, timeout=5)
    assert response.status_code == 400
    assert "Content-Type: application/json" in response.json()["error_description"]


@pytest.mark.parametrize("content_type", ["application/json", "Application/Json; charset=UTF-8",
                                          "application/json;charset=utf-8"])
def test_login_reads_a_json_media_type_in_any_case(api, content_type):
    body = json.dumps({"username": "ada", "password": "nope"})
    response = requests.post(api.url("/login"), data=body, headers={"Content-Type": content_type}, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("content_type", [
    "text/plain; a=application/x-www-form-urlencoded", "application/x-www-form-urlencoded-not",
    "text/plain; charset=application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
    "multipart/form-data; boundary=application/x-www-form-urlencoded",
])
def test_the_token_endpoint_refuses_a_body_whose_media_type_is_not_a_form(api, content_type):
    response = requests.post(api.url("/oauth/token"), data="grant_type=refresh_token&refresh_token=x",
                             headers={"Content-Type": content_type}, timeout=5)
    assert response.status_code == 400
    assert "application/x-www-form-urlencoded" in response.json()["error_description"]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "APPLICATION/X-WWW-FORM-URLENCODED",
                                          "application/x-www-form-urlencoded; charset=UTF-8"])
def test_the_token_endpoint_reads_a_form_media_type_in_any_case(api, content_type):
    response = requests.post(api.url("/oauth/token"), data="grant_type=refresh_token&refresh_token=x",
                             headers={"Content-Type": content_type}, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# -- Doubt 6: loopback only, and the real peer address -------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "", "192.168.1.10", "::", "example.test", "localhost.evil.test"])
def test_serve_practice_api_refuses_an_address_that_is_not_loopback(host):
    with pytest.raises(ValueError, match="loopback"):
        serve_practice_api(host=host)


def test_serve_practice_api_listens_on_another_loopback_address():
    with serve_practice_api(host="127.0.0.2") as api:
        assert api.host == "127.0.0.2"
        assert requests.get(api.url("/"), timeout=5).status_code == 200


def test_remote_addr_is_the_real_peer():
    with serve_practice_api(host="127.0.0.1") as api:
        raw_exchange(api, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert api.calls[-1].remote_address == "127.0.0.1"
        with socket.create_connection((api.host, api.port), timeout=3, source_address=("127.0.0.3", 0)) as c:
            c.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while c.recv(65536):
                pass
        assert api.calls[-1].remote_address == "127.0.0.3"
        assert api.app.access_log[-1].startswith("127.0.0.3 ")


# -- Doubt 8: a form body must be UTF-8 after percent-decoding -----------------------------------------------


@pytest.mark.parametrize("body", ["grant_type=%ff", "grant_type=refresh_token&refresh_token=%c3%28",
                                  "grant_%80type=x", "grant_type=%ed%a0%80"])
def test_a_form_with_an_invalid_utf8_escape_is_refused(api, body):
    response = requests.post(api.url("/oauth/token"), data=body, timeout=5,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert response.json()["error_description"] == "The form body is not valid UTF-8 form encoding."


def test_a_form_with_valid_utf8_escapes_is_read(api):
    response = requests.post(api.url("/oauth/token"), data={"grant_type": "é€"}, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


# -- Doubt 11: a lone surrogate is a 400, never a 500 -------------------------------------------------------


@pytest.mark.parametrize("name", ["Host", "X-API-Key", "Authorization", "Content-Type", "X-Anything"])
@pytest.mark.parametrize("path", ["/headers", "/basic/whoami", "/keys/whoami", "/me", "/login"])
def test_a_lone_surrogate_in_a_header_value_is_a_400(name, path):
    app = PracticeAPI()
    status, headers, body = wsgi_call(app, "GET", path, [(name, "a\ud800b")])
    assert status == 400, body
    assert json.loads(body)["error"] == "invalid_request"
    assert app.errors == []


def test_a_lone_surrogate_in_the_path_or_query_is_a_400():
    app = PracticeAPI()
    environ = make_environ(method="GET", target="/", headers=[], body=b"", scheme="https", host="x", port=443)
    for key, value in (("PATH_INFO", "/\udcff"), ("QUERY_STRING", "a=\ud800")):
        status, _, _, payload = call_app(app, {**environ, key: value, "wsgi.input": io.BytesIO()})
        assert status == 400, payload
    assert app.errors == []


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\ud83d"])
def test_a_lone_surrogate_in_a_json_body_is_a_400(api, text):
    response = requests.post(api.url("/keys/notes"), headers={"X-API-Key": RW_KEY}, json={"text": text}, timeout=5)
    assert response.status_code == 400 and "unpaired surrogate" in response.json()["error_description"]
    assert api.app.notes == []


def test_a_surrogate_pair_in_a_json_body_is_one_character(api):
    response = requests.post(api.url("/keys/notes"), headers={"X-API-Key": RW_KEY}, json={"text": "😀"}, timeout=5)
    assert response.status_code == 201 and response.json()["text"] == "😀"


# -- The TLS server's CA folder goes away with the server ---------------------------------------------------


def test_the_ca_folder_is_deleted_when_the_server_object_goes_away():
    api = serve_practice_api(tls=True)
    folder = Path(api.ca_bundle).parent
    assert folder.is_dir()
    api.server.shutdown()  # stop its thread, which holds the server, but do not call stop()
    api._thread.join()
    del api
    gc.collect()
    assert not folder.exists()


def test_the_ca_folder_is_deleted_at_interpreter_exit(tmp_path):
    import subprocess
    import sys

    script = ("import sys; sys.path.insert(0, %r)\n"
              "from helpers import serve_practice_api\n"
              "api = serve_practice_api(tls=True)\n"
              "print(api.ca_bundle)\n") % str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip()).parent
    assert folder.name.startswith("practice-api-tls-") and not folder.exists()


def test_stop_then_collection_deletes_the_folder_once():
    api = serve_practice_api(tls=True)
    folder = Path(api.ca_bundle).parent
    api.stop()
    assert not folder.exists()
    api.stop()  # a second stop is harmless
    del api
    gc.collect()


# -- Second-pass review, item 3: what a call weighs, and no way around the bound ----------------------


def test_calls_count_header_bytes_towards_the_bound():
    """http.server accepts 100 header lines of 64 KiB: 40 such requests kept 240 MB while the
    byte count saw only their (empty) bodies."""
    app = PracticeAPI()
    headers = [(f"X-{n}", "a" * 60_000) for n in range(90)]  # 5.4 MB of headers, no body
    for _ in range(10):
        wsgi_call(app, "GET", "/nowhere?" + "q" * 1000, headers)
    kept = sum(sum(len(k) + len(v) for k, v in call.headers.items()) for call in app.calls)
    assert kept <= app.calls.max_bytes and 1 <= len(app.calls) < 10
    assert len(app.calls[-1].headers) >= 90  # the newest call is kept whole


@pytest.mark.parametrize("bypass", [
    lambda recent: recent.extend(range(10)),
    lambda recent: recent.insert(0, 1),
    lambda recent: recent.__iadd__([1, 2]),
    lambda recent: recent.__setitem__(slice(None), [1] * 10),
    lambda recent: recent.__setitem__(0, 99),
    lambda recent: recent.__delitem__(slice(None)),
    lambda recent: recent.pop(),
    lambda recent: recent.remove(1),
    lambda recent: recent.sort(),
    lambda recent: recent.reverse(),
], ids=["extend", "insert", "iadd", "slice-assign", "item-assign", "del-slice", "pop", "remove", "sort", "reverse"])
def test_recent_has_no_way_around_its_bound(bypass):
    """Only append() and clear() change it: any other list method skipped the bound and the byte
    count (a stale count then made every later append drop all but the newest item)."""
    from helpers.practice_api.app import Recent

    recent = Recent(3, 100, lambda item: 1)
    for n in (1, 2, 3):
        recent.append(n)
    with pytest.raises((AttributeError, TypeError)):
        bypass(recent)
    assert list(recent) == [1, 2, 3]
    recent.append(4)
    assert recent == [2, 3, 4] and len(recent) == 3 and recent.total == 4


def test_recent_reads_like_a_list():
    from helpers.practice_api.app import Recent

    recent = Recent(3, 100, lambda item: 1)
    assert recent == [] and not recent and len(recent) == 0
    for n in range(5):
        recent.append(n)
    assert recent == [2, 3, 4] and recent != [4, 3, 2] and bool(recent)
    assert recent[0] == 2 and recent[-1] == 4 and recent[-2:] == [3, 4] and recent[::-1] == [4, 3, 2]
    assert list(reversed(recent)) == [4, 3, 2] and [n for n in recent] == [2, 3, 4] and 3 in recent
    assert recent.total == 5 and repr(recent) == "[2, 3, 4]" and recent.index(3) == 1 and recent.count(2) == 1
    with pytest.raises(IndexError):
        recent[3]
    recent.clear()
    assert recent == [] and recent.total == 5
    recent.append(7)
    assert recent == [7]
