"""See what really went over the wire: `show(response)`, and inside a token: `show_jwt(token)`.

`auth=` hides what it sends. `show()` prints the request line, headers and body that
requests sent, then the status line, headers and body it got back, for every hop of a
redirect. Credentials are masked unless you pass `reveal=True`, so that a token never
ends up saved inside a notebook by accident.

This module reads `requests` objects only; it knows nothing about the practice API. What counts as a
secret comes from the client's logging filter (helpers/client/redaction.py), so both mask the same names.
"""
from __future__ import annotations

import base64
import binascii
import html
import json
import re
import time
from datetime import datetime, timezone
from urllib.parse import unquote_plus, urlsplit

import requests

from helpers.client.redaction import MASK as REDACTED, SECRET_FIELDS as LOGGED_SECRET_FIELDS, SECRET_HEADERS as LOGGED_SECRET_HEADERS
from helpers.client.redaction import RedactSecrets

MASK = "••••••••"
# One list of what is secret, shared with the logging filter (RedactSecrets), so that a header that is
# masked in a log is masked on screen too, plus the few that only show() meets (the HMAC signature of 07).
SCHEME_HEADERS = {"authorization", "proxy-authorization"}  # scheme shown, credentials masked
HIDDEN_HEADERS = (set(LOGGED_SECRET_HEADERS) - SCHEME_HEADERS) | {"x-signature"}  # whole value masked
SECRET_FIELDS = set(LOGGED_SECRET_FIELDS) | {"access_key", "api_token", "auth_token"}
MAX_BODY_CHARS = 2000
URL_HEADERS = {"location", "content-location"}  # a redirect may carry ?code= or #access_token= (RFC 6749 §4.1.2, §4.2.2)
LINK_TARGET = re.compile(r"<([^>]*)>")  # Link: <url>; rel="next" (RFC 8288 §3)
# Colours come from the JupyterLab theme in use (light, dark or another), each mixed 60:40 with the text
# colour around it (currentColor): the mix keeps the hue and moves it towards the theme's own text colour,
# so that coloured text reaches WCAG AA contrast (4.5:1) in the light and the dark theme alike, which no
# single --jp- colour does (tests/test_browser.py measures it). Outside JupyterLab each var() falls back to
# the light theme's colour. JupyterLab's sanitizer drops them from untrusted outputs (a notebook as
# committed, before it is run): titles and borders then take the theme's text colour, readable too.
ACCENT_FALLBACKS = {"brand": "#1976d2", "success": "#388e3c", "warn": "#f57c00", "error": "#d32f2f"}
# A multipart/form-data part: its headers, a blank line, then its value up to the next boundary (RFC 7578 §4.2)
MULTIPART_PART = re.compile(r'(?P<head>Content-Disposition:[^\r\n]*?\bname="(?P<name>[^"]*)"[^\r\n]*\r?\n'
                            r'(?:[^\r\n]+\r?\n)*\r?\n)(?P<value>.*?)(?=\r?\n--)', re.IGNORECASE | re.DOTALL)


def a_kind(value: object) -> str:
    """The type of `value` with its article, for messages: "an int", "a str", "an ellipsis", "None"."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def show(response: requests.Response, *, reveal: bool = False) -> None:
    """Display the whole exchange behind `response`, credentials masked unless `reveal=True`.

    In JupyterLab it renders as HTML; elsewhere it prints plain text.
    """
    exchange = Exchange(response, reveal=reveal)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(exchange)
    else:
        print(exchange)


class Exchange:
    """One response and the requests behind it (redirects included), ready to display."""

    def __init__(self, response: requests.Response, *, reveal: bool = False) -> None:
        if not isinstance(response, requests.Response):
            hint = " Did the call raise before returning one?" if response is None else ""
            raise TypeError(f"show() needs the requests.Response that a call such as "
                            f"requests.get(url, timeout=5) returns, not {a_kind(response)}.{hint}")
        self.reveal = reveal
        self.hops = [*response.history, response]
        self.masked = False

    def sections(self) -> list[tuple[str, list[str]]]:
        """(title, lines) for each request and each response, in order."""
        self.masked = False
        out = []
        for hop in self.hops:
            out.append(("Request", self._request_lines(hop.request)))
            out.append(("Response", self._response_lines(hop)))
        return out

    def __str__(self) -> str:
        parts = [f"{'→' if title == 'Request' else '←'} {title}\n" + "\n".join(lines) for title, lines in self.sections()]
        return "\n\n".join(parts) + self._footer()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        blocks = []
        for title, lines in self.sections():
            colour = _accent("brand" if title == "Request" else _status_kind(lines[0]))
            body = "\n".join(_html_line(line) for line in lines)
            blocks.append(
                f'<div style="border-left:4px solid;border-left-color:{colour};padding:2px 10px;margin:6px 0">'
                f'<div style="color:{colour};font-weight:bold">{title}</div>'
                f'<pre style="margin:0;white-space:pre-wrap">{body}</pre></div>')
        footer = html.escape(self._footer().strip())
        return f'<div class="helpers-show">{"".join(blocks)}<small>{footer}</small></div>'

    # -- building the lines ---------------------------------------------------------

    def _request_lines(self, request: requests.PreparedRequest) -> list[str]:
        url = urlsplit(request.url)
        target = (url.path or "/") + ("?" + self._mask_query(url.query) if url.query else "")
        host = f"[{url.hostname}]" if ":" in (url.hostname or "") else url.hostname
        host = f"{host}:{url.port}" if url.port else host  # never the user:password@ part of a URL
        lines = [f"{request.method} {target} HTTP/1.1", f"Host: {host}"]
        lines = [self._redact(line) for line in lines]
        lines += [self._header_line(name, value) for name, value in request.headers.items()]
        content_type = request.headers.get("Content-Type", "")
        return lines + self._body_lines(request.body, content_type)

    def _response_lines(self, response: requests.Response) -> list[str]:
        version = "HTTP/1.0" if getattr(response.raw, "version", 11) == 10 else "HTTP/1.1"
        lines = [f"{version} {response.status_code} {response.reason or ''}".rstrip()]
        lines += [self._header_line(name, value) for name, value in response.headers.items()]
        return lines + self._body_lines(response.content, response.headers.get("Content-Type", ""))

    def _body_lines(self, body, content_type: str) -> list[str]:
        if not body:
            return []
        if isinstance(body, bytes):
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError:
                return ["", f"[{len(body)} bytes of binary data]"]
        if not isinstance(body, str):
            return ["", "[streamed body, not shown]"]
        # The Content-Type is what the sender claims, not what the body holds: a password posted with
        # data=json.dumps(...) goes as JSON with no JSON type. So every body is read as what it looks like.
        shown = self._json_body(body, pretty="json" in content_type)
        if shown is None:
            if "multipart/" in content_type:
                body = self._mask_multipart(body)
            body = self._mask_query(body)  # form fields, or words such as password=... in a text
            # Redacted line by line (JSON strings were redacted one by one: the filter's header patterns misread
            # prose), and before the cut below: a credential cut short no longer matches its pattern.
            body = "\n".join(self._redact(line) for line in body.splitlines())
        else:
            body = shown
        if len(body) > MAX_BODY_CHARS:
            body = body[:MAX_BODY_CHARS] + f"\n[... {len(body) - MAX_BODY_CHARS} more characters]"
        return ["", *body.splitlines()]

    def _json_body(self, body: str, *, pretty: bool) -> str | None:
        """The body as indented JSON, secrets masked; None if it is not JSON.

        A JSON body sent without a JSON Content-Type is re-indented only if it held a secret, so that
        what is shown stays as sent otherwise.
        """
        if not pretty and not body.lstrip().startswith(("{", "[")):
            return None
        try:
            value = json.loads(body)
        except ValueError:
            return None
        masked_before = self.masked
        self.masked = False
        shown = self._mask_json(value)
        changed, self.masked = self.masked, self.masked or masked_before
        if not pretty and not changed:
            return body
        return json.dumps(shown, indent=2, ensure_ascii=False)

    # -- masking --------------------------------------------------------------------

    def _hide(self, value: str) -> str:
        if self.reveal:
            return value
        self.masked = True
        return MASK

    def _header_line(self, name: str, value: str) -> str:
        """`Name: value`, masked by what the header is; a header not known to hold secrets goes through the filter."""
        masked = self._mask_header(name, value)
        return f"{name}: {masked}" if masked != value else self._redact(f"{name}: {value}")

    def _mask_header(self, name: str, value: str) -> str:
        lower = name.lower()
        if lower in SCHEME_HEADERS:
            scheme, _, credentials = value.partition(" ")
            return f"{scheme} {self._hide(credentials)}" if credentials else self._hide(value)
        if lower in HIDDEN_HEADERS or _is_secret_name(lower.removeprefix("x-")):  # X-Refresh-Token, Token
            return self._hide(value)
        if lower in URL_HEADERS:
            return self._mask_url(value)
        if lower == "link":
            return LINK_TARGET.sub(lambda target: f"<{self._mask_url(target[1])}>", value)
        return value

    def _mask_query(self, query: str) -> str:
        """Mask the values of secret fields; leave every other byte as it was sent."""
        parts = []
        for part in query.split("&"):
            name, equals, value = part.partition("=")
            if equals and _is_secret_name(unquote_plus(name)):
                value = self._hide(value)
            parts.append(name + equals + value)
        return "&".join(parts)

    def _mask_url(self, url: str) -> str:
        """A URL with the secret fields of its query and of its fragment (#access_token=...) masked."""
        rest, hash_mark, fragment = url.partition("#")
        base, question_mark, query = rest.partition("?")
        return (base + question_mark + self._mask_query(query) + hash_mark
                + (self._mask_query(fragment) if hash_mark else ""))

    def _mask_multipart(self, body: str) -> str:
        """Mask the value of each multipart/form-data part whose name is a secret field."""
        def masked(part: re.Match) -> str:
            return part["head"] + (self._hide(part["value"]) if _is_secret_name(part["name"]) else part["value"])
        return MULTIPART_PART.sub(masked, body)

    def _mask_json(self, value, *, secret: bool = False):
        """Mask the values of secret fields, and everything inside one ({"token": {"value": ...}})."""
        if isinstance(value, dict):
            return {k: self._mask_json(v, secret=secret or _is_secret_name(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask_json(v, secret=secret) for v in value]
        if secret and _is_secret_value(value):
            return self._hide(str(value))
        if isinstance(value, str):  # a JWT or a URL with ?access_token= inside any string, one word at a time
            return re.sub(r"\S+", lambda word: self._redact(word[0]), value)
        return value

    def _redact(self, text: str) -> str:
        """The last step: whatever the logging filter (RedactSecrets) would hide, shown as the mask."""
        if self.reveal:
            return text
        redacted = _FILTER.redact(text).replace(REDACTED, MASK)
        if redacted != text:
            self.masked = True
        return redacted

    def _footer(self) -> str:
        return "\n\n(credentials masked: show(response, reveal=True) shows them)" if self.masked else ""


_FILTER = RedactSecrets()


def _squashed(name: str) -> str:
    """accessToken, access-token and ACCESS_TOKEN all read as accesstoken."""
    return name.lower().replace("_", "").replace("-", "")


_SECRET_NAMES = {_squashed(name) for name in SECRET_FIELDS}


def _is_secret_name(name: str) -> bool:
    return _squashed(name) in _SECRET_NAMES


def _is_secret_value(value) -> bool:
    """Strings and numbers can be secrets; null, true/false and containers are shown as they are."""
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _status_kind(status_line: str) -> str | None:
    """The theme colour of a status line: success (2xx), warn (3xx), error (4xx, 5xx), None (1xx)."""
    code = status_line.split(" ")[1]
    return {"2": "success", "3": "warn", "4": "error", "5": "error"}.get(code[:1])


def _accent(kind: str | None) -> str:
    """A CSS colour for `kind` that is readable in any JupyterLab theme (see ACCENT_FALLBACKS); None is the text's."""
    if kind is None:
        return "currentColor"
    return f"color-mix(in srgb, var(--jp-{kind}-color1, {ACCENT_FALLBACKS[kind]}) 60%, currentColor)"


def _html_line(line: str) -> str:
    """Bold header names; escape everything."""
    name, sep, value = line.partition(": ")
    if sep and name and " " not in name and not line.startswith(("{", " ", '"')):
        return f"<b>{html.escape(name)}</b>: {html.escape(value)}"
    return html.escape(line)


# -- JWTs ---------------------------------------------------------------------------------

def show_jwt(token: str, *, key=None, now: float | None = None, **verify) -> None:
    """Show a JWT's header, claims (times readable) and signature, like a JWT debugger.

    It verifies nothing unless you pass `key` (plus PyJWT's `algorithms=`, `audience=`,
    `issuer=` ...), in which case it also runs `jwt.decode()` and shows the verdict. A check
    turned off (`options={"verify_signature": False}`, 'none' in `algorithms=`, a `verify_exp`
    set to False) is named in the verdict, never reported as valid.
    `now` (seconds since the epoch) is what relative times are measured from.
    """
    view = JWTView(token, key=key, now=now, **verify)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(view)
    else:
        print(view)


class JWTView:
    """A decoded JWT, ready to display. Decoding is not verifying: see `verdict`."""

    TIME_CLAIMS = ("iat", "nbf", "exp", "auth_time")

    def __init__(self, token: str, *, key=None, now: float | None = None, **verify) -> None:
        if isinstance(token, bytes):
            token = token.decode("ascii", "replace")
        if not isinstance(token, str):
            raise TypeError(f"show_jwt() needs the token as a str, not {a_kind(token)}.")
        parts = token.strip().split(".")
        if len(parts) != 3:
            raise ValueError(f"A JWT has three parts separated by dots; this has {len(parts)}. "
                             "Is it an opaque token (such as a refresh token)? Those cannot be decoded.")
        self.header = _b64url_json(parts[0], "header")
        self.claims = _b64url_json(parts[1], "payload")
        self.signature_bytes = len(_b64url_bytes(parts[2]))
        self.now = time.time() if now is None else now
        self.verdict = _verify(token, key, verify) if key is not None else None

    def lines(self) -> list[str]:
        if self.verdict is None:
            first = "JWT, decoded but NOT verified: anyone can read, and forge, what follows."
        else:
            first = f"JWT, verified with the key given: {self.verdict}"
        out = [first, "", "Header"]
        out += [f"  {name}: {json.dumps(value, ensure_ascii=False)}" for name, value in self.header.items()]
        out += ["", "Claims"]
        for name, value in self.claims.items():
            line = f"  {name}: {json.dumps(value, ensure_ascii=False)}"
            if name in self.TIME_CLAIMS and isinstance(value, (int, float)):
                line += f"  = {_utc(value)} ({_relative(value - self.now)})"
            out.append(line)
        kind = "no signature (alg none)" if not self.signature_bytes else f"{self.signature_bytes} bytes"
        out += ["", f"Signature: {kind}"]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = _accent("success" if self.verdict is not None and self.verdict.startswith("✓") else "error")
        body = "\n".join(_html_line(line.strip()) if line.startswith("  ") else html.escape(line)
                         for line in self.lines())
        return (f'<div class="helpers-show-jwt" style="border-left:4px solid;border-left-color:{colour};padding:2px 10px">'
                f'<pre style="margin:0;white-space:pre-wrap">{body}</pre></div>')


def _verify(token: str, key, options: dict) -> str:
    """The verdict of jwt.decode(token, key, **options), which never calls a token valid that was not checked."""
    import jwt  # imported here: most notebooks never verify a token

    switches = options.get("options") or {}
    if not switches.get("verify_signature", True):
        return ("✗ NOT verified: options={'verify_signature': False} turns the signature check off, so this "
                "token could have been written by anyone (and PyJWT then checks no claim either).")
    if any(str(algorithm).lower() == "none" for algorithm in options.get("algorithms") or ()):
        return ("✗ NOT verified: algorithms= lists 'none', the alg of an unsigned token. A verifier lists only the "
                "algorithms its keys use (RFC 8725 §2.1, §3.1).")
    try:
        jwt.decode(token, key, **options)
    except jwt.InvalidTokenError as error:
        return f"✗ refused, {type(error).__name__}: {error}"
    off = [name.removeprefix("verify_") for name, on in switches.items() if name.startswith("verify_") and not on]
    if off:
        return f"⚠ signature valid, but not checked: {', '.join(off)} (turned off in options=)."
    return "✓ signature and claims are valid."


def _b64url_bytes(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("This is not a JWT: its parts are not base64url.") from None


def _b64url_json(part: str, name: str) -> dict:
    try:
        value = json.loads(_b64url_bytes(part))
    except ValueError:
        raise ValueError(f"This is not a JWT: its {name} is not base64url-encoded JSON.") from None
    if not isinstance(value, dict):
        raise ValueError(f"This is not a JWT: its {name} is not a JSON object.")
    return value


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _relative(delta: float) -> str:
    """'in 5 min', '2 min ago', 'now': rounded, so that a notebook's output stays stable."""
    minutes = round(abs(delta) / 60)
    if minutes == 0:
        return "now"
    amount = f"{minutes} min" if minutes < 120 else f"{round(minutes / 60)} h"
    return f"in {amount}" if delta > 0 else f"{amount} ago"
