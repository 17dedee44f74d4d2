"""The API-key endpoints of the practice API (notebook 02), through the in-process transport.

`GET /keys/whoami`, `GET /keys/notes`, `POST /keys/notes` and `DELETE /keys/current` are
exercised with real HTTP semantics: status, `WWW-Authenticate`, the JSON error body and the
access log. The API's own bug list (`app.errors`) must stay empty: malformed input is a
400 or 401, never a 500.
"""
from __future__ import annotations

import hashlib

import pytest
import requests

from helpers import start_practice_api
from helpers.practice_api import api_keys, demo
from helpers.practice_api.api_keys import KeyRecord

TIMEOUT = 5
CHALLENGE = 'APIKey realm="practice", header="X-API-Key"'
RO, RW1, RW2, RW0 = (demo.api_key(key_id) for key_id in ("ro-1", "rw-1", "rw-2", "rw-0"))
DEMO_KEY_STRINGS = [str(entry["key"]) for entry in demo.API_KEYS]


def error_of(response: requests.Response) -> tuple[str, str]:
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "error_description"}
    return body["error"], body["error_description"]


def get(http, api, path: str, key: str | None = None, **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers["X-API-Key"] = key
    return http.get(api.url(path), headers=headers, timeout=TIMEOUT, **kwargs)


def post_note(http, api, key: str | None, **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers["X-API-Key"] = key
    return http.post(api.url("/keys/notes"), headers=headers, timeout=TIMEOUT, **kwargs)


def revoke_current(http, api, key: str) -> requests.Response:
    return http.delete(api.url("/keys/current"), headers={"X-API-Key": key}, timeout=TIMEOUT)


def assert_unauthorized(response: requests.Response, code: str, phrase: str) -> str:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    error, description = error_of(response)
    assert error == code
    assert phrase in description, description
    return description


def assert_bad_request(response: requests.Response, phrase: str) -> str:
    assert response.status_code == 400
    assert "WWW-Authenticate" not in response.headers
    error, description = error_of(response)
    assert error == "invalid_request"
    assert phrase in description, description
    return description


def assert_no_key_in(text: str) -> None:
    for key in DEMO_KEY_STRINGS:
        assert key not in text
        assert key[12:] not in text  # not even the random part after "practice_xx_"


# -- 200: valid keys -------------------------------------------------------------------------

def test_read_only_key_says_who_and_what(http, api):
    response = get(http, api, "/keys/whoami", RO)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert "WWW-Authenticate" not in response.headers
    assert response.json() == {"key_id": "ro-1", "owner": "ada", "scopes": ["notes:read"]}
    assert_no_key_in(response.text)


@pytest.mark.parametrize("key_id", ["rw-1", "rw-2"])
def test_both_read_write_keys_are_active_during_rotation(http, api, key_id):
    key = demo.api_key(key_id)
    whoami = get(http, api, "/keys/whoami", key)
    assert whoami.status_code == 200
    assert whoami.json() == {"key_id": key_id, "owner": "ada", "scopes": ["notes:read", "notes:write"]}
    created = post_note(http, api, key, json={"text": f"written with {key_id}"})
    assert created.status_code == 201
    assert created.json()["text"] == f"written with {key_id}"


def test_read_only_key_may_list_notes(http, api):
    response = get(http, api, "/keys/notes", RO)
    assert response.status_code == 200
    assert response.json() == {"notes": []}


# -- 403: a known key without the scope ------------------------------------------------------

def test_read_only_key_cannot_write(http, api):
    response = post_note(http, api, RO, json={"text": "hello"})
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response.headers  # the key is fine; asking again will not help
    error, description = error_of(response)
    assert error == "insufficient_scope"
    assert "ro-1" in description and "'notes:write'" in description
    assert_no_key_in(response.text)
    assert api.app.notes == []


def test_scope_is_checked_before_the_body_is_read(http, api):
    """A read-only key gets 403 whatever it sends: the body is not even parsed."""
    response = post_note(http, api, RO, data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 403
    assert error_of(response)[0] == "insufficient_scope"


# -- 401: missing, unknown, revoked ----------------------------------------------------------

@pytest.mark.parametrize("method, path", [("GET", "/keys/whoami"), ("GET", "/keys/notes"), ("POST", "/keys/notes"),
                                          ("DELETE", "/keys/current")])
def test_missing_key_gets_challenge_on_every_endpoint(http, api, method, path):
    response = http.request(method, api.url(path), timeout=TIMEOUT)
    description = assert_unauthorized(response, "missing_key", "Send your API key in the X-API-Key header.")
    assert "Authorization" not in description  # no hint when no Authorization header was sent


def test_unknown_key_is_invalid_key(http, api):
    guess = "practice_rw_" + "A" * 32
    response = get(http, api, "/keys/whoami", guess)
    assert_unauthorized(response, "invalid_key", "not known")
    assert guess not in response.text


def test_truncated_copy_of_a_real_key_is_invalid_key(http, api):
    response = get(http, api, "/keys/whoami", RW1[:-1])
    assert_unauthorized(response, "invalid_key", "truncated copy")


def test_pre_revoked_key_is_revoked_key(http, api):
    response = get(http, api, "/keys/whoami", RW0)
    assert_unauthorized(response, "revoked_key", "(rw-0) was revoked")
    assert_no_key_in(response.text)


def test_pre_revoked_key_cannot_write(http, api):
    response = post_note(http, api, RW0, json={"text": "hello"})
    assert_unauthorized(response, "revoked_key", "Use its replacement")
    assert api.app.notes == []


@pytest.mark.parametrize("value", [f"Bearer {RW1}", RW1, f"ApiKey {RW1}"])
def test_key_in_authorization_gets_hint_about_x_api_key(http, api, value):
    response = get(http, api, "/keys/whoami", headers={"Authorization": value})
    description = assert_unauthorized(response, "missing_key", "X-API-Key")
    assert "You sent an Authorization header; this API reads the key from X-API-Key only." in description
    assert_no_key_in(response.text)


def test_header_name_is_case_insensitive(http, api):
    response = get(http, api, "/keys/whoami", headers={"x-api-key": RO})
    assert response.status_code == 200
    assert response.json()["key_id"] == "ro-1"


def test_header_with_underscore_is_not_read(http, api):
    """X-API_Key would collide with X-API-Key in the WSGI environ; servers drop such headers."""
    response = get(http, api, "/keys/whoami", headers={"X-API_Key": RO})
    assert_unauthorized(response, "missing_key", "X-API-Key header")


# -- rotation and revocation: DELETE /keys/current -------------------------------------------

def test_revoking_rw1_leaves_rw2_working(http, api):
    assert get(http, api, "/keys/whoami", RW1).status_code == 200

    response = revoke_current(http, api, RW1)
    assert response.status_code == 200
    assert response.json() == {"revoked": "rw-1"}
    assert_no_key_in(response.text)

    assert_unauthorized(get(http, api, "/keys/whoami", RW1), "revoked_key", "(rw-1) was revoked")
    assert_unauthorized(post_note(http, api, RW1, json={"text": "late"}), "revoked_key", "(rw-1) was revoked")
    assert_unauthorized(revoke_current(http, api, RW1), "revoked_key", "(rw-1) was revoked")

    still = get(http, api, "/keys/whoami", RW2)
    assert still.status_code == 200 and still.json()["key_id"] == "rw-2"
    assert post_note(http, api, RW2, json={"text": "after rotation"}).status_code == 201
    assert get(http, api, "/keys/whoami", RO).status_code == 200


def test_revoke_needs_a_valid_key(http, api):
    assert_unauthorized(revoke_current(http, api, "practice_rw_" + "B" * 32), "invalid_key", "not known")
    assert_unauthorized(revoke_current(http, api, RW0), "revoked_key", "was revoked")
    assert [record.revoked for record in api.app.keys.records.values()].count(True) == 1  # rw-0 only


def test_get_on_revoke_endpoint_is_405(http, api):
    response = get(http, api, "/keys/current", RW1)
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE"
    assert error_of(response)[0] == "method_not_allowed"
    assert get(http, api, "/keys/whoami", RW1).status_code == 200  # nothing was revoked


def test_revoking_in_one_api_leaves_a_fresh_one_alone(http, api):
    assert revoke_current(http, api, RW1).status_code == 200
    assert get(http, api, "/keys/whoami", RW1).status_code == 401

    fresh = start_practice_api()  # what re-running a notebook's setup cell does
    try:
        response = get(http, fresh, "/keys/whoami", RW1)
        assert response.status_code == 200
        assert response.json()["key_id"] == "rw-1"
        assert get(http, fresh, "/keys/whoami", RW0).status_code == 401  # pre-revoked stays revoked
    finally:
        fresh.stop()
    assert fresh.app.errors == []
    # the module's demo records were copied, never changed
    assert {record.key_id: record.revoked for record in api_keys.DEMO_KEYS.values()} == {
        "ro-1": False, "rw-1": False, "rw-2": False, "rw-0": True}


# -- 400: the key in the URL ------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(api_keys.QUERY_NAMES))
def test_key_in_query_string_is_400_and_lands_in_the_access_log(http, api, name):
    response = get(http, api, "/keys/whoami", params={name: RO})
    description = assert_bad_request(response, "Never put an API key in the URL")
    assert f"'{name}='" in description and "X-API-Key header" in description
    assert_no_key_in(response.text)
    # The lesson: the server refused it, but the URL, key included, is already in its log.
    line = api.app.access_log[-1]
    assert f'"GET /keys/whoami?{name}={RO} HTTP/1.1" 400 ' in line


@pytest.mark.parametrize("name", sorted(api_keys.QUERY_NAMES))
def test_key_in_query_string_is_400_even_with_the_header(http, api, name):
    response = get(http, api, "/keys/whoami", RO, params={name: RO})
    assert_bad_request(response, "Never put an API key in the URL")
    assert f"{name}={RO}" in api.app.access_log[-1]


@pytest.mark.parametrize("query", ["API_KEY=x", "ApiKey=x", "page=2&Key=x", "X-Api-Key=", "access_key"])
def test_key_names_in_query_are_matched_case_insensitively_even_without_a_value(http, api, query):
    response = http.get(api.url("/keys/whoami?" + query), headers={"X-API-Key": RO}, timeout=TIMEOUT)
    assert_bad_request(response, "Never put an API key in the URL")
    assert query in api.app.access_log[-1]


@pytest.mark.parametrize("method, path", [("GET", "/keys/notes"), ("POST", "/keys/notes"),
                                          ("DELETE", "/keys/current")])
def test_key_in_query_string_is_refused_on_every_endpoint(http, api, method, path):
    response = http.request(method, api.url(path), params={"api_key": RW1}, headers={"X-API-Key": RW1},
                            json={"text": "x"}, timeout=TIMEOUT)
    assert_bad_request(response, "Never put an API key in the URL")
    assert api.app.notes == []
    assert get(http, api, "/keys/whoami", RW1).status_code == 200  # DELETE did not revoke


def test_other_query_parameters_are_fine(http, api):
    response = get(http, api, "/keys/whoami", RO, params={"page": "2", "monkey": "x", "keys": "y"})
    assert response.status_code == 200
    assert "?page=2&monkey=x&keys=y " in api.app.access_log[-1]


@pytest.mark.parametrize("name", sorted(api_keys.QUERY_NAMES))
def test_recorded_call_masks_a_key_sent_in_the_query(http, api, name):
    """`api.calls` is what notebooks display: its repr masks secrets, so it must mask every
    query name the server itself treats as an API key (api_keys.QUERY_NAMES)."""
    get(http, api, "/keys/whoami", params={name: RO})
    shown = repr(api.calls[-1])
    assert RO not in shown, shown
    assert f"{name}=<hidden>" in shown


# -- 400: malformed keys ----------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    pytest.param("", id="empty"),
    pytest.param("k" * (api_keys.MAX_KEY_LENGTH + 1), id="too-long"),
    pytest.param("k" * 10_000, id="far-too-long"),
    pytest.param("practice_ro_clé", id="non-ascii"),
    pytest.param("practice_ro_\x00abc", id="nul"),
    pytest.param("practice_ro\tabc", id="tab"),
    pytest.param("practice_ro_\x7fabc", id="del"),
    pytest.param("practice_ro_\x1b[31m", id="escape"),
])
def test_malformed_key_is_400(http, api, key):
    response = get(http, api, "/keys/whoami", key)
    assert_bad_request(response, "does not hold a well-formed key")
    if key:
        assert key not in response.text


def test_longest_allowed_key_is_looked_up(http, api):
    response = get(http, api, "/keys/whoami", "k" * api_keys.MAX_KEY_LENGTH)
    assert_unauthorized(response, "invalid_key", "not known")


# -- POST /keys/notes: the body ---------------------------------------------------------------

def test_note_is_created_with_201_and_location(http, api):
    response = post_note(http, api, RW1, json={"text": "Grüße, €uro ✓"})
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    note = response.json()
    assert note == {"id": 1, "owner": "ada", "text": "Grüße, €uro ✓"}
    assert response.headers["Location"] == "/keys/notes/1"
    second = post_note(http, api, RW2, json={"text": "two"})
    assert second.json()["id"] == 2
    assert second.headers["Location"] == "/keys/notes/2"


def test_location_of_a_created_note_can_be_fetched(http, api):
    """RFC 9110 §15.3.2: Location identifies the created resource, so GET on it finds the note."""
    created = post_note(http, api, RW1, json={"text": "find me"})
    assert created.status_code == 201
    response = http.get(api.url(created.headers["Location"]), headers={"X-API-Key": RO}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json() == created.json()


@pytest.mark.parametrize("length, status", [(1, 201), (500, 201), (501, 400)])
def test_note_length_limits(http, api, length, status):
    response = post_note(http, api, RW1, json={"text": "n" * length})
    assert response.status_code == status
    if status == 400:
        assert_bad_request(response, "1 to 500 characters")


@pytest.mark.parametrize("kwargs, phrase", [
    pytest.param({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, "not valid JSON",
                 id="bad-json"),
    pytest.param({"data": b"", "headers": {"Content-Type": "application/json"}}, "not valid JSON", id="empty-json"),
    pytest.param({"data": b'{"text": "\xff"}', "headers": {"Content-Type": "application/json"}}, "not valid JSON",
                 id="not-utf8"),
    pytest.param({"data": {"text": "hello"}}, "Content-Type: application/json", id="form"),
    pytest.param({"data": b'{"text": "hello"}', "headers": {"Content-Type": "text/plain"}},
                 "Content-Type: application/json", id="text-plain"),
    pytest.param({"data": b'{"text": "hello"}'}, "Content-Type: application/json", id="no-content-type"),
    pytest.param({"json": ["hello"]}, "must be an object", id="array"),
    pytest.param({"json": "hello"}, "must be an object", id="string"),
    pytest.param({"json": {}}, "1 to 500 characters", id="no-text"),
    pytest.param({"json": {"note": "hello"}}, "1 to 500 characters", id="wrong-field"),
    pytest.param({"json": {"text": ""}}, "1 to 500 characters", id="empty-text"),
    pytest.param({"json": {"text": None}}, "1 to 500 characters", id="null-text"),
    pytest.param({"json": {"text": 42}}, "1 to 500 characters", id="number-text"),
    pytest.param({"json": {"text": ["a"]}}, "1 to 500 characters", id="list-text"),
    pytest.param({"data": b'{"text": NaN}', "headers": {"Content-Type": "application/json"}}, "1 to 500 characters",
                 id="nan-text"),
    pytest.param({"data": b'{"text": ' + b"1" * 5000 + b"}", "headers": {"Content-Type": "application/json"}},
                 "not valid JSON", id="huge-int"),
])
def test_bad_note_bodies_are_400(http, api, kwargs, phrase):
    response = post_note(http, api, RW1, **kwargs)
    assert_bad_request(response, phrase)
    assert api.app.notes == []


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_deeply_nested_json_is_400_not_500(http, api, depth):
    """A 100 kB body of '[' is valid-looking input any client can send; json.loads raises
    RecursionError on it, which must become a 400 like any other bad JSON."""
    body = b'{"text": ' + b"[" * depth + b"]" * depth + b"}"
    response = post_note(http, api, RW1, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert error_of(response)[0] == "invalid_request"
    assert api.app.notes == []


# -- GET /keys/notes: per owner ---------------------------------------------------------------

def test_notes_are_listed_per_owner(http, api):
    bob_key = "practice_test_bob_" + "b" * 24  # a test-only key for a second owner
    api.app.keys.records[hashlib.sha256(bob_key.encode()).hexdigest()] = KeyRecord(
        "bob-1", "bob", ("notes:read", "notes:write"))

    assert post_note(http, api, RW1, json={"text": "ada one"}).status_code == 201
    assert post_note(http, api, bob_key, json={"text": "bob one"}).status_code == 201
    assert post_note(http, api, RW2, json={"text": "ada two"}).status_code == 201

    ada_view = [get(http, api, "/keys/notes", key).json() for key in (RO, RW1, RW2)]
    expected = {"notes": [{"id": 1, "owner": "ada", "text": "ada one"}, {"id": 3, "owner": "ada", "text": "ada two"}]}
    assert ada_view == [expected] * 3  # every key of one owner sees the owner's notes
    bob_view = get(http, api, "/keys/notes", bob_key)
    assert bob_view.status_code == 200
    assert bob_view.json() == {"notes": [{"id": 2, "owner": "bob", "text": "bob one"}]}


def test_listing_notes_needs_a_valid_key(http, api):
    assert post_note(http, api, RW1, json={"text": "secret"}).status_code == 201
    for key, code in ((None, "missing_key"), (RW0, "revoked_key"), ("practice_x", "invalid_key")):
        response = get(http, api, "/keys/notes", key)
        assert_unauthorized(response, code, "")
        assert "secret" not in response.text


# -- the key store: hashes only ---------------------------------------------------------------

def test_store_holds_hashes_only(api):
    store = api.app.keys
    dumped = repr({digest: vars(record) for digest, record in store.records.items()}) + repr(vars(store))
    for key in DEMO_KEY_STRINGS:
        assert key not in dumped
    for digest in store.records:
        assert len(digest) == 64 and int(digest, 16) >= 0  # SHA-256, hex
    assert not any(key in repr(vars(api_keys)) for key in DEMO_KEY_STRINGS)


@pytest.mark.parametrize("entry", demo.API_KEYS, ids=[str(entry["key_id"]) for entry in demo.API_KEYS])
def test_every_demo_key_matches_its_stored_record(api, entry):
    digest = hashlib.sha256(str(entry["key"]).encode("utf-8")).hexdigest()
    record = api.app.keys.records[digest]
    assert record.key_id == entry["key_id"]
    assert list(record.scopes) == entry["scopes"]
    assert record.revoked is bool(entry.get("revoked", False))
    assert record.owner == "ada"


def test_store_has_no_records_without_a_demo_key(api):
    assert len(api.app.keys.records) == len(demo.API_KEYS)
    assert {record.key_id for record in api.app.keys.records.values()} == {e["key_id"] for e in demo.API_KEYS}


def test_unknown_demo_key_id_raises():
    with pytest.raises(KeyError, match="rw-9"):
        demo.api_key("rw-9")


def test_a_note_that_does_not_exist_is_404_json(http, api):
    response = http.get(api.url("/keys/notes/999"), headers={"X-API-Key": RO}, timeout=TIMEOUT)
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    unauthenticated = http.get(api.url("/keys/notes/1"), timeout=TIMEOUT)
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize("query", [f"token={RO}", f"access_token={RO}", f"q={RW0}", f"x=1&auth={RW2}%20"])
def test_a_key_in_the_url_under_any_name_is_400(http, api, query):
    """Refused by value too: ?token=<key> is written to the same logs as ?api_key=<key>."""
    response = http.get(api.url("/keys/whoami") + "?" + query, headers={"X-API-Key": RO}, timeout=TIMEOUT)
    assert response.status_code == 400 and "Never put an API key in the URL" in response.json()["error_description"]
    assert RO not in response.text and RW2 not in response.text


def test_an_ordinary_query_value_is_not_taken_for_a_key(http, api):
    response = http.get(api.url("/keys/whoami"), params={"token": "abc", "page": "2"}, headers={"X-API-Key": RO},
                        timeout=TIMEOUT)
    assert response.status_code == 200
