"""Fuzzing: malformed headers, bodies, forms, queries and JWTs never get a 500 or a traceback.

Every answer must be well-formed: a 4xx with a JSON body `{"error", "error_description"}`
(or the HTML page of a browser endpoint), a 2xx, or a redirect with a Location. Requests
go straight into the WSGI app, as the transports send them, so thousands run in seconds.

`make test` runs the fast profile; `make fuzz` runs 2,000 examples per endpoint family.
"""
from __future__ import annotations

import base64
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.app import PracticeAPI
from helpers.gateway import call_app, make_environ

settings.register_profile("fast", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

APP = PracticeAPI()  # one app for all examples: state (lockouts, spent codes) piles up, as in real life
OK_STATUSES = {200, 201, 302, 400, 401, 403, 404, 405, 413, 429}

# Header values reach a WSGI app as Latin-1 text without CR or LF (http.client refuses those).
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300)
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
         content_type: str = "") -> tuple[int, dict[str, str], bytes]:
    header_list = [(name, value) for name, value in (headers or {}).items()]
    if content_type:
        header_list.append(("Content-Type", content_type))
    environ = make_environ(method=method, target=path + ("?" + query if query else ""), headers=header_list,
                           body=body, scheme="https", host="api.practice.test", port=443)
    status, _, reply_headers, payload = call_app(APP, environ)
    return status, dict(reply_headers), payload


def assert_well_formed(answer: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, body = answer
    assert APP.errors == [], APP.errors[-1]
    assert status in OK_STATUSES, status
    assert headers["Content-Length"] == str(len(body))
    if status == 302:
        assert headers["Location"]
        return
    content_type = headers.get("Content-Type", "")
    if content_type.startswith("text/html"):
        assert body.startswith(b"<!doctype html>")
        return
    if body:
        payload = json.loads(body)
        if status >= 400:
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


@given(token=jwt_like)
def test_jwts_at_me(token):
    assert_well_formed(send("GET", "/me", headers={"Authorization": f"Bearer {token}"}))


form_fields = st.dictionaries(st.sampled_from(["grant_type", "code", "redirect_uri", "code_verifier", "client_id",
                                               "refresh_token", "device_code", "scope", "token", "user_code",
                                               "username", "password", "decision", "client_secret"]),
                              header_text, max_size=8)


@given(query=st.one_of(queries, st.dictionaries(st.sampled_from(["response_type", "client_id", "redirect_uri", "scope",
                                                                 "state", "code_challenge", "code_challenge_method"]),
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


@given(path=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60).map(lambda p: "/" + p),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]))
def test_any_path_and_method(path, method):
    assert_well_formed(send(method, path))
