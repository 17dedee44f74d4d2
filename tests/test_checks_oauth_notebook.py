"""The code notebook 04 teaches, run outside the notebook: each branch, each refusal, against stand-ins and
against the practice API. A learner copies these functions, so they are tested like helpers."""
from __future__ import annotations

import ast
import base64
import contextlib
import hashlib
import io
import json
import re
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit, urlunsplit

import nbformat
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from helpers.practice_api import demo
from helpers.practice_api.oauth import DEMO_CLIENTS, Client

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04-oauth2.ipynb"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ISSUER = "https://api.practice.test"
PASSWORD = demo.password_of("ada")


def cell_source(cell_id: str) -> str:
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.get("id") == cell_id:
            return cell.source
    raise LookupError(f"notebook 04 has no cell {cell_id!r}")


def definitions(cell_id: str, **names) -> dict:
    """The classes and functions one cell defines, without running the rest of the cell."""
    tree = ast.parse(cell_source(cell_id))
    tree.body = [node for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))]
    namespace = {"requests": requests, "time": time, "secrets": secrets, "parse_qs": parse_qs,
                 "urlsplit": urlsplit, "urlunsplit": urlunsplit, "urlencode": urlencode, "re": re,
                 "DEVICE_GRANT": DEVICE_GRANT, **names}
    exec(compile(tree, f"notebook 04, cell {cell_id}", "exec"), namespace)
    return namespace


def run_cell(cell_id: str, namespace: dict) -> str:
    """Run a whole cell in `namespace` (a cell is a module, not IPython: magics are not allowed); return what it printed."""
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(cell_source(cell_id), f"notebook 04, cell {cell_id}", "exec"), namespace)
    return printed.getvalue()


# -- section 6: poll_for_token, every branch (RFC 8628 §3.4, §3.5) ----------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.t = 1_000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


class ScriptedSession:
    """Answers each post with the next item: an exception to raise, or (status, body). Then authorization_pending."""

    def __init__(self, *script) -> None:
        self.script = list(script)
        self.posts: list[tuple[str, dict]] = []

    def post(self, url, data=None, **kwargs):
        assert kwargs.get("timeout"), "every poll needs a timeout="
        self.posts.append((url, data))
        assert len(self.posts) < 1000, "the loop never ends"
        item = self.script.pop(0) if self.script else (400, {"error": "authorization_pending"})
        if isinstance(item, BaseException):
            raise item
        status, body = item
        response = requests.Response()
        response.status_code = status
        response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        return response


TOKENS = {"access_token": "at", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt"}
PENDING = (400, {"error": "authorization_pending"})
SLOW_DOWN = (400, {"error": "slow_down"})
DEVICE = {"device_code": "dc-" + "d" * 40, "user_code": "BCDF-GHJK", "verification_uri": ISSUER + "/device",
          "expires_in": 600, "interval": 5}


@pytest.fixture
def poll():
    namespace = definitions("c60", api=None)
    clock = FakeClock()

    def run(session, device=DEVICE, lifetime=None, **options):
        deadline = clock.t + (device["expires_in"] if lifetime is None else lifetime)
        return namespace["poll_for_token"](session, ISSUER + "/oauth/token", "notes-tv", device, deadline,
                                           sleep=clock.sleep, now=clock.now, **options)

    run.clock, run.error = clock, namespace["DeviceFlowError"]
    return run


def test_poll_pending_then_tokens(poll):
    session = ScriptedSession(PENDING, PENDING, (200, TOKENS))
    assert poll(session) == TOKENS
    assert poll.clock.slept == [5, 5, 5]  # it waits `interval` before every poll, the first one too
    assert all(form == {"grant_type": DEVICE_GRANT, "device_code": DEVICE["device_code"], "client_id": "notes-tv"}
               for _url, form in session.posts)


def test_poll_slow_down_adds_5_seconds_for_good(poll):
    assert poll(ScriptedSession(PENDING, SLOW_DOWN, PENDING, SLOW_DOWN, (200, TOKENS))) == TOKENS
    assert poll.clock.slept == [5, 5, 10, 10, 15]


def test_poll_interval_defaults_to_5_seconds(poll):
    device = {key: value for key, value in DEVICE.items() if key != "interval"}
    poll(ScriptedSession((200, TOKENS)), device)
    assert poll.clock.slept == [5]


def test_poll_an_interval_of_0_still_waits_and_backs_off(poll):
    poll(ScriptedSession(requests.ReadTimeout("no answer"), requests.ReadTimeout("no answer"), (200, TOKENS)),
         {**DEVICE, "interval": 0})
    assert 0 < poll.clock.slept[0] < poll.clock.slept[1] < poll.clock.slept[2], poll.clock.slept


def test_poll_keeps_an_earlier_slow_down(poll):
    poll(ScriptedSession(PENDING, (200, TOKENS)), interval=10)
    assert poll.clock.slept == [10, 10]


@pytest.mark.parametrize("timeout", [requests.ReadTimeout("read timed out"), requests.ConnectTimeout("connect")],
                         ids=["ReadTimeout", "ConnectTimeout"])
def test_poll_a_timeout_slows_down_and_retries(poll, timeout):
    """RFC 8628 §3.5: on a connection timeout the client MUST reduce its polling frequency before retrying."""
    assert poll(ScriptedSession(timeout, timeout, PENDING, (200, TOKENS))) == TOKENS
    first, second, third, fourth = poll.clock.slept
    assert first < second < third, poll.clock.slept  # less often after each timeout
    assert fourth == third  # an answer keeps the interval where it is


@pytest.mark.parametrize("answer, error", [
    ((400, {"error": "access_denied", "error_description": "The user denied the request."}), "access_denied"),
    ((400, {"error": "expired_token", "error_description": "The device code has expired."}), "expired_token"),
    ((400, {"error": "invalid_grant"}), "invalid_grant"),
    ((401, {"error": "invalid_client"}), "invalid_client"),
    ((404, "<html>Not found</html>"), "404"),  # 429, 502, 503: a back-off, see test_oauth_notebook_review04
], ids=["access_denied", "expired_token", "invalid_grant", "invalid_client", "html-404"])
def test_poll_stops_on_what_polling_cannot_fix(poll, answer, error):
    session = ScriptedSession(PENDING, answer, (200, TOKENS))
    with pytest.raises(poll.error, match=error):
        poll(session)
    assert len(session.posts) == 2  # no poll after the refusal


def test_poll_stops_at_the_deadline(poll):
    session = ScriptedSession()  # authorization_pending for ever
    started = poll.clock.t
    with pytest.raises(poll.error, match="would expire before the next poll"):
        poll(session)
    assert poll.clock.t - started < DEVICE["expires_in"]  # never polls a code that has run out
    assert len(session.posts) == DEVICE["expires_in"] // DEVICE["interval"] - 1


def test_poll_stops_at_the_deadline_even_if_every_poll_times_out(poll):
    session = ScriptedSession(*[requests.ReadTimeout("no answer")] * 999)
    with pytest.raises(poll.error, match="would expire before the next poll"):
        poll(session)
    assert len(session.posts) < 15  # 5, 10, 20, 40, then every 60 s: few polls before 600 s are up


def test_poll_with_no_time_left_does_not_poll(poll):
    session = ScriptedSession((200, TOKENS))
    with pytest.raises(poll.error, match="would expire before the next poll"):
        poll(session, lifetime=4)
    assert session.posts == [] and poll.clock.slept == []


def device_authorization(api, http) -> tuple[dict, float]:
    asked_at = api.clock.now()
    response = http.post(api.url("/oauth/device_authorization"), data={"client_id": "notes-tv", "scope": "profile"},
                         timeout=5)
    response.raise_for_status()
    return response.json(), asked_at


def decide(http, device, decision):
    page = http.post(device["verification_uri"], data={"user_code": device["user_code"], "username": "ada",
                                                       "password": PASSWORD, "decision": decision}, timeout=5)
    page.raise_for_status()


@pytest.mark.parametrize("decision, outcome", [("approve", None), ("deny", "access_denied")])
def test_poll_against_the_practice_api(api, http, decision, outcome):
    namespace = definitions("c60", api=api)
    device, asked_at = device_authorization(api, http)
    decide(http, device, decision)
    poll = namespace["poll_for_token"]
    arguments = (http, api.url("/oauth/token"), "notes-tv", device, asked_at + device["expires_in"])
    if outcome is None:
        tokens = poll(*arguments, sleep=api.clock.advance, now=api.clock.now)
        assert http.get(api.url("/me"), headers={"Authorization": "Bearer " + tokens["access_token"]},
                        timeout=5).status_code == 200
    else:
        with pytest.raises(namespace["DeviceFlowError"], match=outcome):
            poll(*arguments, sleep=api.clock.advance, now=api.clock.now)


def test_poll_against_the_practice_api_ends_when_the_code_does(api, http):
    namespace = definitions("c60", api=api)
    device, asked_at = device_authorization(api, http)
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        api.clock.advance(seconds)

    with pytest.raises(namespace["DeviceFlowError"], match="would expire before the next poll"):
        namespace["poll_for_token"](http, api.url("/oauth/token"), "notes-tv", device, asked_at + device["expires_in"],
                                    sleep=sleep, now=api.clock.now)
    assert sum(slept) < device["expires_in"]


# -- section 4.5: code_from_callback, iss as RFC 9207 §2.4 asks -----------------------------------------------

METADATA = {"issuer": ISSUER, "authorization_response_iss_parameter_supported": True}
NO_ISS_METADATA = {"issuer": ISSUER}


def callback(**params) -> str:
    return "http://127.0.0.1:8765/callback?" + urlencode(params)


@pytest.mark.parametrize("metadata, params, outcome", [
    (METADATA, {"code": "c1", "state": "s1", "iss": ISSUER}, "c1"),
    (METADATA, {"code": "c1", "state": "s1"}, "issuer None"),
    (METADATA, {"code": "c1", "state": "s1", "iss": ISSUER + "/"}, "issuer"),
    (METADATA, {"code": "c1", "state": "s1", "iss": "https://evil.test"}, "issuer"),
    (METADATA, {"code": "c1", "state": "s1", "iss": ISSUER.upper()}, "issuer"),
    (NO_ISS_METADATA, {"code": "c1", "state": "s1"}, "c1"),
    ({**METADATA, "authorization_response_iss_parameter_supported": False}, {"code": "c1", "state": "s1"}, "c1"),
    (NO_ISS_METADATA, {"code": "c1", "state": "s1", "iss": ISSUER}, "c1"),
    (NO_ISS_METADATA, {"code": "c1", "state": "s1", "iss": "https://evil.test"}, "issuer"),
    (METADATA, {"code": "c1", "state": "other", "iss": ISSUER}, "state does not match"),
    (METADATA, {"code": "c1", "iss": ISSUER}, "state does not match"),
    (METADATA, {"error": "access_denied", "state": "s1", "iss": ISSUER}, "access_denied"),
    (METADATA, {"state": "s1", "iss": ISSUER}, "no code"),
], ids=["iss-right", "iss-missing", "iss-trailing-slash", "iss-other", "iss-uppercase", "unsupported-no-iss",
        "supported-false-no-iss", "unsupported-iss-right", "unsupported-iss-wrong", "state-wrong", "state-missing",
        "error", "no-code"])
def test_code_from_callback(metadata, params, outcome):
    namespace = definitions("c29")
    if outcome == "c1":
        assert namespace["code_from_callback"](callback(**params), "s1", metadata) == "c1"
    else:
        with pytest.raises(namespace["CallbackError"], match=outcome):
            namespace["code_from_callback"](callback(**params), "s1", metadata)


def test_code_from_callback_refuses_a_repeated_parameter():
    namespace = definitions("c29")
    with pytest.raises(namespace["CallbackError"], match="twice"):
        namespace["code_from_callback"](callback(code="c1", state="s1", iss=ISSUER) + "&code=c2", "s1", METADATA)


# -- section 2: the metadata URL (RFC 8414 §3.1) and the issuer check (§3.3) ---------------------------------

@pytest.mark.parametrize("issuer, url", [
    ("https://login.example.test", "https://login.example.test/.well-known/oauth-authorization-server"),
    ("https://login.example.test/", "https://login.example.test/.well-known/oauth-authorization-server"),
    ("https://example.okta.test/oauth2/default",
     "https://example.okta.test/.well-known/oauth-authorization-server/oauth2/default"),
    ("https://sso.example.test/realms/notes/", "https://sso.example.test/.well-known/oauth-authorization-server/realms/notes"),
    ("https://as.example.test:8443/tenant/1", "https://as.example.test:8443/.well-known/oauth-authorization-server/tenant/1"),
])
def test_metadata_url(issuer, url):
    assert definitions("c05-url")["metadata_url"](issuer) == url


@pytest.mark.parametrize("issuer", ["http://login.example.test", "https://login.example.test/?tenant=1",
                                    "https://login.example.test/#x", "login.example.test"])
def test_metadata_url_refuses_what_is_not_an_issuer(issuer):
    with pytest.raises(ValueError):
        definitions("c05-url")["metadata_url"](issuer)


class _Api:
    base_url = ISSUER


class _Fetcher:
    """Stands in for the requests module in the discovery cell: serves one metadata document."""

    def __init__(self, document: dict) -> None:
        self.document, self.urls = document, []

    def get(self, url, timeout=None):
        assert timeout, "discovery needs a timeout="
        self.urls.append(url)
        response = requests.Response()
        response.status_code, response._content = 200, json.dumps(self.document).encode()
        return response


@pytest.mark.parametrize("issuer", [ISSUER + "/", "https://API.practice.test", "https://evil.test", "http://api.practice.test"])
def test_discovery_refuses_metadata_that_names_another_issuer(issuer):
    namespace = {**definitions("c05-url"), "api": _Api(), "requests": _Fetcher({"issuer": issuer})}
    with pytest.raises(RuntimeError, match="another issuer"):
        run_cell("c06", namespace)


def test_discovery_reads_the_metadata_url_built_from_the_issuer():
    fetcher = _Fetcher({"issuer": ISSUER, "token_endpoint": ISSUER + "/oauth/token", "authorization_endpoint": "a",
                        "device_authorization_endpoint": "d", "revocation_endpoint": "r"})
    run_cell("c06", {**definitions("c05-url"), "api": _Api(), "requests": fetcher})
    assert fetcher.urls == [ISSUER + "/.well-known/oauth-authorization-server"]


# -- section 3: what raw Basic breaks, checked against the practice token endpoint (RFC 6749 §2.3.1) ---------

@pytest.mark.parametrize("client_id, secret, raw_works", [
    ("svc-colon", "part:one:two", True),  # the secret may hold ':': Basic splits at the first colon only
    ("svc-plus", "s3cret+with/plus=", False),  # the server reads '+' as a space
    ("svc-percent", "100%41sure", False),  # '%41' decodes to 'A'
    ("svc-bare-percent", "100%sure", True),  # no escape: unquote_plus leaves it
    ("svc:colon", "plain-secret", False),  # the client_id may not hold ':' raw
    ("svc-space", "with space/and=", True),
    ("svc-accent", "grüße", False),  # requests sends str credentials as Latin-1
])
def test_raw_basic_client_credentials(api, http, client_id, secret, raw_works):
    api.app.oauth.clients = {**DEMO_CLIENTS, client_id: Client(
        client_id, hashlib.sha256(secret.encode()).hexdigest(), ("client_credentials",), "reports:read")}
    form = {"grant_type": "client_credentials", "scope": "reports:read"}
    raw = http.post(api.url("/oauth/token"), data=form, auth=(client_id, secret), timeout=5)
    encoded = http.post(api.url("/oauth/token"), data=form, auth=(quote_plus(client_id), quote_plus(secret)), timeout=5)
    assert encoded.status_code == 200, encoded.text
    assert (raw.status_code == 200) is raw_works, raw.text


def test_cell_12_names_what_raw_basic_really_breaks():
    text = cell_source("c11")
    assert "a secret with `:`, `+` or `%` would break" not in text
    assert "`:` in the *secret* survives" in text and "`:` in the client_id" in text
    assert "non-ASCII" in text and "`%41`" in text


# -- section 4: the injected code fails because of PKCE (RFC 9700 §2.1.1) ---------------------------------

def practice_metadata(api, http) -> dict:
    response = http.get(api.url("/.well-known/oauth-authorization-server"), timeout=5)
    response.raise_for_status()
    return response.json()


def test_an_injected_code_fails_with_invalid_grant_because_of_pkce(api, http):
    metadata = practice_metadata(api, http)
    namespace = {"requests": requests, "secrets": secrets, "base64": base64, "hashlib": hashlib,
                 "urlencode": urlencode, "parse_qs": parse_qs, "urlsplit": urlsplit, "metadata": metadata,
                 "NOTES_CLI": "notes-cli", "REDIRECT_URI": "http://127.0.0.1:8765/callback",
                 "TOKEN_URL": metadata["token_endpoint"], "code_verifier": secrets.token_urlsafe(32)}
    printed = run_cell("c36", namespace)
    assert printed.startswith("400 ") and "invalid_grant" in printed and "PKCE" in printed, printed
    assert namespace["stopped"].status_code == 303  # the attacker really got a code


# -- section 10: Authlib's update_token never sees fetch_token()'s token ------------------------------------

def test_authlib_update_token_runs_on_refresh_only(api, http):
    """Authlib 1.9: update_token is called from refresh (and a client-credentials re-fetch), never by fetch_token()."""
    metadata = practice_metadata(api, http)
    calls = []
    cli = OAuth2Session("notes-cli", scope="profile", redirect_uri="http://127.0.0.1:8765/callback",
                        code_challenge_method="S256", token_endpoint=metadata["token_endpoint"],
                        update_token=lambda token, **kwargs: calls.append(dict(token)), leeway=30, default_timeout=5)
    cli.trust_env = False
    verifier = secrets.token_urlsafe(32)
    url, state = cli.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier)
    redirect = http.post(url, data={"username": "ada", "password": PASSWORD, "decision": "approve"},
                         allow_redirects=False, timeout=5)
    first = cli.fetch_token(authorization_response=redirect.headers["Location"], state=state, code_verifier=verifier)
    assert calls == [] and first["access_token"]
    api.clock.advance(280)
    cli.token["expires_at"] -= 280
    assert cli.get(api.url("/me"), timeout=5).status_code == 200
    assert len(calls) == 1 and calls[0]["access_token"] != first["access_token"]


def test_authlib_update_token_runs_on_a_client_credentials_refetch_not_on_the_first_fetch(api, http):
    metadata = practice_metadata(api, http)
    calls = []
    job = OAuth2Session("reports-job", str(demo.client("reports-job")["client_secret"]), scope="reports:read",
                        token_endpoint=metadata["token_endpoint"], grant_type="client_credentials",
                        update_token=lambda token, **kwargs: calls.append(dict(token)), default_timeout=5)
    job.trust_env = False
    first = job.fetch_token()
    assert calls == [] and first["access_token"]
    job.token["expires_at"] -= 300
    assert job.get(api.url("/reports"), timeout=5).status_code == 200
    assert len(calls) == 1


def test_the_authlib_cell_saves_the_first_token(api, http):
    metadata = practice_metadata(api, http)
    namespace = definitions("c27", PASSWORD=PASSWORD)
    namespace.update(definitions("c29"))
    namespace.update({"OAuth2Session": OAuth2Session, "metadata": metadata, "TOKEN_URL": metadata["token_endpoint"],
                      "NOTES_CLI": "notes-cli", "REDIRECT_URI": "http://127.0.0.1:8765/callback", "api": api})
    run_cell("c77", namespace)
    assert namespace["saved"].get("access_token") == namespace["cli"].token["access_token"]
    assert "each new token response" not in cell_source("c76")


def test_setup_cell_uses_xmode_minimal():
    assert "%xmode Minimal" in cell_source("c02") and "%xmode Plain" not in cell_source("c02")
