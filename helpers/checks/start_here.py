"""Checks for notebook 00, Start here."""
from __future__ import annotations

import weakref
from typing import Any
from urllib.parse import urlsplit

import requests

from helpers.viewers import a_kind
from helpers.checks.feedback import credentials_in_url, not_yet, placeholder, right, sent_problem, sent_with
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
