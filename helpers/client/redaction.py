"""Keep credentials out of logs: `RedactSecrets`, a `logging.Filter` (notebook 06).

Why it exists: logs are copied everywhere (files, log shippers, dashboards, tickets), so a
secret written to a log has leaked. Secrets get there by accident: a debug line that dumps
the request headers, a URL with `?access_token=`, an exception that quotes a header.

Why it works on the formatted message: a secret can arrive in the message template, in
its arguments (a dict of headers, a URL) or in an exception's text. The filter formats the
message once, redacts that text, and stores the result with no arguments left to format.

Attach it to a **handler** (`handler.addFilter(RedactSecrets())`): a handler's filters see
every record it writes, including those of libraries such as urllib3. A filter on a logger
sees only records logged on that very logger, not those propagated from its children.

Patterns catch the usual forms; pass the secrets you hold (`known=`) to catch those in any
form. Fields added with `extra=` are not redacted: keep secrets out of them.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "RedactSecrets"]

MASK = "[REDACTED]"

# Headers whose value is secret. Authorization and Proxy-Authorization keep their scheme visible.
SECRET_HEADERS = ["authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token", "cookie",
                  "set-cookie",
                  "x-amz-security-token", "x-amz-signature",  # AWS: temporary credentials' session token, SigV4
                  "ocp-apim-subscription-key",  # Azure API Management
                  "private-token",  # GitLab
                  "x-goog-api-key"]  # Google Cloud
# Query, form and JSON fields whose value is secret.
SECRET_FIELDS = ["access_token", "refresh_token", "id_token", "token", "api_key", "apikey", "api-key", "key",
                 "client_secret", "secret", "password", "passwd", "code", "code_verifier", "device_code",
                 "client_assertion", "assertion", "x-api-key",
                 # presigned URLs: AWS SigV4 and Google Cloud Storage V4 signatures, Azure SAS `sig`. Not secret,
                 # and so kept: X-Amz-Credential (an access key id and a date), X-Amz-Date, X-Amz-Expires.
                 "x-amz-signature", "x-amz-security-token", "x-goog-signature", "sig",
                 "subscription-key",  # Azure API Management's query form
                 "private_token"]  # GitLab's query form

_NAMES = "|".join(map(re.escape, SECRET_FIELDS))
# A header name that is also a field (x-api-key=...) is left to the field pattern, which stops at "&".
_HEADER_ONLY = "|".join(re.escape(name) for name in SECRET_HEADERS if name not in SECRET_FIELDS)
# a quoted value ends at its closing quote, if a delimiter follows ('a', "b"} ...); otherwise it runs on
_QUOTED = r"(?P<q>['\"])(?P<value>(?:\\.|(?!(?P=q))[^\\\r\n])*)(?P=q)(?=[ \t]*(?:[,;:)\]}\r\n]|$))"
_UNQUOTED = r"(?P<bare>[^\s&#,;'\"]*)"  # up to a delimiter; brackets are part of it: better too much than too little
# http.client's debuglevel prints the request as escaped bytes, b'GET / HTTP/1.1\r\nX-API-Key: ...\r\n', where a
# line break is the four characters \r\n: a header name may follow a literal \r, \n or \t escape, and its value
# ends at a literal \r or \n escape as it does at a real line break
_LINE_START = r"(?:(?<![\w-])|(?<=\\[rnt]))"
_TO_LINE_END = r"(?P<bare>(?:(?!\\[rn])[^\r\n])*)"
_ALL_NAMES = "|".join(map(re.escape, sorted(set(SECRET_HEADERS) | set(SECRET_FIELDS), key=len, reverse=True)))
PATTERNS = [  # (pattern, the group that holds the secret)
    # ('Name', 'value'): a tuple, as in list(headers.items()) or a list of (name, value) pairs
    (re.compile(rf"\(\s*(?P<nq>['\"])(?P<name>{_ALL_NAMES})(?P=nq)\s*,\s*{_QUOTED}", re.IGNORECASE), "value"),
    # name='value', name = "value": keyword arguments, assignments and dataclass reprs (a quoted value only;
    # an unquoted one is a query string's, below)
    (re.compile(rf"(?<![\w%-])(?:{_NAMES})\s*=\s*(?:{_QUOTED}|['\"](?P<bare>[^'\"\r\n]*))", re.IGNORECASE), "value"),
    # Name: value, 'Name': 'value' (a dict of headers), "Name": "value" (JSON): to the end of the line
    (re.compile(rf"{_LINE_START}(?P<name>{'|'.join(map(re.escape, SECRET_HEADERS))})(?![\w-])['\"]?\s*:\s*"
                rf"(?:{_QUOTED}|{_TO_LINE_END})", re.IGNORECASE), "value"),
    # Name=value (Authorization=Bearer abc): to the end of the line too, as a header value may hold spaces
    (re.compile(rf"{_LINE_START}(?P<name>{_HEADER_ONLY})(?![\w-])['\"]?\s*=\s*(?:{_QUOTED}|{_TO_LINE_END})",
                re.IGNORECASE), "value"),
    # "field": "value" and 'field': 'value' (JSON, dicts)
    (re.compile(rf"(?P<fq>['\"])(?:{_NAMES})(?P=fq)\s*:\s*(?:{_QUOTED}|(?P<bare>[^\s,}}\]]*))", re.IGNORECASE),
     "value"),
    # field=value (query strings, form bodies), and field: value (but not "status code: 200")
    (re.compile(rf"(?<![\w%-])(?:(?:{_NAMES})=|(?!code\b)(?:{_NAMES})\s*:\s*){_UNQUOTED}", re.IGNORECASE), "bare"),
    # Bearer <token> anywhere in the text
    (re.compile(r"\b(?:Bearer|DPoP)\s+(?P<bare>[\w\-.~+/]{8,}=*)", re.IGNORECASE), "bare"),
    # https://user:password@host. The match starts at "://", not at the scheme: a scheme pattern tried at every
    # word boundary of a long a.b.c... run rescans the run each time (quadratic: 28 s for 100 kB)
    (re.compile(r"(?<=[a-z0-9+.-])://[^\s/?#@:]*:(?P<bare>[^\s/?#@]+)@", re.IGNORECASE), "bare"),
]
JWT = re.compile(r"\beyJ[\w-]{2,}\.[\w-]{2,}(?:\.[\w-]*){1,3}")  # JWS (3 parts) and JWE (5 parts), anywhere
SCHEME = re.compile(r"(?:Basic|Bearer|Digest|DPoP|Token|Negotiate|NTLM|AWS4-HMAC-SHA256|OAuth|ApiKey) +(?=\S)",
                    re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """A logging filter: credentials in each record become [REDACTED]; it never drops a record.

    >>> RedactSecrets().redact("GET /notes?api_key=abc123&page=2")
    'GET /notes?api_key=[REDACTED]&page=2'
    """

    def __init__(self, known: Iterable[str] = (), name: str = "") -> None:
        super().__init__(name)
        forms = {form for secret in known if secret
                 for form in (secret, quote(secret, safe=""), quote_plus(secret))}
        # longest first: a secret may contain a shorter one
        self.known = sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every credential it recognizes replaced by [REDACTED]."""
        for secret in self.known:
            text = text.replace(secret, MASK)
        text = JWT.sub(MASK, text)
        for pattern, group in PATTERNS:
            text = pattern.sub(lambda match: _masked(match, group), text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: keep the record, not them
            message = f"{record.msg!s} [arguments not shown: they did not fit the message]"
        record.msg, record.args = self.redact(message), ()
        if record.exc_info:  # a traceback quotes the exception's text, which may hold a secret
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None  # formatters write exc_text; none can read the raw exception now
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _masked(match: re.Match[str], group: str) -> str:
    """The match with its secret replaced; an Authorization header keeps its scheme ("Bearer [REDACTED]")."""
    if match[group] is None:
        group = "bare"
    start, end = match.span(group)
    secret = match[group]
    if not secret or secret == MASK:
        return match[0]  # nothing to hide, or already hidden
    scheme = SCHEME.match(secret) if "name" in match.re.groupindex else None
    kept = scheme[0] if scheme and match["name"].lower().endswith("authorization") else ""
    return match[0][: start - match.start()] + kept + MASK + match[0][end - match.start():]
