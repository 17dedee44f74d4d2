"""Checks for notebook 00, Start here: a first call, its challenge, and real providers' failures."""
from __future__ import annotations

import base64
import json
import re
import weakref
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from helpers.viewers import a_kind
from helpers.checks.feedback import (credentials_in_url, not_yet, one_line, placeholder, right, sent_problem,
                                     sent_with)
from helpers.client.redaction import SECRET_HEADERS

# The responses this check said "Not yet" to. A learner who fixes the call but forgets `response =`
# runs the new call and hands the check the old response again: it would repeat its old verdict
# about a call that is no longer on the screen. Weak, so that a judged response is not kept alive.
_judged: "weakref.WeakSet[requests.Response]" = weakref.WeakSet()
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")  # section 6's serve_practice_api(), stopped since
EARLIER = "The call: response = requests.get(api.url('/basic/whoami'), timeout=5)."


def unauthenticated_call(response: Any) -> None:
    """00, exercise 1: call /basic/whoami without credentials, with a timeout, and look at the 401.

    The check judges the call by what it really used (`sent_with`): the timeout and certificate
    settings that requests passed on, as the in-process practice API recorded them.
    """
    if placeholder(response):
        return
    if not isinstance(response, requests.Response) or not isinstance(response.request, requests.PreparedRequest):
        return not_yet(f"`response` should hold what requests.get(...) returns, not {a_kind(response)}.")
    if response in _judged:
        return not_yet("this is your earlier response: assign `response = requests.get(...)`, or the check "
                       f"sees the old one again (a call whose result is not assigned leaves `response` as it was). "
                       f"{EARLIER}")
    if urlsplit(response.url or "").hostname in LOOPBACK_HOSTS:
        return not_yet("this is the teaching cell's response, from a server on 127.0.0.1 over plain http://: "
                       f"assign `response = requests.get(...)` with your own call. {EARLIER}")
    problem = _problem(response)
    if problem:
        _judged.add(response)
        return not_yet(problem)
    right("401 Unauthorized, with the challenge: "
           f"WWW-Authenticate: {response.headers.get('WWW-Authenticate')}")


def _problem(response: requests.Response) -> str:
    """What to change in the call behind `response`, or '' when it is exercise 1's call."""
    if credentials_in_url(response.url):
        return ("credentials went in the URL (https://user:password@...). URLs end up in logs and "
                "browser history, and requests sends them as an Authorization header anyway. This call "
                "goes without credentials: requests.get(api.url('/basic/whoami'), timeout=5).")
    if response.request.headers.get("Authorization"):
        return ("this request carried an Authorization header (from auth=, headers=, or a ~/.netrc entry "
                "for this host). Leave out auth= and any Authorization header to see what a server says to a "
                "request without credentials.")
    credential = next((name for name in response.request.headers if name.lower() in SECRET_HEADERS), None)
    if credential:
        return (f"this request carried the header {credential}, which holds credentials too "
                "(cookies= or headers=, or a Session's cookie jar). This call goes without any: "
                "requests.get(api.url('/basic/whoami'), timeout=5).")
    url = urlsplit(response.url or "")
    if url.scheme != "https":
        return (f"that call went over plain http:// (to {url.hostname}). Call the practice API started in "
                "the Setup cell, over https: requests.get(api.url('/basic/whoami'), timeout=5).")
    if sent_with(response) is None:
        return ("this response did not come from the practice API started in the Setup cell, so nothing "
                "tells what the call sent. Run the Setup cell, then "
                "requests.get(api.url('/basic/whoami'), timeout=5).")
    problem = sent_problem(response)
    if problem:
        return problem
    if response.status_code == 404:
        return (f"404: no endpoint at {url.scheme}://{url.netloc}{url.path[:60]}. The path is /basic/whoami.")
    if response.status_code != 401:
        return (f"expected 401 Unauthorized, got {response.status_code}.")
    return ""


def challenge_realm(realm: Any) -> None:
    """00, exercise 2: the realm named in the Basic challenge."""
    if placeholder(realm):
        return
    if not isinstance(realm, str):
        return not_yet(f"`realm` should be a str, not {a_kind(realm)}.")
    if realm.lower().startswith("basic"):
        return not_yet("that is the whole header. The realm is the value of realm=\"...\" inside it.")
    if realm.lower().startswith("realm="):
        return not_yet("close: keep only the value after realm=, without its quotes.")
    if "," in realm or "charset" in realm:
        return not_yet("that runs into the next parameter. The value ends at its closing quote.")
    if realm != realm.strip():
        return not_yet("close: there is whitespace around it. Use .strip(), or a tighter pattern.")
    if realm.startswith('"') or realm.endswith('"'):
        return not_yet("close: drop the quotes around the value; they belong to the header's syntax.")
    if realm != "practice":
        return not_yet(f"{realm!r} is not the realm in this challenge. Look at response.headers['WWW-Authenticate'].")
    right("the realm is 'practice'. A browser shows it in its login box; a client can use it "
           "to choose which saved credentials to send.")


# -- notebook 00, section 7 and exercise 3: recognise a real API's scheme, then write its call ---------
# Each failure as a real provider answered it, from a public record (read 2026-12-01, stored copies):
# headers and bodies copied, ids shortened. Notebook 00's References list the same sources.
STAND_IN_KEY = "demo-key-not-a-real-one"  # what the exercise's calls carry in place of a real credential


@dataclass(frozen=True)
class Recorded:
    """A provider's recorded failure, and what its docs say the call must carry."""

    title: str
    url: str          # the call of the exercise (sent nowhere: the check only prepares it)
    status: int
    headers: tuple[tuple[str, str], ...]
    body: Any         # a JSON body (dict), a text body (str), or None
    source: str       # where this failure was recorded


RECORDED = {
    "github": Recorded(
        "GitHub REST API", "https://api.github.com/user", 401, (),
        {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
        "https://github.com/hisxo/gitGraber/issues/32"),
    "stripe": Recorded(
        "Stripe", "https://api.stripe.com/v1/customers", 401, (("Www-Authenticate", 'Basic realm="Stripe"'),),
        None, "https://gist.github.com/ejcx/082fe45a5bfc7733983f (curl -I, so no body)"),
    "anthropic": Recorded(
        "Anthropic (Claude API)", "https://api.anthropic.com/v1/messages", 401, (),
        {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}},
        "https://github.com/abi/screenshot-to-code/issues/272"),
    "slack": Recorded(
        "Slack Web API", "https://slack.com/api/auth.test", 200, (), {"ok": False, "error": "not_authed"},
        "https://github.com/slackapi/python-slack-sdk/issues/1012 (the body; the status 200 as "
        "https://github.com/jolicode/slack-php-api/issues/47 reports it)"),
    "azure_apim": Recorded(
        "Azure API Management", "https://contoso.azure-api.net/orders", 401,
        (("WWW-Authenticate", 'AzureApiManagementKey realm="https://contoso.azure-api.net/orders",'
                              'name="Ocp-Apim-Subscription-Key",type="header"'),),
        {"statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to "
         "include subscription key when making requests to an API."},
        "https://github.com/MicrosoftDocs/SupportArticles-docs/blob/main/support/azure/api-mgmt/availability/"
        "unauthorized-errors-invoke-apis.md (Microsoft's troubleshooting article: the realm is its "
        "instance's URL, here this example's)"),
    "google_oauth": Recorded(
        "Google APIs, OAuth 2.0", "https://people.googleapis.com/v1/people/me", 401,
        (("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/", error="invalid_token"'),),
        {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                   "status": "UNAUTHENTICATED"}},
        "https://github.com/codenameone/CodenameOne/issues/3135"),
    "entra_id": Recorded(
        "Microsoft Entra ID (Graph)", "https://graph.microsoft.com/v1.0/me", 401,
        (("WWW-Authenticate", 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
          'oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3Nl'
          'bnRpYWwiOnRydWUsInZhbHVlIjoiY3AxIn19fQ=="'),),
        None, "https://learn.microsoft.com/entra/identity-platform/claims-challenge"),
    "aws": Recorded(
        "AWS STS", "https://sts.amazonaws.com/", 403,
        (("x-amzn-RequestId", "4d2a9d3c-…"), ("Content-Type", "text/xml")),
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        "<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid"
        "</Message></Error><RequestId>4d2a9d3c-…</RequestId></ErrorResponse>",
        "https://github.com/aws-azure-login/aws-azure-login/issues/251"),
}
EXERCISE = ("github", "stripe", "anthropic", "slack", "azure_apim")  # exercise 3's calls


def recorded_failures() -> dict[str, requests.Response]:
    """The recorded failures as requests.Response objects (built here: nothing is sent)."""
    return {name: _as_response(recorded) for name, recorded in RECORDED.items()}


def _as_response(recorded: Recorded) -> requests.Response:
    raw_headers = urllib3.HTTPHeaderDict()
    for name, value in recorded.headers:
        raw_headers.add(name, value)
    response = requests.Response()
    response.status_code, response.url = recorded.status, recorded.url
    response.reason = HTTPStatus(recorded.status).phrase
    response.raw = urllib3.HTTPResponse(body=b"", headers=raw_headers, status=recorded.status,
                                        preload_content=False)
    response.headers = CaseInsensitiveDict(raw_headers.itermerged())
    if isinstance(recorded.body, dict):
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(recorded.body).encode()
    else:
        response._content = (recorded.body or "").encode()
    return response


def scheme_calls(answers: Any) -> None:
    """00, exercise 3: for each recorded failure, the scheme it asks for and the call that sends the key.

    `answers` maps a provider's name to (scheme, requests.Request). The check prepares each request
    (nothing is sent) and looks at where the stand-in key went, as the provider would.
    """
    if placeholder(answers):
        return
    if not isinstance(answers, dict):
        return not_yet(f"`answers` should be a dict, provider name -> (scheme, request), not {a_kind(answers)}.")
    for name in EXERCISE:
        problem = _answer_problem(name, answers.get(name, _MISSING))
        if problem:
            return not_yet(f"{name}: {problem}")
    right("five schemes named from their failures, and each key where its docs want it: "
          "never in the URL, the scheme word where one is wanted.")


_MISSING = object()
SCHEME_WORDS = {  # provider: (the schemes the docs allow, lower-cased), what the failure showed
    "github": ({"bearer", "token"}, "a 401 with no challenge; GitHub's docs: Authorization: Bearer (or token)"),
    "stripe": ({"basic", "bearer"}, 'the challenge Basic realm="Stripe": the key as the user name'),
    "anthropic": ({"x-api-key", "api key"}, "the body says 'invalid x-api-key': a key in the x-api-key header"),
    "slack": ({"bearer"}, "status 200 with \"ok\": false, \"not_authed\"; Slack's docs: Authorization: Bearer"),
    "azure_apim": ({"ocp-apim-subscription-key", "api key", "subscription key"},
                   "the challenge AzureApiManagementKey ..., name=\"Ocp-Apim-Subscription-Key\", "
                   "type=\"header\": the key in that header"),
}


def _names(scheme: str, allowed: set[str]) -> bool:
    """Whether `scheme` names one of `allowed`, any case: a scheme word, or a key header by its name
    or as an API key, with "header" after it or not ("API key header", "X-API-Key"), "the" before."""
    words = scheme.lower().replace("_", " ").split()
    if words[:1] in (["the"], ["an"], ["a"]):
        words = words[1:]
    if words[-1:] == ["header"] and "api key" in allowed:  # only a key goes in a header of its own
        words = words[:-1]
    named = " ".join(words)
    return named in allowed or (named == "api-key" and "api key" in allowed)


def _answer_problem(name: str, answer: Any) -> str:
    if answer is _MISSING:
        return f"`answers` has no {name!r} entry."
    if not (isinstance(answer, tuple) and len(answer) == 2):
        return "each answer is a pair: (scheme, requests.Request(...))."
    scheme, request = answer
    allowed, shown = SCHEME_WORDS[name]
    if not isinstance(scheme, str) or not _names(scheme, allowed):
        return f"{scheme!r} is not the scheme: {shown}."
    if not isinstance(request, (requests.Request, requests.PreparedRequest)):
        return f"the second item should be a requests.Request(...), not {a_kind(request)}."
    try:
        prepared = request.prepare() if isinstance(request, requests.Request) else request
    except Exception as error:  # the learner's request: feedback, not a traceback
        return f"requests could not prepare that request ({type(error).__name__}: {one_line(error)})."
    return _call_problem(name, prepared)


def _call_problem(name: str, prepared: requests.PreparedRequest) -> str:
    expected = urlsplit(RECORDED[name].url)
    url = urlsplit(prepared.url or "")
    if url.scheme != "https" or url.hostname != expected.hostname:
        return f"call {RECORDED[name].url}, over https (that went to {url.scheme}://{url.hostname})."
    try:
        port = url.port
    except ValueError:
        port = -1
    if port not in (None, 443) or url.path != expected.path:
        return f"call {RECORDED[name].url} as it is written (that went to {url.netloc[:40]}{url.path[:40]})."
    if prepared.method not in METHODS[name]:
        return f"this call is {' or '.join(sorted(METHODS[name]))} {RECORDED[name].url}, not {prepared.method}."
    if STAND_IN_KEY in unquote(prepared.url or "") or credentials_in_url(prepared.url):
        note = (" Azure API Management accepts subscription-key= in the query, but reads the header first: "
                "send the header." if name == "azure_apim" else "")
        return ("the key went in the URL. URLs are logged by servers and proxies and kept in histories; "
                f"a header is not (notebook 02, section 2).{note}")
    headers = CaseInsensitiveDict({name if isinstance(name, str) else name.decode("latin-1"):
                                   value if isinstance(value, str) else bytes(value).decode("latin-1")
                                   for name, value in prepared.headers.items()})  # bytes= values too
    carriers = [header for header, value in headers.items() if STAND_IN_KEY in _readable(header, value)]
    body = prepared.body.decode("latin-1") if isinstance(prepared.body, bytes) else str(prepared.body or "")
    if STAND_IN_KEY in unquote(body):
        if carriers:
            return (f"the key went in {carriers[0]} and in the request body: send it once, in the header "
                    "the docs name.")
        if name == "slack":
            return ("the key went in the request body. Slack reads token= from a form body, but not from "
                    "a JSON one, and this exercise wants the header: Authorization: Bearer <key>.")
        return "the key went in the request body; the docs want it in a header (the table above)."
    if not carriers:
        return f"the key is not in that request: use `key` ({STAND_IN_KEY!r}) as the credential."
    if len(carriers) > 1:
        return f"the key went in {' and '.join(carriers)}: send it once, where the docs say."
    return RULES[name](headers, carriers[0])


METHODS = {"github": {"GET"}, "stripe": {"GET"}, "anthropic": {"POST"}, "slack": {"GET", "POST"},
           "azure_apim": {"GET"}}  # the exercise's calls (Slack's methods take either)
# The API versions Anthropic's versioning page names (platform.claude.com/docs/en/api/versioning, read
# 2026-12-01): 2023-06-01 in its examples, 2026-10-21 as its current one, and "2023-01-01: Initial
# release", of which it says "Previous versions are considered deprecated and may be unavailable for new
# users".
ANTHROPIC_VERSIONS = ("2023-06-01", "2026-10-21")
ANTHROPIC_INITIAL_VERSION = "2023-01-01"
OWS = " \t"  # a recipient strips the whitespace around a field value (RFC 9110 §5.5)


def _readable(header: str, value: str) -> str:
    """A header's value, and for Basic the user:password inside it, to find the key in."""
    scheme, _, rest = value.partition(" ")
    if header.lower() == "authorization" and scheme.lower() == "basic":
        try:
            return value + " " + base64.b64decode(rest.strip(), validate=True).decode("utf-8", "replace")
        except ValueError:
            return value
    return value


def _authorization(headers: Any, carrier: str, words: set[str], provider: str, hint: str) -> str:
    """The problem with a key that belongs in Authorization with one of the scheme `words`."""
    if carrier.lower() != "authorization":
        return f"the key went in {carrier}; {provider} reads Authorization: {hint}."
    value = headers["Authorization"].strip(OWS)
    scheme, _, rest = value.partition(" ")
    rest = rest.lstrip(" ")  # RFC 6750 §2.1: "Bearer" 1*SP b64token, so more than one space is fine
    if value == STAND_IN_KEY:
        return f"Authorization holds the bare key, with no scheme word: {hint}."
    if scheme.lower() == "basic" and "basic" not in words:
        return f"that is Basic (a user name and password); {provider} wants the key as {hint}."
    if scheme.lower() == "token" and "token" not in words:
        return f"`token` is a word GitHub accepts, not {provider}: it wants {hint}."
    if scheme.lower() in words and scheme.lower() != "basic" and rest != STAND_IN_KEY == rest.strip('"\''):
        return f"the key goes bare after {scheme[:20]}, without quotes (a b64token has none, RFC 6750 §2.1)."
    if scheme.lower() not in words or (scheme.lower() != "basic" and rest != STAND_IN_KEY):
        return f"Authorization: {scheme[:20]} ... is not the form; {provider} wants {hint}."
    return ""


def _github(headers: Any, carrier: str) -> str:
    return _authorization(headers, carrier, {"bearer", "token"}, "GitHub", "Bearer <key> (token <key> also works)")


def _slack(headers: Any, carrier: str) -> str:
    return _authorization(headers, carrier, {"bearer"}, "Slack", "Bearer <key>")


def _stripe(headers: Any, carrier: str) -> str:
    hint = "Basic with the key as the user name and no password: auth=(key, '')"
    problem = _authorization(headers, carrier, {"basic", "bearer"}, "Stripe", hint)
    if problem or not headers["Authorization"].lower().startswith("basic "):
        return problem
    try:
        decoded = base64.b64decode(headers["Authorization"].strip(OWS)[6:].strip(" "), validate=True).decode()
    except ValueError:
        return f"that Basic value is not base64 of user:password. Let requests build it: {hint}."
    user, colon, password = decoded.partition(":")
    if not colon:
        return ("that Basic value has no colon: RFC 7617 §2 wants base64 of user-id \":\" password, even "
                f"with an empty password. Let requests build it: {hint}.")
    if user != STAND_IN_KEY:
        return f"the key went as the password; Stripe reads it as the user name: {hint}."
    return "" if password == "" else f"Stripe needs no password after the key: {hint}."


def _key_header(expected: str, provider: str, extra: str = ""):
    def problem(headers: Any, carrier: str) -> str:
        if carrier.lower() == "authorization":
            scheme = headers["Authorization"].partition(" ")[0]
            kind = "Basic" if scheme.lower() == "basic" else f"Authorization: {scheme[:20]}"
            return f"{kind} is not what {provider} reads: the key goes in the {expected} header, on its own."
        if carrier.lower() != expected.lower():
            return f"the key went in {carrier[:40]}; {provider}'s docs name the {expected} header."
        if headers[carrier].strip(OWS) != STAND_IN_KEY:
            return f"{expected} holds the key alone, with no scheme word or quotes."
        version = headers.get(extra, "").strip(OWS) if extra else ""
        if extra and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", version):
            return f"{provider} also asks for the {extra} header, a date such as 2023-06-01."
        use = " or ".join(ANTHROPIC_VERSIONS)
        if extra and version == ANTHROPIC_INITIAL_VERSION:
            return (f"{version} is {provider}'s initial release, which its versioning page says is "
                    f"deprecated and may be unavailable for new users: use {use}.")
        if extra and version not in ANTHROPIC_VERSIONS:
            return (f"{version} is not a version {provider}'s versioning page lists "
                    f"({', '.join(sorted((ANTHROPIC_INITIAL_VERSION, *ANTHROPIC_VERSIONS)))}): use {use}.")
        return ""
    return problem


RULES = {"github": _github, "slack": _slack, "stripe": _stripe,
         "anthropic": _key_header("x-api-key", "Anthropic", "anthropic-version"),
         "azure_apim": _key_header("Ocp-Apim-Subscription-Key", "Azure API Management")}
