"""helpers/practice_api/sigv4.py against AWS's own SigV4 test suite (aws-c-auth, tests/data/aws-sigv4/README.md).

For each case: our canonical request, string to sign and signature equal AWS's files, for the
Authorization header (header-*.txt) and for the presigned URL (query-*.txt); the verifier accepts
AWS's signed requests (header-signed-request.txt, query-signed-request.txt) at the suite's time;
and botocore (SigV4Auth, SigV4QueryAuth) computes the same, except in the cases listed in
BOTOCORE_DIFFERS, where the test asserts that it does differ, so that the list stays true.
"""
from __future__ import annotations

import calendar
import datetime
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pytest

from helpers.practice_api import sigv4
from helpers.practice_api.wsgi import Request

SUITE = Path(__file__).parent / "data" / "aws-sigv4"
CASES = sorted(path.name for path in SUITE.iterdir() if (path / "request.txt").exists())
# Where botocore 1.44 computes another canonical request than the suite, and why (each checked below).
BOTOCORE_DIFFERS = {
    ("get-vanilla-utf8-query", "header"): "botocore signs the URL's query as it is, without encoding it: a URL "
                                          "with raw UTF-8 (not %E1%88%B4) is not one AWSRequest.prepare() sends",
    ("post-sts-header-after", "header"): "omit_session_token: botocore always signs X-Amz-Security-Token "
                                         "(the suite adds it after signing, as IoT's websocket handshake does)",
    ("post-sts-header-after", "query"): "omit_session_token: botocore always puts X-Amz-Security-Token in the "
                                        "signed query",
    ("post-x-www-form-urlencoded", "query"): "SigV4QueryAuth moves the body into the query string, reading it "
                                             "as JSON: a form body raises JSONDecodeError",
    ("post-x-www-form-urlencoded-parameters", "query"): "the same (JSONDecodeError), after dropping that "
                                                        "Content-Type",
}


def s3_path_rule_matters(name: str) -> bool:
    """normalize: false (S3's rule) for a path that normalizing would change: /./a, //a//, /a/.. ."""
    if json.loads((SUITE / name / "context.json").read_text())["normalize"]:
        return False
    path = (SUITE / name / "request.txt").read_text(encoding="utf-8").split("\n", 1)[0].split(" ", 1)[1]
    path = path.rpartition(" ")[0].partition("?")[0]
    return sigv4.canonical_uri(path, normalize=False) != sigv4.canonical_uri(path)


def repeats_a_header(name: str) -> bool:
    names = [line.partition(":")[0].lower() for line in (SUITE / name / "request.txt").read_text(
        encoding="utf-8").partition("\n\n")[0].split("\n")[1:] if line[:1] not in (" ", "\t")]
    return len(names) != len(set(names))


for _case in CASES:  # botocore's SigV4Auth always normalizes the path
    if s3_path_rule_matters(_case):
        for _kind in ("header", "query"):
            BOTOCORE_DIFFERS[(_case, _kind)] = ("normalize: false (S3's path rule): SigV4Auth always removes dot "
                                                "segments and empty segments")


@dataclass
class Case:
    """One suite case: request.txt parsed, and context.json."""

    name: str
    method: str
    path: str  # raw, as in the request line
    query: str  # raw
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    context: dict = field(default_factory=dict)

    def file(self, name: str) -> str:
        return (SUITE / self.name / name).read_text(encoding="utf-8")

    @property
    def amz_date(self) -> str:
        return self.context["timestamp"].replace("-", "").replace(":", "")

    @property
    def scope(self) -> str:
        return f"{self.amz_date[:8]}/{self.context['region']}/{self.context['service']}/aws4_request"

    @property
    def token(self) -> str | None:
        return self.context["credentials"].get("token")

    @property
    def signs_token(self) -> bool:
        return self.token is not None and not self.context.get("omit_session_token", False)

    @property
    def key(self) -> bytes:
        return sigv4.signing_key(self.context["credentials"]["secret_access_key"], self.amz_date[:8],
                                 self.context["region"], self.context["service"])


def parse_request(text: bytes) -> tuple[str, str, str, list[tuple[str, str]], bytes]:
    """request.txt: a request line (the target may hold spaces and raw UTF-8), `Name:value` lines
    (a line starting with white space continues the value before it; a name may repeat), a blank line,
    and the body. Lines end in LF. Returns (method, raw path, raw query, headers, body)."""
    head, blank, body = text.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    method, _, rest = lines[0].partition(" ")
    target, _, version = rest.rpartition(" ")
    assert version == "HTTP/1.1", lines[0]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            name, value = headers.pop()
            headers.append((name, value + "\n" + line))
        elif line:
            name, colon, value = line.partition(":")
            assert colon, line
            headers.append((name, value))
    path, _, query = target.partition("?")
    return method, path, query, headers, body


def load(name: str) -> Case:
    method, path, query, headers, body = parse_request((SUITE / name / "request.txt").read_bytes())
    return Case(name, method, path, query, headers, body, json.loads((SUITE / name / "context.json").read_text()))


def header_inputs(case: Case) -> tuple[list[tuple[str, str]], list[str], str]:
    """What a signer adds for the Authorization header: X-Amz-Date, the token, X-Amz-Content-Sha256."""
    payload = hashlib.sha256(case.body).hexdigest()
    headers = [*case.headers, ("X-Amz-Date", case.amz_date)]
    if case.signs_token:
        headers.append(("X-Amz-Security-Token", case.token))
    if case.context["sign_body"]:
        headers.append(("X-Amz-Content-Sha256", payload))
    return headers, [name for name, _ in headers], payload


def query_inputs(case: Case) -> tuple[str, list[str], str]:
    """What a signer adds for a presigned URL: the X-Amz-* parameters, encoded as AWS encodes them."""
    signed = sorted({name.lower() for name, _ in case.headers})
    parameters = [("X-Amz-Algorithm", sigv4.ALGORITHM),
                  ("X-Amz-Credential", f"{case.context['credentials']['access_key_id']}/{case.scope}"),
                  ("X-Amz-Date", case.amz_date), ("X-Amz-Expires", str(case.context["expiration_in_seconds"])),
                  ("X-Amz-SignedHeaders", ";".join(signed))]
    if case.signs_token:
        parameters.append(("X-Amz-Security-Token", case.token))
    query = "&".join(part for part in [case.query, *(f"{name}={sigv4.uri_encode(value)}" for name, value in parameters)]
                     if part)
    return query, signed, hashlib.sha256(case.body).hexdigest()


@pytest.mark.parametrize("name", CASES)
def test_header_signing_matches_the_suite(name):
    case = load(name)
    headers, signed, payload = header_inputs(case)
    canonical = sigv4.canonical_request(case.method, case.path, case.query, headers, signed, payload,
                                        normalize=case.context["normalize"])
    assert canonical == case.file("header-canonical-request.txt")
    to_sign = sigv4.string_to_sign(case.amz_date, case.scope, canonical)
    assert to_sign == case.file("header-string-to-sign.txt")
    assert sigv4.signature(case.key, to_sign) == case.file("header-signature.txt").strip()


@pytest.mark.parametrize("name", CASES)
def test_presigned_url_signing_matches_the_suite(name):
    case = load(name)
    query, signed, payload = query_inputs(case)
    canonical = sigv4.canonical_request(case.method, case.path, query, case.headers, signed, payload,
                                        normalize=case.context["normalize"])
    assert canonical == case.file("query-canonical-request.txt")
    to_sign = sigv4.string_to_sign(case.amz_date, case.scope, canonical)
    assert to_sign == case.file("query-string-to-sign.txt")
    assert sigv4.signature(case.key, to_sign) == case.file("query-signature.txt").strip()


class FixedClock:
    def __init__(self, when: float) -> None:
        self.when = when

    def now(self) -> float:
        return self.when


def suite_request(case: Case, kind: str) -> Request:
    """AWS's own signed request (header- or query-signed-request.txt), as the WSGI app would receive it:
    header names lower-case, repeated ones joined with ', ' (as helpers.serving.gateway.make_environ does), the
    path and query as Latin-1 text (PEP 3333): the path decoded (PATH_INFO) and as sent (RAW_URI)."""
    method, path, query, headers, body = parse_request((SUITE / case.name / f"{kind}-signed-request.txt").read_bytes())
    received: dict[str, str] = {}
    for name, value in headers:
        name, value = name.lower(), value.encode("utf-8").decode("latin-1")
        received[name] = f"{received[name]}, {value}" if name in received else value
    latin1 = lambda text: text.encode("utf-8").decode("latin-1")  # noqa: E731
    return Request(method=method, path=unquote(latin1(path), encoding="latin-1"), query=latin1(query),
                   headers=received, body=body, raw_path=latin1(path))


def suite_verifier(case: Case, when: float) -> sigv4.SigV4Verifier:
    entry = {"access_key_id": case.context["credentials"]["access_key_id"],
             "secret_access_key": case.context["credentials"]["secret_access_key"], "user": "suite"}
    if case.token is not None:
        entry["session_token"] = case.token
    settings = {"region": case.context["region"], "service": case.context["service"], "credentials": [entry]}
    host = dict(case.headers)["Host"]  # example.amazonaws.com: the server the suite's requests are signed for
    return sigv4.SigV4Verifier(FixedClock(when), settings, authorities=lambda: {host})


# The verifier refuses these of AWS's signed requests, on purpose:
VERIFIER_REFUSES = {
    # an unsigned X-Amz-Security-Token: S3's rule, every x-amz-* header present is signed
    ("post-sts-header-after", "header"): ("AccessDenied", "There were headers present in the request which were not "
                                                          "signed"),
    # the token added to the query after signing is in the canonical query the server builds
    ("post-sts-header-after", "query"): ("SignatureDoesNotMatch", None),
}
for _case in CASES:
    for _kind in ("header", "query"):
        if s3_path_rule_matters(_case):  # the verifier always normalizes (every AWS service but S3)
            VERIFIER_REFUSES[(_case, _kind)] = ("SignatureDoesNotMatch", None)
        if repeats_a_header(_case):  # WSGI joins a repeated header with ', '; the suite signs 'a,b'
            VERIFIER_REFUSES[(_case, _kind)] = ("SignatureDoesNotMatch", None)


@pytest.mark.parametrize("kind", ["header", "query"])
@pytest.mark.parametrize("name", CASES)
def test_the_verifier_accepts_the_suites_signed_requests(name, kind):
    case = load(name)
    when = calendar.timegm(time.strptime(case.amz_date, "%Y%m%dT%H%M%SZ")) + 60
    request = suite_request(case, kind)
    verifier = suite_verifier(case, when)
    refusal = VERIFIER_REFUSES.get((name, kind))
    if refusal is None:
        signer = verifier.verify(request)
        assert signer["access_key_id"] == "AKIDEXAMPLE"
        assert signer["signed_with"] == ("Authorization header" if kind == "header" else "query string")
    else:
        with pytest.raises(sigv4.AWSError) as refused:
            verifier.verify(request)
        code, message = refusal
        assert refused.value.error == code and (message is None or refused.value.description == message)
        if repeats_a_header(name):  # the server's canonical header has ', ' where the suite's has ','
            ours = set(refused.value.extra["CanonicalRequest"].split("\n"))
            theirs = set(case.file(f"{kind}-canonical-request.txt").split("\n"))
            assert ours - theirs == {line.replace(",", ", ") for line in theirs - ours} != set()


# -- botocore: the same canonical requests? -------------------------------------------------------------------

def botocore_request(case: Case, headers: list[tuple[str, str]], query: str):
    from botocore.awsrequest import AWSRequest

    url = f"https://{dict(case.headers)['Host']}{case.path}"  # as given: botocore encodes the path once more
    request = AWSRequest(method=case.method, url=url + ("?" + query if query else ""), data=case.body or None)
    for name, value in headers:
        request.headers[name] = value  # an HTTPMessage: a repeated name is added again, in order
    return request


def botocore_auth(case: Case, kind: str):
    from botocore.auth import SigV4Auth, SigV4QueryAuth
    from botocore.credentials import Credentials

    credentials = Credentials(case.context["credentials"]["access_key_id"],
                              case.context["credentials"]["secret_access_key"], case.token)
    if kind == "header":
        return SigV4Auth(credentials, case.context["service"], case.context["region"])
    return SigV4QueryAuth(credentials, case.context["service"], case.context["region"],
                          expires=case.context["expiration_in_seconds"])


@pytest.mark.parametrize("kind", ["header", "query"])
@pytest.mark.parametrize("name", CASES)
def test_botocore_agrees_or_the_difference_is_named(name, kind, monkeypatch):
    import botocore.auth

    case = load(name)
    signed_at = datetime.datetime.strptime(case.amz_date, "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
    headers = list(case.headers)
    if kind == "header" and case.context["sign_body"]:
        headers.append(("X-Amz-Content-Sha256", hashlib.sha256(case.body).hexdigest()))
    request = botocore_request(case, headers, case.query)
    captured = {}
    original = botocore.auth.SigV4Auth.string_to_sign

    def capture(self, request, canonical_request):
        captured["canonical"] = canonical_request
        return original(self, request, canonical_request)

    monkeypatch.setattr(botocore.auth.SigV4Auth, "string_to_sign", capture)
    expected = case.file(f"{kind}-canonical-request.txt")
    try:
        botocore_auth(case, kind).add_auth(request)
    except json.JSONDecodeError:  # SigV4QueryAuth reads a body as JSON to move it into the query
        assert kind == "query" and "JSONDecodeError" in BOTOCORE_DIFFERS[name, kind]
        return
    if (name, kind) in BOTOCORE_DIFFERS:
        assert captured["canonical"] != expected, f"botocore now agrees: drop {(name, kind)} from BOTOCORE_DIFFERS"
    else:
        assert captured["canonical"] == expected
        if kind == "header":
            assert request.headers["Authorization"].endswith("Signature=" + case.file("header-signature.txt").strip())
        else:
            assert request.url.endswith("X-Amz-Signature=" + case.file("query-signature.txt").strip())


def test_every_case_of_the_suite_is_here():
    """The README names the source; every v4 case of it was copied, with all ten files."""
    assert len(CASES) == 38
    for name in CASES:
        assert len(list((SUITE / name).iterdir())) == 10, name
    readme = (SUITE / "README.md").read_text()
    assert "495329c2433034bd8fd53fc6ba9e0202d3fac876" in readme and "Apache-2.0" in readme


def test_the_parser_keeps_folded_lines_repeated_names_and_the_body():
    method, path, query, headers, body = parse_request(
        b"POST /a b?x=1 HTTP/1.1\nHost:h\nMy-Header1:value1\n  value2\nMy-Header1:v3\n\nParam1=value1")
    assert (method, path, query, body) == ("POST", "/a b", "x=1", b"Param1=value1")
    assert headers == [("Host", "h"), ("My-Header1", "value1\n  value2"), ("My-Header1", "v3")]


# -- the pure functions, one rule at a time ------------------------------------------------------------------

def test_the_signing_key_is_awss_documented_example():
    """AWS's example of deriving a signing key (IAM User Guide, signature-v4-examples): kSigning in hex."""
    key = sigv4.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


@pytest.mark.parametrize("text, slash, encoded", [
    ("a/b c+~", True, "a%2Fb%20c%2B~"), ("a/b c+~", False, "a/b%20c%2B~"), ("-_.~AZaz09", True, "-_.~AZaz09"),
    ("ሴ", True, "%E1%88%B4"), ("%", True, "%25"), ("\udcff", True, "%FF"),  # a byte that was not UTF-8
])
def test_uri_encode_keeps_only_the_unreserved_characters(text, slash, encoded):
    assert sigv4.uri_encode(text, slash=slash) == encoded


@pytest.mark.parametrize("raw, canonical", [
    ("b=2&a=1&a=0", "a=0&a=1&b=2"),  # sorted by name, then value
    ("c&=x&&", "=x&c="),  # a name without '=' has an empty value; empty parts are nothing
    ("d=%2b+", "d=%2B%2B"),  # '+' is a plus, never a space
    ("e=%7e%2F", "e=~%2F"),  # decoded, then encoded again: the same bytes, one spelling
    ("f=%ff", "f=%FF"),  # not UTF-8: the byte as it is
])
def test_canonical_query(raw, canonical):
    assert sigv4.canonical_query(raw) == canonical


def test_canonical_headers_trim_join_repeats_and_refuse_an_absent_name():
    block, signed = sigv4.canonical_headers([("Host", " h "), ("X-A", "1   2"), ("x-a", "3")], ["x-a", "host"])
    assert (block, signed) == ("host:h\nx-a:1 2,3\n", "host;x-a")
    with pytest.raises(KeyError):
        sigv4.canonical_headers([("Host", "h")], ["host", "x-amz-date"])
