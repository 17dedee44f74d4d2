"""Checks for notebook 02, API keys.

Like every check, these never raise at the learner, and they never print a key: feedback
names a key by its id (ro-1, rw-2, ...), never by its value.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests

from helpers.practice_api import demo
from helpers.checks.feedback import (MASK, PRACTICE_URL, auth_object_problem, credentials_in_url, fake_response,
                                     not_a_function, not_yet, output_captured, placeholder, query_pairs, raised,
                                     right, run, safe_repr, secret_elsewhere, sent_problem, sent_with,
                                     session_not_made, session_verify_problem, url_of)
from helpers.viewers import a_kind

__all__ = ["read_notes", "key_session", "next_step"]

HEADER = "X-API-Key"
NOTES_PATH = "/keys/notes"
KEY_PARAMETERS = {"api_key", "apikey", "api-key", "x-api-key", "key", "access_key", "token", "access_token"}
ACTIONS = ("ok", "fix-key", "need-scope", "slow-down", "error")
KEY_LIKE = re.compile(r"practice_\w+")


# -- exercise 1 ---------------------------------------------------------------------------

NETRC_WENT_ALONG = ("the key went in X-API-Key, but the request also carried an Authorization header: a call with "
                    "no auth= gets one from a ~/.netrc entry for this host (section 3), so your netrc password "
                    "went along. Pass the key as an auth object, which keeps netrc out: "
                    "auth=APIKeyAuth(READ_KEY).")

def read_notes(response: Any) -> None:
    """02, exercise 1: GET /keys/notes with the read-only key ro-1 in the X-API-Key header."""
    if placeholder(response):
        return
    if isinstance(response, (dict, list)):
        return not_yet("that looks like response.json(). Pass the response itself: checks.read_notes(response).")
    if not isinstance(response, requests.Response) or not isinstance(response.request, requests.PreparedRequest):
        return not_yet(f"`response` should hold what requests.get(...) returns, not {a_kind(response)}.")
    request = response.request
    url = urlsplit(request.url or "")
    in_url = _where_in_url(request.url)
    if in_url:
        return not_yet(f"the key went in the URL ({in_url}), and the API answered {response.status_code}. "
                       "Server logs and browser history keep URLs. Send the key in the "
                       "X-API-Key header: headers={'X-API-Key': READ_KEY}.")
    sent = request.headers.get(HEADER)
    if sent is None:
        return not_yet(_missing_header_hint(request.headers))
    if request.headers.get("Authorization"):
        return not_yet(NETRC_WENT_ALONG)
    if url.scheme != "https":
        return not_yet(f"that call went over plain http:// (to {url.hostname}), where anyone on the way reads the key. "
                       "Call the practice API started in the Setup cell, over https: api.url('/keys/notes').")
    if isinstance(sent, bytes):  # requests sends a bytes value as it is: READ_KEY.encode() works too
        sent = sent.decode("latin-1")
    if sent_with(response) is None:
        return not_yet("this response did not come from the practice API started in the Setup cell, so nothing "
                       "tells what the call sent. Run the Setup cell, then call api.url('/keys/notes').")
    problem = sent_problem(response)
    if problem:
        return not_yet(problem)
    if url.path.rstrip("/") == "/keys/whoami":
        return not_yet("that call went to /keys/whoami, which tells you which key you hold. This exercise reads "
                       "the notes: GET /keys/notes.")
    if url.path != NOTES_PATH:
        return not_yet(f"the request went to {url.path[:60]!r}; the notes are at {NOTES_PATH}.")
    if request.method != "GET":
        return not_yet(f"reading is a GET; this request was a {request.method}.")
    key_id = _key_id(sent.strip())
    if key_id is None:
        return not_yet(f"the API does not know the key you sent ({response.status_code} {_error_of(response)}). "
                       "Look for a typo, extra quotes or a truncated copy: READ_KEY is in section 1.")
    if key_id == "rw-0":
        return not_yet("rw-0 was revoked long ago (401 revoked_key). Use the read-only key ro-1 (READ_KEY).")
    if key_id != "ro-1":
        return not_yet(f"you used the read-write key {key_id}. It can read, but this exercise asks for the "
                       "read-only key ro-1 (READ_KEY): give each program the smallest key that does its job, "
                       "so that a leaked key can do less harm.")
    if response.status_code != 200:
        return not_yet(f"expected 200, got {response.status_code} {_error_of(response)}.")
    right("200 OK with the read-only key ro-1 in the X-API-Key header, and nothing secret in the URL.")


# -- exercise 2 ---------------------------------------------------------------------------

def key_session(session: Any) -> None:
    """02, exercise 2: a Session whose `auth` sends the new read-write key rw-2 in X-API-Key."""
    if placeholder(session) or session_not_made(session):
        return
    if isinstance(session, requests.auth.AuthBase):
        return not_yet("that is an auth object, not a session. Attach it to one: "
                       "session = requests.Session(); session.auth = APIKeyAuth(NEW_KEY).")
    if not isinstance(session, requests.Session):
        in_url = _where_in_url(url_of(session))
        if in_url:
            return not_yet(f"the key is in the URL ({in_url}). Server logs and browser history keep URLs. "
                           "Pass a session that sends it in the X-API-Key header instead: "
                           "session = requests.Session(); session.auth = APIKeyAuth(NEW_KEY).")
        return not_yet(f"expected a requests.Session, got {a_kind(session)}.")
    problem = session_verify_problem(session.verify, "the key")
    if problem:
        return not_yet(problem)
    leaked = _key_in_params(session.params)
    if leaked:
        return not_yet(f"session.params puts the key ({leaked}) in the URL of every request, and from there in "
                       "server logs. Use session.auth = APIKeyAuth(NEW_KEY) instead.")
    auth = session.auth
    if auth is None:
        if HEADER in session.headers:
            return not_yet("session.headers['X-API-Key'] sends the key, but this exercise asks for session.auth: "
                           "with it set, a ~/.netrc entry for the host cannot add your netrc password to the request "
                           "(it still can on a redirect, which reads netrc again: set session.trust_env = False "
                           "where an API may redirect), and auth= on one call can swap the key. "
                           "session.auth = APIKeyAuth(NEW_KEY).")
        if "Authorization" in session.headers:
            return not_yet("an Authorization header set by hand is silently replaced by a ~/.netrc entry, and "
                           "this API reads X-API-Key anyway. Set session.auth = APIKeyAuth(NEW_KEY).")
        place = secret_elsewhere(session, _looks_like_key, skip=(HEADER.lower(), "authorization"))
        if place:
            return not_yet(f"the key is in {place}; this API reads it from X-API-Key only. "
                           "Set session.auth = APIKeyAuth(NEW_KEY).")
        return not_yet("session.auth is not set. Set session.auth = APIKeyAuth(NEW_KEY): every request then carries "
                       "the key in the X-API-Key header, not in a URL, which server logs and browser history keep.")
    problem = auth_object_problem(auth, secret="key", make="APIKeyAuth(NEW_KEY)",
                                  tuple_hint="a (user, password) tuple means Basic authentication. This API wants "
                                             "the key in X-API-Key: session.auth = APIKeyAuth(NEW_KEY).")
    if problem:
        return not_yet(problem)
    if not callable(auth):
        return not_yet(f"session.auth must be callable, like APIKeyAuth(NEW_KEY); it holds {a_kind(auth)}.")
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare(method="GET", url=PRACTICE_URL + NOTES_PATH, headers=dict(session.headers))
        with output_captured() as printed:
            result = auth(prepared)
    except Exception as error:  # the learner's auth object failed: say so, never crash
        return not_yet(f"session.auth raised {type(error).__name__}: {_redact(str(error))[:200]}")
    if _looks_like_key(printed.getvalue()):
        return not_yet("your auth object printed or logged the key. Whatever a cell prints is saved in the notebook, "
                       "and in a program it lands in logs: never print or log a key (print its key_id instead).")
    if result is None:
        return not_yet("your __call__ returns None, so requests has no request left to send (it fails with "
                       "AttributeError). End __call__ with `return request`.")
    if not isinstance(result, requests.PreparedRequest):
        return not_yet(f"your __call__ returns {a_kind(result)}; return the request it was given.")
    url = urlsplit(result.url or "")
    in_url = _key_in_url(url.path, url.query)
    if in_url:
        return not_yet(f"your auth object puts the key in the URL ({in_url}), and from there in server logs. "
                       "Set request.headers['X-API-Key'] instead.")
    sent = result.headers.get(HEADER)
    if sent is None:
        return not_yet(_missing_header_hint(result.headers, exercise="session"))
    if isinstance(sent, bytes):  # requests sends a bytes value as it is: key.encode() works too
        sent = sent.decode("latin-1")
    key_id = _key_id(sent)
    if key_id is None and _key_id(sent.strip()) is not None:
        return not_yet("the X-API-Key value has spaces or a newline around the key: .strip() it.")
    if key_id is None:
        return not_yet("X-API-Key does not hold a demo key: a typo, extra quotes or a truncated copy? "
                       "NEW_KEY (rw-2) is in section 5.")
    if key_id == "rw-1":
        return not_yet("that is rw-1 (OLD_KEY), the key section 5 rotated away from: rw-2 (NEW_KEY) replaced it. "
                       "Section 5 revoked rw-1 on a provider of its own, so it still works here, but a program "
                       "switched to the new key does not go back. Use rw-2 (NEW_KEY).")
    if key_id == "rw-0":
        return not_yet("rw-0 was revoked long ago. Use the new read-write key rw-2 (NEW_KEY).")
    if key_id == "ro-1":
        return not_yet("that is the read-only key ro-1: it cannot write notes. Use rw-2 (NEW_KEY).")
    message = ("every request from this session sends rw-2 in X-API-Key, and a ~/.netrc entry adds nothing to it "
               "(a redirect reads netrc again: notebook 07).")
    if _shows_a_key(auth):
        message += (" One more thing: repr(session.auth) shows the key, so displaying it would save the key in "
                    "the notebook. Give your class a __repr__ that hides it.")
    right(message)


# -- exercise 3 ---------------------------------------------------------------------------

def next_step(function: Any) -> None:
    """02, exercise 3: map a response to what the client should do next (401 vs 403 vs 429)."""
    if placeholder(function) or not_a_function(function, "checks.next_step(next_step)", results=(str,)):
        return
    challenge = {"WWW-Authenticate": 'APIKey realm="practice", header="X-API-Key"'}
    cases = [
        (200, {}, {"notes": []}, "ok", "a 200 OK"),
        (401, challenge, _error("invalid_key", "This API key is not known."), "fix-key",
         "a 401 with error invalid_key"),
        (403, {}, _error("insufficient_scope", "This key (ro-1) may not do this."), "need-scope",
         "a 403 with error insufficient_scope"),
        (429, {"Retry-After": "30"}, _error("too_many_requests", "Slow down."), "slow-down",
         "a 429 with Retry-After: 30"),
        (401, challenge, _error("revoked_key", "This API key (rw-0) was revoked."), "fix-key",
         "a 401 with error revoked_key"),
        (201, {"Location": "/keys/notes/1"}, {"id": 1, "owner": "ada", "text": "hi"}, "ok", "a 201 Created"),
        (204, {}, None, "ok", "a 204 No Content (no body)"),
        (302, {"Location": "https://elsewhere.test/"}, None, "error", "a 302 redirect"),
        (404, {}, _error("not_found", "No endpoint here."), "error", "a 404 Not Found"),
        (500, {}, _error("server_error", "The practice API has a bug."), "error", "a 500 Internal Server Error"),
        (400, {}, _error("invalid_request", "Never put an API key in the URL ('api_key=' in the query string)."),
         "error", "a 400 Bad Request (the key was put in the URL)"),
    ]
    for status, headers, body, expected, described in cases:
        outcome = run(function, fake_response(status, headers, PRACTICE_URL + NOTES_PATH, json=body))
        if outcome.error:
            hint = " It has no body: decide on response.status_code, not on response.json()." if body is None else ""
            return not_yet(raised(described, outcome.error, hint))
        if outcome.value != expected:
            return not_yet(f"for {described}, it returned {outcome.value!r}. "
                           + _next_step_hint(status, expected, outcome.value))
    right("2xx: carry on; 401: fix or replace the key; 403: get a key with the scope, do not retry; "
          "429: wait for Retry-After; anything else: an error to handle.")


def _next_step_hint(status: int, expected: str, got: Any) -> str:
    if not isinstance(got, str) or got.strip().lower() not in ACTIONS:
        return "Return exactly one of: " + ", ".join(repr(action) for action in ACTIONS) + "."
    if got.strip().lower() == expected:
        return f"Return exactly {expected!r}: lower case, no spaces."
    if status == 401 and got == "need-scope":
        return ("401 and 403 are swapped. 401: the API does not accept the key (missing, unknown or revoked), "
                "so fix or replace it ('fix-key'). 403: the key is fine but lacks the permission ('need-scope').")
    if status == 401:
        return ("A 401 means the API does not accept the key (missing, unknown or revoked). The same key will "
                "fail again: 'fix-key'.")
    if status == 403 and got == "fix-key":
        return ("A 403 means the API knows the key, and the key lacks the permission: a fresh copy of the same "
                "key will not help. Answer 'need-scope'.")
    if status == 403:
        return "A 403 means the key lacks the permission. Retrying will not help: 'need-scope'."
    if status == 429:
        return "A 429 asks you to wait (Retry-After says how long) and try again later: 'slow-down'."
    if status == 400 and got.strip().lower() == "fix-key":
        return ("A 400 means the request is malformed (here, a key in the URL): the code must change, and a new "
                "key would fail the same way. Answer 'error', as the table in section 4 says: fix the code.")
    if expected == "ok":
        return "It is a success too: any 2xx status is 'ok' (200 <= response.status_code < 300)."
    if status == 302 and got == "ok":
        return ("response.ok is True for redirects too: it only means status < 400. "
                "Check 200 <= response.status_code < 300.")
    return "Neither the key nor the rate is the problem here: answer 'error'."


# -- helpers --------------------------------------------------------------------------------

def _key_id(value: str | None) -> str | None:
    """The id of the demo key `value` (ro-1, rw-1, rw-2, rw-0), or None."""
    for entry in demo.API_KEYS:
        if value == entry["key"]:
            return str(entry["key_id"])
    return None


def _redact(text: str) -> str:
    """`text` with every demo key, and anything that looks like one, masked."""
    for entry in demo.API_KEYS:
        text = text.replace(str(entry["key"]), MASK)
    return KEY_LIKE.sub(MASK, text)


def _looks_like_key(value: str) -> bool:
    return _key_id(value.strip()) is not None or bool(KEY_LIKE.search(value))


def _key_in_url(path: str, query: str) -> str | None:
    """Where a key sits in a URL ("'api_key=' in the query string", "the path"), or None."""
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.lower() in KEY_PARAMETERS or _looks_like_key(value):
            return f"'{name[:40]}=' in the query string"
    if _looks_like_key(unquote(path)):
        return "in the path"
    return None


def _where_in_url(url: str | None) -> str | None:
    """Where a key sits in a whole URL, user:password@ part included, or None."""
    if credentials_in_url(url):
        return "as user:password@ before the host"
    parts = urlsplit(url or "")
    return _key_in_url(parts.path, parts.query)


def _key_in_params(params: Any) -> str | None:
    for name, value in query_pairs(params):
        if name.lower() in KEY_PARAMETERS or _looks_like_key(value):
            return f"'{name[:40]}='"
    return None


def _missing_header_hint(headers: Any, exercise: str = "call") -> str:
    """Why there is no X-API-Key header, from the headers that were sent."""
    authorization = headers.get("Authorization") or ""
    scheme = authorization.partition(" ")[0].lower()
    where = "this session's requests carry" if exercise == "session" else "you sent"
    if scheme == "bearer":
        return (f"{where} the key as 'Authorization: Bearer ...'. This API reads the key from the X-API-Key "
                "header only, as its documentation (and the 401's error_description) says.")
    if scheme == "basic":
        return (f"{where} Basic credentials (from auth=(user, password) or a ~/.netrc entry) and no X-API-Key "
                "header. Send the key in X-API-Key.")
    for name, value in headers.items():
        if isinstance(value, str) and _looks_like_key(value):
            return f"the key went in a '{name[:40]}' header; this API reads it from 'X-API-Key' only."
    if exercise == "session":
        return "requests made with this session carry no X-API-Key header: set it in your auth's __call__."
    return "the request had no X-API-Key header: pass headers={'X-API-Key': READ_KEY} (or auth=APIKeyAuth(READ_KEY))."


def _shows_a_key(auth: Any) -> bool:
    text = safe_repr(auth)
    return any(str(entry["key"]) in text for entry in demo.API_KEYS)


def _error(code: str, description: str) -> dict:
    return {"error": code, "error_description": description}


def _error_of(response: requests.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except Exception:
        return ""
