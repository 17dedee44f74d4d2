"""Checks for notebook 07, other schemes and traps: HMAC request signing, AWS SigV4 and redirects.

The signing checks compare with the practice API's own code (`helpers.practice_api.request_signing`),
run on a fresh `SignatureChecker` with its own clock: no request is sent anywhere. Like
every check, they never raise at the learner and never print the signing secret, a
signature or a request id.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import binascii
import contextlib
import itertools
import json
import logging
import os
import re
import time
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

import requests

from helpers.practice_api import demo, request_signing, sigv4
from helpers.checks.feedback import (PRACTICE_URL, filled, holds_secret, local_time, not_a_function, not_yet,
                                     one_line, output_captured, placeholder, raised, right, run, unless_stub)
from helpers.practice_api.clock import Clock
from helpers.practice_api.wsgi import HTTPError, Request, wire_headers
from helpers.viewers import a_kind

__all__ = ["sign", "sigv4_signer", "should_follow"]

KEY_ID = demo.SIGNING_KEYS[0]["key_id"]
SECRET = demo.SIGNING_KEYS[0]["secret"].encode("ascii")
SECRET_TEXT = SECRET.decode("ascii")
SIGNED_PATH = "/signed/orders"
ORDER = {"item": "tea", "quantity": 2}
HEADERS = ["X-Key-Id", "X-Timestamp", "X-Request-Id", "X-Signature"]
FIELDS = "the method, the path, the timestamp, the request id and the body's SHA-256 hex digest"


# -- exercise 1: an HMAC signing function --------------------------------------------------

# (method, requests.Request arguments, how the feedback names it). requests makes request.body bytes for
# json= and data=<bytes>, a str for data=<str> and data=<dict>, and None for no body; urllib3 2 sends a str
# body as UTF-8, so the é below tells UTF-8 from Latin-1.
SIGN_CASES = [  # the path is SIGNED_PATH unless "path" says otherwise
    ("POST", {"json": ORDER}, "a POST with json=order"),
    ("POST", {"json": {"item": "coffee", "quantity": 1}}, "a second POST"),
    ("GET", {}, "a GET, which has no body (request.body is None)"),
    ("POST", {"data": '{"item": "thé", "quantity": 1}', "headers": {"Content-Type": "application/json"}},
     "a POST with data=<str> (request.body is a str, here with an é)"),
    ("POST", {"data": json.dumps(ORDER).encode("utf-8"), "headers": {"Content-Type": "application/json"}},
     "a POST with data=<bytes>"),
    ("POST", {"json": ORDER, "params": {"dry_run": "1"}},
     "a POST to /signed/orders?dry_run=1 (the scheme signs the path, not the query string)"),
    ("GET", {"path": "/signed/orders/7"}, "a GET of /signed/orders/7 (sign the request's own path)"),
]


def sign(function: Any) -> None:
    """07, exercise 1: `sign(request)` signs a PreparedRequest the way /signed/orders checks it."""
    if placeholder(unless_stub(function)):
        return
    if isinstance(function, type):
        return not_yet(f"that is the class {function.__name__} itself; pass a function (or an auth object): "
                       "checks.sign(sign).")
    if not_a_function(function, "checks.sign(sign)"):
        return
    checker = request_signing.SignatureChecker(Clock())  # a fresh server: nothing seen, the real time
    held = _held_values(function)  # before any call: what sign records while it runs is not "taken before"
    for method, kwargs, described in SIGN_CASES:
        kwargs = dict(kwargs)
        prepared = requests.Request(method, PRACTICE_URL + kwargs.pop("path", SIGNED_PATH), **kwargs).prepare()
        sent_body = prepared.body
        try:
            with _everything_printed() as printed:
                result = function(prepared)
        except Exception as error:  # feedback, not a traceback
            hint = ""
            if sent_body is None and isinstance(error, (TypeError, AttributeError)):
                hint = " request.body is None when there is no body: sign b\"\" then (request.body or b\"\")."
            elif isinstance(sent_body, str) and isinstance(error, (TypeError, AttributeError)):
                hint = (" request.body is a str for data=<str> and data=<dict>: encode it first, "
                        "body.encode(\"utf-8\"), the bytes urllib3 2 sends (as HMACAuth in section 2 does).")
            return not_yet(f"for {described}, sign raised {type(error).__name__}: "
                           f"{one_line(error, [SECRET_TEXT])}.{hint}")
        problem = (_printed_problem(printed.getvalue(), result) or _signed_request_problem(result, checker, described)
                   or _fixed_timestamp_problem(held, result))
        if problem:
            return not_yet(problem)
    right(f"the practice API's own checker accepts all {len(SIGN_CASES)} requests: json= and data= bodies (str and "
          "bytes), no body, a query string; a fresh request id each time, the current time, and a signature over "
          "the exact bytes requests sends.")


def _botocore_directory() -> str | None:
    """The directory botocore is installed in, or None when it is not installed."""
    try:
        import botocore
    except ImportError:
        return None
    return os.path.dirname(os.path.realpath(botocore.__file__)) + os.sep


class _NotBotocore(logging.Filter):
    """Drops botocore's own DEBUG records: SigV4Auth.add_auth() logs the canonical request, the string to
    sign and the signature at DEBUG, and the check runs at DEBUG (output_captured). They are botocore's,
    not a print in the learner's code, and at the usual WARNING level nothing is logged. Only records
    below INFO that botocore's own files logged are dropped: the learner's code logging the secret to a
    logger named "botocore" (or "botocore.mine"), at any level, is still the learner's log line. `seen`
    says whether any were dropped, so that the feedback can mention them."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = False
        self.directory = _botocore_directory()

    def filter(self, record: logging.LogRecord) -> bool:
        if (self.directory and record.levelno < logging.INFO
                and os.path.realpath(record.pathname).startswith(self.directory)):
            self.seen = True
            return False
        return True


class _Collect(logging.Handler):
    """Keeps the text of every log record, to look for the secret in it."""

    def __init__(self, into) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.into.write(record.getMessage() + "\n")
        except Exception:  # arguments that do not fit: nothing to read
            pass


class _everything_printed:
    """What the learner's code prints (stdout, stderr) and logs while the check calls it."""

    def __init__(self, botocore: _NotBotocore | None = None) -> None:
        self.botocore = botocore  # given: botocore's own log records are left out (see _NotBotocore)

    def __enter__(self):
        self.capture = output_captured()
        printed = self.capture.__enter__()
        self.handler = _Collect(printed)
        root = logging.getLogger()
        root.addHandler(self.handler)
        self.filtered = list(root.handlers) if self.botocore else []
        for handler in self.filtered:
            handler.addFilter(self.botocore)
        return printed

    def __exit__(self, *exc_info) -> bool:
        for handler in self.filtered:
            handler.removeFilter(self.botocore)
        logging.getLogger().removeHandler(self.handler)
        return bool(self.capture.__exit__(*exc_info))


def _printed_problem(printed: str, result: Any) -> str | None:
    """Why what sign() printed or logged must not be, or None: no secret, no signature."""
    if not printed:
        return None
    if _holds_secret(printed):
        return ("sign printed or logged the signing secret (not shown here). Anything printed lands in the notebook's "
                "saved outputs, anything logged in log files: remove that print or log line.")
    signature = str(getattr(result, "headers", {}).get("X-Signature", "")).strip() if result is not None else ""
    if len(signature) >= 16 and signature in printed:
        return ("sign printed or logged the signature. With the timestamp and request id, it is a request anyone "
                "reading the output can send again within the window: remove that print or log line.")
    return None


_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")


def _holds_secret(text: str) -> bool:
    """True when `text` holds the signing secret: as it is, percent-encoded, in hex, or inside base64."""
    secret = SECRET.decode("ascii")
    for form in {text, unquote(text), unquote_plus(text)}:
        if secret in form or SECRET.hex() in form.lower():
            return True
        for token in _TOKEN.findall(form):
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    if SECRET in decode(token + "=" * (-len(token) % 4)):
                        return True
                except (binascii.Error, ValueError):
                    pass
    return False


def _held_values(function: Any) -> list:
    """The values `function` holds before it runs: its (or its object's) attributes, the globals it reads,
    its closure cells and its defaults. Taken before the first call, so that a signer which records
    the timestamp it used (self.last_timestamp = ts) is not mistaken for one that reuses an old one.
    """
    call = getattr(type(function), "__call__", None) if not hasattr(function, "__code__") else function
    code, held = getattr(call, "__code__", None), list(vars(function).values()) if hasattr(function, "__dict__") else []
    if not hasattr(function, "__code__"):  # an object: its class's attributes too (AMZ = time.strftime(...))
        held += [value for cls in type(function).__mro__ if cls is not object for value in vars(cls).values()]
    if code is not None:
        held += [getattr(call, "__globals__", {}).get(name) for name in code.co_names]
        held += [cell.cell_contents for cell in getattr(call, "__closure__", None) or () if filled(cell)]
        held += list(getattr(call, "__defaults__", None) or ()) + list((getattr(call, "__kwdefaults__", None) or {}).values())
    return held


def _fixed_timestamp_problem(held: list, result: Any) -> str | None:
    """Why the X-Timestamp was not read when sign ran, or None.

    A timestamp taken when the function (or the auth object) was made passes for 300 s, then every
    request is refused: the value shows up among what the function held before it ran (`held`).
    """
    stamp = str(result.headers.get("X-Timestamp", "")).strip()
    if any(isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).split(".")[0] == stamp
           for value in held):
        return ("X-Timestamp is a value taken before sign ran (when the function or the auth object was made): it "
                "passes for 300 s, then the server refuses every request as stale. Read the clock when sign runs: "
                "str(int(time.time())) inside the function.")
    return None


def _signed_request_problem(result: Any, checker: request_signing.SignatureChecker, described: str) -> str | None:
    if result is None:
        return "sign returned None, so requests would have nothing to send. End it with `return request`."
    if not isinstance(result, requests.PreparedRequest):
        return f"sign returned {a_kind(result)}; return the request it was given."
    for name, value in result.headers.items():
        if _holds_secret(str(value)):
            return (f"the secret is in the {name[:40]} header (perhaps encoded). The secret never travels: only "
                    "the HMAC made with it does.")
    if _holds_secret(result.url or ""):
        return "the secret is in the URL (perhaps encoded). The secret never travels: only the HMAC made with it does."
    sent = result.body if isinstance(result.body, str) else bytes(result.body or b"").decode("utf-8", "replace") \
        if isinstance(result.body, (bytes, bytearray)) else ""
    if _holds_secret(sent):
        return "the secret is in the body (perhaps encoded). The secret never travels: only the HMAC made with it does."
    missing = [name for name in HEADERS if not result.headers.get(name)]
    if missing:
        return f"for {described}, the request has no {', '.join(missing)} header{'s' if len(missing) > 1 else ''}."
    body = result.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")  # what urllib3 2 sends for a str body
    if not isinstance(body, bytes):
        return "the request body is not bytes any more; leave request.body as requests prepared it."
    url = urlsplit(result.url or "")
    try:  # the header lines as they would reach the server: bytes and int values too, as http.client sends them
        headers = {name.lower(): value for name, value in wire_headers(result.headers.items())}
    except (ValueError, UnicodeError) as error:
        return f"for {described}, http.client would refuse to send this request: {one_line(error)}."
    received = Request(method=result.method or "", path=unquote(url.path), query=url.query, headers=headers,
                       body=body)
    try:
        checker.verify(received)
    except HTTPError as error:
        return _verify_hint(error.error, result, body, described)
    except Exception as error:  # the checker met something odd: still feedback, not a traceback
        return f"for {described}, the request could not be checked ({type(error).__name__})."
    return None


def _verify_hint(error: str, request: requests.PreparedRequest, body: bytes, described: str) -> str:
    headers = request.headers
    timestamp = str(headers.get("X-Timestamp", "")).strip()
    if error == "invalid_key":
        return f"X-Key-Id must be the key id {KEY_ID!r} (KEY_ID), which tells the server which secret to use."
    if error == "invalid_request":
        if timestamp.replace(".", "", 1).isdigit() and "." in timestamp:
            return "X-Timestamp has a decimal point; the server wants whole seconds: str(int(time.time()))."
        if not timestamp.isdigit():
            return "X-Timestamp must be whole seconds since 1970, as digits: str(int(time.time()))."
        return ("X-Request-Id must be 1 to 100 visible ASCII characters, with no space or newline: "
                "str(uuid.uuid4()) is 36 of them.")
    if error == "stale_timestamp":
        if len(timestamp) >= 13:
            unit = {13: "milliseconds", 16: "microseconds"}.get(len(timestamp), "nanoseconds")
            return f"X-Timestamp is in {unit}; the server wants seconds: str(int(time.time()))."
        offset = int(timestamp) - int(Clock().now())
        direction = "ahead of" if offset > 0 else "behind"
        return (f"X-Timestamp is {abs(offset)} s {direction} the real clock; the server allows 300 s. Use the "
                "current time, int(time.time()), when sign runs (api.clock was moved forward in this notebook: "
                "do not use it here).")
    if error == "replayed_request":
        return (f"for {described}, the X-Request-Id was already used. Make a new one on every call, inside "
                "sign: str(uuid.uuid4()).")
    if error == "invalid_signature":
        return f"for {described}, the signature does not match. " + _signature_hint(request, body)
    return f"for {described}, the server would answer 401 {error}."


def _signature_hint(request: requests.PreparedRequest, body: bytes) -> str:
    """Which variation of the signature the learner computed, to say what to change."""
    headers = request.headers
    method, path = request.method or "", unquote(urlsplit(request.url or "").path)
    stamp, request_id = str(headers["X-Timestamp"]).strip(), str(headers["X-Request-Id"])
    signature = str(headers["X-Signature"]).strip()

    def mac(message: bytes, digestmod: Callable = hashlib.sha256, secret: bytes = SECRET) -> hmac.HMAC:
        return hmac.new(secret, message, digestmod)

    def message(**change: Any) -> bytes:
        fields = {"method": method, "path": path, "timestamp": stamp, "request_id": request_id,
                  "body_hash": hashlib.sha256(body).hexdigest(), **change}
        return "\n".join(fields.values()).encode("utf-8")

    right_mac = mac(message())
    original = request.body
    if body and signature == mac(message(body_hash=hashlib.sha256(b"").hexdigest())).hexdigest():
        return ("You signed an empty body, but this request has one. Hash request.body (encoded as UTF-8 when it is "
                "a str): a signature that does not cover the body lets anyone on the way change it.")
    if signature == mac("\n".join([method, path, stamp, request_id]).encode("utf-8")).hexdigest():
        return ("The signature does not cover the body: you signed four lines. Add the body's SHA-256 hex digest as "
                "the fifth, or anyone on the way can change the order.")
    fields = message().decode("utf-8").split("\n")
    if signature in (mac(message() + b"\n").hexdigest(), mac(b"\n" + message()).hexdigest()):
        return ("You put a newline after the last line (or before the first): join the five fields with \"\\n\", "
                "nothing before or after.")
    for separator, name in [("\r\n", "\\r\\n"), (" ", "a space"), ("", "nothing"), (",", "','"), ("|", "'|'")]:
        if signature == mac(separator.join(fields).encode("utf-8")).hexdigest():
            return f"The fields are joined with {name}; the server puts one per line: \"\\n\".join([...])."
    for order in itertools.permutations(fields):
        if list(order) != fields and signature == mac("\n".join(order).encode("utf-8")).hexdigest():
            return ("You signed the right fields in the wrong order. The order is part of the scheme: the method, "
                    "the path, the timestamp, the request id, the body's hash.")
    if isinstance(original, str):
        try:
            latin_1 = hashlib.sha256(original.encode("latin-1")).hexdigest()
        except UnicodeEncodeError:
            latin_1 = ""
        if latin_1 and signature == mac(message(body_hash=latin_1)).hexdigest():
            return ("You encoded the str body as Latin-1; requests with urllib3 2 sends a str body as UTF-8: "
                    "body.encode(\"utf-8\").")
    if signature in (base64.b64encode(right_mac.digest()).decode(), base64.urlsafe_b64encode(right_mac.digest()).decode()):
        return "The value is right but in base64; the server wants hex: .hexdigest()."
    if signature == right_mac.hexdigest().upper():
        return "Send the hex digest in lower case, as .hexdigest() gives it."
    for digestmod, name in [(hashlib.sha1, "SHA-1"), (hashlib.md5, "MD5"), (hashlib.sha512, "SHA-512")]:
        if signature == mac(message(), digestmod).hexdigest():
            return f"You used HMAC-{name}; the server uses HMAC-SHA256: hmac.new(SIGNING_SECRET, message, hashlib.sha256)."
    if signature == hashlib.sha256(message()).hexdigest() or signature == hashlib.sha256(SECRET + message()).hexdigest():
        return ("That is a plain SHA-256, not an HMAC: anyone can compute a hash without the secret. "
                "Use hmac.new(SIGNING_SECRET, message, hashlib.sha256).hexdigest().")
    if signature == mac(message(method=method.lower())).hexdigest():
        return "Sign the method in upper case: request.method.upper()."
    for other in {"GET", "POST", "PUT", "PATCH", "DELETE"} - {method}:
        if signature == mac(message(method=other)).hexdigest():
            return (f"You signed the method {other}, but this request is a {method}: sign the request's own method, "
                    "request.method.upper(). A signature that does not depend on the method lets anyone on the way "
                    "change it.")
    if path != SIGNED_PATH and signature == mac(message(path=SIGNED_PATH)).hexdigest():
        return (f"You signed the path {SIGNED_PATH}, but this request goes to {path}: sign the request's own path, "
                "urlsplit(request.url).path.")
    if signature == mac(message(body_hash=body.decode("utf-8", "replace"))).hexdigest():
        return "You signed the body itself; the fifth line is its SHA-256 hex digest."
    for path_like in (request.url or "", request.path_url):
        if signature == mac(message(path=path_like)).hexdigest():
            return ("Sign the path only (/signed/orders), without the query string or the host: "
                    "urlsplit(request.url).path.")
    for other in (json.dumps(_json_of(body), separators=(",", ":")), json.dumps(_json_of(body), sort_keys=True),
                  json.dumps(ORDER), str(original)):
        if other.encode() != body and signature == mac(message(body_hash=hashlib.sha256(other.encode()).hexdigest())).hexdigest():
            return ("You signed other bytes than the body requests sends. Sign request.body itself, after requests "
                    "has serialized it: that is why signing happens in the auth's __call__.")
    return (f"Sign {FIELDS}, one per line, with hmac.new(SIGNING_SECRET, message, hashlib.sha256).hexdigest(), "
            "and put exactly those timestamp and request id values in the headers.")


def _json_of(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8")) if body else ORDER
    except ValueError:
        return ORDER


# -- exercise 2: a SigV4 signer ------------------------------------------------------------------
# Judged by the practice API's own SigV4Verifier, on a fresh clock (the real time), then by tampering:
# a request that still verifies after a part of it changed has a signature that does not cover that part.

AWS_ENTRY = demo.AWS["credentials"][0]  # the long-term key: AKIA..., no session token
AWS_KEY_ID, AWS_SECRET = AWS_ENTRY["access_key_id"], AWS_ENTRY["secret_access_key"]
AWS_HOST = urlsplit(PRACTICE_URL).netloc
AWS_CASES = [  # (method, path, requests.Request keywords, described)
    ("POST", "/aws/orders", {"json": ORDER}, "a POST with json=order"),
    ("GET", "/aws/whoami", {}, "a GET, which has no body (request.body is None)"),
    ("GET", "/aws/whoami", {"params": {"view": "full", "as": "ada"}},
     "a GET of /aws/whoami?view=full&as=ada (a query, not in sorted order)"),
    ("POST", "/aws/orders",
     {"data": '{"item": "thé", "quantity": 1}', "headers": {"Content-Type": "application/json"}},
     "a POST with data=<str> (request.body is a str, here with an é)"),
    ("GET", "/aws/whoami?tag=a*b&q=%7e", {},
     "a GET of /aws/whoami?tag=a*b&q=%7e (as written: AWS signs tag=a%2Ab and q=~)"),
    ("GET", "/aws/whoami", {"params": {"q": "a b"}},
     "a GET with params={\"q\": \"a b\"}, which requests sends as q=a+b"),
]
AWS_FAR_ZONE = "XCK+10"  # a POSIX TZ 10 hours behind UTC, no tz database needed: one case runs in it
AWS_TIMESTAMP = "%Y%m%dT%H%M%SZ"


def sigv4_signer(signer: Any) -> None:
    """07, exercise 2: an AuthBase (or a function) that signs a PreparedRequest with AWS SigV4."""
    if placeholder(unless_stub(signer)):
        return
    if isinstance(signer, type):
        return not_yet(f"that is the class {signer.__name__} itself; pass an object made from it: "
                       "checks.sigv4_signer(SigV4Signer(AWS_KEY_ID, AWS_SECRET, REGION, SERVICE)).")
    if not_a_function(signer, "checks.sigv4_signer(SigV4Signer(AWS_KEY_ID, AWS_SECRET, REGION, SERVICE))",
                      what="signer"):
        return
    if placeholder(unless_stub(getattr(type(signer), "__call__", None))):  # the class's __call__ is still `...`
        return
    verifier = sigv4.SigV4Verifier(Clock())  # a fresh server on the real time: nothing is sent
    held = _held_values(signer)  # before any call (see _fixed_timestamp_problem)
    botocore = _NotBotocore()
    for number, (method, path, kwargs, described) in enumerate(AWS_CASES):
        prepared = requests.Request(method, PRACTICE_URL + path, **kwargs).prepare()
        zone = local_time(AWS_FAR_ZONE) if number == 0 else contextlib.nullcontext()  # one case far from UTC
        try:
            with _everything_printed(botocore) as printed, zone:
                result = signer(prepared)
        except Exception as error:  # feedback, not a traceback
            hint = ""
            if isinstance(error, (TypeError, AttributeError)) and prepared.body is None:
                hint = " request.body is None when there is no body: hash b\"\" then (request.body or b\"\")."
            elif isinstance(error, (TypeError, AttributeError)) and isinstance(prepared.body, str):
                hint = " request.body is a str for data=<str>: encode it first, body.encode(\"utf-8\")."
            return not_yet(f"for {described}, the signer raised {type(error).__name__}: "
                           f"{one_line(error, [AWS_SECRET])}.{hint}")
        problem = (_aws_printed_problem(printed.getvalue(), result) or _aws_request_problem(result, verifier, described)
                   or _aws_fixed_timestamp_problem(held, result) or _aws_tamper_problem(result, verifier, described))
        if problem:
            return not_yet(problem)
    right(f"the practice API's own SigV4 verifier accepts all {len(AWS_CASES)} requests, signed at the current time, "
          "and refuses each one once its method, path, query, body, Content-Type or X-Amz-* headers change."
          + (" (botocore logs the canonical request and the signature at DEBUG, the session token too when there "
             "is one: keep the botocore logger at INFO or above.)" if botocore.seen else ""))


def _aws_local_time(amz_date: str) -> str | None:
    """Why X-Amz-Date looks like a local time: it is a whole number of quarter hours from UTC now."""
    try:
        stamp = datetime.datetime.strptime(amz_date, AWS_TIMESTAMP).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    offset = stamp.timestamp() - time.time()
    quarters = round(offset / 900)
    if quarters == 0 or abs(offset - quarters * 900) > 300:
        return None
    hours, minutes = divmod(abs(quarters) * 15, 60)
    size = f"{hours} h" + (f" {minutes} min" if minutes else "")
    return (f" X-Amz-Date is {size} {'ahead of' if offset > 0 else 'behind'} UTC: that is a local time (the check "
            "ran this request in a time zone 10 hours from UTC, to tell). The Z means UTC: "
            "time.strftime(\"%Y%m%dT%H%M%SZ\", time.gmtime()), or datetime.now(timezone.utc).")


def _aws_printed_problem(printed: str, result: Any) -> str | None:
    """Why what the signer printed or logged must not be: the secret, or a signature (a request to replay)."""
    if not printed:
        return None
    if holds_secret(printed, [AWS_SECRET]):
        return ("the signer printed or logged the secret access key (not shown here). Anything printed lands in the "
                "notebook's saved outputs, anything logged in log files: remove that print or log line.")
    if holds_secret(printed, _aws_derived_keys(result)):
        return ("the signer printed or logged a key derived from the secret (kDate, kRegion, kService or kSigning; "
                "not shown here). kSigning signs any request of that day, region and service, and presigns URLs "
                "dated that day that last a week: it is a secret too. Remove that print or log line.")
    authorization = str(getattr(result, "headers", {}).get("Authorization", "")) if result is not None else ""
    signature = authorization.rpartition("Signature=")[2].strip()
    if len(signature) >= 16 and signature in printed:
        return ("the signer printed or logged the signature. With X-Amz-Date, that is a request anyone reading the "
                "output can send again for 5 minutes: remove that print or log line.")
    return None


def _aws_derived_keys(result: Any) -> list[str]:
    """kDate, kRegion, kService and kSigning, in hex and base64, for yesterday, today and tomorrow (UTC)
    and the date the signer wrote: what a print of a derived key shows."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    dates = {(today + datetime.timedelta(days=days)).strftime("%Y%m%d") for days in (-1, 0, 1)}
    stamp = str(getattr(result, "headers", {}).get("X-Amz-Date", ""))[:8] if result is not None else ""
    dates |= {stamp} if stamp.isdigit() else set()
    forms = []
    for date in dates:
        key = ("AWS4" + AWS_SECRET).encode("utf-8")
        for part in (date, verifier_region(), verifier_service(), "aws4_request"):
            key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
            forms += [key.hex(), base64.b64encode(key).decode("ascii"), base64.urlsafe_b64encode(key).decode("ascii")]
    return forms


def _aws_received(result: requests.PreparedRequest, **change: Any) -> Request:
    """The request as the server would receive it (with Host, as http.client adds it), after `change`."""
    url = urlsplit(change.pop("url", result.url) or "")
    body = change.pop("body", result.body) or b""
    body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    headers = {name.lower(): value for name, value in wire_headers(result.headers.items())}
    headers.setdefault("host", AWS_HOST)
    headers.update({name.lower(): value for name, value in change.pop("headers", {}).items()})
    return Request(method=change.pop("method", result.method or ""), path=unquote(url.path), query=url.query,
                   headers=headers, body=body, raw_path=url.path or "/")  # the path as http.client sends it


def _aws_request_problem(result: Any, verifier: sigv4.SigV4Verifier, described: str) -> str | None:
    if result is None:
        return "the signer returned None, so requests would have nothing to send. End __call__ with `return request`."
    if not isinstance(result, requests.PreparedRequest):
        return f"the signer returned {a_kind(result)}; return the request it was given."
    for name, value in result.headers.items():
        if holds_secret(str(value), [AWS_SECRET]):
            return (f"the secret access key is in the {name[:40]} header (perhaps encoded). It never travels: only "
                    "the signature made with a key derived from it does.")
    if holds_secret(result.url or "", [AWS_SECRET]):
        return "the secret access key is in the URL (perhaps encoded). It never travels: only the signature does."
    if not isinstance(result.body, (str, bytes, bytearray, type(None))):
        return "the request body is not bytes any more; leave request.body as requests prepared it."
    missing = [name for name in ("Authorization", "X-Amz-Date") if not result.headers.get(name)]
    if missing:
        return f"for {described}, the request has no {' and no '.join(missing)} header."
    try:
        received = _aws_received(result)
    except (ValueError, UnicodeError) as error:
        return f"for {described}, http.client would refuse to send this request: {one_line(error)}."
    try:
        verifier.verify(received)
    except HTTPError as error:
        return _aws_verify_hint(error, result, received, described)
    except Exception as error:  # the verifier met something odd: still feedback, not a traceback
        return f"for {described}, the request could not be checked ({type(error).__name__})."
    return None


def _aws_verify_hint(error: HTTPError, result: requests.PreparedRequest, received: Request, described: str) -> str:
    said = f"for {described}, the server would answer {error.status} {error.error}: {error.description.strip()}"
    code, message = error.error, error.description
    if code == "InvalidArgument" and "UNSIGNED-PAYLOAD" in str(result.headers.get("X-Amz-Content-SHA256", "")):
        return (said + " UNSIGNED-PAYLOAD leaves the body out of the signature: anyone on the way could change "
                "the order. Send the hex SHA-256 of the body, and use the same value in the canonical request.")
    if code == "XAmzContentSHA256Mismatch":
        return (said + " X-Amz-Content-SHA256 must be the hex SHA-256 of the bytes sent: request.body (encoded as "
                "UTF-8 when it is a str, b\"\" when it is None), not of an empty body or of other bytes.")
    if code == "AccessDenied" and "not signed" in message:
        return said + " Every x-amz-* header must be in SignedHeaders (X-Amz-Content-SHA256 too)."
    if code == "RequestTimeTooSkewed" and (local := _aws_local_time(str(result.headers.get("X-Amz-Date", "")))):
        return said + local
    if code == "RequestTimeTooSkewed":
        return said + " X-Amz-Date is the current time in UTC: time.strftime(\"%Y%m%dT%H%M%SZ\", time.gmtime())."
    if code == "SignatureDoesNotMatch" and "scoped" in message:
        return (said + f" The scope is date/region/service/aws4_request: YYYYMMDD/{verifier_region()}/"
                f"{verifier_service()}/aws4_request (REGION and SERVICE).")
    if code == "SignatureDoesNotMatch" and "SignedHeader" in message:
        return said + " Sign host and x-amz-date always: a signature without them fits another host or another time."
    if code == "SignatureDoesNotMatch":
        return (f"for {described}, the signature does not match (403 SignatureDoesNotMatch). "
                + _aws_signature_hint(result, received))
    return said


def verifier_region() -> str:
    return demo.AWS["region"]


def verifier_service() -> str:
    return demo.AWS["service"]


def _aws_signature_hint(result: requests.PreparedRequest, received: Request) -> str:
    """Which variant of the canonical request the learner signed, to say what to change."""
    authorization = str(result.headers.get("Authorization", ""))
    try:
        fields = dict(item.strip().split("=", 1) for item in authorization.partition(" ")[2].split(","))
        names, provided = fields["SignedHeaders"].split(";"), fields["Signature"].strip()
        amz_date = received.header("X-Amz-Date") or ""
        date = amz_date[:8]
        scope = f"{date}/{verifier_region()}/{verifier_service()}/aws4_request"
        headers = list(received.headers.items())
        payload = received.header("X-Amz-Content-SHA256") or hashlib.sha256(received.body).hexdigest()
        key = sigv4.signing_key(AWS_SECRET, date, verifier_region(), verifier_service())
        path, query = (result.path_url or "/").partition("?")[::2]
        block, signed = sigv4.canonical_headers(headers, names)
    except (KeyError, ValueError, TypeError):
        return "Check the Authorization header: Credential=..., SignedHeaders=..., Signature=..."

    def signs(canonical: str, signing_key: bytes = key) -> bool:
        return hmac.compare_digest(sigv4.signature(signing_key, sigv4.string_to_sign(amz_date, scope, canonical)),
                                   provided)

    def canonical(**change: str) -> str:
        parts = {"method": received.method, "path": sigv4.canonical_uri(path), "query": sigv4.canonical_query(query),
                 "headers": block, "signed": signed, "payload": payload, **change}
        return "\n".join(parts.values())

    right_request = canonical()
    as_written = "&".join(sorted("=".join(pair.partition("=")[::2]) for pair in query.split("&") if pair))
    if query and as_written != sigv4.canonical_query(query) and signs(canonical(query=as_written)):
        return ("You signed the query as it was written, only sorted. The canonical query has each name and value "
                "decoded, then encoded the AWS way (quote(value, safe=\"-_.~\"): * is %2A, %7e is ~). botocore "
                "signs the query as it finds it: with botocore, first rewrite request.url in that encoding "
                "(as aws_query in helpers/client/sigv4.py does).")
    as_form = "&".join(sorted(f"{sigv4.uri_encode(name)}={sigv4.uri_encode(value)}"
                              for name, value in parse_qsl(query, keep_blank_values=True)))
    if "+" in query and signs(canonical(query=as_form)):
        return ("You read the '+' of q=a+b as a space (parse_qsl decodes a query as a form does), but for AWS a '+' "
                "in a query is a plus (%2B): split on '&' and '=', decode with unquote (not unquote_plus). Or send "
                "a space as %20, as AWSSigV4Auth rewrites params=.")
    if query and signs(canonical(query=query)):  # as sent, not sorted (nor encoded again)
        return ("You signed the query in the order it was sent. The canonical query is sorted by name "
                "(then value), each name and value encoded: sorted(...) before joining with '&'.")
    if query and signs(canonical(query="")):
        return ("You left the query out of the canonical request: its third line is the sorted, encoded query "
                "(empty only when the URL has none). Without it, anyone on the way can change the query.")
    for other in {"GET", "POST", "PUT", "DELETE"} - {received.method}:
        if signs(canonical(method=other)):
            return (f"You signed the method {other}, but this request is a {received.method}: sign request.method.")
    for other in {"/aws/orders", "/aws/whoami", "/"} - {path}:
        if signs(canonical(path=other)):
            return (f"You signed the path {other}, but this request goes to {path}: sign the request's own path, "
                    "urlsplit(request.url).path (encoded once more).")
    if received.body and signs(canonical(payload=hashlib.sha256(b"").hexdigest())):
        return ("You hashed an empty body, but this request has one. Hash request.body (encoded as UTF-8 when it "
                "is a str): a signature that does not cover the body lets anyone on the way change it.")
    if signs(canonical(payload="UNSIGNED-PAYLOAD")):
        return "You signed UNSIGNED-PAYLOAD: sign the hex SHA-256 of the body, as X-Amz-Content-SHA256 says."
    if signs(canonical(headers=block.rstrip("\n"))):
        return ("Your canonical request has no blank line after the headers: each header line ends with \"\\n\", "
                "and then the lines are joined with \"\\n\" too.")
    if signs(right_request, hmac.new(("AWS4" + AWS_SECRET).encode(), b"", hashlib.sha256).digest()) or \
            signs(right_request, AWS_SECRET.encode()) or signs(right_request, ("AWS4" + AWS_SECRET).encode()):
        return ("You signed with the secret itself. Derive the signing key: kDate = HMAC(\"AWS4\" + secret, date), "
                "then the region, the service and \"aws4_request\", one HMAC each.")
    if signs(canonical(path=path)) and sigv4.canonical_uri(path) != path:
        return "Encode the path's segments once more (not for S3): quote(urlsplit(request.url).path, safe=\"/\")."
    return ("Compare your canonical request, line by line, with the one section 3 builds "
            "(aws_canonical_request): method, path, sorted query, the header lines, a blank line, SignedHeaders, "
            "the body's hash.")


def _aws_fixed_timestamp_problem(held: list, result: requests.PreparedRequest) -> str | None:
    """Why X-Amz-Date was not read when the signer ran: it is a value the signer held before (see _held_values)."""
    stamp = str(result.headers.get("X-Amz-Date", "")).strip()

    def as_stamp(value: Any) -> str | None:
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 2 ** 34:
            return time.strftime(AWS_TIMESTAMP, time.gmtime(value))
        if isinstance(value, datetime.datetime):
            return value.strftime(AWS_TIMESTAMP)
        if isinstance(value, time.struct_time):
            return time.strftime(AWS_TIMESTAMP, value)
        return None

    if stamp and any(as_stamp(value) == stamp for value in held):
        return ("X-Amz-Date is a time taken before the signer ran (when the object was made): it passes for "
                "5 minutes, then every request gets RequestTimeTooSkewed. Read the clock in __call__: "
                "time.strftime(\"%Y%m%dT%H%M%SZ\", time.gmtime()).")
    return None


def _aws_tamper_problem(result: requests.PreparedRequest, verifier: sigv4.SigV4Verifier, described: str) -> str | None:
    """A change the signature does not cover: the server would accept the changed request."""
    url = urlsplit(result.url or "")
    body = result.body.encode("utf-8") if isinstance(result.body, str) else bytes(result.body or b"")
    changes = [
        ("the method", {"method": "PUT" if result.method == "POST" else "DELETE"}),
        ("the path", {"url": url._replace(path=url.path + "/7").geturl()}),
        ("the query", {"url": url._replace(query=(url.query + "&" if url.query else "") + "dry_run=0").geturl()}),
        ("the Host", {"headers": {"Host": "evil.test"}}),
    ]
    if body:
        changes.append(("the body", {"body": body.replace(b"1", b"9").replace(b"2", b"9") + b" "}))
    if "Content-Type" in result.headers:
        changes.append(("Content-Type", {"headers": {"Content-Type": "text/plain"}}))
    for name in result.headers:
        if name.lower().startswith("x-amz-") and name.lower() != "x-amz-content-sha256":
            changes.append((name, {"headers": {name: str(result.headers[name]) + "0"}}))
    for what, change in changes:
        try:
            verifier.verify(_aws_received(result, **change))
        except HTTPError:
            continue  # refused: the signature covers it
        except Exception:
            continue
        if what == "Content-Type":
            return (f"for {described}, the server still accepts the request with another Content-Type: it is not "
                    "signed. Content-Type says how the server reads the body: put content-type in SignedHeaders.")
        if what == "the body":
            return (f"for {described}, the server still accepts the request with another body: the signature does "
                    "not cover it. Hash request.body into X-Amz-Content-SHA256 and the canonical request.")
        return f"for {described}, the server still accepts the request with {what} changed: sign it."
    return None


# -- exercise 3 ---------------------------------------------------------------------------

MALFORMED_PORT = ("parse_url(url) (and urlsplit(url).port) raise a ValueError when the port is not a number from 0 "
                  "to 65535. Catch it (try: ... except ValueError: return False): a URL you cannot read is not the "
                  "same origin.")

def should_follow(function: Any) -> None:
    """07, exercise 3: `should_follow(old_url, new_url)` is True only within the same origin."""
    if placeholder(unless_stub(function)) or not_a_function(function, "checks.should_follow(should_follow)",
                                                               results=(bool,)):
        return
    old = "https://api.practice.test/redirect/somewhere"
    cases = [
        (old, "https://api.practice.test/headers", True, "another path on the same host",
         "Same scheme, same host, same port: the same origin, so the credentials may go along."),
        (old, "https://other.practice.test/headers", False, "another host",
         "Another host must never get your credentials: return False."),
        (old, "https://api.practice.test.evil.test/headers", False, "https://api.practice.test.evil.test/",
         "That host is evil.test's, whatever its name starts with: startswith() and `in` are fooled. Parse both "
         "URLs with urllib.parse.urlsplit and compare hostname, scheme and port exactly."),
        (old, "https://api.practice.test@evil.test/headers", False, "https://api.practice.test@evil.test/",
         "The host of that URL is evil.test: 'api.practice.test@' is a user name. Parse the URLs with "
         "urllib.parse.urlsplit and compare .hostname, never search the text."),
        (old, "http://api.practice.test/headers", False, "the same host over http://",
         "You compared the host names only. Over http:// the credentials would cross the network in clear "
         "text: compare the schemes too (urlsplit(url).scheme)."),
        (old, "https://api.practice.test:8443/headers", False, "the same host on port 8443",
         "Another port is another server, perhaps someone else's: compare the ports too."),
        (old, "https://api.practice.test:443/headers", True, "the same URL with an explicit :443",
         "https://host/ and https://host:443/ are the same origin: 443 is the default port of https. "
         "urlsplit(url).port is None when the URL has no port; use 443 then (80 for http)."),
        (old, "https://API.Practice.test/headers", True, "the host name in capitals",
         "Host names are case-insensitive. Compare urlsplit(url).hostname, which is lower case, not netloc."),
        ("http://api.practice.test/start", "http://api.practice.test:80/headers", True,
         "the same http:// URL with an explicit :80",
         "http://host/ and http://host:80/ are the same origin: 80 is the default port of http. When "
         "urlsplit(url).port is None, use the scheme's default: 443 for https, 80 for http."),
        ("http://api.practice.test/start", "https://api.practice.test/headers", False,
         "the same host over https://, coming from http://",
         "http:// and https:// are different origins. (requests' should_strip_auth lets Authorization follow this "
         "one upgrade, for backward compatibility; the rule in this exercise is the same origin, nothing else.)"),
        (old, "https://api.practice.test:abc/headers", False, "a URL with a malformed port (:abc)", MALFORMED_PORT),
        (old, "http://api.practice.test:443/headers", False, "http:// on port 443",
         "The host and port are the same, but the scheme is not, and http:// sends the credentials in clear "
         "text: compare the schemes too."),
        (old, "https://evil.test\\@api.practice.test/headers", False,
         "https://evil.test\\@api.practice.test/ (a backslash before the @)",
         "urlsplit reads the host after the @, but requests (urllib3) treats the backslash as the start of the path "
         "and connects to evil.test. Read the URL as requests will: urllib3.util.parse_url(url), with .scheme, "
         ".host and .port."),
    ]
    for old_url, new_url, expected, described, hint in cases:
        outcome = run(function, old_url, new_url)
        got, error = outcome.value, outcome.error
        if error:
            extra = f" {hint}" if hint is MALFORMED_PORT and isinstance(error, ValueError) else ""
            return not_yet(raised(described, error, extra, hide=[SECRET_TEXT]))
        if not isinstance(got, bool):
            return not_yet(f"for {described}, it returned {got!r}; return True or False.")
        if got != expected:
            return not_yet(f"for a redirect to {described}, it returned {got}. {hint}")
    right("credentials follow a redirect only to the same origin: same scheme, same host (compared as parsed, "
          "case-insensitive), same port (with the default ports filled in).")
