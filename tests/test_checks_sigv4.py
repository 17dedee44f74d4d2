"""checks.sigv4_signer (notebook 07, exercise 2): the notebook's solution and botocore's signer get "✓",
and each plausible wrong or insecure signer gets "✗" with its own hint. The check judges with the
practice API's SigV4Verifier and by tampering with the signed request; nothing is sent."""
from __future__ import annotations

import ast
import base64
import datetime
import hashlib
import hmac
import json
import logging
import re
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from conftest import assert_not_yet, assert_right
from helpers import AWSSigV4Auth, checks
from helpers.client.sigv4 import aws_query
from helpers.practice_api import demo

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "07-other-schemes-and-traps.ipynb"
KEY = demo.AWS["credentials"][0]
KEY_ID, SECRET = KEY["access_key_id"], KEY["secret_access_key"]
REGION, SERVICE = demo.AWS["region"], demo.AWS["service"]
SOLUTION = re.compile(r"<details><summary>Solution</summary>\s*```python\n(.*?)```", re.S)
HEX_64 = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.fixture
def run(feedback):
    """`feedback`, and also: the secret access key and signatures never appear in the output."""
    def run_check(answer) -> str:
        output = feedback(checks.sigv4_signer, answer)
        assert SECRET not in output
        assert not HEX_64.search(output), "the check printed a digest or a signature"
        return output
    return run_check


def notebook_namespace() -> dict:
    """The notebook's section 3 functions (aws_encode, aws_canonical_request, ...) and exercise 2's
    solution, run as a learner pastes them."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    namespace = {"requests": requests, "hashlib": hashlib, "hmac": hmac, "time": time, "quote": quote,
                 "parse_qsl": parse_qsl, "unquote": unquote, "urlsplit": urlsplit, "checks": checks, "AWS_KEY_ID": KEY_ID,
                 "AWS_SECRET": SECRET, "REGION": REGION, "SERVICE": SERVICE}
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "def aws_" in source:
            tree = ast.parse(source)
            tree.body = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
            exec(compile(tree, "notebook 07", "exec"), namespace)
    solution = next(found[0] for cell in cells
                    if (found := SOLUTION.findall("".join(cell["source"]))) and "SigV4Signer" in found[0])
    exec(solution.replace("checks.sigv4_signer(", "(lambda signer: signer)("), namespace)
    return namespace


NB = notebook_namespace()


class Signer(requests.auth.AuthBase):
    """The notebook's solution, with one flaw switched on at a time."""

    def __init__(self, key_id=KEY_ID, secret=SECRET, region=REGION, service=SERVICE, **flaws) -> None:
        self.key_id, self.secret, self.region, self.service = key_id, secret, region, service
        self.flaws = flaws
        if flaws.get("fixed_time"):
            self.amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())

    def stamp(self) -> str:
        if self.flaws.get("fixed_time"):
            return self.amz_date
        if self.flaws.get("local_time"):
            return time.strftime("%Y%m%dT%H%M%SZ", time.localtime())
        if self.flaws.get("naive_now"):
            return datetime.datetime.now().strftime("%Y%m%dT%H%M%SZ")
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())

    def canonical(self, request, names, payload):
        url = urlsplit(request.url)
        raw = [pair.partition("=")[::2] for pair in url.query.split("&") if pair]
        if self.flaws.get("plus_as_space"):  # parse_qsl reads "+" as a space, as a form does
            pairs = [(quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(url.query)]
        elif self.flaws.get("no_encoding"):  # the query as written, only sorted
            pairs = raw
        else:
            pairs = [(quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")) for k, v in raw]
        query = "&".join(f"{k}={v}" for k, v in (pairs if self.flaws.get("unsorted") else sorted(pairs)))
        query = "" if self.flaws.get("no_query") else query
        method = self.flaws.get("method", request.method)
        path = self.flaws.get("path", quote(url.path, safe="/"))
        headers = {name.lower(): " ".join(value.split()) for name, value in request.headers.items()}
        headers["host"] = url.netloc
        block = "".join(f"{name}:{headers[name]}\n" for name in names)
        if self.flaws.get("no_blank_line"):
            block = block.rstrip("\n")
        return "\n".join([method, path, query, block, ";".join(names), payload])

    def __call__(self, request):
        flaws = self.flaws
        body = request.body or b""
        body = body.encode("utf-8") if isinstance(body, str) else body
        amz_date = self.stamp()
        payload = hashlib.sha256(b"" if flaws.get("empty_body") else body).hexdigest()
        if flaws.get("unsigned_payload"):
            payload = "UNSIGNED-PAYLOAD"
        request.headers["X-Amz-Date"] = amz_date
        if not flaws.get("no_content_header"):
            request.headers["X-Amz-Content-SHA256"] = payload
        present = [name.lower() for name in request.headers]
        names = sorted({"host", *(name for name in present if (name == "content-type" and not flaws.get("no_type"))
                                  or name.startswith("x-amz-"))} - set(flaws.get("leave_out", ())))
        scope = f"{amz_date[:8]}/{self.region}/{self.service}/aws4_request"
        to_sign = NB["aws_string_to_sign"](amz_date, scope, self.canonical(request, names, payload))
        key = self.secret.encode() if flaws.get("raw_secret") else NB["aws_signing_key"](
            self.secret, amz_date[:8], self.region, self.service)
        signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        request.headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.key_id}/{scope}, "
                                            f"SignedHeaders={';'.join(names)}, Signature={signature}")
        if flaws.get("print_secret"):
            print("signing with", self.secret)
        if flaws.get("print_signature"):
            print("signature", signature)
        if flaws.get("print_signing_key"):
            print("signing key", key.hex())
        if flaws.get("print_date_key"):
            date_key = hmac.new(("AWS4" + self.secret).encode(), amz_date[:8].encode(), hashlib.sha256).digest()
            print("kDate", base64.b64encode(date_key).decode())
        if flaws.get("secret_header"):
            request.headers["X-Secret"] = self.secret
        return None if flaws.get("no_return") else request


# -- right ---------------------------------------------------------------------------------------------

def test_the_notebooks_solution_is_right(run):
    assert_right(run(NB["SigV4Signer"](KEY_ID, SECRET, REGION, SERVICE)), "verifier accepts all 6 requests")


def test_the_test_signer_without_flaws_is_right(run):
    assert_right(run(Signer()), "verifier accepts")


def test_botocore_through_aws_sigv4_auth_is_right(run):
    assert_right(run(AWSSigV4Auth(KEY_ID, SECRET, region=REGION, service=SERVICE)), "verifier accepts")


class BotocoreSigner(requests.auth.AuthBase):
    """A learner's signer with botocore's own SigV4Auth.add_auth(), which logs at DEBUG."""

    def __init__(self, key_id, secret, region, service, encode_query=True) -> None:
        self.credentials = SimpleNamespace(access_key=key_id, secret_key=secret, token=None)
        self.region, self.service, self.encode_query = region, service, encode_query

    def __call__(self, request):
        if self.encode_query:  # botocore signs the query as it finds it: write it in AWS's encoding
            request.url = aws_query(request.url)
        body = request.body or b""
        body = body.encode("utf-8") if isinstance(body, str) else body
        headers = {name: value for name, value in request.headers.items() if name.lower() == "content-type"}
        signed = AWSRequest(method=request.method, url=request.url, headers=headers, data=body)
        SigV4Auth(self.credentials, self.service, self.region).add_auth(signed)
        request.headers.update(dict(signed.headers))
        return request


def test_a_plain_botocore_add_auth_signer_is_right(run):
    """botocore.auth logs CanonicalRequest, StringToSign and Signature at DEBUG: the learner's code did
    not log them, so they are not its print (the check sets the root logger to DEBUG while it runs)."""
    output = run(BotocoreSigner(KEY_ID, SECRET, REGION, SERVICE))
    assert_right(output, "verifier accepts")
    assert "botocore logs" in output


class LogsToBotocore(BotocoreSigner):
    """A signer that logs the secret itself, to a logger that only looks like botocore's."""

    def __init__(self, logger_name, level) -> None:
        super().__init__(KEY_ID, SECRET, REGION, SERVICE)
        self.logger_name, self.level = logger_name, level

    def __call__(self, request):
        logging.getLogger(self.logger_name).log(self.level, "secret=%s", self.credentials.secret_key)
        return super().__call__(request)


@pytest.mark.parametrize("logger_name, level", [("botocore", logging.WARNING),
                                                ("botocore.mine", logging.ERROR),
                                                ("botocore.auth", logging.DEBUG)])
def test_the_secret_logged_to_a_logger_named_botocore_is_told(run, logger_name, level):
    """Only botocore's own DEBUG records (from its package's files) are left out: the learner's code
    logging the secret under botocore's name is still the learner's log line."""
    assert_not_yet(run(LogsToBotocore(logger_name, level)), "printed or logged the secret access key")


def test_a_botocore_signer_that_leaves_the_query_as_written_is_told(run):
    """botocore signs the query as it finds it: ?tag=a*b&q=%7e is signed raw, and the server (like AWS)
    encodes it first (tag=a%2Ab, q=~)."""
    assert_not_yet(run(BotocoreSigner(KEY_ID, SECRET, REGION, SERVICE, encode_query=False)),
                   "the query as it was written")


def test_a_signing_function_is_right_too(run):
    signer = Signer()
    assert_right(run(lambda request: signer(request)), "verifier accepts")


# -- placeholders and shapes ---------------------------------------------------------------------------

class Stub(requests.auth.AuthBase):
    def __init__(self, key_id, secret, region, service):
        ...  # your code here

    def __call__(self, request):
        ...  # your code here


@pytest.mark.parametrize("answer", [..., None, Stub(KEY_ID, SECRET, REGION, SERVICE)], ids=["ellipsis", "none", "stub"])
def test_placeholder(run, answer):
    assert_not_yet(run(answer), "replace the `...` in the cell")


def test_the_class_itself(run):
    assert_not_yet(run(Signer), "that is the class Signer itself")


def test_not_callable(run):
    assert_not_yet(run("AWS4-HMAC-SHA256"), "pass the signer itself")


def test_forgotten_return(run):
    assert_not_yet(run(Signer(no_return=True)), "End __call__ with `return request`")


# -- wrong or insecure: each gets its own hint -----------------------------------------------------------

def test_content_type_left_unsigned(run):
    """The server accepts it, but a changed Content-Type then passes: the check tampers to find it."""
    assert_not_yet(run(Signer(no_type=True)), "another Content-Type: it is not signed")


def test_x_amz_date_left_unsigned(run):
    assert_not_yet(run(Signer(leave_out=["x-amz-date"])), "'X-Amz-Date' must be a 'SignedHeader'")


def test_host_left_unsigned(run):
    assert_not_yet(run(Signer(leave_out=["host"])), "'Host' must be a 'SignedHeader'")


def test_x_amz_content_sha256_sent_but_not_signed(run):
    assert_not_yet(run(Signer(leave_out=["x-amz-content-sha256"])), "Every x-amz-* header must be in SignedHeaders")


def test_body_hashed_as_empty(run):
    assert_not_yet(run(Signer(empty_body=True)), "X-Amz-Content-SHA256 must be the hex SHA-256 of the bytes sent")


def test_body_hashed_as_empty_without_the_header(run):
    assert_not_yet(run(Signer(empty_body=True, no_content_header=True)), "You hashed an empty body")


def test_unsigned_payload(run):
    assert_not_yet(run(Signer(unsigned_payload=True)), "UNSIGNED-PAYLOAD leaves the body out")


def test_unsigned_payload_without_the_header(run):
    assert_not_yet(run(Signer(unsigned_payload=True, no_content_header=True)), "You signed UNSIGNED-PAYLOAD")


@pytest.mark.parametrize("scope, hint", [({"region": "us-east-1"}, "valid region, not 'us-east-1'"),
                                         ({"service": "execute-api"}, "correct service: 'practice'")])
def test_wrong_scope(run, scope, hint):
    output = run(Signer(**scope))
    assert_not_yet(output, hint)
    assert "eu-west-1/practice/aws4_request (REGION and SERVICE)" in output


def test_fixed_timestamp(run):
    assert_not_yet(run(Signer(fixed_time=True)), "X-Amz-Date is a time taken before the signer ran")


class ClassStamp(Signer):
    """A timestamp taken once, when the class was defined: a class attribute, not the instance's."""
    AMZ = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())

    def stamp(self) -> str:
        return self.AMZ


def test_fixed_timestamp_in_a_class_attribute(run):
    assert_not_yet(run(ClassStamp()), "X-Amz-Date is a time taken before the signer ran")


@pytest.mark.parametrize("flaw", ["local_time", "naive_now"])
def test_local_time_instead_of_utc(run, flaw):
    """X-Amz-Date is UTC (the Z). On a UTC machine (Binder) local time is UTC: the check runs one
    request in a time zone 10 hours from UTC, where time.tzset() exists (Unix), and otherwise reads the
    machine's own offset."""
    assert_not_yet(run(Signer(**{flaw: True})), "local time")


def test_local_time_is_told_without_tzset(run, monkeypatch):
    """On Windows (no time.tzset) the check compares X-Amz-Date with its own UTC time: a machine whose
    local time is not UTC is told; one on UTC cannot be (the signer's time is then right)."""
    monkeypatch.delattr(time, "tzset", raising=False)
    signer = Signer(local_time=True)
    offset = time.localtime().tm_gmtoff
    output = run(signer)
    if offset:
        assert_not_yet(output, "local time")
    else:
        assert_right(output, "verifier accepts")


def test_printed_signing_key(run):
    """kSigning signs any request of that day and scope (and presigns URLs that last a week)."""
    assert_not_yet(run(Signer(print_signing_key=True)), "printed or logged a key derived from the secret")


def test_printed_date_key_in_base64(run):
    assert_not_yet(run(Signer(print_date_key=True)), "printed or logged a key derived from the secret")


def test_a_query_decoded_as_a_form(run):
    """parse_qsl turns the '+' of params={"q": "a b"} (sent q=a+b) into a space; AWS reads a plus."""
    assert_not_yet(run(Signer(plus_as_space=True)), "'+' in a query is a plus")


def test_a_query_left_unencoded(run):
    assert_not_yet(run(Signer(no_encoding=True)), "the query as it was written")


def test_unsorted_query(run):
    assert_not_yet(run(Signer(unsorted=True)), "You signed the query in the order it was sent")


def test_query_left_out(run):
    assert_not_yet(run(Signer(no_query=True)), "You left the query out")


def test_a_hard_coded_method(run):
    assert_not_yet(run(Signer(method="POST")), "You signed the method POST, but this request is a GET")


def test_a_hard_coded_path(run):
    assert_not_yet(run(Signer(path="/aws/orders")), "You signed the path /aws/orders, but this request goes to")


def test_no_blank_line_after_the_headers(run):
    assert_not_yet(run(Signer(no_blank_line=True)), "no blank line after the headers")


def test_the_secret_used_as_the_key(run):
    assert_not_yet(run(Signer(raw_secret=True)), "Derive the signing key")


def test_printed_secret(run):
    assert_not_yet(run(Signer(print_secret=True)), "printed or logged the secret access key")


def test_printed_signature(run):
    assert_not_yet(run(Signer(print_signature=True)), "printed or logged the signature")


def test_secret_in_a_header(run):
    assert_not_yet(run(Signer(secret_header=True)), "the secret access key is in the X-Secret header")


def test_wrong_secret_gets_the_generic_hint(run):
    assert_not_yet(run(Signer(secret=SECRET[:-1] + "x")), "Compare your canonical request, line by line")


def test_a_raising_signer_gets_a_hint_for_a_missing_body(run):
    class BodyEncoder(Signer):
        def __call__(self, request):
            request.body.decode  # AttributeError on None (the GET), on a str too
            return super().__call__(request)

    assert_not_yet(run(BodyEncoder()), "raised AttributeError")
