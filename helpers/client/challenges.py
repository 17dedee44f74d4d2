"""Which authentication scheme does an API want? Read its 401: the challenges, the error body, the headers.

Two parts, both copyable into a project on their own (this file imports nothing from helpers, and
needs nothing but the standard library):

- `parse_challenges()` reads every challenge of a `WWW-Authenticate` (or `Proxy-Authenticate`)
  field, as RFC 9110 §11.6.1, §11.3 and §11.2 define it, and `response_challenges()` reads them from a
  requests response. A challenge comes from the network, so junk never raises: what parses is kept,
  and what does not is listed in `skipped`, with why.
- `recognise_scheme()` names the scheme a response asks for and what to do about it, also when there is
  no challenge at all (many real APIs send none): then the JSON error body and the provider's own
  headers tell (AWS's `x-amzn-ErrorType`, Slack's `{"ok": false, "error": "not_authed"}`).

The grammar (RFC 9110 §11.6.1, §11.3, §11.2, §5.6.2-§5.6.4):

    WWW-Authenticate = [ challenge *( OWS "," OWS challenge ) ]
    challenge     = auth-scheme [ 1*SP ( token68 / [ auth-param *( OWS "," OWS auth-param ) ] ) ]
    auth-param    = token BWS "=" BWS ( token / quoted-string )
    token68       = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE

Challenges and their parameters are separated by the same commas. After a comma, `name =` starts
a parameter of the challenge before it; a token not followed by "=" starts a new challenge.
Scheme and parameter names are case-insensitive (§11.1, §11.2): `Challenge.name` and the keys of
`Challenge.params` are lower-cased; values keep their case, quoted-strings unquoted.
"""
from __future__ import annotations

import ipaddress
import json
import re
import string
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

TCHAR = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")  # RFC 9110 §5.6.2
TOKEN68 = frozenset(string.ascii_letters + string.digits + "-._~+/")  # §11.2, then "=" padding
OWS = " \t"  # §5.6.3; BWS is the same characters
QUOTED_LIMIT = 40  # characters of a skipped piece quoted in `skipped`
SKIPPED_LIMIT = 20  # skipped pieces listed one by one; the rest are counted


@dataclass(frozen=True)
class Challenge:
    """One challenge: its scheme as the server wrote it, then a token68 or named parameters."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)  # names lower-cased, values unquoted
    token68: str | None = None

    @property
    def name(self) -> str:
        """The scheme, lower-cased: compare this (schemes are case-insensitive, RFC 9110 §11.1)."""
        return self.scheme.lower()

    def __str__(self) -> str:
        if self.token68 is not None:
            return f"{self.scheme} {self.token68}"
        params = ", ".join(f"{name}={_quoted(value)}" for name, value in self.params.items())
        return f"{self.scheme} {params}".rstrip()


@dataclass(frozen=True)
class Challenges:
    """The challenges of one or more fields, in order, and what was skipped (junk never raises)."""

    challenges: tuple[Challenge, ...] = ()
    skipped: tuple[str, ...] = ()  # one line each: what was skipped, and why

    def __iter__(self) -> Iterator[Challenge]:
        return iter(self.challenges)

    def __len__(self) -> int:
        return len(self.challenges)

    def __getitem__(self, index: int) -> Challenge:
        return self.challenges[index]

    @property
    def schemes(self) -> list[str]:
        """The schemes offered, as written, in the server's order."""
        return [challenge.scheme for challenge in self.challenges]

    def find(self, scheme: str) -> Challenge | None:
        """The first challenge of `scheme` (any case), or None."""
        return next((c for c in self.challenges if c.name == scheme.lower()), None)


def parse_challenges(fields: str | Iterable[str] | None) -> Challenges:
    """Every challenge in a WWW-Authenticate value, or in several field lines (a list of values).

    A parameter named twice in one challenge is an error (RFC 9110 §11.2: "MUST only occur once
    per challenge"): the first value is kept, and the repeat is listed in `skipped`, so that a later
    duplicate can never override what a client already read. Parameters after a token68, or after
    a piece that is not a challenge, belong to no challenge: skipped too.

    One recovery of this parser's own, beyond the grammar: a comma straight after a scheme
    (`Bearer, error=...`, which real servers send) does not end that challenge. The grammar wants
    1*SP before the first parameter, so strictly the parameters after that comma belong to no
    challenge; this parser pins them on the scheme before, which is what such a server meant.
    """
    if fields is None:
        return Challenges()
    values = [fields] if isinstance(fields, str) else [str(value) for value in fields]
    challenges: list[Challenge] = []
    skipped: list[str] = []
    for value in values:
        _Parser(value, challenges, skipped).run()
    if len(skipped) > SKIPPED_LIMIT:  # a header of junk: say how much, not every piece
        skipped[SKIPPED_LIMIT:] = [f"and {len(skipped) - SKIPPED_LIMIT} more pieces skipped"]
    return Challenges(tuple(challenges), tuple(skipped))


def response_challenges(response: Any, header: str = "WWW-Authenticate") -> Challenges:
    """The challenges of a requests response's `header` field lines.

    requests joins repeated fields with ", " (`response.headers`), which the grammar reads the same
    way; but one field's junk (an unclosed quote) would run into the next, so the separate lines
    urllib3 keeps (`response.raw.headers.getlist`) are read when it has them.
    """
    lines: list[str] = []
    getlist = getattr(getattr(getattr(response, "raw", None), "headers", None), "getlist", None)
    if callable(getlist):
        try:
            lines = [str(line) for line in getlist(header)]
        except Exception:  # a raw object of another kind: fall back on the joined field
            lines = []
    if not lines:
        headers = getattr(response, "headers", None)
        joined = headers.get(header) if isinstance(headers, Mapping) or hasattr(headers, "get") else None
        lines = [str(joined)] if joined is not None else []
    return parse_challenges(lines)


class _Parser:
    """One field value, read left to right once (linear time whatever it holds)."""

    def __init__(self, text: str, challenges: list[Challenge], skipped: list[str]) -> None:
        self.text, self.at, self.challenges, self.skipped = text, 0, challenges, skipped

    def run(self) -> None:
        params: dict[str, str] | None = None  # the open challenge's parameters, if it takes any
        while True:
            self._skip_empty_elements()
            if self.at >= len(self.text):
                return
            start = self.at
            name = self._token()
            if name is None:
                self._skip(start, "not a challenge or a parameter (a scheme is a token, RFC 9110 §11.1)")
                params = None
                continue
            after_name = self.at
            self._skip_ows()
            if self._peek() == "=":  # "name =": a parameter of the open challenge
                self.at = start
                if params is None:
                    self._skip(start, "a parameter that belongs to no challenge")
                else:
                    self._param(params)
                continue
            self.at = after_name
            params = self._challenge(name, start)

    def _challenge(self, scheme: str, start: int) -> dict[str, str] | None:
        """After the scheme: nothing, a token68, or the first parameter. Returns the open parameters.

        Only spaces may come between the scheme and what follows (1*SP, RFC 9110 §11.3); a tab
        is whitespace only around the list's commas (OWS). So in `Bearer<TAB>error=...` and
        `Bearer <TAB>error=...` alike the scheme is kept and what follows the tab is skipped.
        """
        if self.at < len(self.text) and self.text[self.at] not in OWS + ",":
            self._skip(start, "a scheme must be followed by a space, a comma or the end")
            return None
        while self._peek() == " ":
            self.at += 1
        tabbed = self._peek() == "\t"
        self._skip_ows()
        params: dict[str, str] = {}
        if self._peek() in ("", ","):
            self.challenges.append(Challenge(scheme, params))
            return params
        if tabbed:  # the scheme is plain; only what the tab leads to is skipped
            self.challenges.append(Challenge(scheme, params))
            self._skip(self.at, "after a tab: RFC 9110 §11.3 wants only spaces (1*SP) after the scheme")
            return params
        token68 = self._token68()
        if token68 is not None:
            self.challenges.append(Challenge(scheme, {}, token68))
            return None  # a token68 takes no parameters
        self.challenges.append(Challenge(scheme, params))
        self._param(params)
        return params

    def _param(self, params: dict[str, str]) -> None:
        """`token BWS "=" BWS ( token / quoted-string )`, up to the next comma; else skip the piece."""
        start = self.at
        name = self._token()
        self._skip_ows()
        if name is None or self._peek() != "=":
            self._skip(start, "not a parameter (name=value, RFC 9110 §11.2)")
            return
        self.at += 1
        self._skip_ows()
        value = self._quoted_string() if self._peek() == '"' else self._token()
        self._skip_ows()
        if value is None or self._peek() not in ("", ","):
            self._skip(start, "a parameter's value is a token or a quoted-string (RFC 9110 §11.2)")
            return
        key = name.lower()
        if key in params:
            self._note(start, f"{key!r} repeated (RFC 9110 §11.2 allows one per challenge): kept the first")
            return
        params[key] = value

    def _token68(self) -> str | None:
        """A token68 that makes up the whole list element, or None (and the position unchanged)."""
        start = self.at
        while self._peek() and self._peek() in TOKEN68:
            self.at += 1
        body_end = self.at
        while self._peek() == "=":
            self.at += 1
        end = self.at
        self._skip_ows()
        if body_end > start and self._peek() in ("", ","):
            return self.text[start:end]
        self.at = start
        return None

    def _token(self) -> str | None:
        start = self.at
        while self._peek() and self._peek() in TCHAR:
            self.at += 1
        return self.text[start:self.at] or None

    def _quoted_string(self) -> str | None:
        """The content of a quoted-string, its quoted-pairs undone (§5.6.4); None if it is not one."""
        chars: list[str] = []
        position = self.at + 1
        while position < len(self.text):
            char = self.text[position]
            if char == '"':
                self.at = position + 1
                return "".join(chars)
            if char == "\\":
                position += 1
                if position >= len(self.text) or not _quotable(self.text[position]):
                    return None
                chars.append(self.text[position])
            elif _qdtext(char):
                chars.append(char)
            else:
                return None
            position += 1
        return None  # no closing quote

    def _skip(self, start: int, why: str) -> None:
        """Skip from `start` to the next comma outside a quoted-string, and say so."""
        self.at, quoted, escaped = start, False, False
        while self.at < len(self.text):
            char = self.text[self.at]
            if escaped:
                escaped = False
            elif quoted and char == "\\":
                escaped = True
            elif char == '"':
                quoted = not quoted
            elif char == "," and not quoted:
                break
            self.at += 1
        self._note(start, why)

    def _note(self, start: int, why: str) -> None:
        piece = self.text[start:self.at].strip(OWS)
        shown = piece if len(piece) <= QUOTED_LIMIT else piece[:QUOTED_LIMIT] + "…"
        self.skipped.append(f"skipped {shown!r}: {why}")

    def _skip_ows(self) -> None:
        while self._peek() and self._peek() in OWS:
            self.at += 1

    def _skip_empty_elements(self) -> None:
        """OWS and commas: a list may hold empty elements, which a recipient must accept (§5.6.1)."""
        while self._peek() and self._peek() in OWS + ",":
            self.at += 1

    def _peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""


def _qdtext(char: str) -> bool:
    """HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4)."""
    code = ord(char)
    return char in "\t " or code == 0x21 or 0x23 <= code <= 0x5B or 0x5D <= code <= 0x7E or code >= 0x80


def _quotable(char: str) -> bool:
    """After a backslash: HTAB / SP / VCHAR / obs-text."""
    code = ord(char)
    return char in "\t " or 0x21 <= code <= 0x7E or code >= 0x80


def _quoted(value: str) -> str:
    """A value as a token if it is one, else as a quoted-string."""
    if value and all(char in TCHAR for char in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- naming the scheme ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Recognised:
    """What a response says about authentication: the scheme, what said so, and what to do."""

    scheme: str       # "Basic", "Bearer", ..., "AWS Signature Version 4", "none asked", "unknown"
    evidence: str     # where it was read: the challenge, the body, a header
    advice: str       # what to send (or to look up) next
    challenges: Challenges = Challenges()

    def __str__(self) -> str:
        return f"{self.scheme}: {self.evidence}. {self.advice}"


# What each scheme asks a client for. Names are the lower-cased auth-scheme (IANA's registry, and
# Azure API Management's own AzureApiManagementKey, whose challenge names the key's header).
SCHEME_ADVICE = {
    "basic": ("Basic", "a user name and password: auth=(user, password) sends it (notebook 01)"),
    "bearer": ("Bearer", "a token: Authorization: Bearer <token> (notebooks 03 and 04)"),
    "dpop": ("DPoP", "a token bound to your key, with a DPoP proof on each request (notebook 09)"),
    "digest": ("Digest", "a user name and password, hashed: requests.auth.HTTPDigestAuth (notebook 07)"),
    "negotiate": ("Negotiate", "Kerberos single sign-on: HTTPSPNEGOAuth from the requests-gssapi package"),
    "ntlm": ("NTLM", "Windows NTLM: HttpNtlmAuth from the requests-ntlm package, on a Session"),
    "aws4-hmac-sha256": ("AWS Signature Version 4", "sign each request (botocore, notebook 07)"),
    "azureapimanagementkey": ("API key", "the subscription key in the header the docs name (notebook 02)"),
}
# Which to name when several are offered: this helper's own policy, strongest first. RFC 9110
# §11.6.1 ranks nothing (it warns only that several challenges on one line may not interoperate);
# among challenges of one scheme (Digest's algorithms), the server's order is kept.
PREFERENCE = ("dpop", "bearer", "negotiate", "aws4-hmac-sha256", "digest", "azureapimanagementkey",
              "ntlm", "basic")
BEARER_ERRORS = {  # RFC 6750 §3.1
    "invalid_token": "the token was refused (expired, revoked, malformed): get a new one (notebook 04)",
    "insufficient_scope": "the token lacks a permission: ask for the scope named, a retry won't help",
    "invalid_request": "the request is malformed (a credential missing or sent twice): fix the call",
    # Microsoft Entra ID's claims challenge (not RFC 6750's): Conditional Access wants more claims
    "insufficient_claims": "a new token is needed, asked for with the challenge's claims (MSAL)",
}
# AWS's error codes about signing and credentials: IAM's common errors, S3's error responses, a JSON
# service's InvalidSignatureException, and every code the practice API's sigv4.py raises (its
# docstring lists them; tests/test_client_challenges.py drives the API into each). A response whose
# x-amzn-ErrorType names another code is AWS's too: that code is named, with its Message.
AWS_CODES = frozenset({"MissingAuthenticationToken", "IncompleteSignature", "InvalidClientTokenId",
                       "SignatureDoesNotMatch", "RequestTimeTooSkewed", "RequestExpired", "InvalidToken",
                       "AccessDenied", "AccessDeniedException", "AuthorizationQueryParametersError",
                       "XAmzContentSHA256Mismatch", "InvalidSignatureException", "InvalidArgument",
                       "MisdirectedRequest", "ValidationError"})
# A signed request that AWS accepted, and then refused: a policy denies it (re-signing won't help).
AWS_PERMISSION_CODES = frozenset({"AccessDenied", "AccessDeniedException"})
SIGN = "sign each request with your access key (notebook 07)"
AWS_ADVICE = {  # what to do about each code (the fallback for a code not listed: SIGN)
    "MissingAuthenticationToken": SIGN + "; nothing signed reached it",
    "SignatureDoesNotMatch": SIGN + "; compare your canonical request with the server's",
    "InvalidSignatureException": SIGN + "; compare your canonical request with the server's",
    "RequestTimeTooSkewed": SIGN + "; your clock is off: sync it",
    "RequestExpired": SIGN + "; the signature is older than AWS allows: sign it again, just before sending",
    "IncompleteSignature": SIGN + "; the Authorization header is malformed",
    "AuthorizationQueryParametersError": SIGN + "; the presigned URL's X-Amz-* parameters are malformed",
    "InvalidClientTokenId": SIGN + "; AWS does not know that access key id: check which key you use",
    "InvalidToken": "send the session token (X-Amz-Security-Token) and sign it too: a temporary (ASIA) "
                    "key needs it, a long-term (AKIA) key takes none (notebook 07)",
    "XAmzContentSHA256Mismatch": SIGN + "; the body sent is not the body signed: sign the bytes you send",
    "InvalidArgument": SIGN + "; one auth mechanism only (the Authorization header or a presigned URL), "
                              "and X-Amz-Content-Sha256 the hex SHA-256 of the body",
    "MisdirectedRequest": "sign for the host you send to: the Host signed is not one this server answers "
                          "for (notebook 07)",
    "ValidationError": "the signature was accepted; the request itself is wrong (its Message says how)",
}
# S3's AccessDenied for an x-amz-* header that is not in SignedHeaders (its body names them in
# HeadersNotSigned): a signing mistake, not a missing permission.
NOT_SIGNED = "There were headers present in the request which were not signed"
# S3's AccessDenied Messages for a presigned URL used outside its time: a date, not a permission.
EXPIRED = "Request has expired"  # after X-Amz-Date + X-Amz-Expires
NOT_YET_VALID = "Request is not yet valid"  # X-Amz-Date ahead of the server's clock
AWS_TIME_ADVICE = {EXPIRED: "presign a new URL (a presigned URL expired)",
                   NOT_YET_VALID: "the URL is dated ahead: the signer's clock is ahead"}
# Not AWS's: the practice API's own code for a signed Host it does not answer for (421, RFC 9110 §15.5.20)
PRACTICE_CODES = {"MisdirectedRequest": "the practice API's code MisdirectedRequest (421, RFC 9110 §15.5.20)"}
# The headers that say a response is AWS's (the recorded STS 403 has x-amzn-RequestId; S3 sends
# x-amz-request-id; API Gateway and JSON services x-amzn-ErrorType). A body alone is not enough.
AWS_HEADERS = ("x-amzn-RequestId", "x-amz-request-id", "x-amzn-ErrorType")
# Slack's Web API: {"ok": false, "error": <code>}; these codes are about the token (Slack's method
# docs, e.g. slackhq/slack-api-docs methods/auth.revoke.json: token_revoked "... or the app has been
# removed").
SLACK_AUTH_ERRORS = frozenset({"not_authed", "invalid_auth", "account_inactive", "token_revoked",
                               "not_bearer_token"})
# A body's message that speaks of a key (Anthropic's "invalid x-api-key", Azure's "missing subscription key")
KEY_WORDS = re.compile(r"\b(?:x-api-key|api[ _-]?key|subscription[ -]key)\b", re.IGNORECASE)
MESSAGE_LIMIT = 56  # characters of a body's message quoted (a message may echo part of a key)
CLEARTEXT = ("; but this URL is plain http://: whatever you send can be read on the way (Basic's "
             "password is only base64). Call it over https://")


def recognise_scheme(response: Any) -> Recognised:
    """Name the scheme a response asks for, and what to do, from what it holds.

    In order: the challenges (WWW-Authenticate, or Proxy-Authenticate on a 407), then a provider's
    own headers and JSON error body when there is no challenge this helper knows. It reads an object
    with an int `status_code` and `headers` (a requests.Response), and never raises. Advice to send a
    credential to a plain http:// URL (other than loopback) comes with a warning.
    """
    try:
        found = _recognise(response)
    except Exception as error:  # a response of a shape nobody expected: still an answer
        return Recognised("unknown", f"could not read the response ({type(error).__name__})",
                          "read the provider's docs: which header, and which scheme word")
    if found.scheme not in ("unknown", "none asked") and _cleartext(response):
        found = Recognised(found.scheme, found.evidence, found.advice + CLEARTEXT, found.challenges)
    return found


def _recognise(response: Any) -> Recognised:
    status = getattr(response, "status_code", None)
    if not isinstance(status, int) or isinstance(status, bool):
        return Recognised("unknown", "not a response (no status code)",
                          "pass the requests.Response that the call returned")
    header = "Proxy-Authenticate" if status == 407 else "WWW-Authenticate"
    challenges = response_challenges(response, header)
    known = [c for name in PREFERENCE for c in challenges if c.name == name]
    if known:
        return _from_challenges(challenges, known[0], header, status)
    if challenges:  # only schemes this helper does not know: the body may still tell
        seen = f"status {status}, {header} offers {', '.join(challenges.schemes)} (unknown to this helper)"
    elif challenges.skipped:  # a field was sent, and none of it parsed
        seen = f"status {status}, a {header} that did not parse ({len(challenges.skipped)} pieces skipped)"
    else:
        seen = f"status {status}, no challenge"
    found = _from_body(status, seen, response, challenges)
    if challenges and found.scheme in ("unknown", "none asked"):
        return Recognised(challenges[0].scheme, seen, "read the provider's docs for that scheme", challenges)
    return found


def _from_body(status: int, seen: str, response: Any, challenges: Challenges) -> Recognised:
    """With no challenge this helper knows: AWS's codes, Slack's body, a key named in a message."""
    headers = getattr(response, "headers", None) or {}
    body = _json_body(response)
    error_type = (_get(headers, "x-amzn-ErrorType") or "").split(":")[0]  # "Code:http://..." in some services
    aws = status >= 400 and any(_get(headers, name) for name in AWS_HEADERS)
    code = None
    if aws:
        code = (_aws_code(body) or _aws_xml_code(response) or
                (error_type if AWS_CODE.fullmatch(error_type) else None))
    if code in AWS_CODES:
        named = PRACTICE_CODES.get(code, f"AWS's error code {code}")
        return Recognised("AWS Signature Version 4", f"{seen}; {named}",
                          _aws_advice(code, body, response), challenges)
    if code:  # AWS's, about something other than signing (API Gateway's authorizers: UnauthorizedException)
        message = _message(body) or _aws_xml_message(response)
        return Recognised("unknown", f"{seen}; AWS's error code {code}" + (f": {message!r}" if message else ""),
                          "not a signing code: that service's docs say what it wants (an API Gateway "
                          "authorizer may want a token or an API key)", challenges)
    if isinstance(body, dict) and body.get("ok") is False and body.get("error") in SLACK_AUTH_ERRORS:
        return Recognised("Bearer", f"{seen}; body: {{\"ok\": false, "
                                    f"\"error\": \"{body['error']}\"}} (as Slack answers)",
                          "Authorization: Bearer <token>; check the body's \"ok\", not only the status",
                          challenges)
    message = _message(body)
    quoted = f"; body: {message!r}" if message else ""
    docs = _documentation_url(body)
    if 400 <= status < 500 and KEY_WORDS.search(message):
        return Recognised("API key", f"{seen}{quoted}",
                          "the key in the header the docs name, never in the URL (notebook 02)", challenges)
    if status in (401, 403, 407):
        return Recognised("unknown", f"{seen}{quoted}", "the provider's docs name the header and scheme word"
                          + (f": {docs}" if docs else ""), challenges)
    if status >= 400:
        return Recognised("unknown", f"{seen}{quoted}",
                          "not an authentication answer by itself, but some APIs answer a missing "
                          "credential this way (GitHub with 404, Google with 400): read the docs"
                          + (f": {docs}" if docs else ""), challenges)
    if message and isinstance(body, dict) and ("error" in body or "errors" in body):
        return Recognised("unknown", f"{seen}{quoted}",
                          "an error in a success status: check the body too, and read the docs", challenges)
    return Recognised("none asked", f"{seen} and no error", "nothing to change here", challenges)


def _from_challenges(challenges: Challenges, chosen: Challenge, header: str, status: int) -> Recognised:
    offered = f"{header} offers {', '.join(challenges.schemes)}"
    label, advice = SCHEME_ADVICE[chosen.name]
    error = chosen.params.get("error")
    if chosen.name in ("bearer", "dpop") and error in BEARER_ERRORS:
        advice = BEARER_ERRORS[error]
        if error == "insufficient_scope" and chosen.params.get("scope"):
            advice += f" (scope {chosen.params['scope']!r})"
        if error == "insufficient_scope" and status == 401:
            advice += "; RFC 6750 §3.1 says a 403 for this, so the server is off the spec"
    if chosen.name == "azureapimanagementkey":
        name, kind = chosen.params.get("name", ""), chosen.params.get("type", "")
        if kind.lower() == "header" and name and set(name) <= TCHAR and len(name) <= 64:
            advice = f"the subscription key in the {name} header, as the challenge names it (notebook 02)"
    realm = chosen.params.get("realm")
    details = ([f"realm {realm!r}"] if realm else []) + ([f"error {error!r}"] if isinstance(error, str) else [])
    chose = f"; read {chosen.scheme}" if len(challenges) > 1 else ""
    where = offered + chose + (f" ({', '.join(details)})" if details else "")
    return Recognised(label, where, advice, challenges)


def _cleartext(response: Any) -> bool:
    """Whether the response came from a plain http:// URL that leaves the machine: not a loopback
    address (127.0.0.0/8, ::1) and not localhost (RFC 6761 §6.3), with or without the root's dot."""
    url = getattr(response, "url", None)
    if not isinstance(url, str) or not url.lower().startswith("http://"):
        return False
    try:
        host = urlsplit(url).hostname  # lower-cased, without port, userinfo or the IPv6 brackets
    except ValueError:  # such as an unclosed "[": not a URL requests could have fetched
        return True
    if not host:
        return True
    if host.rstrip(".") == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, not an address
        return True


def _json_body(response: Any) -> Any:
    content = getattr(response, "content", None)
    if not isinstance(content, (bytes, str)) or not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def _get(headers: Any, name: str) -> str | None:
    try:
        value = headers.get(name)
        if value is None and isinstance(headers, Mapping):  # a plain dict: its keys keep their case
            value = next((v for k, v in headers.items() if str(k).lower() == name.lower()), None)
        return None if value is None else str(value)
    except Exception:
        return None


def _aws_code(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in ("Code", "__type"):  # AWS's JSON shapes: {"Code", "Message"}, {"__type", "message"}
        value = body.get(key)
        if isinstance(value, str) and value.rsplit("#", 1)[-1] in AWS_CODES:
            return value.rsplit("#", 1)[-1]
    message = body.get("message") or body.get("Message")
    if message == "Missing Authentication Token":  # API Gateway's body, with x-amzn-ErrorType
        return "MissingAuthenticationToken"
    return None


AWS_XML_CODE = re.compile(r"<Code>([A-Za-z]{1,64})</Code>")  # STS, S3 and EC2 answer in XML
AWS_XML_MESSAGE = re.compile(r"<Message>([^<]{1,200})</Message>")
AWS_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,63}")  # an x-amzn-ErrorType's code, before any ':'


def _aws_xml_code(response: Any) -> str | None:
    """The <Code> of an AWS XML error (the caller has seen AWS's headers)."""
    match = AWS_XML_CODE.search(_text(response))
    return match.group(1) if match and match.group(1) in AWS_CODES else None


def _aws_xml_message(response: Any) -> str:
    match = AWS_XML_MESSAGE.search(_text(response))
    return _message({"message": match.group(1)}) if match else ""


def _aws_advice(code: str, body: Any, response: Any) -> str:
    """What to do about AWS's error `code`, read with its Message where one code means several things."""
    if code in AWS_PERMISSION_CODES:
        if _says(body, response, NOT_SIGNED) or _has_headers_not_signed(body, response):
            return ("an x-amz-* header was added after signing (AWS lists it in HeadersNotSigned): set every "
                    "header before auth= runs, so that it is signed (notebook 07)")
        for message, advice in AWS_TIME_ADVICE.items():
            if _says(body, response, message):
                return advice + " (notebook 07)"
        return ("AWS read the signature and refused: usually a permission is missing (an IAM policy), "
                "which re-signing won't fix (notebook 07)")
    return AWS_ADVICE.get(code, SIGN)


def _says(body: Any, response: Any, message: str) -> bool:
    """Whether an AWS error's Message is `message`: in a JSON body, or in S3's XML one."""
    if isinstance(body, dict) and body.get("Message") == message:
        return True
    return f"<Message>{message}</Message>" in _text(response)


def _has_headers_not_signed(body: Any, response: Any) -> bool:
    """Whether an AccessDenied names headers that went unsigned (S3's HeadersNotSigned)."""
    return bool(isinstance(body, dict) and body.get("HeadersNotSigned")) or "<HeadersNotSigned>" in _text(response)


def _text(response: Any) -> str:
    content = getattr(response, "content", None)
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content or "")
    return text[:4096]


def _message(body: Any) -> str:
    """The human message of a JSON error body, whatever its shape, shortened."""
    found: Any = None
    if isinstance(body, dict):
        error = body.get("error")
        for candidate in (error.get("message") if isinstance(error, dict) else None,
                          body.get("error_description"), body.get("message"), body.get("Message"),
                          body.get("detail"), error if isinstance(error, str) else None):
            if isinstance(candidate, str) and candidate:
                found = candidate
                break
    if not isinstance(found, str):
        return ""
    found = "".join(char if char.isprintable() else " " for char in found)
    return found if len(found) <= MESSAGE_LIMIT else found[:MESSAGE_LIMIT] + "…"


def _documentation_url(body: Any) -> str:
    url = body.get("documentation_url") if isinstance(body, dict) else None
    return url if isinstance(url, str) and url.startswith("https://") and url.isprintable() else ""
