"""The loopback server frames requests as RFC 9112 says, so that one request is never read as two.

Each test talks raw HTTP/1.1 to the server over a socket. Where the RFC says the server MUST
close the connection (§6.1, §6.3), the test expects the answer and then end-of-file: a server
that kept the connection open would read the rest of a smuggled body as a second request.
"""
from __future__ import annotations

import base64
import re
import socket

import pytest

from helpers import serve_practice_api
from helpers.practice_api import demo
from helpers.practice_api.wsgi import MAX_BODY_BYTES

TIMEOUT = 2  # seconds: every answer here comes at once; only a bug waits this long
STATUS_LINE = re.compile(rb"HTTP/1\.1 [1-5][0-9]{2} [ -~]*")
HEADER_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+: (?:[!-~](?:[ -~]*[!-~])?)?")
GOOD = base64.b64encode(f"ada:{demo.password_of('ada')}".encode()).decode()


@pytest.fixture(scope="module")
def server():
    with serve_practice_api() as api:
        yield api
        assert api.app.errors == [], api.app.errors


def exchange(server, data: bytes, expect: int = 1) -> tuple[list[tuple[int, dict[str, str], bytes]], bool]:
    """Send `data`, read every response; return (responses, whether the server closed the connection)."""
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as connection:
        connection.sendall(data)
        received, closed = b"", False
        try:
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    closed = True
                    break
                received += chunk
                if b"Connection: close\r\n" not in received and _complete(received, expect):
                    break  # a keep-alive answer is all here: do not wait for a close that will not come
        except socket.timeout:
            pass
    return _parse(received), closed


def _complete(data: bytes, expect: int) -> bool:
    try:
        responses, rest = _split(data)
    except ValueError:
        return False
    return len(responses) >= expect and not rest


def _split(data: bytes) -> tuple[list[tuple[int, dict[str, str], bytes]], bytes]:
    responses = []
    while data:
        head, separator, data = data.partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("incomplete head")
        lines = head.split(b"\r\n")
        assert STATUS_LINE.fullmatch(lines[0]), lines[0]
        for line in lines[1:]:
            assert HEADER_LINE.fullmatch(line), line  # no control character, no non-ASCII
        headers = {name.decode().lower(): value.decode() for name, _, value in (line.partition(b": ") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        if len(data) < length:
            raise ValueError("incomplete body")
        responses.append((int(lines[0].split(b" ")[1]), headers, data[:length]))
        data = data[length:]
    return responses, data


def _parse(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    responses, _ = _split(data)
    return responses


def host(server) -> str:
    return f"Host: {server.host}:{server.port}\r\n"


def login_with(server, framing: str, body: str = "") -> bytes:
    return (f"POST /login HTTP/1.1\r\n{host(server)}Content-Type: application/json\r\n{framing}\r\n{body}"
            f"GET /basic/whoami HTTP/1.1\r\n{host(server)}\r\n").encode("latin-1")


def assert_refused_and_closed(server, data: bytes, status: int = 400) -> bytes:
    responses, closed = exchange(server, data)
    assert [code for code, _, _ in responses] == [status], responses
    assert closed, "the server MUST close the connection after this answer"
    return responses[0][2]


# -- Content-Length (RFC 9112 §6.3 item 5) ----------------------------------------------------


@pytest.mark.parametrize("framing", [
    "Content-Length: 2\r\nContent-Length: 40\r\n",  # two different values
    "Content-Length: 2, 40\r\n",
    "Content-Length: 2\r\nContent-Length: 2\r\n",  # identical: a recipient MAY refuse, and this one does
    "Content-Length: \xb2\r\n",  # '²'.isdigit() is True, and int('²') raises
    "Content-Length: +2\r\n",
    "Content-Length: -1\r\n",
    "Content-Length: 0x2\r\n",
    "Content-Length: 2 2\r\n",
], ids=["differ", "list", "twice", "superscript", "plus", "negative", "hex", "space"])
def test_an_invalid_content_length_is_400_and_closes(server, framing):
    assert b"Content-Length" in assert_refused_and_closed(server, login_with(server, framing, "{}"))


def test_a_body_larger_than_the_limit_is_413_before_it_is_read(server):
    data = login_with(server, f"Content-Length: {MAX_BODY_BYTES + 1}\r\n")
    assert_refused_and_closed(server, data, 413)


def test_a_valid_content_length_keeps_the_connection_for_the_next_request(server):
    responses, closed = exchange(server, login_with(server, "Content-Length: 2\r\n", "{}"), expect=2)
    assert [code for code, _, _ in responses] == [400, 401] and not closed
    assert b"as strings" in responses[0][2]  # the app read the body {} and asked for the fields


# -- Transfer-Encoding (RFC 9112 §6.1, §6.3 item 4, §7.1) -------------------------------------


def test_chunked_with_a_content_length_is_read_as_chunked_then_closed(server):
    data = login_with(server, "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n", "2\r\n{}\r\n0\r\n\r\n")
    body = assert_refused_and_closed(server, data)
    assert b"as strings" in body  # the chunked body {} reached the app; Content-Length was ignored


@pytest.mark.parametrize("coding", ["identity", "chunked, gzip", "gzip", "chunked, chunked", ",", ""])
def test_a_transfer_coding_list_not_ending_in_one_chunked_is_400_and_closes(server, coding):
    data = login_with(server, f"Transfer-Encoding: {coding}\r\n", "0\r\n\r\n")
    assert b"chunked" in assert_refused_and_closed(server, data)


@pytest.mark.parametrize("framing", ["Transfer-Encoding: gzip, chunked\r\n",
                                     "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"])
def test_an_unknown_transfer_coding_before_chunked_is_501_and_closes(server, framing):
    assert_refused_and_closed(server, login_with(server, framing, "0\r\n\r\n"), 501)


def test_transfer_encoding_in_an_http_1_0_request_is_400_and_closes(server):
    data = (f"POST /login HTTP/1.0\r\n{host(server)}Content-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n").encode()
    assert_refused_and_closed(server, data)


@pytest.mark.parametrize("size_line", ["-1", "0x2", "+2", " 2", "2 2", "", "g", "\xb2"])
def test_a_chunk_size_that_is_not_hex_digits_is_400_and_closes(server, size_line):
    data = login_with(server, "Transfer-Encoding: chunked\r\n", f"{size_line}\r\n{{}}\r\n0\r\n\r\n")
    assert b"chunk" in assert_refused_and_closed(server, data)


def test_a_huge_chunk_size_is_413_before_reading_it(server):
    data = login_with(server, "Transfer-Encoding: chunked\r\n", f"{MAX_BODY_BYTES + 1:x}\r\n{{}}\r\n0\r\n\r\n")
    assert_refused_and_closed(server, data, 413)


def test_chunks_adding_up_past_the_limit_are_413(server):
    half = MAX_BODY_BYTES // 2 + 1
    body = f"{half:x}\r\n" + "a" * half + f"\r\n{half:x}\r\n"  # the second chunk is refused before it is sent
    assert_refused_and_closed(server, login_with(server, "Transfer-Encoding: chunked\r\n", body), 413)


def test_chunk_data_longer_than_its_size_is_400_and_closes(server):
    data = login_with(server, "Transfer-Encoding: chunked\r\n", "1\r\n{}\r\n0\r\n\r\n")
    assert_refused_and_closed(server, data)


def test_valid_chunks_with_an_extension_and_a_trailer_keep_the_connection(server):
    body = "1;name=value\r\n{\r\n1\r\n}\r\n0\r\nX-Trailer: 1\r\n\r\n"
    responses, closed = exchange(server, login_with(server, "Transfer-Encoding: Chunked\r\n", body), expect=2)
    assert [code for code, _, _ in responses] == [400, 401] and not closed
    assert b"as strings" in responses[0][2]


# -- Host (RFC 9112 §3.2), field lines (§5.1, §5.2) -------------------------------------------


@pytest.mark.parametrize("head", [
    "GET /basic/whoami HTTP/1.1\r\nAuthorization: Basic {good}\r\n",  # no Host
    "GET /basic/whoami HTTP/1.1\r\n{host}Host: evil.test\r\nAuthorization: Basic {good}\r\n",
    "GET /basic/whoami HTTP/1.0\r\n{host}Host: evil.test\r\n",
    "GET /basic/whoami HTTP/1.1\r\n{host}Authorization : Basic {good}\r\n",  # §5.1: no space before ':'
    "GET /basic/whoami HTTP/1.1\r\n{host}Authorization\t: Basic {good}\r\n",
    "GET /basic/whoami HTTP/1.1\r\n{host}Authorization: Basic\r\n {good}\r\n",  # §5.2 obs-fold
    "GET /basic/whoami HTTP/1.1\r\n{host}X-A: 1\r\n\tAuthorization: Basic {good}\r\n",
    "GET /basic/whoami HTTP/1.1\r\n {host}Authorization: Basic {good}\r\n",  # whitespace before the first field
    "GET /basic/whoami HTTP/1.1\r\n{host}no colon here\r\n",
    "GET /basic/whoami HTTP/1.1\r\n{host}: no name\r\n",
    "GET /basic/whoami HTTP/1.1\r\n{host}Authorization: Basic {good}\x00\r\n",  # RFC 9110 §5.5: NUL
    "GET /basic/whoami HTTP/1.1\r\n{host}Authorization: Basic\r{good}\r\n",  # a bare CR
], ids=["no-host", "two-hosts", "two-hosts-1.0", "space-before-colon", "tab-before-colon", "obs-fold",
        "obs-fold-tab", "leading-space", "no-colon", "no-name", "nul", "bare-cr"])
def test_malformed_field_lines_are_400_and_close(server, head):
    data = head.format(host=host(server), good=GOOD) + "\r\nGET / HTTP/1.1\r\n" + host(server) + "\r\n"
    assert_refused_and_closed(server, data.encode("latin-1"))


def test_http_1_0_without_host_is_still_served(server):
    responses, _ = exchange(server, f"GET /basic/whoami HTTP/1.0\r\nAuthorization: Basic {GOOD}\r\n\r\n".encode())
    assert [code for code, _, _ in responses] == [200]


def test_a_refusal_never_echoes_the_request_into_the_head(server):
    data = f"GET /basic/whoami HTTP/1.1\r\n{host(server)}Authorization : Basic \xe9\x01{GOOD}\r\n\r\n"
    body = assert_refused_and_closed(server, data.encode("latin-1"))
    assert GOOD.encode() not in body


# -- HEAD (RFC 9110 §9.3.2) -------------------------------------------------------------------


@pytest.mark.parametrize("path, authorization", [("/basic/whoami", ""), ("/basic/whoami", f"Basic {GOOD}"),
                                                 ("/headers", ""), ("/", "")])
def test_head_gets_the_headers_of_get_and_no_body(server, path, authorization):
    extra = f"Authorization: {authorization}\r\n" if authorization else ""
    get = f"GET {path} HTTP/1.1\r\n{host(server)}{extra}\r\n".encode()
    head = f"HEAD {path} HTTP/1.1\r\n{host(server)}{extra}X-Head: 1\r\n\r\n".encode()
    (get_status, get_headers, get_body), = exchange(server, get)[0]
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as connection:
        connection.sendall(head + get)  # the HEAD answer has no body: the GET answer follows its head at once
        received = b""
        while received.count(b"\r\n\r\n") < 2 or len(received.rpartition(b"\r\n\r\n")[2]) < len(get_body):
            chunk = connection.recv(65536)
            assert chunk, "the server closed the connection"
            received += chunk
    head_part, _, rest = received.partition(b"\r\n\r\n")
    assert rest.startswith(b"HTTP/1.1 "), "HEAD answered with a body"
    status = int(head_part.split(b" ")[1])
    headers = {line.split(b": ")[0].lower(): line.split(b": ", 1)[1] for line in head_part.split(b"\r\n")[1:]}
    assert status == get_status
    assert headers[b"content-length"].decode() == get_headers["content-length"]
    assert {k.decode() for k in headers} - {"date"} == set(get_headers) - {"date"}


# -- Second-pass review: Host values, OWS, empty list elements, bare CR, Expect ----------------------


@pytest.mark.parametrize("value", ["a b/c", "", " ", "a/b", "a@b", "a:b:c", "[::1", "[zz::1]", "[fe80::1%eth0]",
                                   "a:8x", "\xe9t\xe9", "a?b", "a#b"])
def test_a_host_that_is_not_uri_host_and_port_is_400_and_closes(server, value):
    """RFC 9112 §3.2: a Host field with an invalid value MUST get 400 (an empty one names no http host,
    RFC 9110 §4.2.1 and RFC 9112 §3.3: a server can reject it, and this one does)."""
    data = f"GET /basic/whoami HTTP/1.1\r\nHost: {value}\r\nAuthorization: Basic {GOOD}\r\n\r\n"
    assert b"Host" in assert_refused_and_closed(server, data.encode("latin-1"))


@pytest.mark.parametrize("value", ["127.0.0.1", "localhost:8080", "api.practice.test", "[::1]:443", "[::1]",
                                   "a.b:", "xn--bcher-kva.example", "%41b", "v.x!$&'()*+,;=", "[v1.a:b]"])
def test_a_host_in_the_uri_grammar_is_served(server, value):
    data = f"GET /basic/whoami HTTP/1.1\r\nHost: {value}\r\nAuthorization: Basic {GOOD}\r\n\r\n"
    responses, _ = exchange(server, data.encode())
    assert [code for code, _, _ in responses] == [200]


@pytest.mark.parametrize("framing", ["Content-Length: 2 \r\n", "Content-Length:\t2\t\r\n",
                                     "Content-Length:  2\r\n"])
def test_whitespace_around_a_content_length_is_not_part_of_it(server, framing):
    """RFC 9110 §5.5: OWS before and after a field value is not part of it."""
    responses, closed = exchange(server, login_with(server, framing, "{}"), expect=2)
    assert [code for code, _, _ in responses] == [400, 401] and not closed
    assert b"as strings" in responses[0][2]


@pytest.mark.parametrize("coding", [",chunked", "chunked,", " , chunked , ", "chunked, ,"])
def test_empty_transfer_coding_list_elements_are_ignored(server, coding):
    """RFC 9110 §5.6.1: a recipient MUST parse and ignore a reasonable number of empty list elements."""
    data = login_with(server, f"Transfer-Encoding: {coding}\r\n", "2\r\n{}\r\n0\r\n\r\n")
    responses, closed = exchange(server, data, expect=2)
    assert [code for code, _, _ in responses] == [400, 401] and not closed
    assert b"as strings" in responses[0][2]


@pytest.mark.parametrize("size_line", ["2\r", "2;a=b\r", "2\r;a", "0\r"])
def test_a_bare_cr_in_a_chunk_size_line_is_400_and_closes(server, size_line):
    """RFC 9112 §7.1 and §2.2: the line ends with one CRLF; a CR anywhere else is not allowed."""
    data = login_with(server, "Transfer-Encoding: chunked\r\n", f"{size_line}\r\n{{}}\r\n0\r\n\r\n")
    assert b"chunk" in assert_refused_and_closed(server, data)


def expect_exchange(server, head: str) -> list[int]:
    """Send a head with Expect: 100-continue and no body; the status codes of every response read."""
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as connection:
        connection.sendall(head.encode("latin-1"))
        received = b""
        try:
            while not re.search(rb"HTTP/1\.1 [2-5]", received):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                received += chunk
        except socket.timeout:
            pass
    return [int(code) for code in re.findall(rb"^HTTP/1\.1 ([0-9]{3})", received, re.M)]


@pytest.mark.parametrize("extra, status", [
    (f"Content-Length: {MAX_BODY_BYTES + 1}\r\n", 413),
    ("Content-Length: 2\r\nHost: evil.test\r\n", 400),
    ("Content-Length: 2\r\nX: a\r\n b\r\n", 400),
    ("Content-Length: -2\r\n", 400),
    ("Transfer-Encoding: gzip\r\n", 400),
    ("Transfer-Encoding: gzip, chunked\r\n", 501),
])
def test_expect_100_continue_gets_the_final_status_when_the_request_is_refused(server, extra, status):
    """RFC 9110 §10.1.1: a server that will refuse the request from its head alone answers with the
    final status, not 100 (Continue) first: the client need not send the body at all."""
    head = f"POST /login HTTP/1.1\r\n{host(server)}Content-Type: application/json\r\nExpect: 100-continue\r\n{extra}\r\n"
    assert expect_exchange(server, head) == [status]


def test_expect_100_continue_still_gets_100_for_a_request_that_will_be_read(server):
    head = f"POST /login HTTP/1.1\r\n{host(server)}Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as connection:
        connection.sendall(head.encode())
        assert connection.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        connection.sendall(b"{}")
        answer = b""
        while b"as strings" not in answer:
            answer += connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400 ")


def test_many_small_chunks_are_reassembled_whole(server):
    """200,000 one-byte chunks make one body (reassembled in a bytearray: body += data on bytes
    copied the whole body for every chunk, quadratic in their number)."""
    count = 200_000
    body = "1\r\na\r\n" * count + "0\r\n\r\n"
    data = (f"POST /nowhere HTTP/1.1\r\n{host(server)}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + body).encode()
    responses, _ = exchange(server, data)
    assert [code for code, _, _ in responses] == [404]
    assert server.calls[-1].body == b"a" * count


@pytest.mark.parametrize("value", ["keep-alive, close", "Close", "foo ,close", "close,"])
def test_connection_close_among_other_options_closes(server, value):
    """RFC 9110 §7.6.1: Connection is a list; "close" anywhere in it means close after this answer
    (http.server compared the whole value to "close")."""
    data = f"GET /basic/whoami HTTP/1.1\r\n{host(server)}Authorization: Basic {GOOD}\r\nConnection: {value}\r\n\r\n"
    responses, closed = exchange(server, data.encode())
    assert [code for code, _, _ in responses] == [200] and closed
    assert responses[0][1].get("connection", "").lower() == "close"


@pytest.mark.parametrize("line, status", [("GET / HTTP/2.0", 505), ("GET / HTTP/1.x", 400), ("GET / HTTP/1.1 x", 400)])
def test_a_refused_request_line_with_a_version_gets_a_status_line(server, line, status):
    """http.server answered these as HTTP/0.9 (no status line, only HTML): the client names a version."""
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as connection:
        connection.sendall(f"{line}\r\n{host(server)}\r\n".encode())
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    assert received.startswith(f"HTTP/1.1 {status} ".encode()), received[:80]


# -- the request-target (RFC 9112 §3.2) --------------------------------------------------------


@pytest.mark.parametrize("target", [b"/.well-known/openid-configuration?\x01", b"/basic/whoami\x01",
                                    b"/\x7f", b"/caf\xe9", b"/?a=\x00b", b"/\x1b[31m", b"/\x85", b"/\x0b",
                                    b"/\x0c", b"/me\xa0"],
                         ids=["soh-in-query", "soh-in-path", "del", "latin-1", "nul", "escape", "nel", "vt",
                              "ff", "nbsp"])
def test_a_request_target_that_is_not_printable_ascii_is_400_and_closes(server, target):
    """RFC 9112 §3.2: the request-target is URI characters (RFC 3986 §2), printable ASCII: anything
    else is percent-encoded by the client. A raw control byte is refused with a reason, not served."""
    data = b"GET " + target + b" HTTP/1.1\r\n" + host(server).encode() + b"\r\n"
    body = assert_refused_and_closed(server, data)
    assert b"request-target must be printable ASCII" in body and target not in body
    # (NEL, VT, FF and NBSP are whitespace to str.split(): http.server alone served "/" or "/me" for them.)


def test_a_percent_encoded_control_character_in_the_target_is_still_served(server):
    responses, _ = exchange(server, f"GET /.well-known/openid-configuration?x=%01 HTTP/1.1\r\n{host(server)}"
                                    "\r\n".encode())
    assert [code for code, _, _ in responses] == [200]
