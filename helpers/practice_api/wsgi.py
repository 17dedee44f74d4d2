"""The small pieces of HTTP the practice API is built from: a request, a reply, an error.

The app speaks plain WSGI (PEP 3333): any WSGI server can run it. These classes only
save each route from digging in the WSGI `environ` dictionary itself.
"""
from __future__ import annotations

import ipaddress
import json
import re
import ssl
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl, unquote_plus

# The tests http.client's HTTPConnection.putheader makes (its _is_legal_header_name and
# _is_illegal_header_value, the same in Python 3.10 to 3.13): a CR or LF may appear in a value
# only as the start of an obs-fold (followed by a space or tab), which the server then judges.
LEGAL_HEADER_NAME = re.compile(rb"[^:\s][^:\r\n]*")
ILLEGAL_IN_HEADER_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])")

MAX_BODY_BYTES = 1024 * 1024
# What may go out in a response header: a name that is a token (RFC 9110 §5.1), and a value of
# visible ASCII with inner spaces only (RFC 9110 §5.5). No CR or LF (response splitting), no TAB,
# NUL or other control character, no non-ASCII, and no leading or trailing space.
# A token: RFC 9110 §5.6.2's tchar, ASCII only. Field names (§5.1) and media types (§8.3.1) are tokens.
TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
HEADER_NAME = re.compile(TOKEN)  # also what the loopback transport accepts as a request field name
HEADER_VALUE = re.compile(r"(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?")

# What Request.__repr__ hides. The server keeps its own lists (it must not import the client layer);
# tests/test_header_safety.py checks that they cover every name helpers/client/redaction.py hides.
SENSITIVE_HEADERS = {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token", "cookie",
                     "set-cookie", "x-amz-security-token", "x-amz-signature", "ocp-apim-subscription-key",
                     "private-token", "x-goog-api-key"}
SENSITIVE_PARAMETERS = {"api_key", "apikey", "api-key", "x-api-key", "access_key", "key", "access_token", "token",
                        "refresh_token", "id_token", "password", "passwd", "secret", "client_secret", "code",
                        "code_verifier", "device_code", "client_assertion", "assertion", "x-amz-signature",
                        "x-amz-security-token", "x-goog-signature", "sig", "subscription-key", "private_token"}
# Authentication scheme names that may be echoed: the IANA registry (RFC 9110 §16.4) and common
# unregistered ones. Any other first word of an Authorization header may be the start of a secret.
KNOWN_SCHEMES = {"basic", "bearer", "concealed", "digest", "dpop", "gnap", "hoba", "mutual", "negotiate", "ntlm",
                 "oauth", "privatetoken", "scram-sha-1", "scram-sha-256", "vapid", "token", "apikey",
                 "aws4-hmac-sha256", "practicehmac"}
CONTENT_LENGTH = re.compile(r"[0-9]{1,16}")  # ASCII digits only: '²'.isdigit() is True and int('²') fails
# Host = uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2, §3.2.3). reg-name holds IPv4 too; an
# empty reg-name is left out: an http(s) URI has a non-empty host (RFC 9110 §4.2.1, §4.2.2).
HOST = re.compile(r"(?:(?P<literal>\[[^\[\]]*\])|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(?::[0-9]*)?")
IPV_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")
IPV6_CHARACTERS = re.compile(r"[0-9A-Fa-f:.]+")  # no zone id: "%eth0" is not in RFC 3986's IPv6address
# RFC 9110 §8.3.1: media-type = type "/" subtype parameters; parameters = *( OWS ";" OWS [ parameter ] );
# parameter = name "=" ( token / quoted-string ).
MEDIA_TYPE = re.compile(rf"({TOKEN})/({TOKEN})")
QUOTED = r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"'  # qdtext / quoted-pair, §5.6.4
PARAMETER = re.compile(rf"[ \t]*;[ \t]*(?:({TOKEN})=(?:({TOKEN})|{QUOTED}))?")


class HTTPError(Exception):
    """Raised by a route to answer with a JSON error, e.g. 401 and a challenge.

    The body always has the same shape, borrowed from OAuth (RFC 6749 §5.2):
    `{"error": "<code>", "error_description": "<what to do about it>"}`.
    """

    def __init__(self, status: int, error: str, description: str, headers: Iterable[tuple[str, str]] = ()):
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.headers = list(headers)

    def reply(self) -> "Reply":
        payload = {"error": self.error, "error_description": self.description}
        return json_reply(self.status, payload, self.headers)


def valid_host(value: str) -> bool:
    """Whether a Host field value is uri-host [":" port] (RFC 9112 §3.2), with a non-empty host."""
    match = HOST.fullmatch(value)
    if match is None:
        return False
    literal = match["literal"]
    if literal is None:
        return True
    inside = literal[1:-1]
    if IPV_FUTURE.fullmatch(inside):
        return True
    if not IPV6_CHARACTERS.fullmatch(inside):
        return False
    try:
        ipaddress.IPv6Address(inside)
    except ValueError:
        return False
    return True


@dataclass
class Request:
    """One request as the app sees it. Header names are lower-case."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    client_certificate: str | None = None  # the common name of a verified TLS client certificate
    client_certificate_der: bytes | None = None  # that certificate itself (RFC 8705 §3.1 hashes it)
    remote_address: str = "127.0.0.1"
    scheme: str = "https"  # wsgi.url_scheme: how the request reached the server (https, or http on loopback)
    raw_path: str | None = None  # the path as sent, not percent-decoded (environ["RAW_URI"]); None if unknown

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> "Request":
        _require_latin1(environ)
        host = environ.get("HTTP_HOST")
        if host is not None and not valid_host(host.strip(" \t")):  # RFC 9112 §3.2: MUST answer 400
            raise HTTPError(400, "invalid_request", "The Host header is not host[:port], such as 127.0.0.1:8080 "
                            "(RFC 9112 section 3.2, RFC 3986 section 3.2.2).")  # ASCII: any endpoint, OAuth's too
        headers = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        return cls(
            method=environ["REQUEST_METHOD"],
            path=environ.get("PATH_INFO") or "/",
            query=environ.get("QUERY_STRING", ""),
            headers=headers,
            body=_read_body(environ),
            client_certificate=environ.get("SSL_CLIENT_S_DN_CN"),
            client_certificate_der=_certificate_der(environ.get("SSL_CLIENT_CERT")),
            remote_address=environ.get("REMOTE_ADDR", "127.0.0.1"),
            scheme=environ.get("wsgi.url_scheme", "http"),
            raw_path=environ["RAW_URI"].partition("?")[0] or "/" if "RAW_URI" in environ else None,
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> dict:
        """The body as a JSON object, or HTTPError 400 saying what is wrong with it."""
        if not self._has_media_type("application/json"):
            raise HTTPError(400, "invalid_request", "Send a JSON body with Content-Type: application/json "
                            "(in requests: json={...}).")
        try:
            value = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise HTTPError(400, "invalid_request", "The body is not valid JSON.") from None
        try:  # json.loads turns the escape of a lone surrogate into one, and no reply could then encode it
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise HTTPError(400, "invalid_request", "The JSON body escapes an unpaired surrogate (U+D800 to "
                            "U+DFFF alone), which is not Unicode text (RFC 8259 section 8.2).") from None
        except RecursionError:
            raise HTTPError(400, "invalid_request", "The body is not valid JSON.") from None
        if not isinstance(value, dict):
            raise HTTPError(400, "invalid_request", "The JSON body must be an object: {...}.")
        return value

    def form(self) -> dict[str, str]:
        """The body as HTML form fields (RFC 6749 §3.2 uses this for every token request)."""
        if not self._has_media_type("application/x-www-form-urlencoded"):
            raise HTTPError(400, "invalid_request", "Send form fields with Content-Type: "
                            "application/x-www-form-urlencoded (in requests: data={...}).")
        try:  # errors="strict": a %ff or other escape that is not UTF-8 fails, instead of becoming U+FFFD
            pairs = parse_qsl(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(self.body),
                              errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise HTTPError(400, "invalid_request", "The form body is not valid UTF-8 form encoding.") from None
        fields: dict[str, str] = {}
        for name, value in pairs:
            if name in fields:  # RFC 6749 §3.1: parameters MUST NOT be included more than once
                raise HTTPError(400, "invalid_request",  # the name is echoed: RFC 6749 §5.2's characters only
                                f"The field {printable(repr(name[:40]))} appears more than once.")
            fields[name] = value
        return fields

    def _has_media_type(self, expected: str) -> bool:
        """Is the Content-Type exactly this type/subtype (any case), in UTF-8 if it names a charset?

        Not a substring test: `text/plain; charset=json` is text, and a web page can send text/plain
        to any origin without a CORS preflight. The bodies are read as UTF-8, so another charset is refused.
        """
        parsed = media_type(self.header("content-type") or "")
        if parsed is None or parsed[0] != expected:
            return False
        charset = parsed[1].get("charset")
        return charset is None or charset.lower() == "utf-8"

    def __repr__(self) -> str:
        shown = {k: ("<hidden>" if k in SENSITIVE_HEADERS else v) for k, v in self.headers.items()}
        query = "&".join(  # names compared decoded, as the app reads them: api%5Fkey is api_key
            name + "=<hidden>" if unquote_plus(name).lower() in SENSITIVE_PARAMETERS else name + sep + value
            for name, sep, value in (part.partition("=") for part in self.query.split("&")))
        target = self.path + ("?" + query if self.query else "")
        return f"<Request {self.method} {target} headers={shown}>"


@dataclass
class Reply:
    """Status, headers and body; the app turns it into a WSGI response."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def status_line(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"


def known_scheme(authorization: str | None) -> str | None:
    """The scheme of an Authorization value, as sent, if it is a known scheme name followed by a space.

    Only a known name is safe to echo: `headers={"Authorization": key}` has no scheme, and the
    first word of `ada:my secret` or of a TAB-separated value is part of the secret.
    """
    scheme, space, _ = (authorization or "").strip().partition(" ")
    return scheme if space and scheme.lower() in KNOWN_SCHEMES else None


def media_type(value: str) -> tuple[str, dict[str, str]] | None:
    """The type/subtype of a Content-Type value, lower-cased, and its parameters; None if it is not one.

    RFC 9110 §8.3.1: type, subtype and parameter names are case-insensitive; a parameter value
    is a token or a quoted-string (§5.6.4), and its case matters unless the parameter says otherwise.
    """
    value = value.strip(" \t")
    match = MEDIA_TYPE.match(value)
    if match is None:
        return None
    parameters: dict[str, str] = {}
    position = match.end()
    while position < len(value):
        parameter = PARAMETER.match(value, position)
        if parameter is None or parameter.end() == position:
            return None
        name, token, quoted = parameter.groups()
        if name is not None:
            parameters.setdefault(name.lower(), token if token is not None else re.sub(r"\\(.)", r"\1", quoted))
        position = parameter.end()
    return f"{match[1]}/{match[2]}".lower(), parameters


def _require_latin1(environ: Mapping[str, Any]) -> None:
    """PEP 3333: environ strings hold ISO-8859-1 code points only; anything else is refused with a 400.

    No HTTP message can carry a lone surrogate such as '\\ud800', but a WSGI caller can put one in,
    and echoing it would fail later, when the reply is encoded (a 500).
    """
    for key, value in environ.items():
        if (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "PATH_INFO", "QUERY_STRING", "REQUEST_METHOD",
                                               "RAW_URI")) \
                and isinstance(value, str) and not value.isascii():
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                raise HTTPError(400, "invalid_request", "A header, the path or the query holds a character "
                                "HTTP cannot carry (WSGI strings are ISO-8859-1, PEP 3333).") from None


def unsafe_header(headers: Iterable[tuple[str, str]]) -> str | None:
    """The name of the first header that must not be sent as it is, or None if all are safe.

    Routes refuse bad input with a 400 before it can reach a header; this is the last guard.
    """
    for name, value in headers:
        if not (isinstance(name, str) and isinstance(value, str)
                and HEADER_NAME.fullmatch(name) and HEADER_VALUE.fullmatch(value)):
            return repr(name)[:60]
    return None


def authorization_parts(value: str) -> tuple[str, str]:
    """(scheme, credentials) of an Authorization value, split at the first SP, as RFC 9110 §11.4 has
    it: `credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`. A tab (or any other white
    space) between scheme and token is not SP: a ValueError says so, rather than the scheme and token
    passing for one word without a scheme."""
    scheme, _, credentials = value.strip(" \t").partition(" ")
    word = re.match(r"[^\s]*", scheme)[0]
    if word != scheme and word:
        raise ValueError(f"Put one space (SP) between the scheme {printable(repr(word[:20]))} and the token, not "
                         "a tab or other white space (RFC 9110 section 11.4, RFC 7235 section 2.1).")
    return scheme, credentials


def printable(text: str) -> str:
    """`text` with every character error_description may not hold replaced by '?'.

    RFC 6749 §5.2 (and RFC 6750 §3, RFC 7009, RFC 7662 after it) allows printable ASCII except
    '"' and '\\' (%x20-21 / %x23-5B / %x5D-7E). Whatever a description echoes from a request goes
    through here: a quote, a backslash or a non-ASCII character would break it.
    """
    return re.sub(r'[^\x20-\x21\x23-\x5b\x5d-\x7e]', "?", text)


def wire_headers(headers) -> list[tuple[str, str]]:
    """The header lines http.client would send, as the Latin-1 text a WSGI app reads, or its error.

    Like `HTTPConnection.putheader`: a str name must be ASCII and a str value Latin-1
    (UnicodeEncodeError otherwise), bytes go as they are, an int as its digits; then the name
    and the value are checked (ValueError). Unlike http.client, the message never quotes the
    value: it is often a secret, and tracebacks land in notebook outputs.
    """
    lines = []
    for name, value in headers:
        raw_name = name.encode("ascii") if hasattr(name, "encode") else name
        if not LEGAL_HEADER_NAME.fullmatch(raw_name):
            raise ValueError(f"Invalid header name {raw_name!r}")
        if hasattr(value, "encode"):
            raw_value = value.encode("latin-1")
        elif isinstance(value, int):
            raw_value = str(value).encode("ascii")
        else:
            raw_value = value
        if ILLEGAL_IN_HEADER_VALUE.search(raw_value):
            raise ValueError(f"Invalid header value for {raw_name.decode('latin-1')}: it holds a CR or LF, which "
                             "would end the header line (http.client refuses to send it)")
        lines.append((raw_name.decode("latin-1"), raw_value.decode("latin-1")))
    return lines


def json_reply(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, [("Content-Type", "application/json"), *headers])


PUBLISHED_MAX_AGE = 300  # seconds a client may cache the metadata and the JWKS (`published`)


def published(document: dict) -> Reply:
    """A public document: both discovery documents and the JWKS, with the one caching rule they share.

    They change only when a key is published or retired, or the server restarts. Clients may keep
    them PUBLISHED_MAX_AGE seconds, so a new key is published at least that long before it signs
    (see `tokens.TokenService.publish_signing_key`).
    """
    return json_reply(200, document, [("Cache-Control", f"max-age={PUBLISHED_MAX_AGE}")])


def _read_body(environ: Mapping[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH") or "0"
    if not CONTENT_LENGTH.fullmatch(length):
        raise HTTPError(400, "invalid_request", f"Content-Length must be a number of bytes, not {length[:40]!r}.")
    if int(length) > MAX_BODY_BYTES:
        raise HTTPError(413, "invalid_request", f"The body is larger than {MAX_BODY_BYTES} bytes.")
    return environ["wsgi.input"].read(int(length)) if int(length) else b""


def _certificate_der(pem: object) -> bytes | None:
    """The DER bytes of the verified client certificate a TLS server put in the environ as PEM
    (`SSL_CLIENT_CERT`, as Apache's mod_ssl does), or None."""
    if not isinstance(pem, str):
        return None
    try:
        return ssl.PEM_cert_to_DER_cert(pem)
    except ValueError:  # not one PEM certificate: no certificate to bind to
        return None
