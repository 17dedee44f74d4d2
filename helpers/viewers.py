"""See what really went over the wire: `show(response)`.

`auth=` hides what it sends. `show()` prints the request line, headers and body that
requests sent, then the status line, headers and body it got back, for every hop of a
redirect. Credentials are masked unless you pass `reveal=True`, so that a token never
ends up saved inside a notebook by accident.

This module reads `requests` objects only; it knows nothing about the practice API.
"""
from __future__ import annotations

import html
import json
from urllib.parse import unquote_plus, urlsplit

import requests

MASK = "••••••••"
SECRET_HEADERS = {"authorization", "proxy-authorization"}  # scheme shown, credentials masked
HIDDEN_HEADERS = {"x-api-key", "cookie", "set-cookie", "x-signature"}  # whole value masked
SECRET_FIELDS = {
    "password", "client_secret", "access_token", "refresh_token", "id_token", "token",
    "api_key", "apikey", "key", "code", "code_verifier", "device_code", "secret",
}
MAX_BODY_CHARS = 2000


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
            got = type(response).__name__
            hint = " Did the call raise before returning one?" if response is None else ""
            raise TypeError(f"show() needs the requests.Response that a call such as "
                            f"requests.get(url, timeout=5) returns, not a {got}.{hint}")
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
            colour = "#2b6cb0" if title == "Request" else _status_colour(lines[0])
            body = "\n".join(_html_line(line) for line in lines)
            blocks.append(
                f'<div style="border-left:4px solid {colour};padding:2px 10px;margin:6px 0">'
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
        lines += [f"{name}: {self._mask_header(name, value)}" for name, value in request.headers.items()]
        content_type = request.headers.get("Content-Type", "")
        return lines + self._body_lines(request.body, content_type)

    def _response_lines(self, response: requests.Response) -> list[str]:
        version = "HTTP/1.0" if getattr(response.raw, "version", 11) == 10 else "HTTP/1.1"
        lines = [f"{version} {response.status_code} {response.reason or ''}".rstrip()]
        lines += [f"{name}: {self._mask_header(name, value)}" for name, value in response.headers.items()]
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
        if "json" in content_type:
            try:
                body = json.dumps(self._mask_json(json.loads(body)), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        elif "x-www-form-urlencoded" in content_type:
            body = self._mask_query(body)
        if len(body) > MAX_BODY_CHARS:
            body = body[:MAX_BODY_CHARS] + f"\n[... {len(body) - MAX_BODY_CHARS} more characters]"
        return ["", *body.splitlines()]

    # -- masking --------------------------------------------------------------------

    def _hide(self, value: str) -> str:
        if self.reveal:
            return value
        self.masked = True
        return MASK

    def _mask_header(self, name: str, value: str) -> str:
        lower = name.lower()
        if lower in SECRET_HEADERS:
            scheme, _, credentials = value.partition(" ")
            return f"{scheme} {self._hide(credentials)}" if credentials else self._hide(value)
        if lower in HIDDEN_HEADERS:
            return self._hide(value)
        return value

    def _mask_query(self, query: str) -> str:
        """Mask the values of secret fields; leave every other byte as it was sent."""
        parts = []
        for part in query.split("&"):
            name, equals, value = part.partition("=")
            if equals and unquote_plus(name).lower() in SECRET_FIELDS:
                value = self._hide(value)
            parts.append(name + equals + value)
        return "&".join(parts)

    def _mask_json(self, value):
        if isinstance(value, dict):
            return {k: self._hide(str(v)) if k.lower() in SECRET_FIELDS and not isinstance(v, (dict, list))
                    else self._mask_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask_json(v) for v in value]
        return value

    def _footer(self) -> str:
        return "\n\n(credentials masked: show(response, reveal=True) shows them)" if self.masked else ""


def _status_colour(status_line: str) -> str:
    code = status_line.split(" ")[1]
    return {"2": "#2f855a", "3": "#b7791f", "4": "#c53030", "5": "#c53030"}.get(code[:1], "#4a5568")


def _html_line(line: str) -> str:
    """Bold header names; escape everything."""
    name, sep, value = line.partition(": ")
    if sep and name and " " not in name and not line.startswith(("{", " ", '"')):
        return f"<b>{html.escape(name)}</b>: {html.escape(value)}"
    return html.escape(line)
