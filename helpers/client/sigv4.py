"""AWS Signature Version 4 for requests: `AWSSigV4Auth` signs each request with botocore's signer.

botocore is the library the AWS SDK for Python (boto3) and the AWS CLI sign with. This module
hands it the request requests prepared, and copies the signature back:

    auth = AWSSigV4Auth(access_key_id, secret_access_key, region="eu-west-1", service="execute-api")
    requests.post(url, json=order, auth=auth, timeout=5)

It imports only `botocore.auth` and `botocore.awsrequest` (about 30 ms once requests is imported).
Not `botocore.credentials`: it would add only a few ms, but its frozen credentials are a namedtuple
whose repr() prints the secret key and the token. `Credentials` below is the three fields the
signer reads, and its repr masks them. The credentials come from the constructor, never from the
environment or ~/.aws: botocore's own credential chain (environment variables, ~/.aws/credentials,
~/.aws/config, instance metadata, among others) is convenient, and it is the same trap as ~/.netrc
in notebook 07, a file that silently decides which identity your code uses.

Which headers are signed. botocore signs every header it is given except a short list of hop-by-hop
and tracing headers (`SIGNED_HEADERS_BLACKLIST` in botocore/auth.py). A PreparedRequest also holds
requests' defaults: `Connection: keep-alive` (a hop-by-hop header a proxy removes, RFC 9110 §7.6.1),
`User-Agent`, `Accept` and `Accept-Encoding` (which proxies and gateways may rewrite) and
`Content-Length` (already fixed by the body's hash). Signing those would make a correct request fail
somewhere between you and the server and proves nothing. So botocore gets: `Host` (from the URL),
`Content-Type` (how the server reads the body), every `X-Amz-*` header (the date, the body's hash,
the session token) and any header named in `signed_headers=` (say, `Content-MD5` or an idempotency
key). A header added after signing is not covered: the server may accept a changed one.

The body. The signature covers the SHA-256 of the exact bytes sent, taken from the PreparedRequest
after requests encoded `json=` or `data=`; a `str` body is hashed as UTF-8, the bytes urllib3 2
sends. It is also sent as `X-Amz-Content-SHA256`. A file or a generator body is refused with a
TypeError: it cannot be hashed without reading it, and what was read is not sent again.

Redirects. requests runs auth= once, when it prepares the request. A redirect reuses the signed
headers for another URL: on the same host the signature no longer matches the path (403
SignatureDoesNotMatch), and on another host requests drops `Authorization` but sends the
`X-Amz-*` headers, the session token among them, to that host. Call signed APIs with
`allow_redirects=False`, and sign the new request yourself if you decide to follow.

Retries. A urllib3 `Retry` on the session's adapter resends the same signed bytes: harmless for
AWS within the 5 minutes, but a long back-off can push a retry past them (403 RequestTimeTooSkewed).
Retry in your code instead, so that each attempt goes through `auth=` and is signed anew.

Secrets. The secret access key and the session token never appear in `repr()` or in log lines.
(botocore's own `add_auth()` logs the canonical request at DEBUG, and with temporary credentials it
holds the session token: this class signs with the same steps and logs nothing.)
"""
from __future__ import annotations

import hashlib
import time
from typing import Callable, Iterable
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import requests
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from requests.auth import AuthBase

SIGNED_BY_DEFAULT = ("host", "content-type")  # plus every x-amz-* header
TIMESTAMP = "%Y%m%dT%H%M%SZ"  # X-Amz-Date: ISO 8601 basic format, UTC


class Credentials:
    """What botocore's signer reads (`access_key`, `secret_key`, `token`), without botocore.credentials.

    Its repr shows the access key id, which is not secret (it names the key), and never the rest.
    """

    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str | None = None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token

    def __repr__(self) -> str:
        token = ", token=***" if self.token else ""
        return f"Credentials(access_key={self.access_key!r}, secret_key=***{token})"


class _AtTime:
    """botocore's SigV4Auth.add_auth(), step for step, with the time from `now` and no log lines.

    botocore reads the wall clock inside add_auth(), so the steps are repeated here with its own
    methods (two of them private: botocore may rename them; tests/test_client_sigv4.py checks that
    both sign exactly as add_auth() does at the same time).
    """

    now: Callable[[], float]

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = time.strftime(TIMESTAMP, time.gmtime(self.now()))
        self._modify_request_before_signing(request)  # X-Amz-Date, X-Amz-Security-Token
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


class _HeaderSigner(_AtTime, SigV4Auth):
    def __init__(self, credentials: Credentials, service: str, region: str, now: Callable[[], float]):
        super().__init__(credentials, service, region)
        self.now = now


class _QuerySigner(_AtTime, SigV4QueryAuth):
    def __init__(self, credentials: Credentials, service: str, region: str, expires: int,
                 now: Callable[[], float]):
        super().__init__(credentials, service, region, expires=expires)
        self.now = now


def body_bytes(request: requests.PreparedRequest) -> bytes:
    """The bytes requests will send: None is an empty body, a str goes out as UTF-8."""
    body = request.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    raise TypeError("AWSSigV4Auth signs a body it can hash before sending: pass json=..., data=<dict>, "
                    f"<str> or <bytes>, not a {type(body).__name__} (read a file into bytes first).")


def aws_query(url: str) -> str:
    """The URL with its query in AWS's encoding: a space is %20, never "+", and only A-Z a-z 0-9 - _ . ~
    unencoded. requests writes `params=` as a form does ("a b" as "a+b"), and botocore signs the
    query as it finds it, while AWS's canonical query reads "+" as itself: rewrite it before signing
    so that the URL sent and the URL signed are the same bytes. The order is kept; the signer sorts.

    This changes the URL you wrote, as a form decoder reads it: a literal "+" becomes %20 (a space;
    write %2B for a plus), a name without a value gains "=" (?flag is sent as ?flag=), and ";" and
    the other reserved characters are sent percent-encoded (%3B). A server that reads the query as
    AWS does sees the same names and values; one that treats ";" as a separator does not.
    """
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)  # "+" and %XX decoded, as a form would
    query = "&".join(f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in pairs)
    return urlunsplit(parts._replace(query=query))


class AWSSigV4Auth(AuthBase):
    """Sign requests with AWS Signature Version 4 (AWS4-HMAC-SHA256) in the Authorization header.

    `now` gives the signing time in seconds since 1970: `time.time` in real code, a test clock
    in tests and in the practice API's notebook. `signed_headers` names headers to sign besides
    Host, Content-Type and the X-Amz-* headers.
    """

    def __init__(self, access_key_id: str, secret_access_key: str, *, region: str, service: str,
                 session_token: str | None = None, signed_headers: Iterable[str] = (),
                 now: Callable[[], float] = time.time) -> None:
        self.credentials = Credentials(access_key_id, secret_access_key, session_token)
        self.region = region
        self.service = service
        self.signed_headers = frozenset(name.lower() for name in (*SIGNED_BY_DEFAULT, *signed_headers))
        self.now = now

    def __repr__(self) -> str:
        return (f"AWSSigV4Auth({self.credentials.access_key!r}, region={self.region!r}, "
                f"service={self.service!r})")

    def _to_sign(self, request: requests.PreparedRequest) -> dict[str, str]:
        return {name: value for name, value in request.headers.items()
                if name.lower() in self.signed_headers or name.lower().startswith("x-amz-")}

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = body_bytes(request)
        request.url = aws_query(request.url)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):  # a second signing
            request.headers.pop(name, None)
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        signed = AWSRequest(method=request.method, url=request.url, headers=self._to_sign(request),
                            data=body)
        _HeaderSigner(self.credentials, self.service, self.region, self.now).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        return request

    def presign(self, url: str, *, method: str = "GET", expires: int = 3600) -> str:
        """A URL that carries its own signature (X-Amz-Signature), valid for `expires` seconds.

        Anyone holding it can make this one request until it expires, without any credential:
        share it like a password. The body is not signed (UNSIGNED-PAYLOAD would be S3's rule;
        for other services botocore hashes an empty body), so only GET and HEAD are presigned. A query
        name given twice is refused: botocore's SigV4QueryAuth reads the query with parse_qs and keeps
        only the first value (?k=1&k=2 would come back as ?k=1, signed).
        """
        if not 1 <= expires <= 604800:  # AWS's limit: seven days
            raise ValueError("expires is a number of seconds from 1 to 604800 (seven days)")
        if method.upper() not in ("GET", "HEAD"):
            raise ValueError(f"presign() signs no body, so only GET or HEAD, not {method!r}: "
                             "send a request with a body signed in its Authorization header")
        names = [name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
        if len(names) != len(set(names)):
            raise ValueError("a repeated query name: botocore's presigning keeps only its first value "
                             "(parse_qs), so the URL would lose the others")
        method = method.upper()
        prepared = requests.Request(method, url).prepare()  # the URL as requests will send it
        signed = AWSRequest(method=method, url=aws_query(prepared.url), headers={}, data=b"")
        _QuerySigner(self.credentials, self.service, self.region, expires, self.now).add_auth(signed)
        return signed.url
