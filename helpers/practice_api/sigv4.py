"""The server's side of AWS Signature Version 4 (SigV4), the request signing of every AWS API.

Like `request_signing` (read it first), the client and the server share a secret, the client
signs what matters in the request, and the secret itself never travels. SigV4 differs in what
it signs and in how the key is made. The server, for each request:

1. Reads the credential scope: `AKIAPRACTICEDEMO0001/20261201/eu-west-1/practice/aws4_request`,
   that is the access key id, the date, the region, the service and the terminator
   `aws4_request`. The date must be X-Amz-Date's date, the region and service this server's.
2. Rebuilds the *canonical request* from what it received, one part per line:

       POST                                   the method
       /aws/orders                            the path, each byte outside A-Z a-z 0-9 - _ . ~ as %XX
       a=1&b=2                                the query: pairs encoded the same way, sorted
       host:api.practice.test                 each signed header, lower-case name ':' trimmed value,
       x-amz-date:20261201T120000Z              sorted by name
                                              (a blank line ends the headers)
       host;x-amz-date                        SignedHeaders: which headers were signed
       <hex SHA-256 of the body>              the payload hash

3. Builds the *string to sign*: `AWS4-HMAC-SHA256`, X-Amz-Date, the scope without the key id,
   and the hex SHA-256 of the canonical request, one per line.
4. Derives the signing key from the secret, one HMAC-SHA256 per scope part:
   kDate = HMAC("AWS4" + secret, date), kRegion = HMAC(kDate, region),
   kService = HMAC(kRegion, service), kSigning = HMAC(kService, "aws4_request").
   A leaked kSigning signs for one region and one service only, and only requests dated that day;
   but a presigned URL dated that day may say X-Amz-Expires=604800, and so work for a week.
5. Compares HMAC(kSigning, string to sign) with the request's signature, in constant time.
6. Refuses an X-Amz-Date more than 5 minutes (WINDOW_SECONDS) from its clock, either way. AWS's
   general rule: "In most cases, a request must reach AWS within five minutes of the time stamp in
   the request" (reference_aws-signing.html). S3 allows 15 minutes (its RequestTimeTooSkewed error
   says MaxAllowedSkewMilliseconds 900000); this service keeps to five, as the series' own scheme does.

What this server requires (and why):
- SignedHeaders lists `host` (and, with the Authorization header, `x-amz-date`), and every
  `x-amz-*` header the request carries. S3's documentation says "any x-amz-* headers that you plan
  to include in your request must also be added" to the signed headers, and S3 answers an unsigned
  one with 403 AccessDenied, "There were headers present in the request which were not signed";
  but S3 itself is reported to accept an unsigned X-Amz-Content-Sha256 (scality/Arsenal pull
  request 2590, demarche-numerique/ds_proxy pull request 164, both S3-compatible servers that copy
  S3's behaviour). Refusing every unsigned x-amz-* header is this service's own, stricter rule: an
  unsigned X-Amz-Security-Token or X-Amz-Content-Sha256 could be swapped by anyone on the path.
- Host is signed, and is one of this server's own names (`binding.own_authorities`): the Host
  header as received, `api.practice.test` in-process, `127.0.0.1:PORT` on loopback (botocore signs
  the URL's host and port, the same value). The signature covers the Host the client signed, so a
  request signed for https://evil.test and replayed here with `Host: evil.test` would verify: any
  other Host gets 421 Misdirected Request (RFC 9110 section 15.5.20), as DPoP proofs do.
- Header values: trimmed, runs of white space made one space, where white space is ASCII's
  (space, tab, CR, LF, VT, FF), as AWS's own C signer (aws-c-auth) has it; botocore's str.split()
  also counts U+00A0, U+3000 and others, so a value with those signs differently there. A header
  sent twice reaches the app as one value joined with ', ' (`helpers.serving.gateway.make_environ`,
  as RFC 9110 section 5.3 allows), where AWS joins the values with ','; and a single header `a, b`
  cannot be told from two. Sign a header once.
  S3 also requires Content-Type to be signed when present; this service does not (botocore
  signs it anyway: SigV4Auth signs every header of the request except those of its
  SIGNED_HEADERS_BLACKLIST: User-Agent, Expect, Connection and other hop-by-hop headers, and
  tracing ones). A header not listed in SignedHeaders may be changed by anyone on the way.
- X-Amz-Content-Sha256, when present, is signed and is the hex SHA-256 of the body received.
  S3 also accepts the literal `UNSIGNED-PAYLOAD` (over HTTPS, the body is then protected by TLS
  only); this practice service refuses it: its one write, POST /aws/orders, is worth signing,
  and botocore signs the body hash for every service but S3. Without the header, the payload
  hash in the canonical request is the SHA-256 of the body as received (what botocore's
  SigV4Auth and SigV4QueryAuth put there for a service other than S3).
- The temporary key (ASIA..., as from AWS STS) needs its session token: X-Amz-Security-Token,
  signed, in the header (Authorization header) or in the query (presigned URL). The long-term
  key (AKIA...) takes none.
- There is NO replay cache, as AWS has none: the same signed request is accepted again, as
  often as it is sent, while X-Amz-Date is within 5 minutes (a presigned URL: until it expires).
  This is a difference from the series' own scheme (`request_signing`), which also signs a
  request id and refuses it the second time. With SigV4, what stops a replay is the short window
  and TLS; an API that must not run an order twice uses an idempotency token in the body.
- A presigned URL (query authentication) is a bearer credential: whoever holds it can use it,
  from any machine, until X-Amz-Date + X-Amz-Expires (1 to 604800 s, a week). It signs the
  query (all but X-Amz-Signature) and `host`.

The path: WSGI's PATH_INFO is percent-decoded, so the routes see /aws/whoami for /aws%2Fwhoami
too. The signature covers the path as sent: both transports keep the raw target in
environ["RAW_URI"] (`helpers.serving.gateway.make_environ`; gunicorn's name), which reaches the
verifier as `Request.raw_path`. /aws%2Fwhoami is signed as /aws%252Fwhoami (encoded once more, as
every service but S3 does, and as botocore does); a request signed for /aws/whoami but sent as
/aws%2Fwhoami gets 403 SignatureDoesNotMatch, with the server's CanonicalRequest to compare. A
Request made without raw_path (as `checks` builds one) is verified with its decoded path.

The query: each name and value is percent-decoded, then encoded again, as aws-c-auth does
(s_append_canonical_query_string); its decoder (aws-c-common's aws_byte_buf_append_decoding_uri)
turns %XX into a byte and leaves '+' alone, so `q=a+b` is signed as `q=a%2Bb`, a plus, never a
space. A space is sent as %20. botocore signs the query as it finds it, without encoding it again:
for `?q=a+b` it signs `q=a+b`, which this server refuses (and requests writes params={"q": "a b"}
as q=a+b: send a space as %20).

Errors look like AWS's: a JSON body {"Code": ..., "Message": ...} (S3 sends the same fields as
XML), the header `x-amzn-ErrorType: <Code>`, and no WWW-Authenticate (AWS sends none). For
SignatureDoesNotMatch the body also holds the server's CanonicalRequest and StringToSign, as S3's
does. Credentials in them are hidden: the session token, and any header or query parameter that
Request.__repr__ hides, are shown as <hidden>; then the StringToSign's hash line is hidden too (it
is the SHA-256 of the real canonical request, from which a short secret could be guessed). The
codes and messages:

  403 MissingAuthenticationToken   "Missing Authentication Token" (no Authorization, no X-Amz-Algorithm)
  400 InvalidArgument              both an Authorization header and query authentication; or an
                                   X-Amz-Content-Sha256 that is not 64 hex digits (UNSIGNED-PAYLOAD too)
  400 IncompleteSignature          a malformed Authorization header, Credential, SignedHeaders,
                                   Signature or X-Amz-Date ("sent twice" if it holds a comma: two
                                   fields joined); a header listed but absent
  400 AuthorizationQueryParametersError  a malformed presigned URL: a missing or repeated X-Amz-*
                                   parameter; a malformed X-Amz-Credential, X-Amz-SignedHeaders,
                                   X-Amz-Signature or X-Amz-Date (the message names it); a header
                                   listed but absent; "X-Amz-Expires should be a number" (ASCII digits;
                                   leading zeros are allowed: 0060 is 60 seconds), "X-Amz-Expires
                                   must be less than a week (in seconds); that is, the given X-Amz-Expires
                                   must be less than 604800 seconds" (S3's words; 604800 itself is accepted,
                                   as S3's documentation says: "the maximum is 604800 (seven days)")
  403 InvalidClientTokenId         "The security token included in the request is invalid." (an
                                   unknown access key id)
  403 SignatureDoesNotMatch        "Credential should be scoped to a valid region, not '<r>'. ",
                                   "Credential should be scoped to correct service: 'practice'. ",
                                   "Credential should be scoped with a valid terminator: 'aws4_request', not '<t>'. ",
                                   "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from
                                   HTTP: '<a>' != '<b>', from 'X-Amz-Date'.",
                                   "'Host' must be a 'SignedHeader' in the AWS Authorization.",
                                   "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
                                   and "The request signature we calculated does not match the signature you provided.
                                   Check your key and signing method." (+ CanonicalRequest, StringToSign)
  403 AccessDenied                 "There were headers present in the request which were not signed"
                                   (+ HeadersNotSigned); "Request has expired" and "Request is not yet
                                   valid" (a presigned URL dated more than 5 minutes ahead), as S3 says
  400 InvalidToken                 the session token: missing for the ASIA key, wrong ("The provided
                                   token is malformed or otherwise invalid."), or sent with the AKIA key.
                                   S3's code and status (400 in its ErrorResponses); services such as STS
                                   answer a bad token with 403 InvalidClientTokenId instead.
                                   Sent but not signed: AccessDenied above, as any unsigned x-amz-* header
  421 MisdirectedRequest           a Host this server does not answer for (this service's code)
  400 XAmzContentSHA256Mismatch    "The provided 'x-amz-content-sha256' header does not match what was computed."
  400 ValidationError              POST /aws/orders: the (correctly signed) body is not a JSON object
  403 RequestTimeTooSkewed         "The difference between the request time and the current time is too large."
                                   (the Authorization header; S3's code and words. Other services say
                                   RequestExpired or "Signature expired: ...")
The messages in quotes are AWS's own (S3's, or STS's and IAM's for the Credential scope ones and
InvalidClientTokenId; API Gateway's for MissingAuthenticationToken); the others are this service's.

References: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html (Signature Version 4),
reference_sigv-create-signed-request.html (canonical request, string to sign, signing key) and
reference_aws-signing.html (five minutes) there; https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
(IncompleteSignature 400, InvalidClientTokenId 403, MissingAuthenticationToken 403); S3's
https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html (x-amz-* headers signed,
x-amz-content-sha256, UNSIGNED-PAYLOAD), https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
(presigned URLs, X-Amz-Expires up to 604800) and https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
(error codes); the test suite of https://github.com/awslabs/aws-c-auth (tests/aws-signing-test-suite/v4)
and its signer, source/aws_signing.c (header white space, the query), with
https://github.com/awslabs/aws-c-common source/uri.c (the query's decoding); RFC 9110 sections 5.3 and 15.5.20.
"""
from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from types import SimpleNamespace
from typing import Callable, Iterable
from urllib.parse import unquote_to_bytes

from helpers.practice_api import binding, demo
from helpers.practice_api.clock import Clock
from helpers.practice_api.wsgi import (SENSITIVE_HEADERS, SENSITIVE_PARAMETERS, HTTPError, Reply, Request, json_reply,
                                      printable)

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
WINDOW_SECONDS = 300  # AWS's 5 minutes of clock skew
MAX_EXPIRES = 604800  # a presigned URL lives at most a week
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")

AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")  # ISO 8601 basic format, UTC: 20261201T120000Z
SCOPE_PART = re.compile(r"[!-~]{1,64}")  # what a message may quote of a scope part: visible ASCII, short
SIGNED_HEADERS = re.compile(r"[a-z0-9!#$%&'*+\-.^_`|~]+(?:;[a-z0-9!#$%&'*+\-.^_`|~]+)*")  # lower-case tokens
SIGNATURE = re.compile(r"[0-9a-f]{64}")  # hex SHA-256; compare_digest refuses non-ASCII str with TypeError
HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
EXPIRES = re.compile(r"[0-9]+")  # ASCII digits: '²'.isdigit() is True and int('²') fails
QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
              "X-Amz-Signature")
MAX_AUTHORIZATION = 4096  # far more than a real one (about 200 characters)
ASCII_SPACE = " \t\n\v\f\r"  # aws-c-auth's s_is_space (aws-c-common's aws_isspace): ASCII white space only
ASCII_SPACES = re.compile(f"[{re.escape(ASCII_SPACE)}]+")
IN_PROCESS = SimpleNamespace(issuer=demo.BASE_URL, other_origin=demo.OTHER_ORIGIN)  # the hosts of the in-process API


# -- The pure functions: what a client computes too (tested against AWS's own test suite) --------------------

def uri_encode(text: str, *, slash: bool = True) -> str:
    """AWS's UriEncode: every UTF-8 byte but A-Z a-z 0-9 - _ . ~ as %XX, hex upper-case.

    `slash=True` (query names and values) encodes '/' as %2F; `slash=False` (the path) keeps it.
    A space is %20, never '+'. Lone surrogates (bytes that were not UTF-8) are encoded as those bytes.
    """
    return _encode_bytes(text.encode("utf-8", "surrogateescape"), slash=slash)


def _encode_bytes(data: bytes, *, slash: bool = True) -> str:
    return "".join(chr(byte) if byte in UNRESERVED or (byte == 0x2F and not slash) else f"%{byte:02X}"
                   for byte in data)


def canonical_uri(raw_path: str, *, normalize: bool = True) -> str:
    """The path as the canonical request has it: the raw path (as sent, escapes and all) encoded once more.

    Encoding what is already encoded is on purpose (every service but S3 encodes each segment
    twice): `/a%20b` is signed as `/a%2520b`, `/a b` as `/a%20b`. With `normalize` (every service
    but S3), '.' segments and empty ones (`//`) go and '..' removes the segment before it, as RFC
    3986 §5.2.4's remove_dot_segments does. `normalize=False` is S3's path rule, as the suite's
    `"normalize": false` cases have it; S3 also skips the second encoding, which this function
    does not: an S3 signer passes it the decoded path.
    """
    path = raw_path or "/"
    if normalize:
        path = _remove_dot_segments(path)
    return uri_encode(path, slash=False)


def _remove_dot_segments(path: str) -> str:
    segments: list[str] = []
    parts = path.split("/")
    for part in parts:
        if part == "..":
            if segments:
                segments.pop()
        elif part not in ("", "."):
            segments.append(part)
    # A trailing slash, '.' or '..' leaves a directory: /a/b/ and /a/b/.. end in '/'.
    trailing = bool(segments) and parts[-1] in ("", ".", "..")
    return "/" + "/".join(segments) + ("/" if trailing else "")


def canonical_query(raw_query: str) -> str:
    """The query as the canonical request has it: each name and value decoded, then uri_encode()d,
    `name=value` pairs sorted by name, then value, joined with '&'. A name without '=' gets an empty value.

    Decoding first makes `%E1%88%B4` and the raw UTF-8 bytes the same thing; '+' stays a plus (%2B):
    SigV4 encodes a space as %20, so a '+' in a signed query is never a space.
    """
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_reencode(name), _reencode(value)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _reencode(component: str) -> str:
    return _encode_bytes(unquote_to_bytes(component.encode("utf-8", "surrogateescape")))


def canonical_headers(headers: Iterable[tuple[str, str]], signed: Iterable[str]) -> tuple[str, str]:
    """(the canonical headers block, the SignedHeaders value) for the header names in `signed`.

    Each line is `lower-case name:value\\n`, sorted by name. A value is trimmed and its runs of white
    space (a folded line too) become one space; a header sent more than once has its values joined
    with ',' in the order received. A name in `signed` that `headers` lacks raises KeyError.

    White space is ASCII's only (space, tab, CR, LF, VT, FF), as in AWS's C signer (aws-c-auth's
    s_is_space): a value signed as `a b` and sent as `a<U+00A0>b` or `a<U+3000>b` is another value,
    and is refused. Python's str.split() (and botocore, which uses it) would collapse those too.
    """
    names = sorted({name.lower() for name in signed})
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(ASCII_SPACES.sub(" ", value.strip(ASCII_SPACE)))
    lines = []
    for name in names:
        if name not in values:
            raise KeyError(name)
        lines.append(f"{name}:{','.join(values[name])}\n")
    return "".join(lines), ";".join(names)


def canonical_request(method: str, raw_path: str, raw_query: str, headers: Iterable[tuple[str, str]],
                      signed: Iterable[str], payload_hash: str, *, normalize: bool = True) -> str:
    """The six parts, one per line: method, canonical URI, canonical query, canonical headers (ending
    in a blank line), SignedHeaders, payload hash."""
    block, signed_headers = canonical_headers(headers, signed)
    return "\n".join([method.upper(), canonical_uri(raw_path, normalize=normalize), canonical_query(raw_query),
                      block, signed_headers, payload_hash])


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    """`AWS4-HMAC-SHA256`, X-Amz-Date, the scope (date/region/service/aws4_request), the canonical
    request's hex SHA-256: what the signing key signs. The canonical request itself is not sent."""
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest()
    return "\n".join([ALGORITHM, amz_date, scope, digest])


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning: the secret narrowed to one day, one region and one service by four HMAC-SHA256s."""
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def signature(signing_key: bytes, string_to_sign: str) -> str:
    """The hex HMAC-SHA256 of the string to sign: what goes into Signature= or X-Amz-Signature."""
    return hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


# -- The verifier ---------------------------------------------------------------------------------------

class AWSError(HTTPError):
    """An error in AWS's shape: {"Code", "Message"} and x-amzn-ErrorType, no WWW-Authenticate."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(status, code, message, [("x-amzn-ErrorType", code)])
        self.extra = extra

    def reply(self) -> Reply:
        return json_reply(self.status, {"Code": self.error, "Message": self.description, **self.extra}, self.headers)


def _incomplete(message: str) -> AWSError:
    return AWSError(400, "IncompleteSignature", message)


def _query_error(message: str) -> AWSError:
    return AWSError(400, "AuthorizationQueryParametersError", message)


class SigV4Verifier:
    """Checks AWS SigV4 requests for the practice service (`demo.AWS`): region eu-west-1, service practice.

    `authorities` gives the host[:port] names this server answers for (`binding.own_authorities`); by
    default the in-process API's, api.practice.test and other.practice.test. The app passes its own,
    which on loopback are 127.0.0.1:PORT, localhost:PORT and [::1]:PORT.
    """

    def __init__(self, clock: Clock, credentials: dict | None = None, region: str | None = None,
                 service: str | None = None, authorities: Callable[[], set[str]] | None = None) -> None:
        settings = credentials or demo.AWS
        self.clock = clock
        self.region = region or settings["region"]
        self.service = service or settings["service"]
        self.keys = {entry["access_key_id"]: entry for entry in settings["credentials"]}
        self.authorities = authorities or (lambda: binding.own_authorities(IN_PROCESS))

    def verify(self, request: Request) -> dict:
        """Who signed this request: {"access_key_id", "user", "signed_with"}; or raise AWSError."""
        self._check_host(request)
        authorization = request.header("Authorization")
        query = _query_parameters(request.query)
        presigned = any(name in query for name in QUERY_AUTH)
        if authorization is not None and presigned:
            raise AWSError(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                           "query parameter or the Authorization header should be specified.")
        if presigned:
            fields = self._query_fields(query)
        elif authorization is not None:
            fields = self._header_fields(authorization, request)
        else:
            raise AWSError(403, "MissingAuthenticationToken", "Missing Authentication Token")
        return self._check(request, query, presigned, **fields)

    def _check_host(self, request: Request) -> None:
        """Refuse a Host this server does not answer for: the signature covers the Host the client signed,
        so a request signed for https://evil.test, replayed here with `Host: evil.test`, would verify.
        421 Misdirected Request (RFC 9110 section 15.5.20), as `binding.request_url` answers for DPoP."""
        host = (request.header("Host") or "").strip(" \t")
        if host and binding.normal_authority(request.scheme, host) not in self.authorities():
            raise AWSError(421, "MisdirectedRequest", f"This server does not answer for the host "
                           f"'{printable(host[:80])}': sign the request for one of its own hosts, such as "
                           f"{sorted(self.authorities())[0]} (RFC 9110 section 15.5.20).")

    # Reading the parameters -------------------------------------------------------------------------------

    def _header_fields(self, authorization: str, request: Request) -> dict:
        if len(authorization) > MAX_AUTHORIZATION:
            raise _incomplete(f"The Authorization header is longer than {MAX_AUTHORIZATION} characters.")
        scheme, _, rest = authorization.strip(" \t").partition(" ")
        if scheme != ALGORITHM:
            raise _incomplete("The Authorization header must start with 'AWS4-HMAC-SHA256 ' (one space), then "
                              "Credential=..., SignedHeaders=..., Signature=...")
        parameters: dict[str, str] = {}
        for item in rest.split(","):
            name, equals, value = item.strip(" ").partition("=")
            if not equals or name not in ("Credential", "SignedHeaders", "Signature"):
                raise _incomplete("The Authorization header holds Credential=, SignedHeaders= and Signature=, "
                                  "separated by commas, and nothing else.")
            if name in parameters:
                raise _incomplete(f"The Authorization header has {name}= more than once.")
            parameters[name] = value
        missing = [name for name in ("Credential", "SignedHeaders", "Signature") if name not in parameters]
        if missing:
            raise _incomplete(" ".join(f"Authorization header requires '{name}' parameter." for name in missing))
        amz_date = request.header("X-Amz-Date")
        if amz_date is None:
            raise _incomplete("Authorization header requires existence of the 'X-Amz-Date' header "
                              "(this practice service does not read Date).")
        return {"credential": parameters["Credential"], "signed_headers": parameters["SignedHeaders"],
                "provided": parameters["Signature"], "amz_date": amz_date, "expires": None,
                "token": request.header("X-Amz-Security-Token")}

    def _query_fields(self, query: dict[str, list[str]]) -> dict:
        missing = [name for name in QUERY_AUTH if name not in query]
        if missing:
            raise _query_error("Query-string authentication version 4 requires the X-Amz-Algorithm, "
                               "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                               "X-Amz-Expires parameters.")
        for name in (*QUERY_AUTH, "X-Amz-Security-Token"):
            if len(query.get(name, [])) > 1:
                raise _query_error(f"The query has {name} more than once.")
        if query["X-Amz-Algorithm"][0] != ALGORITHM:
            raise _query_error("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        expires = query["X-Amz-Expires"][0]
        if not EXPIRES.fullmatch(expires):
            raise _query_error("X-Amz-Expires should be a number")
        digits = expires.lstrip("0") or "0"  # 0000060 and 00000060 are both 60 seconds
        if len(digits) > 7 or int(digits) > MAX_EXPIRES:  # int() of 5,000 digits is slow, and refused
            raise _query_error("X-Amz-Expires must be less than a week (in seconds); that is, the given "
                               "X-Amz-Expires must be less than 604800 seconds")
        if int(digits) < 1:
            raise _query_error("X-Amz-Expires is a number of seconds from 1 to 604800.")
        return {"credential": query["X-Amz-Credential"][0], "signed_headers": query["X-Amz-SignedHeaders"][0],
                "provided": query["X-Amz-Signature"][0], "amz_date": query["X-Amz-Date"][0],
                "expires": int(digits), "token": query.get("X-Amz-Security-Token", [None])[0]}

    # The checks --------------------------------------------------------------------------------------------

    def _check(self, request: Request, query: dict[str, list[str]], presigned: bool, *, credential: str,
               signed_headers: str, provided: str, amz_date: str, expires: int | None, token: str | None) -> dict:
        # A malformed presigned URL is S3's AuthorizationQueryParametersError, naming the X-Amz-* parameter.
        malformed, prefix = (_query_error, "X-Amz-") if presigned else (_incomplete, "")
        parts = credential.split("/")
        if len(parts) != 5 or not all(parts):
            raise malformed(f"{prefix}Credential is <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request: "
                            "five parts separated by '/'.")
        key_id, date, region, service, terminator = parts
        if "," in amz_date:  # two X-Amz-Date fields reach the app joined with ", " (RFC 9110 section 5.3)
            raise malformed("X-Amz-Date was sent twice (or holds a comma): send it once, such as "
                            "20261201T120000Z.")
        if not AMZ_DATE.fullmatch(amz_date) or _epoch(amz_date) is None:
            raise malformed("X-Amz-Date must be in ISO-8601 'basic format', in UTC: YYYYMMDD'T'HHMMSS'Z', "
                            "such as 20261201T120000Z.")
        if not SIGNED_HEADERS.fullmatch(signed_headers):
            raise malformed(f"{prefix}SignedHeaders is a list of lower-case header names separated by ';'.")
        names = signed_headers.split(";")
        if names != sorted(set(names)):
            raise malformed(f"{prefix}SignedHeaders lists each header once, sorted: host;x-amz-date, not "
                            "x-amz-date;host.")
        if not SIGNATURE.fullmatch(provided):
            raise malformed(f"{prefix}Signature is 64 lower-case hex digits (a hex HMAC-SHA256).")
        if key_id not in self.keys:
            raise AWSError(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
        if date != amz_date[:8]:
            raise AWSError(403, "SignatureDoesNotMatch", "Date in Credential scope does not match YYYYMMDD from "
                           f"ISO-8601 version of date from HTTP: '{_quoted(date)}' != '{amz_date[:8]}', from "
                           "'X-Amz-Date'.")
        if region != self.region:
            raise AWSError(403, "SignatureDoesNotMatch",
                           f"Credential should be scoped to a valid region, not '{_quoted(region)}'. ")
        if service != self.service:
            raise AWSError(403, "SignatureDoesNotMatch",
                           f"Credential should be scoped to correct service: '{self.service}'. ")
        if terminator != TERMINATOR:
            raise AWSError(403, "SignatureDoesNotMatch", "Credential should be scoped with a valid terminator: "
                           f"'aws4_request', not '{_quoted(terminator)}'. ")
        required = ["host"] if presigned else ["host", "x-amz-date"]
        for name in required:
            if name not in names:
                label = "Host" if name == "host" else "X-Amz-Date"
                raise AWSError(403, "SignatureDoesNotMatch",
                               f"'{label}' must be a 'SignedHeader' in the AWS Authorization.")
        absent = [name for name in names if name not in request.headers]
        if absent:
            raise malformed(f"{prefix}SignedHeaders lists {printable(absent[0][:40])!r}, which the request does "
                            "not have.")
        unsigned = sorted(name for name in request.headers if name.startswith("x-amz-") and name not in names)
        if unsigned:
            raise AWSError(403, "AccessDenied", "There were headers present in the request which were not signed",
                           HeadersNotSigned=", ".join(printable(name[:40]) for name in unsigned[:10]))
        entry = self.keys[key_id]
        self._check_token(entry, token)
        payload_hash = self._payload_hash(request, names)

        headers = [(name, _wire(value)) for name, value in request.headers.items() if name in names]
        raw_query = "&".join(part for part in request.query.split("&")
                             if not _is_parameter(part, "X-Amz-Signature")) if presigned else request.query
        canonical = canonical_request(request.method, _wire(_raw_path(request)), _wire(raw_query), headers, names,
                                      payload_hash)
        scope = "/".join([date, region, service, terminator])
        to_sign = string_to_sign(amz_date, scope, canonical)
        expected = signature(signing_key(entry["secret_access_key"], date, region, service), to_sign)
        if not hmac.compare_digest(expected, provided):
            raise AWSError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                           "signature you provided. Check your key and signing method.",
                           **_shown(canonical, to_sign, token))

        now, signed_at = self.clock.now(), _epoch(amz_date)
        if presigned:  # valid from X-Amz-Date (give or take the skew) until X-Amz-Date + X-Amz-Expires
            if signed_at > now + WINDOW_SECONDS:
                raise AWSError(403, "AccessDenied", "Request is not yet valid")
            if now > signed_at + expires:
                raise AWSError(403, "AccessDenied", "Request has expired")
        elif abs(now - signed_at) > WINDOW_SECONDS:
            raise AWSError(403, "RequestTimeTooSkewed",
                           "The difference between the request time and the current time is too large.")
        return {"access_key_id": key_id, "user": entry["user"],
                "signed_with": "query string" if presigned else "Authorization header"}

    def _check_token(self, entry: dict, token: str | None) -> None:
        expected = entry.get("session_token")
        if expected is None:
            if token is not None:
                raise AWSError(400, "InvalidToken", "This access key is a long-term key: it takes no "
                               "X-Amz-Security-Token.")
            return
        if token is None:
            raise AWSError(400, "InvalidToken", "This access key is temporary: send its session token in "
                           "X-Amz-Security-Token, and sign it.")
        # In the Authorization header case, an unsigned X-Amz-Security-Token was refused above (an unsigned
        # x-amz-* header); in a presigned URL it is a query parameter, so signed with the query.
        if not hmac.compare_digest(token.encode("latin-1", "replace"), expected.encode()):
            raise AWSError(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")

    def _payload_hash(self, request: Request, names: list[str]) -> str:
        actual = hashlib.sha256(request.body).hexdigest()
        declared = request.header("X-Amz-Content-Sha256")
        if declared is None:
            return actual
        if not HEX_SHA256.fullmatch(declared):
            raise AWSError(400, "InvalidArgument", "x-amz-content-sha256 must be the hex SHA-256 of the body: "
                           "this practice service signs every body, so UNSIGNED-PAYLOAD (which S3 accepts) "
                           "and STREAMING-... are refused.")
        if not hmac.compare_digest(declared, actual):
            raise AWSError(400, "XAmzContentSHA256Mismatch",
                           "The provided 'x-amz-content-sha256' header does not match what was computed.")
        return declared


def json_body(request: Request) -> dict:
    """The body of a verified request as a JSON object, or a 400 ValidationError in the same AWS shape."""
    try:
        return request.json()
    except HTTPError as error:
        raise AWSError(400, "ValidationError", error.description) from None


def _query_parameters(raw_query: str) -> dict[str, list[str]]:
    """Every query parameter, decoded, with all its values: X-Amz-* parameters must appear once."""
    parameters: dict[str, list[str]] = {}
    for part in raw_query.split("&"):
        if part:
            name, _, value = part.partition("=")
            parameters.setdefault(_decoded(name), []).append(_decoded(value))
    return parameters


def _decoded(component: str) -> str:
    return unquote_to_bytes(component.encode("latin-1", "replace")).decode("utf-8", "replace")


def _is_parameter(part: str, name: str) -> bool:
    return _decoded(part.partition("=")[0]) == name


def _wire(text: str) -> str:
    """A WSGI string (ISO-8859-1 code points, PEP 3333) as the UTF-8 text the client signed; bytes that
    are not UTF-8 become lone surrogates, which the canonical request encodes back to the same bytes."""
    return text.encode("latin-1", "replace").decode("utf-8", "surrogateescape")


def _raw_path(request: Request) -> str:
    """The path as sent, escapes and all (the transports keep it: environ["RAW_URI"]); the decoded
    PATH_INFO for a Request made without it, which is the same for the plain ASCII routes /aws/*."""
    return request.raw_path if request.raw_path is not None else request.path


def _shown(canonical: str, to_sign: str, token: str | None) -> dict[str, str]:
    """CanonicalRequest and StringToSign as the error body may show them. A session token is a credential,
    and so is any header or query parameter that Request.__repr__ hides (a client may sign its Cookie or
    X-API-Key): their values become <hidden>. Then the StringToSign's last line, the SHA-256 of the real
    canonical request, is hidden too: from it, a short secret (password=hunter2) could be found by hashing
    guesses until one matches."""
    shown = _hidden(canonical, token)
    if shown != canonical.encode("utf-8", "surrogateescape").decode("utf-8", "replace"):  # something hidden
        to_sign = to_sign.rpartition("\n")[0] + "\n<hidden: the SHA-256 of the canonical request with its credentials>"
    return {"CanonicalRequest": shown, "StringToSign": to_sign}


def _hidden(canonical: str, token: str | None) -> str:
    """The canonical request with the values of its credentials replaced by <hidden>."""
    lines = canonical.encode("utf-8", "surrogateescape").decode("utf-8", "replace").split("\n")
    lines[2] = "&".join(name + "=<hidden>" if _decoded(name).lower() in SENSITIVE_PARAMETERS else name + sep + value
                        for name, sep, value in (part.partition("=") for part in lines[2].split("&")))
    for index in range(3, len(lines)):
        if not lines[index]:  # the blank line after the headers
            break
        name = lines[index].partition(":")[0]
        if name in SENSITIVE_HEADERS:
            lines[index] = name + ":<hidden>"
    text = "\n".join(lines)
    if token:
        text = text.replace(uri_encode(token), "<hidden>").replace(token, "<hidden>")
    return text


def _quoted(text: str) -> str:
    """A scope part a message may quote: visible ASCII, at most 64 characters, or '?'."""
    return text if SCOPE_PART.fullmatch(text) and "'" not in text else "?"


def _epoch(amz_date: str) -> int | None:
    try:
        return calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return None
