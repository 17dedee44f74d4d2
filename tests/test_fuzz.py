"""Fuzzing: malformed headers, bodies, forms, queries and JWTs never get a 500 or a traceback.

Every answer must be well-formed: a 4xx with a JSON body `{"error", "error_description"}`
(or the HTML page of a browser endpoint), a 2xx, or a redirect with a Location. Requests
go straight into the WSGI app, as the transports send them, so thousands run in seconds.

No response header may ever carry a control character (CR, LF, TAB, NUL...), non-ASCII, or
leading or trailing space: every value a server copies into a header (Location from
redirect_uri and state, WWW-Authenticate from a token's contents, ...) is fuzzed with those
and with over-long values, in the app and on the wire (the loopback server, the redirect
listener and the tunnel proxy, over raw sockets).

`make test` runs the fast profile; `make fuzz` runs 2,000 examples per endpoint family.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
from urllib.parse import urlencode

import pytest

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from helpers.practice_api import demo
from helpers.practice_api.app import PracticeAPI
from helpers.serving.gateway import call_app, make_environ

settings.register_profile("fast", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

APP = PracticeAPI()  # one app for all examples: state (lockouts, spent codes) piles up, as in real life
# 421: a Host this server does not answer for, at /aws/* (sigv4) and for a DPoP proof (binding.request_url)
OK_STATUSES = {200, 201, 302, 303, 400, 401, 403, 404, 405, 413, 421, 429}

# Header values reach a WSGI app as Latin-1 text; a lax server may let CR, LF or NUL through too.
latin1_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300)
NASTY = ["\r", "\n", "\r\n", "\r\n\r\n", "\t", "\x00", "\x0b", "\x1b", "\x7f", "\x85", "é", "€", "\u2028", "\ufeff",
         " ", '"', "\\", "%0d%0a", "%00", ";", ",", "&", "=", "?", "#", "@", ":"]
nasty_text = st.one_of(
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                                                       max_size=6)), max_size=10).map("".join),
    st.integers(2000, 9000).map(lambda n: "A" * n),  # over-long
)
header_text = st.one_of(latin1_text, nasty_text)
REGISTERED = {"notes-cli": ["http://127.0.0.1/callback", "http://127.0.0.1:8765/callback"],
              "notes-web": ["https://notes-web.test/callback"]}
# A registered redirect URI with something slipped in: often one control character, which urlsplit() drops.
slipped_in = st.one_of(st.sampled_from(["\t", "\n", "\r", "\r\n", "\r\n\r\n", "\x00", " ", "?", "#", "/"]), nasty_text)
client_and_redirect_uri = st.sampled_from(sorted(REGISTERED)).flatmap(lambda client_id: st.tuples(
    st.just(client_id), st.one_of(st.none(), st.sampled_from(REGISTERED[client_id]),
                                  st.tuples(st.sampled_from(REGISTERED[client_id]), st.integers(0, 40), slipped_in).map(
                                      lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:]))))
# A header line as RFC 9110 §5 allows it, and nothing more: visible ASCII, inner spaces only.
SAFE_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
SAFE_HEADER_VALUE = re.compile(r"(?:[!-~](?:[ -~]*[!-~])?)?")
b64 = st.binary(max_size=120).map(lambda raw: base64.b64encode(raw).decode("ascii"))
b64url = st.binary(max_size=120).map(lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"))
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                       max_size=4), max_leaves=10)
jwt_like = st.tuples(json_values.map(json.dumps), json_values.map(json.dumps), b64url).map(
    lambda parts: ".".join([base64.urlsafe_b64encode(parts[0].encode()).rstrip(b"=").decode(),
                            base64.urlsafe_b64encode(parts[1].encode()).rstrip(b"=").decode(), parts[2]]))
schemes = st.sampled_from(["Basic", "basic", "Bearer", "BEARER", "Digest", "Negotiate", "Token", ""])
authorization = st.one_of(
    header_text,
    st.tuples(schemes, st.one_of(b64, b64url, jwt_like, header_text)).map(lambda p: f"{p[0]} {p[1]}"),
    st.lists(st.tuples(st.sampled_from(["username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce",
                                        "algorithm", "opaque"]), header_text.filter(lambda t: '"' not in t)),
             max_size=10).map(lambda ps: "Digest " + ", ".join(f'{k}="{v}"' for k, v in ps)),
)
bodies = st.one_of(st.binary(max_size=400), json_values.map(lambda v: json.dumps(v).encode()),
                   st.dictionaries(st.text(max_size=15), st.text(max_size=30), max_size=6).map(
                       lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode("utf-8")))
content_types = st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""])
queries = st.one_of(st.just(""), st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=200))


def send(method: str, path: str, *, query: str = "", headers: dict[str, str] | None = None, body: bytes = b"",
         content_type: str = "") -> tuple[int, list[tuple[str, str]], bytes]:
    header_list = [(name, value) for name, value in (headers or {}).items()]
    if content_type:
        header_list.append(("Content-Type", content_type))
    environ = make_environ(method=method, target=path + ("?" + query if query else ""), headers=header_list,
                           body=body, scheme="https", host="api.practice.test", port=443)
    status, _, reply_headers, payload = call_app(APP, environ)
    return status, reply_headers, payload


def assert_safe_headers(headers) -> None:
    for name, value in headers:
        assert SAFE_HEADER_NAME.fullmatch(name) and SAFE_HEADER_VALUE.fullmatch(value), (name, value)


def assert_well_formed(answer: tuple[int, list[tuple[str, str]], bytes]) -> None:
    status, header_list, body = answer
    assert APP.errors == [], APP.errors[-1]
    assert_safe_headers(header_list)
    headers = dict(header_list)
    assert status in OK_STATUSES, status
    assert headers["Content-Length"] == str(len(body))
    if status in (302, 303):
        assert headers["Location"]
        return
    content_type = headers.get("Content-Type", "")
    if content_type.startswith("text/html"):
        assert body.startswith(b"<!doctype html>")
        return
    if body:
        payload = json.loads(body)
        if status >= 400 and "Code" in payload:  # the AWS endpoints answer as AWS does (helpers/practice_api/sigv4.py)
            assert {"Code", "Message"} <= set(payload) <= AWS_ERROR_FIELDS and payload["Code"] and payload["Message"]
            assert headers["x-amzn-ErrorType"] == payload["Code"] and "WWW-Authenticate" not in headers
        elif status >= 400:
            assert set(payload) == {"error", "error_description"} and payload["error"] and payload["error_description"]
    assert b"Traceback" not in body


@given(authorization=authorization, query=queries)
def test_basic_family(authorization, query):
    assert_well_formed(send("GET", "/basic/whoami", query=query, headers={"Authorization": authorization}))


@given(key=header_text, authorization=st.one_of(st.none(), authorization), body=bodies, content_type=content_types,
       query=queries, method_path=st.sampled_from([("GET", "/keys/whoami"), ("GET", "/keys/notes"),
                                                    ("POST", "/keys/notes"), ("DELETE", "/keys/current"),
                                                    ("GET", "/keys/notes/1"), ("GET", "/limited"),
                                                    ("GET", "/limited/date")]))
def test_api_key_family(key, authorization, body, content_type, query, method_path):
    headers = {"X-API-Key": key} | ({"Authorization": authorization} if authorization is not None else {})
    method, path = method_path
    assert_well_formed(send(method, path, query=query, headers=headers, body=body, content_type=content_type))


@given(authorization=authorization, body=bodies, content_type=content_types,
       method_path=st.sampled_from([("GET", "/me"), ("GET", "/reports"), ("POST", "/login"),
                                    ("POST", "/oauth/token"), ("POST", "/oauth/revoke")]))
def test_token_family(authorization, body, content_type, method_path):
    method, path = method_path
    assert_well_formed(send(method, path, headers={"Authorization": authorization}, body=body,
                            content_type=content_type))


# Any code point, lone surrogates included: json.loads accepts "\ud800", which has no UTF-8 form.
any_text = st.text(st.characters(codec=None, blacklist_categories=()), max_size=20)


@given(username=st.one_of(st.sampled_from(["ada", "grace"]), any_text), password=any_text,
       path=st.sampled_from(["/login", "/oauth/token"]))
@example(username="ada", password="\ud800", path="/login")
@example(username="\udfff", password="x", path="/oauth/token")
def test_any_user_name_and_password_at_login(username, password, path):
    if path == "/login":
        body, content_type = json.dumps({"username": username, "password": password}).encode(), "application/json"
    else:
        body = json.dumps({"grant_type": "password", "username": username, "password": password})
        fields = {"grant_type": "password", "username": username, "password": password, "client_id": "notes-cli"}
        body = urlencode(fields, encoding="utf-8", errors="surrogatepass").encode()
        content_type = "application/x-www-form-urlencoded"
    assert_well_formed(send("POST", path, body=body, content_type=content_type))


@given(token=jwt_like)
def test_jwts_at_me(token):
    assert_well_formed(send("GET", "/me", headers={"Authorization": f"Bearer {token}"}))


form_fields = st.dictionaries(st.sampled_from(["grant_type", "code", "redirect_uri", "code_verifier", "client_id",
                                               "refresh_token", "device_code", "scope", "token", "user_code",
                                               "username", "password", "decision", "client_secret"]),
                              header_text, max_size=8)


@given(query=st.one_of(queries, st.dictionaries(st.sampled_from(["response_type", "client_id", "redirect_uri", "scope",
                                                                 "state", "code_challenge", "code_challenge_method",
                                                                 "nonce", "prompt", "max_age", "request_uri"]),
                                                header_text, max_size=7).map(
    lambda d: "&".join(f"{k}={v}" for k, v in d.items()))),
    form=form_fields, method_path=st.sampled_from([("GET", "/oauth/authorize"), ("POST", "/oauth/authorize"),
                                                   ("GET", "/device"), ("POST", "/device"),
                                                   ("POST", "/oauth/device_authorization"), ("POST", "/oauth/token"),
                                                   ("POST", "/oauth/revoke")]),
    authorization=st.one_of(st.none(), authorization))
def test_oauth_family(query, form, method_path, authorization):
    method, path = method_path
    body = "&".join(f"{k}={v}" for k, v in form.items()).encode("utf-8")
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert_well_formed(send(method, path, query=query, headers=headers, body=body,
                            content_type="application/x-www-form-urlencoded"))


@given(headers=st.dictionaries(st.sampled_from(["X-Key-Id", "X-Timestamp", "X-Request-Id", "X-Signature"]),
                               header_text, max_size=4), body=bodies, content_type=content_types,
       authorization=authorization)
def test_signed_and_digest_family(headers, body, content_type, authorization):
    assert_well_formed(send("POST", "/signed/orders", headers=headers, body=body, content_type=content_type))
    assert_well_formed(send("GET", "/digest/whoami", headers={"Authorization": authorization}))


AWS_ERROR_FIELDS = {"Code", "Message", "CanonicalRequest", "StringToSign", "HeadersNotSigned"}
AWS_KEY_IDS = [entry["access_key_id"] for entry in demo.AWS["credentials"]]
aws_parameter = st.one_of(header_text, st.sampled_from([  # near misses of each part, and nonsense
    "AKIAPRACTICEDEMO0001/20261201/eu-west-1/practice/aws4_request", "ASIAPRACTICEDEMO0002/2026/eu-west-1/practice/x",
    "AKIAPRACTICEDEMO0001/20261201/eu-west-1/practice", "host;x-amz-date", "x-amz-date;host", "Host;X-Amz-Date",
    "host;host;x-amz-date", "host;x-amz-date;x-amz-security-token", "0" * 64, "G" * 64, "AWS4-HMAC-SHA256",
    "20261201T120000Z", "20261399T250000Z", "2026-12-01T12:00:00Z", "604801", "99999999999999999999", "-1", "0",
    "UNSIGNED-PAYLOAD"]))
aws_authorization = st.one_of(authorization, st.lists(st.tuples(
    st.sampled_from(["Credential", "SignedHeaders", "Signature", "credential", "Other", ""]), aws_parameter),
    max_size=5).map(lambda ps: "AWS4-HMAC-SHA256 " + ", ".join(f"{k}={v}" for k, v in ps)))
aws_query = st.lists(st.tuples(st.sampled_from(["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                                                "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
                                                "x-amz-signature", "other"]), aws_parameter),
                     max_size=9).map(lambda ps: "&".join(f"{k}={v}" for k, v in ps))


@given(authorization=st.one_of(st.none(), aws_authorization), query=st.one_of(queries, aws_query),
       headers=st.dictionaries(st.sampled_from(["X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256",
                                                "X-Amz-Meta-Note", "Host"]), st.one_of(aws_parameter, header_text),
                               max_size=4),
       body=bodies, content_type=content_types, method_path=st.sampled_from([  # escaped paths too (RAW_URI)
           ("GET", "/aws/whoami"), ("POST", "/aws/orders"), ("GET", "/aws%2Fwhoami"), ("POST", "/aws/%6Frders")]))
def test_aws_sigv4_family(authorization, query, headers, body, content_type, method_path):
    if authorization is not None:
        headers = {**headers, "Authorization": authorization}
    assert_well_formed(send(*method_path, query=query, headers=headers, body=body, content_type=content_type))


@given(value=header_text, query=queries, body=bodies, tamper=st.booleans())
def test_aws_sigv4_correctly_signed_odd_headers_and_queries(value, query, body, tamper):
    """Signed by the rules themselves, with any Latin-1 header value and query: 201, or a well-formed refusal."""
    import time

    from helpers.practice_api import sigv4
    entry = demo.AWS["credentials"][0]
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(APP.clock.now()))
    headers = [("host", "api.practice.test"), ("x-amz-date", amz_date), ("x-amz-meta-note", value)]
    wire = lambda text: text.encode("latin-1", "replace").decode("utf-8", "surrogateescape")  # noqa: E731
    canonical = sigv4.canonical_request("POST", "/aws/orders", wire(query),
                                        [(name, wire(text)) for name, text in headers],
                                        ["host", "x-amz-date", "x-amz-meta-note"], hashlib.sha256(body).hexdigest())
    scope = f"{amz_date[:8]}/eu-west-1/practice/aws4_request"
    key = sigv4.signing_key(entry["secret_access_key"], amz_date[:8], "eu-west-1", "practice")
    signature = sigv4.signature(key, sigv4.string_to_sign(amz_date, scope, canonical))
    authorization = (f"AWS4-HMAC-SHA256 Credential={entry['access_key_id']}/{scope}, "
                     f"SignedHeaders=host;x-amz-date;x-amz-meta-note, Signature={signature}")
    answer = send("POST", "/aws/orders", query=query, body=body + (b"!" if tamper else b""),
                  content_type="application/json", headers={"Host": "api.practice.test", "Authorization": authorization,
                                                            "X-Amz-Date": amz_date, "X-Amz-Meta-Note": value})
    assert_well_formed(answer)
    if any(ord(character) > 0xFF for character in value):  # no HTTP message carries it (PEP 3333): refused first
        assert answer[0] == 400
    elif tamper:
        assert answer[0] == 403
    elif answer[0] != 201:  # the signature held: only the JSON body may be refused (or a value that is empty)
        assert answer[0] == 400, answer


@given(path=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60).map(lambda p: "/" + p),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]))
def test_any_path_and_method(path, method):
    if method == "HEAD":  # RFC 9110 §9.3.2: the status and headers of GET, with no body
        status, headers, body = send("HEAD", path)
        get_status, get_headers, get_body = send("GET", path)
        assert (status, body) == (get_status, b"") and dict(headers)["Content-Length"] == str(len(get_body))
        assert_safe_headers(headers)
        return
    assert_well_formed(send(method, path))


# -- values a server copies into a header ------------------------------------------------------

def authorize_query(client_id: str, redirect_uri: str | None, state: str, challenge: str) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state,
              "scope": "profile", "code_challenge": challenge, "code_challenge_method": "S256"}
    return urlencode({name: value for name, value in params.items() if value is not None})


ALLOW = urlencode({"username": "ada", "password": "analytical:engine:1843", "decision": "approve"}).encode()
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
challenges = st.one_of(st.just(CHALLENGE), nasty_text)


@example(client_and_uri=("notes-cli", "http://127.0.0.1:87\r\n65/call\r\n\r\nback"), state="s", challenge=CHALLENGE,
         post=True)  # the reviewer's response splitting
@given(client_and_uri=client_and_redirect_uri, state=nasty_text, challenge=challenges, post=st.booleans())
def test_redirect_uri_and_state_never_reach_location_unsafe(client_and_uri, state, challenge, post):
    """Location is built from redirect_uri (matched exactly) and state (form-encoded): CR LF in either is
    refused or encoded, never copied."""
    client_id, redirect_uri = client_and_uri
    query = authorize_query(client_id, redirect_uri, state, challenge)
    if post:  # Ada presses Allow: the 303 with the code, where response splitting happened
        answer = send("POST", "/oauth/authorize", query=query, body=ALLOW,
                      content_type="application/x-www-form-urlencoded")
    else:
        answer = send("GET", "/oauth/authorize", query=query)
    assert_well_formed(answer)


def jwt_with_header(header: dict) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{encoded}.eyJzdWIiOiJhZGEifQ.c2ln"


@given(alg=nasty_text, kid=nasty_text, path=st.sampled_from(["/me", "/reports"]))
def test_token_contents_never_reach_www_authenticate_unsafe(alg, kid, path):
    """error_description in the Bearer challenge quotes the token's alg: only safe characters get in."""
    for header in ({"alg": alg, "kid": kid}, {"alg": "RS256", "kid": kid}):
        assert_well_formed(send("GET", path, headers={"Authorization": "Bearer " + jwt_with_header(header)}))


@given(value=nasty_text, field=st.sampled_from(["user_code", "token", "client_id", "device_code", "scope"]),
       method_path=st.sampled_from([("POST", "/device"), ("GET", "/device"), ("POST", "/oauth/introspect"),
                                    ("POST", "/oauth/revoke"), ("POST", "/oauth/device_authorization")]),
       authorization=st.one_of(st.none(), st.just("Basic bm90ZXMtYXBpOng="), nasty_text))
def test_form_and_query_values_never_reach_a_header_unsafe(value, field, method_path, authorization):
    method, path = method_path
    encoded = urlencode({field: value, "decision": "approve"})
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert_well_formed(send(method, path, query=encoded if method == "GET" else "", headers=headers,
                            body=encoded.encode() if method == "POST" else b"",
                            content_type="application/x-www-form-urlencoded"))


# -- on the wire: raw sockets to each server -------------------------------------------------------

SAFE_LINE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+: (?:[!-~](?:[ -~]*[!-~])?)?")


def raw_exchange(address: tuple[str, int], head: bytes, body: bytes = b"") -> list[str]:
    """Send bytes, read the answer to the end; return the lines of its head (status line first)."""
    with socket.create_connection(address, timeout=5) as raw:
        raw.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = raw.recv(65536)
            if not chunk:
                break
            answer += chunk
    if not answer.startswith(b"HTTP/"):
        return ["HTTP/0.9"]  # http.server reads a two-word request line as HTTP/0.9: a body, no head at all
    lines = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    assert re.fullmatch(r"HTTP/1\.[01] [1-5][0-9][0-9] [ -~]*", lines[0]), lines[0]
    return lines


def assert_safe_lines(lines: list[str]) -> None:
    assert all(SAFE_LINE.fullmatch(line) for line in lines[1:]), [line for line in lines if not
                                                                   SAFE_LINE.fullmatch(line)]


def wire_header_value(value: str) -> bytes:
    """A header value as a client can put it on the wire: any byte but CR and LF."""
    return value.replace("\r", "").replace("\n", "").encode("utf-8")[:6000]


@pytest.fixture(scope="module")
def loopback():
    from helpers import serve_practice_api

    with serve_practice_api() as server:
        yield server
        assert server.app.errors == [], server.app.errors[-1]


@settings(max_examples=min(settings().max_examples, 15))
@example(client_and_uri=("notes-cli", "http://127.0.0.1:87\r\n65/call\r\n\r\nback"), state="s", value="")
@given(client_and_uri=client_and_redirect_uri, state=nasty_text, value=nasty_text)
def test_loopback_server_headers_on_the_wire(loopback, client_and_uri, state, value):
    client_id, redirect_uri = client_and_uri
    address = (loopback.host, loopback.port)
    host = f"Host: {loopback.host}:{loopback.port}\r\nConnection: close\r\n".encode()
    target = "/oauth/authorize?" + authorize_query(client_id, redirect_uri, state,
                                                   CHALLENGE)
    form = b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(ALLOW)
    lines = raw_exchange(address, f"POST {target} HTTP/1.1\r\n".encode() + host + form, ALLOW)
    assert_safe_lines(lines)
    assert lines[0].split(" ")[1] in {"303", "400"}  # 303 after the form POST (RFC 9700 §4.12.2)
    for path, name in (("/me", b"Authorization: Bearer "), ("/keys/whoami", b"X-API-Key: "),
                       ("/digest/whoami", b"Authorization: Digest username="), ("/basic/whoami", b"Authorization: "),
                       ("/aws/whoami", b"Authorization: AWS4-HMAC-SHA256 Credential=")):
        lines = raw_exchange(address, f"GET {path} HTTP/1.1\r\n".encode() + host + name + wire_header_value(value)
                             + b"\r\n\r\n")
        assert_safe_lines(lines)
        assert lines[0].split(" ")[1] in {"400", "401", "403", "429"}


@settings(max_examples=min(settings().max_examples, 15))
@given(target=nasty_text, value=nasty_text, method=st.sampled_from(["GET", "POST", "CONNECT", "G\tET"]))
def test_redirect_listener_and_tunnel_proxy_headers_on_the_wire(target, value, method):
    from helpers import RedirectListener, serve_tunnel_proxy

    path = "/callback?" + urlencode({"code": target, "state": value})
    line = wire_header_value(f"{method} {path} HTTP/1.1")
    with RedirectListener() as listener:
        address = ("127.0.0.1", listener.port)
        for request_line in (line, b"GET " + wire_header_value(target).replace(b" ", b"%20") + b" HTTP/1.1"):
            assert_safe_lines(raw_exchange(address, request_line + b"\r\nX-Any: " + wire_header_value(value)
                                           + b"\r\nConnection: close\r\n\r\n"))
    with serve_tunnel_proxy("ada", "p@ss:word/1") as proxy:
        address = ("127.0.0.1", proxy.port)
        connect = b"CONNECT " + wire_header_value(target).replace(b" ", b"") + b":443 HTTP/1.1\r\n"
        assert_safe_lines(raw_exchange(address, connect + b"Proxy-Authorization: Basic " + wire_header_value(value)
                                       + b"\r\n\r\n"))
        assert_safe_lines(raw_exchange(address, b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nProxy-Authorization: "
                                       + wire_header_value(value) + b"\r\n\r\n"))


# Any code point at all, lone surrogates included: what a WSGI caller (not a socket) can hand the app.
any_code_point = st.text(st.characters(blacklist_categories=()), max_size=40)
media_type_like = st.lists(st.one_of(st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                                      "text/plain", ";", "=", '"', "\\", " ", "\t", "/", "charset",
                                                      "utf-8", "UTF-8", "latin-1", ",", "é", "\x00"]),
                                     any_code_point), max_size=8).map("".join)


@given(value=st.one_of(media_type_like, any_code_point))
def test_media_type_parses_or_refuses_and_never_raises(value):
    from helpers.practice_api.wsgi import MEDIA_TYPE, media_type

    parsed = media_type(value)
    if parsed is not None:
        essence, parameters = parsed
        assert MEDIA_TYPE.fullmatch(essence) and essence == essence.lower() and essence.isascii()
        assert all(name == name.lower() and name.isascii() for name in parameters)


@given(value=any_code_point, name=st.sampled_from(["Host", "Authorization", "X-API-Key", "Content-Type", "X-Any"]),
       method_path=st.sampled_from([("GET", "/headers"), ("GET", "/me"), ("POST", "/login"), ("POST", "/oauth/token"),
                                    ("GET", "/keys/whoami"), ("GET", "/basic/whoami")]),
       content_type=st.one_of(content_types, media_type_like))
@example(value="a\ud800", name="Host", method_path=("GET", "/headers"), content_type="")  # /headers echoes Host
def test_any_code_point_in_a_header_never_gets_a_500(value, name, method_path, content_type):
    method, path = method_path
    assert_well_formed(send(method, path, headers={name: value}, body=b'{"username": "ada", "password": "x"}',
                            content_type=content_type))


@given(text=any_code_point)
@example(text="\udfff")  # a note is echoed back: json.dumps(ensure_ascii=False).encode() fails on it
def test_any_json_string_in_a_body_never_gets_a_500(text):
    body = json.dumps({"text": text, "username": text, "password": text}).encode()  # escapes lone surrogates
    for path in ("/keys/notes", "/login", "/signed/orders", "/aws/orders"):
        assert_well_formed(send("POST", path, headers={"X-API-Key": demo.api_key("rw-2")}, body=body,
                                content_type="application/json"))


# -- notebook 09: client assertions (RFC 7523) and DPoP proofs (RFC 9449), signed or not ----------------------

def _signed(header: dict, claims: dict, pem: str, alg: str) -> str:
    """A JWS signed by hand: PyJWT's encode() refuses some of the nonsense the server must survive."""
    from cryptography.hazmat.primitives import serialization
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm
    key = serialization.load_pem_private_key(pem.encode(), None)
    part = lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()  # noqa: E731
    signing_input = part({**header, "alg": alg}) + "." + part(claims)
    signer = ECAlgorithm(ECAlgorithm.SHA256) if alg == "ES256" else RSAAlgorithm(RSAAlgorithm.SHA256)
    signature = base64.urlsafe_b64encode(signer.sign(signing_input.encode(), key)).rstrip(b"=").decode()
    return signing_input + "." + signature


ASSERTION_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "scope"]
fuzzed_claims = st.dictionaries(st.sampled_from(ASSERTION_CLAIMS + ["htm", "htu", "ath", "nonce"]),
                                st.one_of(json_values, nasty_text, st.integers(0, 2 ** 62)), max_size=9)
fuzzed_header = st.dictionaries(st.sampled_from(["kid", "typ", "crit", "jwk", "x5c", "b64"]),
                                st.one_of(json_values, nasty_text), max_size=4)


@given(claims=fuzzed_claims, header=fuzzed_header, signed=st.booleans(), raw=jwt_like,
       grant=st.booleans(), form_extra=st.dictionaries(st.sampled_from(["client_id", "scope", "client_secret"]),
                                                       header_text, max_size=2))
def test_client_assertion_and_jwt_bearer_family(claims, header, signed, raw, grant, form_extra):
    """Signed with the right demo key (so every claim check is reached) or not a valid JWT at all."""
    from helpers.practice_api import demo_keys
    if grant:
        token = _signed({**header, "kid": demo_keys.SERVICE_ACCOUNT_KEY_ID}, claims,
                        demo_keys.SERVICE_ACCOUNT_PRIVATE_KEY, "RS256") if signed else raw
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": token, **form_extra}
    else:
        token = _signed({k: v for k, v in header.items() if k != "kid"}, claims,
                        demo_keys.REPORTS_SIGNER_PRIVATE_KEY, "ES256") if signed else raw
        form = {"grant_type": "client_credentials", "client_assertion": token, **form_extra,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    assert_well_formed(send("POST", "/oauth/token", body=urlencode(form).encode(),
                            content_type="application/x-www-form-urlencoded"))


@given(claims=fuzzed_claims, header=fuzzed_header, signed=st.booleans(), raw=st.one_of(jwt_like, nasty_text),
       where=st.sampled_from(["token", "reports", "me", "login"]), token=st.one_of(jwt_like, header_text))
def test_dpop_proof_family(claims, header, signed, raw, where, token):
    """Proofs signed with a key whose jwk they carry (the signature checks pass), or anything at all."""
    import jwt as pyjwt
    from cryptography.hazmat.primitives import serialization
    from helpers.practice_api import demo_keys
    if signed:
        key = serialization.load_pem_private_key(demo_keys.DPOP_PRIVATE_KEY.encode(), None)
        jwk = header.get("jwk", pyjwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True))
        proof = _signed({"typ": "dpop+jwt", **header, "jwk": jwk}, claims, demo_keys.DPOP_PRIVATE_KEY, "ES256")
    else:
        proof = raw
    if where == "token":
        answer = send("POST", "/oauth/token", headers={"DPoP": proof}, content_type="application/x-www-form-urlencoded",
                      body=urlencode({"grant_type": "client_credentials", "client_id": "reports-mtls"}).encode())
    elif where == "login":
        answer = send("POST", "/login", headers={"DPoP": proof}, content_type="application/json",
                      body=json.dumps({"username": "ada", "password": "wrong"}).encode())
    else:
        answer = send("GET", "/" + where, headers={"Authorization": "DPoP " + token, "DPoP": proof})
    assert_well_formed(answer)


# -- from a VALID assertion or proof, one claim changed at a time: every claim check is reached ----------------
# The families above mostly fail early (a wrong iss, a missing jti). These start from what the server accepts
# (each unchanged example must get 200) and replace or drop one claim, with numbers no JSON parser holds
# (10**400 made math.isfinite raise OverflowError), NaN, infinities, and nasty text.

DROP = object()
unbounded_numbers = st.one_of(
    st.integers(), st.sampled_from([10 ** 400, -10 ** 400, 2 ** 53, 2 ** 53 - 1, -2 ** 53, 2 ** 63, 2 ** 64, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10 ** 12, 10 ** 12).map(float))
claim_values = st.one_of(st.just(DROP), unbounded_numbers, json_values, nasty_text, st.booleans())


def _mutated(claims: dict, name: str | None, value) -> dict:
    if name is None:
        return claims
    changed = dict(claims)
    if value is DROP:
        changed.pop(name, None)
    else:
        changed[name] = value
    return changed


def _assert_valid_or_refused(answer, changed: bool) -> None:
    assert_well_formed(answer)
    if not changed:
        assert answer[0] == 200, answer[2]


def _client_assertion_claims(issuer: str = demo.BASE_URL) -> dict:
    import uuid
    now = int(APP.clock.now())
    return {"iss": "reports-signer", "sub": "reports-signer", "aud": issuer, "iat": now, "exp": now + 60,
            "jti": uuid.uuid4().hex}


def _client_assertion(claims: dict) -> str:
    from helpers.practice_api import demo_keys
    return _signed({"kid": demo_keys.REPORTS_SIGNER_KEY_ID, "typ": "JWT"}, claims,
                   demo_keys.REPORTS_SIGNER_PRIVATE_KEY, "ES256")


@given(name=st.one_of(st.none(), st.sampled_from(ASSERTION_CLAIMS)), value=claim_values, grant=st.booleans())
@example(name=None, value=0, grant=False)
@example(name=None, value=0, grant=True)
@example(name="exp", value=10 ** 400, grant=False)
@example(name="nbf", value=-10 ** 400, grant=True)
def test_one_claim_of_a_valid_assertion_changed(name, value, grant):
    """Client authentication (RFC 7523 §2.2) or the grant (§2.1): 200 unchanged, else a refusal with a reason."""
    import uuid
    from helpers.practice_api import demo_keys
    if grant:
        now = int(APP.clock.now())
        claims = {"iss": demo_keys.SERVICE_ACCOUNT_EMAIL, "aud": demo.BASE_URL + "/oauth/token", "iat": now,
                  "exp": now + 600, "jti": uuid.uuid4().hex, "scope": "reports:read"}
        token = _signed({"kid": demo_keys.SERVICE_ACCOUNT_KEY_ID}, _mutated(claims, name, value),
                        demo_keys.SERVICE_ACCOUNT_PRIVATE_KEY, "RS256")
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": token}
    else:
        form = {"grant_type": "client_credentials", "client_assertion": _client_assertion(_mutated(
            _client_assertion_claims(), name, value)),
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    answer = send("POST", "/oauth/token", body=urlencode(form).encode(),
                  content_type="application/x-www-form-urlencoded")
    _assert_valid_or_refused(answer, name is not None)


DPOP_CLAIMS = ["jti", "htm", "htu", "iat", "ath", "nonce"]
JWK_MEMBERS = ["kty", "crv", "x", "y"]


def _dpop_key():
    from cryptography.hazmat.primitives import serialization
    from helpers.practice_api import demo_keys
    return serialization.load_pem_private_key(demo_keys.DPOP_PRIVATE_KEY.encode(), None)


def _bound_reports_token(jkt: str) -> str:
    """A DPoP-bound access token for /reports, signed with the demo key (it is public, notebook 03)."""
    import uuid

    import jwt as pyjwt
    from helpers.practice_api import signing_key
    now = int(APP.clock.now())
    claims = {"iss": demo.BASE_URL, "aud": demo.BASE_URL + "/reports", "sub": "reports-signer",
              "client_id": "reports-signer", "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex,
              "scope": "reports:read", "cnf": {"jkt": jkt}}
    return pyjwt.encode(claims, signing_key.private_key(), algorithm="RS256",
                        headers={"kid": signing_key.KEY_ID, "typ": "at+jwt"})


@given(name=st.one_of(st.none(), st.sampled_from(DPOP_CLAIMS), st.sampled_from(JWK_MEMBERS).map(lambda n: "jwk." + n),
                      st.just("typ")),
       value=st.one_of(claim_values, b64url), where=st.sampled_from(["token", "reports"]))
@example(name=None, value=0, where="token")
@example(name=None, value=0, where="reports")
@example(name="iat", value=10 ** 400, where="reports")
@example(name="jwk.x", value="AA", where="token")
def test_one_claim_of_a_valid_dpop_proof_changed(name, value, where):
    """RFC 9449 §4.3's checks, each reached: 200 unchanged, else a refusal with a reason (never a 500)."""
    import uuid

    import jwt as pyjwt
    from helpers.practice_api import dpop
    jwk = pyjwt.algorithms.ECAlgorithm.to_jwk(_dpop_key().public_key(), as_dict=True)
    path = "/oauth/token" if where == "token" else "/reports"
    claims = {"jti": uuid.uuid4().hex, "htm": "POST" if where == "token" else "GET", "htu": demo.BASE_URL + path,
              "iat": int(APP.clock.now())}
    token = _bound_reports_token(dpop.thumbprint(jwk)) if where == "reports" else None
    if token:
        claims["ath"] = dpop.access_token_hash(token)
    header = {"typ": "dpop+jwt", "jwk": jwk}
    if name is not None and name.startswith("jwk."):
        header["jwk"] = _mutated(jwk, name[4:], value)
    elif name == "typ":
        header = _mutated(header, "typ", value)
    else:
        claims = _mutated(claims, name, value)
    from helpers.practice_api import demo_keys
    proof = _signed(header, claims, demo_keys.DPOP_PRIVATE_KEY, "ES256")
    if where == "token":
        form = {"grant_type": "client_credentials", "client_assertion": _client_assertion(_client_assertion_claims()),
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
        answer = send("POST", "/oauth/token", headers={"DPoP": proof}, body=urlencode(form).encode(),
                      content_type="application/x-www-form-urlencoded")
    else:
        answer = send("GET", "/reports", headers={"Authorization": "DPoP " + token, "DPoP": proof})
    # "nonce" and, at the token endpoint, "ath" are not checked there: any value is accepted (§4.3).
    ignored = (name == "nonce" or (where == "token" and name == "ath") or (name == "typ" and value == "dpop+jwt")) \
        and len(proof) <= dpop.MAX_PROOF_LENGTH
    _assert_valid_or_refused(answer, name is not None and not ignored)


# -- the OpenID Provider (oidc.py): discovery, the nonce, the ID token, UserInfo ----------------------

@given(authorization=st.one_of(st.none(), authorization, jwt_like.map(lambda token: "Bearer " + token)),
       body=bodies, content_type=content_types, query=queries,
       method_path=st.sampled_from([("GET", "/oauth/userinfo"), ("POST", "/oauth/userinfo"),
                                    ("GET", "/.well-known/openid-configuration"),
                                    ("POST", "/.well-known/openid-configuration")]))
def test_oidc_family(authorization, body, content_type, query, method_path):
    method, path = method_path
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert_well_formed(send(method, path, query=query, headers=headers, body=body, content_type=content_type))


SIGNIN_BASIC = "Basic " + base64.b64encode(
    f"notes-signin:{demo.client('notes-signin')['client_secret']}".encode()).decode()
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B: its S256 is CHALLENGE


@example(nonce="n-0123456789 ~!", scope="openid profile email", extra={})  # signs in: the ID token carries it
@example(nonce="n\r\nSet-Cookie: a=b", scope="openid", extra={})
@example(nonce="n" * 256, scope="openid profile", extra={"prompt": "none"})
@given(nonce=st.one_of(nasty_text, any_text, st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                                                     max_size=300)),
       scope=st.sampled_from(["openid", "openid profile email", "profile", "openid openid", ""]),
       extra=st.dictionaries(st.sampled_from(["prompt", "max_age", "request", "request_uri", "id_token_hint",
                                              "login_hint", "claims", "response_mode", "acr_values"]),
                             st.one_of(st.sampled_from(["none", "login", "none login", "0", "-1", "1e309"]),
                                       nasty_text), max_size=3))
def test_any_nonce_signs_in_or_is_refused_and_never_reaches_a_header(nonce, scope, extra):
    """Core §3.1.2.1: the nonce goes into the ID token unchanged, or the request is refused; either way
    every answer, the token response included, is well-formed. The other OpenID parameters too."""
    query = urlencode({"response_type": "code", "client_id": "notes-signin", "state": "s", "scope": scope,
                       "redirect_uri": "http://127.0.0.1:8400/signin/callback", "code_challenge": CHALLENGE,
                       "code_challenge_method": "S256", "nonce": nonce, **extra}, encoding="utf-8",
                      errors="surrogatepass")
    answer = send("POST", "/oauth/authorize", query=query, body=ALLOW,
                  content_type="application/x-www-form-urlencoded")
    assert_well_formed(answer)
    location = dict(answer[1]).get("Location", "")
    if "code=" not in location:
        return
    code = dict(pair.split("=", 1) for pair in location.split("?", 1)[1].split("&"))["code"]
    form = urlencode({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
                      "redirect_uri": "http://127.0.0.1:8400/signin/callback"}).encode()
    token_answer = send("POST", "/oauth/token", headers={"Authorization": SIGNIN_BASIC}, body=form,
                        content_type="application/x-www-form-urlencoded")
    assert_well_formed(token_answer)
    assert token_answer[0] == 200
    issued = json.loads(token_answer[2])
    if "openid" in scope.split(" "):
        import jwt
        assert jwt.decode(issued["id_token"], options={"verify_signature": False})["nonce"] == nonce
    else:
        assert "id_token" not in issued


@given(token=jwt_like)
def test_jwts_at_userinfo(token):
    assert_well_formed(send("GET", "/oauth/userinfo", headers={"Authorization": f"Bearer {token}"}))


# Validly signed access tokens with odd claims: the demo key is public, so the code after the signature
# check (types of sub and scope, the user lookup, the claims by scope) is reached by anyone.
odd_subjects = st.one_of(json_values, st.sampled_from(["ada", "grace", "mallory", "ADA", "ada\x00", "__class__",
                                                       "constructor", "", " ", "a" * 300]))
odd_scopes = st.one_of(json_values, st.sampled_from(["openid", "openid profile email", "openid  profile",
                                                     " openid", "openid\tprofile", "openid profile unknown email",
                                                     "profile", "openid openid email", "email openid"]))


@example(sub="ada", scope="openid profile email")
@example(sub="mallory", scope="openid")
@example(sub=["ada"], scope="openid")
@example(sub="ada", scope=["openid"])
@given(sub=odd_subjects, scope=odd_scopes)
def test_oidc_userinfo_with_validly_signed_odd_claims(sub, scope):
    """OIDC Core §5.3: 200 with sub and what the scopes allow, or a well-formed 401/403: never a 500."""
    import jwt
    from helpers.practice_api import oidc, signing_key
    now = int(APP.clock.now())
    claims = {"iss": APP.issuer, "aud": APP.issuer + "/me", "sub": sub, "client_id": "notes-signin", "iat": now,
              "exp": now + 60, "scope": scope, "jti": "fuzz"}
    token = jwt.encode(claims, signing_key.private_key(), algorithm="RS256",
                       headers={"kid": signing_key.KEY_ID, "typ": "at+jwt"})
    answer = send("GET", "/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert_well_formed(answer)
    status, _, body = answer
    if status == 200:
        info = json.loads(body)
        granted = scope.split(" ")
        assert info["sub"] == sub and "openid" in granted
        allowed = {"sub", *(name for s in granted for name in oidc.CLAIMS_BY_SCOPE.get(s, ()))}
        assert set(info) == allowed
    else:
        assert status in (401, 403)
