"""Checks for notebook 07, other schemes and traps: HMAC request signing and redirects.

The signing checks compare with the practice API's own code (`helpers.practice_api.request_signing`),
run on a fresh `SignatureChecker` with its own clock: no request is sent anywhere. Like
every check, they never raise at the learner and never print the signing secret, a
signature or a request id.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import binascii
import json
import logging
import re
from typing import Any, Callable
from urllib.parse import unquote, unquote_plus, urlsplit

import requests

from helpers.practice_api import demo, request_signing
from helpers.checks.feedback import (PRACTICE_URL, filled, not_a_function, not_yet, one_line, output_captured,
                                     placeholder, raised, right, run, unless_stub)
from helpers.practice_api.clock import Clock
from helpers.practice_api.wsgi import HTTPError, Request, wire_headers
from helpers.viewers import a_kind

__all__ = ["string_to_sign", "sign", "should_follow"]

KEY_ID = demo.SIGNING_KEYS[0]["key_id"]
SECRET = demo.SIGNING_KEYS[0]["secret"].encode("ascii")
SECRET_TEXT = SECRET.decode("ascii")
SIGNED_PATH = "/signed/orders"
ORDER = {"item": "tea", "quantity": 2}
HEADERS = ["X-Key-Id", "X-Timestamp", "X-Request-Id", "X-Signature"]
FIELDS = "the method, the path, the timestamp, the request id and the body's SHA-256 hex digest"


# -- exercise 1 ---------------------------------------------------------------------------

def string_to_sign(function: Any) -> None:
    """07, exercise 1: `string_to_sign(method, path, timestamp, request_id, body)` -> the bytes to sign."""
    if placeholder(unless_stub(function)) or not_a_function(function, "checks.string_to_sign(string_to_sign)",
                                                               results=(str, bytes)):
        return
    body = json.dumps(ORDER).encode("utf-8")
    cases = [
        (("POST", SIGNED_PATH, "1795000000", "6f1c0a8e-3b7d-4e02-9c55-0d6b7a1e4f90", body),
         "a POST of an order"),
        (("post", SIGNED_PATH, "1795000300", "0b9e3c1a-77d2-4f4e-8a31-5c2e9d0f6a12", body),
         "the method given in lower case ('post')"),
        (("GET", "/signed/orders", "1795000600", "d2a4f6b8-1c3e-4a5b-9d7f-2e4c6a8b0d1f", b""),
         "a request with an empty body (b'')"),
        (("GET", "/signed/orders/7", "1795000900", "9a7c5e3b-2d4f-4b6a-8c1e-3f5a7b9d0e2c", b""),
         "another path (/signed/orders/7): sign the path you are given"),
    ]
    for args, described in cases:
        expected = request_signing.string_to_sign(*args)
        outcome = run(function, *args)
        if outcome.error:
            return not_yet(raised(described, outcome.error, _raised_hint(outcome.error), hide=[SECRET_TEXT]))
        if outcome.value != expected:
            return not_yet(f"for {described}: " + _string_hint(outcome.value, expected, args))
    right("method in upper case, path, timestamp, request id and the body's SHA-256 hex digest, one per line, "
          "as bytes: exactly what the practice API rebuilds and signs.")


def _raised_hint(error: Exception) -> str:
    text = str(error)
    if isinstance(error, AttributeError) and "'bytes' object has no attribute 'encode'" in text:
        return " The body is bytes already: hashlib.sha256(body).hexdigest()."
    if isinstance(error, TypeError) and ("Strings must be encoded" in text or "Unicode-objects" in text):
        return " hashlib hashes bytes: hash `body` as it is, and .encode() the joined text at the end."
    if isinstance(error, TypeError) and "sequence item" in text:
        return " str.join() joins strings only: turn the body into its hex digest (a str) first."
    return ""


def _string_hint(got: Any, expected: bytes, args: tuple) -> str:
    method, path, timestamp, request_id, body = args
    if got is None:
        return "your function returned None. End it with `return ...`."
    if isinstance(got, str):
        if got.encode("utf-8") == expected:
            return ("right text, but hmac.new() needs bytes: return the text .encode()d "
                    "(\"\\n\".join([...]).encode()).")
        text = got
    elif isinstance(got, (bytes, bytearray)):
        text = bytes(got).decode("utf-8", "replace")
    else:
        return f"your function returned {a_kind(got)}; return the bytes to sign."
    want = expected.decode("utf-8")
    want_lines = want.split("\n")
    body_hash = want_lines[4]
    if text == want + "\n" or text.rstrip("\n") == want:
        return "no newline after the last line: join the five fields with \"\\n\", nothing before or after."
    for separator, name in [("\r\n", "\\r\\n"), (" ", "a space"), (":", "':'"), ("&", "'&'"), (",", "','"),
                            ("|", "'|'"), ("", "nothing")]:
        if text == separator.join(want_lines):
            return f"the fields are joined with {name}; the practice API puts one per line: \"\\n\".join([...])."
    lines = text.split("\n")
    if lines[:4] == want_lines[:4] and len(lines) == 4:
        return "the body hash is missing: the fifth line is hashlib.sha256(body).hexdigest()."
    if len(lines) == 5 and sorted(lines) == sorted(want_lines) and lines != want_lines:
        return ("the right fields in the wrong order. The order is part of the scheme: method, path, timestamp, "
                "request id, body hash.")
    if len(lines) >= 5 and lines[0] == method and method != method.upper():
        return "the method must be in upper case, whatever the caller passed: method.upper()."
    if len(lines) == 5 and lines[:4] == want_lines[:4]:
        last = lines[4]
        digest = hashlib.sha256(body).digest()
        if last == body.decode("utf-8", "replace"):
            return ("the last line is the body itself. Sign its SHA-256 hex digest instead: "
                    "hashlib.sha256(body).hexdigest(); it has a fixed length, whatever the body.")
        if last == str(digest) or last == digest.decode("latin-1"):
            return "the last line holds raw digest bytes; use .hexdigest(), not .digest()."
        if last in (base64.b64encode(digest).decode(), base64.urlsafe_b64encode(digest).decode()):
            return "the body hash is in base64; the practice API wants hex: hashlib.sha256(body).hexdigest()."
        if last == hashlib.sha256(str(body).encode()).hexdigest():
            return ("you hashed str(body), which is the text \"b'...'\". Hash the bytes themselves: "
                    "hashlib.sha256(body).hexdigest().")
        if last.lower() == body_hash and last != body_hash:
            return "hex digits in lower case, as .hexdigest() gives them."
        return f"the fifth line should be the body's SHA-256 hex digest (64 characters); got {last[:70]!r}."
    if len(lines) != 5:
        return (f"expected 5 lines ({FIELDS}), got {len(lines)}: {text[:120]!r}. "
                "Join the five fields with \"\\n\".")
    wrong = [name for name, line, want_line in zip(["method", "path", "timestamp", "request id", "body hash"],
                                                    lines, want_lines) if line != want_line]
    return (f"the {', '.join(wrong)} line{'s differ' if len(wrong) > 1 else ' differs'} from what the server "
            f"signs; got {text[:120]!r}.")


# -- exercise 2 ---------------------------------------------------------------------------

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
    """07, exercise 2: `sign(request)` signs a PreparedRequest the way /signed/orders checks it."""
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

    def __enter__(self):
        self.capture = output_captured()
        printed = self.capture.__enter__()
        self.handler = _Collect(printed)
        logging.getLogger().addHandler(self.handler)
        return printed

    def __exit__(self, *exc_info) -> bool:
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
