"""Notebook 02's checks against plausible insecure answers, and the netrc facts that 01, 02 and the
checks state, each shown by a real run against the practice API with HOME pointed at a temporary
folder (the developer's own ~/.netrc is never read)."""
from __future__ import annotations

import base64
import json

import nbformat
import pytest
import requests

from conftest import ROOT, assert_not_yet, assert_right
from helpers import checks, serve_practice_api
from helpers.practice_api import demo
from test_checks_api_keys import APIKeyAuth  # the notebook's auth class

READ_KEY = demo.api_key("ro-1")
NEW_KEY = demo.api_key("rw-2")
NETRC_ENTRY = "machine api.practice.test login grace password from-the-netrc-file\n"


@pytest.fixture
def home_netrc(tmp_path, monkeypatch):
    """A HOME whose netrc file has an entry for the practice API; NETRC unset, as on most machines."""
    def write(name: str = ".netrc") -> None:
        (tmp_path / name).write_text(NETRC_ENTRY, encoding="utf-8")
        (tmp_path / name).chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETRC", raising=False)
    return write


def basic_user(prepared: requests.PreparedRequest) -> str | None:
    header = prepared.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    return base64.b64decode(header[6:]).decode("utf-8").partition(":")[0]


# -- the facts, by a real run ----------------------------------------------------------------

@pytest.mark.parametrize("auth", [("ada", demo.password_of("ada")), APIKeyAuth(READ_KEY)], ids=["basic", "api-key"])
def test_session_auth_wins_over_netrc_on_the_first_request_only(api, home_netrc, auth):
    home_netrc()
    session = requests.Session()
    session.auth = auth
    first = session.get(api.url("/basic/whoami"), timeout=5)
    assert basic_user(first.request) in (None, "ada")  # netrc did not touch the first request
    followed = session.get(api.url("/redirect/same-host"), timeout=5)
    assert [r.status_code for r in followed.history] == [302]
    assert followed.url == api.url("/headers")  # the same host
    assert basic_user(followed.request) == "grace"  # ...and netrc's entry went out all the same


def test_trust_env_false_or_no_redirects_keep_netrc_out(api, home_netrc):
    home_netrc()
    session = requests.Session()
    session.auth = APIKeyAuth(READ_KEY)
    held = session.get(api.url("/redirect/same-host"), timeout=5, allow_redirects=False)
    assert held.status_code == 302 and "Authorization" not in held.request.headers
    session.trust_env = False
    followed = session.get(api.url("/redirect/same-host"), timeout=5)
    assert "Authorization" not in followed.request.headers


def test_underscore_netrc_is_read_on_every_os(api, home_netrc):
    """requests tries ~/.netrc, then ~/_netrc (NETRC_FILES), on Linux and macOS too, not only on Windows."""
    home_netrc("_netrc")
    assert requests.utils.NETRC_FILES == (".netrc", "_netrc")
    response = requests.get(api.url("/"), timeout=5)
    assert basic_user(response.request) == "grace"


def cell_text(name: str) -> str:
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return " ".join(" ".join(cell.source.split()) for cell in notebook.cells if cell.cell_type == "markdown")


def test_the_notebooks_state_those_facts():
    basic, keys = cell_text("01-basic-auth.ipynb"), cell_text("02-api-keys.ipynb")
    assert "on the first request only" in basic and "even to the same host" in basic
    assert "`~/_netrc` on Windows" not in keys
    assert "on every operating system" in keys


def test_the_key_session_hint_does_not_promise_that_netrc_is_never_read(feedback):
    session = requests.Session()
    session.headers["X-API-Key"] = NEW_KEY
    output = feedback(checks.key_session, session)
    assert_not_yet(output, "this exercise asks for session.auth")
    assert "never reads" not in output
    assert "redirect" in output


# -- read_notes (exercise 1): real calls, wrong ways ------------------------------------------

def right_call(api, http):
    return http.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY}, timeout=5)


WRONG_CALLS = {
    "no-timeout": (lambda api, http: http.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY}),
                   "has no timeout="),
    "timeout-none": (lambda api, http: http.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY},
                                                timeout=None), "has no timeout="),
    "read-timeout-none": (lambda api, http: http.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY},
                                                     timeout=(3.05, None)), "waits forever"),
    "verify-false": (lambda api, http: http.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY},
                                                timeout=5, verify=False), "verify=False"),
    "key-in-url": (lambda api, http: http.get(api.url("/keys/notes"), params={"api_key": READ_KEY}, timeout=5),
                   "the key went in the URL"),
    "key-as-userinfo": (lambda api, http: http.get(api.url("/keys/notes").replace("https://", f"https://{READ_KEY}@"),
                                                   headers={"X-API-Key": READ_KEY}, timeout=5),
                        "the key went in the URL"),
    "bearer": (lambda api, http: http.get(api.url("/keys/notes"), headers={"Authorization": f"Bearer {READ_KEY}"},
                                          timeout=5), "Authorization: Bearer"),
}


def test_read_notes_right_call_is_accepted(feedback, api, http):
    assert_right(feedback(checks.read_notes, right_call(api, http)))


@pytest.mark.parametrize("name", list(WRONG_CALLS))
def test_read_notes_wrong_calls_are_refused(feedback, api, http, name):
    call, hint = WRONG_CALLS[name]
    assert_not_yet(feedback(checks.read_notes, call(api, http)), hint)


def test_read_notes_over_plain_http_is_refused(feedback, http):
    with serve_practice_api() as server:
        response = http.get(server.url("/keys/notes"), headers={"X-API-Key": READ_KEY}, timeout=5)
    assert response.status_code == 200
    assert_not_yet(feedback(checks.read_notes, response), "plain http://")


# -- key_session (exercise 2) ------------------------------------------------------------------

def test_key_session_without_certificate_checks_is_refused(feedback):
    session = requests.Session()
    session.auth = APIKeyAuth(NEW_KEY)
    session.verify = False
    assert_not_yet(feedback(checks.key_session, session), "session.verify = False")


def test_key_session_whose_auth_prints_the_key_is_refused(feedback):
    class Chatty(APIKeyAuth):
        def __call__(self, request):
            request = super().__call__(request)
            print("sending", dict(request.headers))
            return request

    session = requests.Session()
    session.auth = Chatty(NEW_KEY)
    assert_not_yet(feedback(checks.key_session, session), "printed or logged the key")


def test_key_session_whose_auth_logs_the_key_to_stderr_is_refused(feedback):
    import sys

    class Logging(APIKeyAuth):
        def __call__(self, request):
            sys.stderr.write(json.dumps({"key": self.key}) + "\n")
            return super().__call__(request)

    session = requests.Session()
    session.auth = Logging(NEW_KEY)
    assert_not_yet(feedback(checks.key_session, session), "printed or logged the key")


def test_key_session_whose_auth_logs_the_key_with_logging_is_refused(feedback):
    """A logging handler keeps the stream it was given, so redirecting sys.stderr alone misses it."""
    import logging
    import sys

    handler = logging.StreamHandler(sys.__stderr__)
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    class Logging(APIKeyAuth):
        def __call__(self, request):
            logging.info("using key %s", self.key)
            return super().__call__(request)

    session = requests.Session()
    session.auth = Logging(NEW_KEY)
    try:
        assert_not_yet(feedback(checks.key_session, session), "printed or logged the key")
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)


def test_logging_is_back_as_it_was_after_a_check(feedback):
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    session = requests.Session()
    session.auth = APIKeyAuth(NEW_KEY)
    assert_right(feedback(checks.key_session, session))
    assert root.handlers == handlers and root.level == level


def test_key_session_with_the_key_as_bytes_is_accepted(feedback):
    """requests sends a bytes header value as it is: key.encode() is a right answer too."""
    class BytesKey(APIKeyAuth):
        def __call__(self, request):
            request.headers["X-API-Key"] = self.key.encode("ascii")
            return request

    session = requests.Session()
    session.auth = BytesKey(NEW_KEY)
    assert_right(feedback(checks.key_session, session), "sends rw-2 in X-API-Key")


def test_a_bytes_key_reaches_the_practice_api(http):
    """Over a real connection: requests writes the bytes as they are."""
    with serve_practice_api() as server:
        response = http.get(server.url("/keys/whoami"), headers={"X-API-Key": NEW_KEY.encode("ascii")}, timeout=5)
    assert response.status_code == 200 and response.json()["key_id"] == "rw-2"


@pytest.mark.parametrize("verify", [0, "", None], ids=["zero", "empty-string", "none"])
def test_key_session_with_any_false_verify_is_refused(feedback, verify):
    session = requests.Session()
    session.auth = APIKeyAuth(NEW_KEY)
    session.verify = verify
    assert_not_yet(feedback(checks.key_session, session), f"session.verify = {verify!r} turns off")


@pytest.mark.parametrize("verify", [0, ""], ids=["zero", "empty-string"])
def test_read_notes_with_any_false_verify_is_refused(feedback, api, http, verify):
    response = http.get(api.url("/keys/notes"), headers={"X-API-Key": READ_KEY}, timeout=5, verify=verify)
    assert_not_yet(feedback(checks.read_notes, response), f"verify={verify!r} turns off the certificate check")


def test_next_step_400_is_an_error_not_a_key_problem(feedback):
    """Section 4's table: 400 means a malformed request (a key in the URL, say): fix the code."""
    def answer(response):
        return "fix-key" if response.status_code == 400 else {401: "fix-key", 403: "need-scope", 429: "slow-down"}.get(
            response.status_code, "ok" if 200 <= response.status_code < 300 else "error")

    output = feedback(checks.next_step, answer)
    assert_not_yet(output, "for a 400 Bad Request")
    assert "'error'" in output


def test_next_step_400_is_what_the_practice_api_sends_for_a_key_in_the_url(api, http):
    response = http.get(api.url("/keys/notes"), params={"api_key": READ_KEY}, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
