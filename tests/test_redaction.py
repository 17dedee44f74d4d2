"""`RedactSecrets`: no secret reaches a log line, in any form it supports; everything else is left alone.

The property test generates secrets and embeds them in log records every way the filter
claims to handle (header lines, dicts of headers, JSON, query strings, form bodies, URLs
with a password, bare bearer tokens and JWTs, exception text, %-arguments), then checks
the formatted output.
"""
from __future__ import annotations

import io
import json
import logging
import string
from urllib.parse import quote, quote_plus, urlencode

import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers import RedactSecrets, serve_practice_api
from helpers.practice_api import demo
from helpers.client.redaction import MASK, SECRET_FIELDS, SECRET_HEADERS

KEY = demo.api_key("ro-1")
TOKEN_CHARS = string.ascii_letters + string.digits + "-._~+/"
URL_SAFE = string.ascii_letters + string.digits + "-._~"
B64URL = string.ascii_letters + string.digits + "-_"


def formatted(*records_args, known=(), exc: BaseException | None = None, fmt="%(levelname)s %(message)s") -> str:
    """Log one record through a handler that has the filter; return what the handler wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(RedactSecrets(known=known))
    logger = logging.getLogger("tests.redaction")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.DEBUG)  # setLevel, not .level =: it clears the loggers' isEnabledFor cache
    msg, *args = records_args
    if exc is None:
        logger.info(msg, *args)
    else:
        try:
            raise exc
        except BaseException:
            logger.exception(msg, *args)
    return stream.getvalue()


# -- forms, one example each ----------------------------------------------------------------

@pytest.mark.parametrize("message, expected", [
    ("Authorization: Bearer abcdefgh12345", "Authorization: Bearer [REDACTED]"),
    ("proxy-authorization: Basic YWRhOmFuYWx5dGljYWw=", "proxy-authorization: Basic [REDACTED]"),
    ("Authorization: sk_live_0123456789", "Authorization: [REDACTED]"),  # no known scheme: all of it goes
    (f"X-API-Key: {KEY}", "X-API-Key: [REDACTED]"),
    ("Cookie: session=abc123; theme=dark", "Cookie: [REDACTED]"),
    ("GET /notes?page=2&api_key=abc123&sort=asc HTTP/1.1", "GET /notes?page=2&api_key=[REDACTED]&sort=asc HTTP/1.1"),
    ("grant_type=refresh_token&refresh_token=r3fr3sh&client_id=cli",
     "grant_type=refresh_token&refresh_token=[REDACTED]&client_id=cli"),
    ('{"access_token": "tok-123", "token_type": "Bearer", "expires_in": 300}',
     '{"access_token": "[REDACTED]", "token_type": "Bearer", "expires_in": 300}'),
    ("{'password': 'hunter2', 'username': 'ada'}", "{'password': '[REDACTED]', 'username': 'ada'}"),
    ("password: hunter2", "password: [REDACTED]"),
    ("retrying with Bearer abcdefghijkl now", "retrying with Bearer [REDACTED] now"),
    ("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl in cache", "token [REDACTED] in cache"),
    ("proxy https://ada:s3cret%40x@proxy.test:8080/", "proxy https://ada:[REDACTED]@proxy.test:8080/"),
    # Python reprs (review of issue 12): headers.items(), tuples, keyword arguments, dataclasses
    (f"headers=[('Accept', '*/*'), ('X-API-Key', '{KEY}')]", "headers=[('Accept', '*/*'), ('X-API-Key', '[REDACTED]')]"),
    ("('Authorization', 'Basic YWRhOmFuYWx5dGljYWw=')", "('Authorization', 'Basic [REDACTED]')"),
    ('("Cookie", "sid=abc123; theme=dark")', '("Cookie", "[REDACTED]")'),
    ("password = 'hunter two'", "password = '[REDACTED]'"),
    ("Credentials(username='ada', password='hunter2')", "Credentials(username='ada', password='[REDACTED]')"),
    (f"connect(api_key='{KEY}', timeout=5)", "connect(api_key='[REDACTED]', timeout=5)"),
    ('Client(client_secret="s3 cr3t", client_id="cli")', 'Client(client_secret="[REDACTED]", client_id="cli")'),
])
def test_each_form(message, expected):
    assert RedactSecrets().redact(message) == expected


@pytest.mark.parametrize("message", [
    "status code: 429, Retry-After: 10",
    "GET https://127.0.0.1:8443/limited HTTP/1.1",
    "X-API-Key-Id: ro-1 key_id=ro-1 monkey=banana",
    "Basic auth is simple; the Bearer token expired",
    "Content-Type: application/json",
    "https://api.practice.test/keys/whoami",
])
def test_leaves_the_rest_alone(message):
    assert RedactSecrets().redact(message) == message


def test_redacting_twice_changes_nothing():
    once = RedactSecrets().redact(f"X-API-Key: {KEY}\n?token=eyJhbGciOi.eyJzdWIi.sig&code=x y")
    assert RedactSecrets().redact(once) == once and KEY not in once


def test_args_dicts_and_the_record_afterwards():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.redaction.record")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.DEBUG)
    seen = []
    handler.emit = lambda record, emit=handler.emit: (seen.append(record), emit(record))
    logger.info("sent %s", {"Accept": "*/*", "X-API-Key": KEY})
    assert KEY not in stream.getvalue() and "'X-API-Key': '[REDACTED]'" in stream.getvalue()
    assert seen[0].args == () and KEY not in seen[0].msg  # nothing left for a later handler to format


def test_exception_text_is_redacted_and_the_raw_exception_dropped():
    out = formatted("call failed", exc=ValueError(f"rejected X-API-Key: {KEY}"))
    assert "Traceback" in out and "ValueError: rejected X-API-Key: [REDACTED]" in out and KEY not in out


def test_stack_info_is_redacted():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.redaction.stack")
    logger.handlers, logger.propagate = [handler], False
    password = "hunter2-in-a-frame"
    logger.warning("here", stack_info=True)  # the stack holds this test's source line, not the value...
    logger.warning("%s", f"password={password}")  # ...while a message holds the value
    assert password not in stream.getvalue() and "Stack (most recent call last)" in stream.getvalue()


def test_a_broken_format_string_keeps_the_record_and_hides_the_secret():
    out = formatted("token=%s and %s", KEY)  # one argument missing: getMessage() would raise
    assert out.startswith("INFO ") and KEY not in out


def test_known_secrets_are_hidden_in_any_form():
    secret = "my secret/with spaces&more"
    for text in (f"value {secret}!", f"?q={quote(secret, safe='')}", f"body q={quote_plus(secret)}"):
        out = formatted("%s", text, known=[secret])
        assert secret not in out and quote(secret, safe="") not in out and quote_plus(secret) not in out


def test_the_filter_belongs_on_the_handler_not_the_logger():
    """A logger's own filters never see records that its children propagate; a handler's filters see them all."""
    stream = io.StringIO()
    parent = logging.getLogger("tests.redaction.parent")
    parent.handlers, parent.propagate = [logging.StreamHandler(stream)], False
    parent.setLevel(logging.DEBUG)
    parent.filters = [RedactSecrets()]
    logging.getLogger("tests.redaction.parent.child").info("X-API-Key: %s", KEY)
    assert KEY in stream.getvalue()  # the logger's filter did not run for the child's record
    parent.filters = []
    parent.handlers[0].addFilter(RedactSecrets())
    logging.getLogger("tests.redaction.parent.child").info("X-API-Key: %s", KEY)
    assert stream.getvalue().splitlines()[-1] == "X-API-Key: [REDACTED]"


def test_urllib3_debug_lines_through_a_filtered_handler():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    urllib3_log = logging.getLogger("urllib3")
    saved_handlers, saved_level, saved_propagate = urllib3_log.handlers[:], urllib3_log.level, urllib3_log.propagate
    urllib3_log.handlers, urllib3_log.propagate = [handler], False
    urllib3_log.setLevel(logging.DEBUG)
    try:
        with serve_practice_api() as api, requests.Session() as session:
            session.trust_env = False
            session.get(api.url("/keys/whoami"), params={"api_key": KEY}, timeout=5)
    finally:
        urllib3_log.handlers, urllib3_log.propagate = saved_handlers, saved_propagate
        urllib3_log.setLevel(saved_level)
    assert '"GET /keys/whoami?api_key=[REDACTED] HTTP/1.1" 400' in stream.getvalue()
    assert KEY not in stream.getvalue()


# -- the property -----------------------------------------------------------------------------

def any_case(name: str):
    return st.sampled_from([name, name.lower(), name.upper(), name.title()])


header_names = st.sampled_from(SECRET_HEADERS).flatmap(any_case)
field_names = st.sampled_from(SECRET_FIELDS).flatmap(any_case)
token_secrets = st.text(TOKEN_CHARS, min_size=8, max_size=48)
url_secrets = st.text(URL_SAFE, min_size=8, max_size=48)
header_secrets = st.text(string.ascii_letters + string.digits + string.punctuation + " ", min_size=8, max_size=48)
jwts = st.builds(lambda a, b, c: f"eyJ{a}.{b}.{c}", st.text(B64URL, min_size=2, max_size=40),
                 st.text(B64URL, min_size=2, max_size=60), st.text(B64URL, min_size=0, max_size=60))
schemes = st.sampled_from(["Bearer", "Basic", "Token", "DPoP", "Digest"])
prefixes = st.sampled_from(["", "DEBUG ", "request: ", "→ ", "line one\n"])
suffixes = st.sampled_from(["", " (retrying)", "\nnext line", ", done"])
url_suffixes = st.sampled_from(["", "&page=2", " HTTP/1.1", "#top", "\n"])


FORMS = ["header line", "header as args", "header dict", "header json", "query", "prepared url", "form body",
         "json field", "dict field", "colon field", "bearer anywhere", "jwt anywhere", "userinfo", "exception", "known",
         "header items", "keyword field", "dataclass repr"]


@st.composite
def records(draw):
    """(form, the secret, build): build(secret) gives what to log (msg, args, exception, known secrets)."""
    form = draw(st.sampled_from(FORMS))
    pre, post, url_end = draw(prefixes), draw(suffixes), draw(url_suffixes)
    scheme = draw(schemes)
    if form == "header items":
        name, secret = draw(header_names), draw(token_secrets)
    elif form.startswith("header"):
        name = draw(header_names)
        secret = draw(header_secrets if form in ("header line", "header as args") else token_secrets).strip()
        assume(len(secret) >= 8)
    elif form in ("query", "prepared url", "form body"):
        name, secret = draw(field_names), draw(url_secrets)
    elif form in ("json field", "dict field", "colon field", "exception", "keyword field", "dataclass repr"):
        name, secret = draw(field_names if form != "exception" else header_names), draw(token_secrets)
        assume(not (form == "colon field" and name.lower() == "code"))  # "status code: 200" is no secret
    elif form == "bearer anywhere":
        name, secret = draw(st.sampled_from(["Bearer", "bearer", "DPoP"])), draw(token_secrets)
    elif form == "jwt anywhere":
        name, secret = "", draw(jwts)
    else:  # userinfo, known
        name, secret = "", draw(header_secrets)

    def build(s: str):
        value = f"{scheme} {s}" if name.lower().endswith("authorization") else s
        return {
            "header line": lambda: (f"{pre}{name}: {value}{post}", (), None, ()),
            "header as args": lambda: ("%s%s: %s%s", (pre, name, value, post), None, ()),
            "header dict": lambda: ("headers=%s", ({"Accept": "*/*", name: value, "User-Agent": "notes/1.0"},), None,
                                    ()),
            "header json": lambda: ("%s", (json.dumps({"headers": {name: value}, "ok": True}),), None, ()),
            "query": lambda: (f"{pre}GET https://api.practice.test/notes?page=1&{name}={s}{url_end}", (), None, ()),
            "prepared url": lambda: ("GET %s", (requests.Request("GET", "https://api.practice.test/notes",
                                                                 params={name: s, "n": 1}).prepare().url,), None, ()),
            "form body": lambda: ("body: %s", (urlencode({"grant_type": "refresh_token", name: s, "scope": "a b"}),),
                                  None, ()),
            "json field": lambda: ("%s", (json.dumps({"scope": "notes:read", name: s, "expires_in": 300}),), None, ()),
            "dict field": lambda: ("%s", (str({"scope": "notes:read", name: s, "expires_in": 300}),), None, ()),
            "colon field": lambda: (f"{pre}{name}: {s}{post}", (), None, ()),
            "header items": lambda: ("headers=%s", (list({"Accept": "*/*", name: value}.items()),), None, ()),
            "keyword field": lambda: (f"{pre}{name} = {s!r}{post}", (), None, ()),
            "dataclass repr": lambda: ("%s", (f"Credentials(username='ada', {name}={s!r}, scope='a b')",), None, ()),
            "bearer anywhere": lambda: (f"{pre}retrying with {name} {s}{post}", (), None, ()),
            "jwt anywhere": lambda: ("%stoken %s%s", (pre, s, post), None, ()),
            "userinfo": lambda: (f"{pre}via https://ada:{quote(s, safe='')}@proxy.practice.test:8080/{post}", (), None,
                                 ()),
            "exception": lambda: ("call failed", (), RuntimeError(f"{name}: {value}"), ()),
            "known": lambda: (f"{pre}loaded %s from the environment{post}", (s,), None, [s] if s else []),
        }[form]()

    return form, secret, build


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(records())
def test_no_generated_secret_reaches_the_log(record):
    form, secret, build = record
    spellings = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1], repr(secret)[1:-1]}
    msg, args, exc, known = build("")  # the same record without the secret: what may show
    context = formatted(msg, *args, exc=exc) + MASK
    spellings = {spelling for spelling in spellings if spelling not in context}  # a secret that is also plain text
    assume(secret in spellings)
    msg, args, exc, known = build(secret)
    out = formatted(msg, *args, known=known, exc=exc)
    for spelling in spellings:
        assert spelling not in out, f"{form}: {spelling!r} leaked in {out!r}"


# -- provider headers and presigned URLs (issue 12) ---------------------------------------------------

PRESIGNED = ("https://bucket.s3.practice.test/report.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
             "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
             "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2Fsession%2Btoken%3D"
             "&X-Amz-Signature=4b9a2c7d0e1f23456789abcdef0123456789abcdef0123456789abcdef012345")


@pytest.mark.parametrize("message, expected", [
    ("X-Amz-Security-Token: IQoJb3JpZ2luX2VjEJr//session+token=", "X-Amz-Security-Token: [REDACTED]"),
    ("x-amz-security-token: IQoJb3JpZ2lu", "x-amz-security-token: [REDACTED]"),
    ("X-Amz-Signature: 4b9a2c7d0e1f2345", "X-Amz-Signature: [REDACTED]"),
    ("Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef",
     "Ocp-Apim-Subscription-Key: [REDACTED]"),
    ("OCP-APIM-SUBSCRIPTION-KEY: 0123456789abcdef", "OCP-APIM-SUBSCRIPTION-KEY: [REDACTED]"),
    ("PRIVATE-TOKEN: glpat-xxxxxxxxxxxxxxxxxxxx", "PRIVATE-TOKEN: [REDACTED]"),
    ("private-token: glpat-abcdefgh", "private-token: [REDACTED]"),
    ("X-Goog-Api-Key: AIzaSyA-0123456789abcdefghijklmnopqrs", "X-Goog-Api-Key: [REDACTED]"),
    ("x-goog-api-key: AIzaSyA-0123", "x-goog-api-key: [REDACTED]"),
    ("{'X-Goog-Api-Key': 'AIzaSyA-0123', 'Accept': '*/*'}", "{'X-Goog-Api-Key': '[REDACTED]', 'Accept': '*/*'}"),
    ('{"PRIVATE-TOKEN": "glpat-abcdefgh", "Accept": "*/*"}', '{"PRIVATE-TOKEN": "[REDACTED]", "Accept": "*/*"}'),
    # a presigned URL: the signature and the session token go; the access key id and the rest stay
    (f"GET {PRESIGNED} HTTP/1.1",
     "GET https://bucket.s3.practice.test/report.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
     "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
     "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
     "&X-Amz-Security-Token=[REDACTED]&X-Amz-Signature=[REDACTED] HTTP/1.1"),
    ('"GET /report.csv?x-amz-signature=4b9a2c7d&x-amz-expires=300 HTTP/1.1" 200 512',
     '"GET /report.csv?x-amz-signature=[REDACTED]&x-amz-expires=300 HTTP/1.1" 200 512'),
    # query forms of the same providers' keys: Azure APIM, GitLab, Google Cloud Storage and Azure SAS signatures
    ("GET /echo?subscription-key=0123456789abcdef&q=1", "GET /echo?subscription-key=[REDACTED]&q=1"),
    ("GET /api/v4/projects?private_token=glpat-abcdefgh&page=2", "GET /api/v4/projects?private_token=[REDACTED]&page=2"),
    ("GET /o/report.csv?X-Goog-Signature=0a1b2c3d4e5f&X-Goog-Expires=300",
     "GET /o/report.csv?X-Goog-Signature=[REDACTED]&X-Goog-Expires=300"),
    ("GET /c/blob.txt?sv=2022-11-02&sp=r&sig=Zm9vYmFy%3D&se=2026-01-01", "GET /c/blob.txt?sv=2022-11-02&sp=r&sig=[REDACTED]&se=2026-01-01"),
    # a header name used as a query field masks the value only, not the rest of the line
    ('"GET /keys/whoami?x-api-key=abc123&page=2 HTTP/1.1" 200 12', '"GET /keys/whoami?x-api-key=[REDACTED]&page=2 HTTP/1.1" 200 12'),
])
def test_provider_headers_and_presigned_urls(message, expected):
    assert RedactSecrets().redact(message) == expected


@pytest.mark.parametrize("message", [
    "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request",  # an id, not a secret
    "X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host",
    "X-Amz-Request-Id: 4442587FB7D0A2F9",
    "X-Goog-Api-Client: gl-python/3.11",
    "Ocp-Apim-Trace: true",
    "signature verified; design=v2",
])
def test_leaves_provider_headers_that_are_no_secret_alone(message):
    assert RedactSecrets().redact(message) == message


# -- http.client's debuglevel printout: the request as escaped bytes, "\r\n" written as four characters ----

ESCAPED_HEADERS = [  # (header line as sent, what must be left of it)
    (f"X-API-Key: {KEY}", "X-API-Key: [REDACTED]"),
    ("Authorization: Basic YWRhOmxvdmVsYWNl", "Authorization: Basic [REDACTED]"),
    ("Authorization: Bearer abcdefgh12345", "Authorization: Bearer [REDACTED]"),
    ("Authorization: Token 0123456789abcdef", "Authorization: Token [REDACTED]"),
    ("Cookie: session=abc123; theme=dark", "Cookie: [REDACTED]"),
    ("PRIVATE-TOKEN: glpat-0123456789abcdef", "PRIVATE-TOKEN: [REDACTED]"),
    ("Ocp-Apim-Subscription-Key: 0123456789abcdef", "Ocp-Apim-Subscription-Key: [REDACTED]"),
    ("X-Goog-Api-Key: AIzaSy0123456789abcdef", "X-Goog-Api-Key: [REDACTED]"),
    ("Proxy-Authorization: Basic YWRhOmxvdmVsYWNl", "Proxy-Authorization: Basic [REDACTED]"),
]


@pytest.mark.parametrize("line, expected", ESCAPED_HEADERS)
@pytest.mark.parametrize("where", ["middle", "last"])
def test_secret_headers_in_http_client_debuglevel_escaped_bytes(line, expected, where):
    """`send: b'GET / HTTP/1.1\\r\\nX-API-Key: ...\\r\\n'`: after a literal \\r\\n escape the name still counts,
    and the value ends at the next escape, so the headers after it are kept."""
    after = "Accept: */*\\r\\n\\r\\n" if where == "middle" else "\\r\\n"
    printed = f"send: b'GET /keys/whoami HTTP/1.1\\r\\nHost: 127.0.0.1:8443\\r\\n{line}\\r\\n{after}'"
    assert RedactSecrets().redact(printed) == printed.replace(line, expected)


def test_a_tab_escape_is_a_boundary_too():
    assert RedactSecrets().redact("b'a\\tX-API-Key: s3cr3t\\r\\n'") == "b'a\\tX-API-Key: [REDACTED]\\r\\n'"


def test_debuglevel_printout_routed_to_logging_holds_no_key(monkeypatch):
    """End to end: http.client's print() sent to a logger (a common recipe), through a filtered handler."""
    import http.client

    logger = logging.getLogger("tests.redaction.http_client")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.DEBUG)
    monkeypatch.setattr(http.client, "print", lambda *args: logger.debug(" ".join(map(str, args))), raising=False)
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    with serve_practice_api() as api:
        response = requests.get(api.url("/keys/whoami"), headers={"X-API-Key": KEY}, timeout=5)
    assert response.status_code == 200
    assert "X-API-Key: [REDACTED]" in stream.getvalue()
    assert KEY not in stream.getvalue()
