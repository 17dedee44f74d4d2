"""The checks of notebook 02 (API keys): right answers get "✓ Right", the `...` placeholder
and typical wrong answers get "✗ Not yet" with their specific hint. Checks never raise, and
never print a key."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import requests

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.practice_api import demo

TIMEOUT = 5
READ_KEY = demo.api_key("ro-1")
OLD_KEY = demo.api_key("rw-1")
NEW_KEY = demo.api_key("rw-2")
REVOKED_KEY = demo.api_key("rw-0")
ALL_KEYS = [READ_KEY, OLD_KEY, NEW_KEY, REVOKED_KEY]
PLACEHOLDER_HINT = "replace the `...` in the cell"


class APIKeyAuth(requests.auth.AuthBase):
    """The notebook's auth class."""

    def __init__(self, key: str, header: str = "X-API-Key") -> None:
        self.key = key
        self.header = header

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self.key
        return request

    def __repr__(self) -> str:
        return "APIKeyAuth(key='••••••••')"


@pytest.mark.parametrize("check", [checks.read_notes, checks.key_session, checks.next_step])
@pytest.mark.parametrize("answer", [..., None])
def test_placeholder(feedback, check, answer):
    assert_not_yet(feedback(check, answer), PLACEHOLDER_HINT)


def test_checks_are_exported():
    from helpers.checks import api_keys
    assert sorted(api_keys.__all__) == ["key_session", "next_step", "read_notes"]


# -- read_notes (exercise 1) ------------------------------------------------------------------

@pytest.mark.parametrize("how", ["headers", "auth"])
def test_read_notes_right(feedback, http, api, how):
    kwargs = {"headers": {"X-API-Key": READ_KEY}} if how == "headers" else {"auth": APIKeyAuth(READ_KEY)}
    response = http.get(api.url("/keys/notes"), timeout=TIMEOUT, **kwargs)
    assert response.status_code == 200
    assert_right(feedback(checks.read_notes, response), "read-only key ro-1 in the X-API-Key header")


@pytest.mark.parametrize("name", ["api_key", "apikey", "key", "k"])
def test_read_notes_key_in_url(feedback, http, api, name):
    response = http.get(api.url("/keys/notes"), params={name: READ_KEY}, timeout=TIMEOUT)
    output = feedback(checks.read_notes, response)
    assert_not_yet(output, f"the key went in the URL ('{name}=' in the query string)")
    assert "Send the key in the X-API-Key header" in output


def test_read_notes_key_in_url_and_header(feedback, http, api):
    response = http.get(api.url("/keys/notes"), params={"api_key": READ_KEY}, headers={"X-API-Key": READ_KEY},
                        timeout=TIMEOUT)
    assert_not_yet(feedback(checks.read_notes, response), "the key went in the URL")


def test_read_notes_key_in_path(feedback, http, api):
    response = http.get(api.url(f"/keys/notes/{READ_KEY}"), headers={"X-API-Key": READ_KEY}, timeout=TIMEOUT)
    assert_not_yet(feedback(checks.read_notes, response), "the key went in the URL (in the path)")


def test_read_notes_bearer(feedback, http, api):
    response = http.get(api.url("/keys/notes"), headers={"Authorization": f"Bearer {READ_KEY}"}, timeout=TIMEOUT)
    assert response.status_code == 401
    output = feedback(checks.read_notes, response)
    assert_not_yet(output, "as 'Authorization: Bearer ...'")
    assert "X-API-Key header only" in output


def test_read_notes_basic(feedback, http, api):
    response = http.get(api.url("/keys/notes"), auth=("ada", READ_KEY), timeout=TIMEOUT)
    assert_not_yet(feedback(checks.read_notes, response), "Basic credentials")


def test_read_notes_other_header(feedback, http, api):
    response = http.get(api.url("/keys/notes"), headers={"Api-Key": READ_KEY}, timeout=TIMEOUT)
    assert_not_yet(feedback(checks.read_notes, response), "the key went in a 'Api-Key' header")


def test_read_notes_no_key(feedback, http, api):
    response = http.get(api.url("/keys/notes"), timeout=TIMEOUT)
    assert_not_yet(feedback(checks.read_notes, response), "no X-API-Key header")


def test_read_notes_unknown_key(feedback, http, api):
    response = http.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY[:-3]}, timeout=TIMEOUT)
    output = feedback(checks.read_notes, response)
    assert_not_yet(output, "does not know the key you sent (401 invalid_key)")
    assert "truncated copy" in output


def test_read_notes_revoked_key(feedback, http, api):
    response = http.get(api.url("/keys/notes"), headers={"X-API-Key": REVOKED_KEY}, timeout=TIMEOUT)
    assert_not_yet(feedback(checks.read_notes, response), "rw-0 was revoked long ago")


@pytest.mark.parametrize("key, key_id", [(OLD_KEY, "rw-1"), (NEW_KEY, "rw-2")])
def test_read_notes_read_write_key(feedback, http, api, key, key_id):
    response = http.get(api.url("/keys/notes"), headers={"X-API-Key": key}, timeout=TIMEOUT)
    assert response.status_code == 200
    output = feedback(checks.read_notes, response)
    assert_not_yet(output, f"you used the read-write key {key_id}")
    assert "read-only key ro-1" in output


def test_read_notes_whoami(feedback, http, api):
    response = http.get(api.url("/keys/whoami"), headers={"X-API-Key": READ_KEY}, timeout=TIMEOUT)
    assert_not_yet(feedback(checks.read_notes, response), "GET /keys/notes")


def test_read_notes_wrong_path(feedback, http, api):
    response = http.get(api.url("/keys/note"), headers={"X-API-Key": READ_KEY}, timeout=TIMEOUT)
    assert_not_yet(feedback(checks.read_notes, response), "the notes are at /keys/notes")


def test_read_notes_post(feedback, http, api):
    response = http.post(api.url("/keys/notes"), json={"text": "hi"}, headers={"X-API-Key": READ_KEY},
                         timeout=TIMEOUT)
    assert response.status_code == 403
    assert_not_yet(feedback(checks.read_notes, response), "reading is a GET; this request was a POST")


def test_read_notes_json_instead_of_response(feedback, http, api):
    response = http.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY}, timeout=TIMEOUT)
    assert_not_yet(feedback(checks.read_notes, response.json()), "that looks like response.json()")


@pytest.mark.parametrize("answer, kind", [(200, "an int"), ("https://api.practice.test/keys/notes", "a str")])
def test_read_notes_not_a_response(feedback, answer, kind):
    assert_not_yet(feedback(checks.read_notes, answer), f"returns, not {kind}.")


# -- key_session (exercise 2) -----------------------------------------------------------------

def session_with(auth=None, headers=None, params=None) -> requests.Session:
    session = requests.Session()
    session.auth = auth
    session.headers.update(headers or {})
    session.params = params or {}
    return session


def test_key_session_right(feedback, api):
    session = session_with(APIKeyAuth(NEW_KEY))
    assert_right(feedback(checks.key_session, session), "sends rw-2 in X-API-Key")
    # ... and it really writes notes
    session.trust_env = False
    assert session.post(api.url("/keys/notes"), json={"text": "hi"}, timeout=TIMEOUT).status_code == 201


def test_key_session_right_with_a_function(feedback):
    def key_auth(request):
        request.headers["X-API-Key"] = NEW_KEY
        return request

    assert_right(feedback(checks.key_session, session_with(key_auth)), "sends rw-2")


def test_key_session_right_but_repr_shows_the_key(feedback):
    @dataclass
    class KeyAuth(requests.auth.AuthBase):
        key: str

        def __call__(self, request):
            request.headers["X-API-Key"] = self.key
            return request

    output = feedback(checks.key_session, session_with(KeyAuth(NEW_KEY)))
    assert_right(output, "repr(session.auth) shows the key")


def test_key_session_headers_instead_of_auth(feedback):
    output = feedback(checks.key_session, session_with(headers={"X-API-Key": NEW_KEY}))
    assert_not_yet(output, "session.headers['X-API-Key'] sends the key, but this exercise asks for session.auth")
    assert "~/.netrc" in output


def test_key_session_authorization_by_hand(feedback):
    output = feedback(checks.key_session, session_with(headers={"Authorization": f"Bearer {NEW_KEY}"}))
    assert_not_yet(output, "silently replaced by a ~/.netrc entry")


@pytest.mark.parametrize("params", [{"api_key": NEW_KEY}, [("apikey", NEW_KEY)], {"k": NEW_KEY}])
def test_key_session_params(feedback, params):
    output = feedback(checks.key_session, session_with(APIKeyAuth(NEW_KEY), params=params))
    assert_not_yet(output, "session.params puts the key")


def test_key_session_auth_puts_key_in_url(feedback):
    class QueryAuth(requests.auth.AuthBase):
        def __call__(self, request):
            request.prepare_url(request.url, {"api_key": NEW_KEY})
            return request

    assert_not_yet(feedback(checks.key_session, session_with(QueryAuth())), "your auth object puts the key in the URL")


def test_key_session_call_returns_none(feedback):
    class Forgetful(requests.auth.AuthBase):
        def __call__(self, request):
            request.headers["X-API-Key"] = NEW_KEY

    output = feedback(checks.key_session, session_with(Forgetful()))
    assert_not_yet(output, "your __call__ returns None")
    assert "return request" in output


def test_key_session_auth_that_raises_is_redacted(feedback):
    class Broken(requests.auth.AuthBase):
        def __call__(self, request):
            raise ValueError(f"cannot use {NEW_KEY}")

    output = feedback(checks.key_session, session_with(Broken()))
    assert_not_yet(output, "session.auth raised ValueError: cannot use ••••••••")


def test_key_session_bearer(feedback):
    class Bearer(requests.auth.AuthBase):
        def __call__(self, request):
            request.headers["Authorization"] = f"Bearer {NEW_KEY}"
            return request

    assert_not_yet(feedback(checks.key_session, session_with(Bearer())), "as 'Authorization: Bearer ...'")


def test_key_session_wrong_header_name(feedback):
    output = feedback(checks.key_session, session_with(APIKeyAuth(NEW_KEY, header="X-Api-Token")))
    assert_not_yet(output, "the key went in a 'X-Api-Token' header")


def test_key_session_header_name_is_case_insensitive(feedback):
    assert_right(feedback(checks.key_session, session_with(APIKeyAuth(NEW_KEY, header="x-api-key"))))


@pytest.mark.parametrize("key, hint", [(OLD_KEY, "rw-1 (OLD_KEY), the key section 5 rotated away from"), (READ_KEY, "read-only key ro-1"),
                                       (REVOKED_KEY, "rw-0 was revoked"), (NEW_KEY[:-1], "truncated copy"),
                                       (NEW_KEY + " ", ".strip() it")])
def test_key_session_wrong_key(feedback, key, hint):
    assert_not_yet(feedback(checks.key_session, session_with(APIKeyAuth(key))), hint)


def test_key_session_class_not_instance(feedback):
    output = feedback(checks.key_session, session_with(APIKeyAuth))
    assert_not_yet(output, "session.auth holds the class APIKeyAuth itself")


def test_key_session_key_string_as_auth(feedback):
    assert_not_yet(feedback(checks.key_session, session_with(NEW_KEY)), "session.auth holds the key itself")


def test_key_session_basic_tuple(feedback):
    assert_not_yet(feedback(checks.key_session, session_with(("ada", NEW_KEY))), "Basic authentication")


def test_key_session_no_auth(feedback):
    assert_not_yet(feedback(checks.key_session, requests.Session()), "session.auth is not set")


@pytest.mark.parametrize("answer", [requests.Session, requests.session])
def test_key_session_uncalled(feedback, answer):
    assert_not_yet(feedback(checks.key_session, answer), "Call it: session = requests.Session()")


def test_key_session_auth_object_alone(feedback):
    assert_not_yet(feedback(checks.key_session, APIKeyAuth(NEW_KEY)), "that is an auth object, not a session")


def test_key_session_not_a_session(feedback):
    assert_not_yet(feedback(checks.key_session, {"X-API-Key": NEW_KEY}), "expected a requests.Session, got a dict")


# -- next_step (exercise 3) -------------------------------------------------------------------

def solution(response):
    status = response.status_code
    if 200 <= status < 300:
        return "ok"
    return {401: "fix-key", 403: "need-scope", 429: "slow-down"}.get(status, "error")


def test_next_step_right(feedback):
    assert_right(feedback(checks.next_step, solution), "403: get a key with the scope")


def test_next_step_right_on_real_responses(http, api):
    """The check's hand-made responses behave like the practice API's real ones."""
    assert solution(http.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY}, timeout=TIMEOUT)) == "ok"
    assert solution(http.get(api.url("/keys/notes"), headers={"X-API-Key": REVOKED_KEY}, timeout=TIMEOUT)) == "fix-key"
    forbidden = http.post(api.url("/keys/notes"), json={"text": "x"}, headers={"X-API-Key": READ_KEY}, timeout=TIMEOUT)
    assert solution(forbidden) == "need-scope"


def test_next_step_swapped(feedback):
    def swapped(response):
        return {401: "need-scope", 403: "fix-key"}.get(response.status_code, solution(response))

    assert_not_yet(feedback(checks.next_step, swapped), "401 and 403 are swapped")


def test_next_step_403_as_fix_key(feedback):
    def answer(response):
        return "fix-key" if response.status_code in (401, 403) else solution(response)

    output = feedback(checks.next_step, answer)
    assert_not_yet(output, "for a 403 with error insufficient_scope, it returned 'fix-key'")
    assert "a fresh copy of the same key will not help" in output


def test_next_step_retry_on_401(feedback):
    def answer(response):
        return "slow-down" if response.status_code in (401, 429) else solution(response)

    assert_not_yet(feedback(checks.next_step, answer), "The same key will fail again: 'fix-key'")


def test_next_step_only_200_is_ok(feedback):
    def answer(response):
        if response.status_code == 200:
            return "ok"
        return {401: "fix-key", 403: "need-scope", 429: "slow-down"}.get(response.status_code, "error")

    assert_not_yet(feedback(checks.next_step, answer), "for a 201 Created, it returned 'error'")


def test_next_step_response_ok(feedback):
    def answer(response):
        return "ok" if response.ok else solution(response)

    output = feedback(checks.next_step, answer)
    assert_not_yet(output, "for a 302 redirect, it returned 'ok'")
    assert "response.ok is True for redirects too" in output


def test_next_step_reads_the_body(feedback):
    def answer(response):
        error = response.json().get("error")
        return {"insufficient_scope": "need-scope", "invalid_key": "fix-key"}.get(error, solution(response))

    output = feedback(checks.next_step, answer)
    assert_not_yet(output, "for a 204 No Content (no body), your function raised")
    assert "decide on response.status_code" in output


def test_next_step_forgets_429(feedback):
    def answer(response):
        return "error" if response.status_code == 429 else solution(response)

    assert_not_yet(feedback(checks.next_step, answer), "A 429 asks you to wait")


def test_next_step_other_errors(feedback):
    def answer(response):
        return "fix-key" if response.status_code >= 400 and response.status_code not in (403, 429) else solution(response)

    assert_not_yet(feedback(checks.next_step, answer), "for a 404 Not Found, it returned 'fix-key'")


def test_next_step_wrong_case(feedback):
    assert_not_yet(feedback(checks.next_step, lambda response: solution(response).upper()), "Return exactly 'ok'")


def test_next_step_returns_a_bool(feedback):
    assert_not_yet(feedback(checks.next_step, lambda response: response.ok), "Return exactly one of: 'ok'")


def test_next_step_passed_the_result(feedback):
    assert_not_yet(feedback(checks.next_step, "ok"), "pass the function itself, not what it returns")


def test_next_step_not_callable(feedback):
    assert_not_yet(feedback(checks.next_step, 42), "pass the function itself")


def test_next_step_bodies_are_json(feedback):
    """A learner's function may read the body of the error responses."""
    seen = []

    def answer(response):
        if response.content:
            seen.append(json.loads(response.content))
        return solution(response)

    assert_right(feedback(checks.next_step, answer))
    assert {"error": "insufficient_scope"}.items() <= seen[2].items()
