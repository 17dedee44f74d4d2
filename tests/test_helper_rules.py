"""The helpers obey the series' own rules: one test per rule the notebooks teach.

- no ~/.netrc entry leaks from a helper's own requests (notebooks 02 and 07);
- client credentials are form-encoded before HTTP Basic (notebook 04, RFC 6749 §2.3.1);
- every requests, http.client and urllib call has `timeout=` (notebooks 00 and 06);
- no secret in a repr, a log line or an exception message (notebooks 03 and 06);
- no `verify=False` (notebook 06);
(That a client module imports nothing else from helpers, so it can be copied out, is in test_layers.py.)

Each rule is a function that reports what breaks it. Each test runs that function on the real
helpers (nothing may be reported) and on a deliberately broken copy (something must be), so
that no test here can pass whatever the code does. The static rules read every .py file under
helpers/ with `ast`, checks included.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import logging
from pathlib import Path

import pytest
import requests
import responses

from conftest import ROOT
from helpers import BearerAuth, RedactSecrets, RefreshingBearerAuth, TokenRefreshError, serve_practice_api
from helpers.practice_api import demo
from helpers.practice_api.oauth import Client

HELPERS = ROOT / "helpers"
HELPER_FILES = sorted(HELPERS.rglob("*.py"))
NETRC_LOGIN, NETRC_PASSWORD = "ada", "netrc-password-from-home"
NETRC_BASIC = requests.auth._basic_auth_str(NETRC_LOGIN, NETRC_PASSWORD)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def scan(rule, files=HELPER_FILES) -> list[str]:
    """Every `file:line: problem` that `rule(source)` finds in the helpers' files."""
    return [f"{relative(path)}:{line}: {problem}" for path in files
            for line, problem in rule(path.read_text(encoding="utf-8"))]


def test_the_scans_read_the_whole_package():
    names = {relative(path) for path in HELPER_FILES}
    assert {"helpers/client/auth.py", "helpers/client/redaction.py", "helpers/checks/__init__.py"} <= names
    assert all(ast.parse(path.read_text(encoding="utf-8")) for path in HELPER_FILES)


# -- rule: no netrc leak ---------------------------------------------------------------------------

@pytest.fixture
def netrc_at_home(tmp_path, monkeypatch):
    """A real netrc file, found the way requests finds it, with an entry for every host these tests use."""
    home = tmp_path / "home"
    home.mkdir()
    hosts = ["api.practice.test", "auth.example.test", "127.0.0.1"]
    (home / ".netrc").write_text("".join(f"machine {host} login {NETRC_LOGIN} password {NETRC_PASSWORD}\n"
                                         for host in hosts), encoding="utf-8")
    (home / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NETRC", raising=False)
    assert requests.utils.get_netrc_auth("https://api.practice.test/") == (NETRC_LOGIN, NETRC_PASSWORD)


def netrc_leaks_of_a_refresh(auth_class, api) -> list[str]:
    """What a public client's refresh sent from netrc: to the token endpoint, and after a redirect from it."""
    leaks = []
    issued = api.app.tokens.issue("ada", "profile", client_id="notes-tv")
    auth = auth_class(api.url("/oauth/token"), issued, client_id="notes-tv", now=api.clock.now)
    try:
        auth.refresh()
    except requests.HTTPError:
        pass  # the server refused what it got: the headers below say why
    sent = [call.header("authorization") for call in api.calls if call.path == "/oauth/token"]
    leaks += [f"token endpoint got {header}" for header in sent if header == NETRC_BASIC]
    auth = auth_class("https://auth.example.test/oauth/token", {"access_token": "a1", "token_type": "Bearer", "refresh_token": "r1"},
                      client_id="notes-tv")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post("https://auth.example.test/oauth/token", status=307,
                  headers={"Location": "https://auth.example.test/v2/token"})
        mock.post("https://auth.example.test/v2/token", json={"access_token": "a2", "token_type": "Bearer", "refresh_token": "r2"})
        try:
            auth.refresh()
        except requests.HTTPError:
            pass
        sent = [(call.request.url, call.request.headers.get("Authorization")) for call in mock.calls]
    leaks += [f"{url} got {header}" for url, header in sent if header == NETRC_BASIC]
    return leaks


class TrustingRefreshingBearerAuth(RefreshingBearerAuth):
    """Broken on purpose: its token session trusts the environment, as requests.Session() does by default."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._token_session.trust_env = True


def test_a_refresh_sends_no_netrc_entry(api, netrc_at_home):
    assert netrc_leaks_of_a_refresh(RefreshingBearerAuth, api) == []


def test_a_refresh_sends_no_netrc_entry__broken_copy(api, netrc_at_home):
    assert netrc_leaks_of_a_refresh(TrustingRefreshingBearerAuth, api) == [
        f"token endpoint got {NETRC_BASIC}", f"https://auth.example.test/oauth/token got {NETRC_BASIC}"]


REQUESTS_FUNCTIONS = {"get", "post", "put", "patch", "delete", "head", "options", "request"}
SESSION_FACTORIES = {"requests.Session", "requests.session", "Session"}


def netrc_exposures(source: str) -> list[tuple[int, str]]:
    """Requests that may pick up ~/.netrc: requests.get() and friends, and Sessions left with trust_env on.

    `requests.get(...)` makes a Session with trust_env on. A Session a helper makes must get
    `<name>.trust_env = False` in the same file. (urllib and http.client never read netrc.)
    """
    tree = ast.parse(source)
    switched_off = {ast.unparse(target.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                    for target in node.targets if isinstance(target, ast.Attribute) and target.attr == "trust_env"
                    and isinstance(node.value, ast.Constant) and node.value.value is False}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in REQUESTS_FUNCTIONS
                and ast.unparse(node.func.value) == "requests"):
            found.append((node.lineno, f"requests.{node.func.attr}() trusts the environment: use a Session with "
                                       f"trust_env = False"))
    for name, line in _sessions_made(tree):
        if name not in switched_off:
            found.append((line, f"the Session {name or '(unnamed)'} keeps trust_env on: set "
                                f"{name or 'its'}.trust_env = False"))
    return found


def _sessions_made(tree: ast.AST) -> list[tuple[str, int]]:
    """(the name it is bound to, or "", line) for each requests.Session() in the tree."""
    bound: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            bound[id(node.value)] = ast.unparse(node.targets[0])
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            bound[id(node.context_expr)] = ast.unparse(node.optional_vars)
    return [(bound.get(id(node), ""), node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and ast.unparse(node.func) in SESSION_FACTORIES]


def test_no_helper_makes_a_request_that_reads_netrc():
    assert scan(netrc_exposures) == []


@pytest.mark.parametrize("source, exposed", [
    ("requests.get(url, timeout=5)", True),
    ("requests.post(url, data=form, auth=(client_id, secret), timeout=5)", True),  # a redirect reads netrc again
    ("session = requests.Session()\nsession.get(url, timeout=5)", True),
    ("with requests.Session() as http:\n    http.get(url, timeout=5)", True),
    ("self._token_session = requests.Session()", True),
    ("def make():\n    return requests.Session()", True),
    ("s = requests.Session()\ns.trust_env = True", True),
    ("s = requests.Session()\nother.trust_env = False", True),
    ("s = requests.Session()\ns.trust_env = False", False),
    ("self._token_session = requests.Session()\nself._token_session.trust_env = False", False),
    ("with requests.Session() as s:\n    s.trust_env = False", False),
    ("requests.Request('GET', url).prepare()", False),
    ("response.headers.get('Location')", False),
])
def test_no_helper_makes_a_request_that_reads_netrc__broken_copies(source, exposed):
    assert bool(netrc_exposures(source)) is exposed


# -- rule: client credentials form-encoded before HTTP Basic ----------------------------------------

AWKWARD_ID, AWKWARD_SECRET = "partner:eu", "s3cret+with/plus=%41"
FORM_ENCODED_BASIC = "Basic " + base64.b64encode(b"partner%3Aeu:s3cret%2Bwith%2Fplus%3D%2541").decode("ascii")


def client_auth_problems(auth_class, api) -> list[str]:
    """What goes wrong when a client with ':' in its id and '+', '/', '=', '%' in its secret refreshes."""
    client = Client(AWKWARD_ID, hashlib.sha256(AWKWARD_SECRET.encode()).hexdigest(), ("refresh_token",), "profile")
    api.app.oauth.clients = {**api.app.oauth.clients, AWKWARD_ID: client}  # this app only
    issued = api.app.tokens.issue("ada", "profile", client_id=AWKWARD_ID)
    auth = auth_class(api.url("/oauth/token"), issued, client_id=AWKWARD_ID, client_secret=AWKWARD_SECRET,
                      now=api.clock.now)
    problems = []
    try:
        auth.refresh()
    except requests.HTTPError as error:
        problems.append(f"the token endpoint refused the client: {error.response.status_code}")
    sent = [call.header("authorization") for call in api.calls if call.path == "/oauth/token"][-1]
    if sent != FORM_ENCODED_BASIC:
        problems.append("the Basic credentials were not form-encoded first")
    return problems


class RawCredentialsRefreshingBearerAuth(RefreshingBearerAuth):
    """Broken on purpose: sends the id and secret as they are, as requests' auth=(id, secret) does."""

    def _client_auth(self):
        return self.client_id, self._client_secret


def test_client_credentials_are_form_encoded(api):
    assert client_auth_problems(RefreshingBearerAuth, api) == []


def test_client_credentials_are_form_encoded__broken_copy(api):
    assert client_auth_problems(RawCredentialsRefreshingBearerAuth, api) == [
        "the token endpoint refused the client: 401", "the Basic credentials were not form-encoded first"]


# -- rule: timeout= on every call --------------------------------------------------------------------

SESSION_METHODS = REQUESTS_FUNCTIONS | {"send"}
CONNECTIONS = {"HTTPConnection", "HTTPSConnection", "urlopen", "create_connection"}


def calls_without_timeout(source: str) -> list[tuple[int, str]]:
    """Calls that can wait forever: requests, a Session or adapter, http.client, urllib, socket without timeout=.

    `timeout=None` counts as none. A hook or wrapper that passes on its own `**kwargs` passes on
    its caller's timeout (requests hands `timeout` to response hooks), so that counts as one.
    """
    found = []
    tree = ast.parse(source)
    sessions = {name for name, _ in _sessions_made(tree) if name}

    def visit(node: ast.AST, forwarded: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            forwarded = node.args.kwarg.arg if node.args.kwarg else None
        if isinstance(node, ast.Call) and _waits(node, sessions) and not _has_timeout(node, forwarded):
            found.append((node.lineno, f"{ast.unparse(node.func)}(...) has no timeout="))
        for child in ast.iter_child_nodes(node):
            visit(child, forwarded)

    visit(tree, None)
    return found


def _waits(call: ast.Call, sessions: set[str]) -> bool:
    """Is this a call that goes over the network: requests, a Session or adapter, http.client, urllib, socket?

    A Session is a name bound to requests.Session() in the file, or any name ending in "session".
    """
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in CONNECTIONS
    if not isinstance(func, ast.Attribute):
        return False
    receiver = ast.unparse(func.value)
    if func.attr in CONNECTIONS:
        return True
    if func.attr == "send":  # Session.send, HTTPAdapter.send (response.connection is the adapter)
        return True
    if func.attr in REQUESTS_FUNCTIONS:
        return receiver == "requests" or receiver in sessions or receiver.lower().removesuffix("()").endswith("session")
    return False


def _has_timeout(call: ast.Call, forwarded: str | None) -> bool:
    for keyword in call.keywords:
        if keyword.arg == "timeout":
            return not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None)
        if keyword.arg is None and forwarded is not None and ast.unparse(keyword.value) == forwarded:
            return True
    return False


def test_every_call_in_the_helpers_has_a_timeout():
    assert scan(calls_without_timeout) == []


@pytest.mark.parametrize("source, flagged", [
    ("requests.get(url)", True),
    ("requests.post(url, data=form, timeout=None)", True),  # None: wait forever
    ("session.get(url)", True),
    ("self._token_session.post(url, data=form, auth=auth)", True),
    ("http = requests.Session()\nhttp.trust_env = False\nhttp.get(url)", True),
    ("requests.Session().get(url)", True),
    ("response.connection.send(request)", True),
    ("def send(request, **options):\n    adapter.send(request, **settings)", True),  # not its own kwargs
    ("http.client.HTTPSConnection(host, context=context)", True),
    ("HTTPConnection('127.0.0.1', 8080)", True),
    ("urllib.request.urlopen(url)", True),
    ("socket.create_connection((host, port))", True),
    ("requests.get(url, timeout=5)", False),
    ("self._token_session.post(url, data=form, timeout=self.timeout)", False),
    ("def hook(response, **kwargs):\n    response.connection.send(retry, **kwargs)", False),
    ("http.client.HTTPSConnection(host, timeout=5, context=context)", False),
    ("headers.get('Location')", False),
    ("self.sessions.get(session_id)", False),
    ("connection.sendall(data)", False),
])
def test_every_call_in_the_helpers_has_a_timeout__broken_copies(source, flagged):
    assert bool(calls_without_timeout(source)) is flagged


# -- rule: no secret in a repr, a log line or an exception message -----------------------------------

def test_no_secret_in_a_repr():
    assert secrets_in_reprs(BearerAuth, RefreshingBearerAuth) == []


class TalkativeBearerAuth(BearerAuth):
    """Broken on purpose: the repr a dataclass would give it."""

    def __repr__(self) -> str:
        return f"BearerAuth(token={self.token!r})"


def test_no_secret_in_a_repr__broken_copy():
    assert secrets_in_reprs(TalkativeBearerAuth, RefreshingBearerAuth) == ["BearerAuth"]


def secrets_in_reprs(bearer_class, refreshing_class) -> list[str]:
    access, refresh, secret = "access-SECRET-1", "refresh-SECRET-2", "client-SECRET-3"
    objects = {
        "BearerAuth": bearer_class(access),
        "RefreshingBearerAuth": refreshing_class("https://auth.example.test/oauth/token",
                                                 {"access_token": access, "token_type": "Bearer", "refresh_token": refresh},
                                                 client_id="cli", client_secret=secret),
        "RedactSecrets": RedactSecrets(known=[access, refresh, secret]),
    }
    return [name for name, thing in objects.items()
            if any(value in text for value in (access, refresh, secret) for text in (repr(thing), str(thing)))]


def secrets_in_logs(auth_class, caplog, capsys) -> list[str]:
    """Which secrets a refresh and a retried request put in a log line (urllib3's too) or on stdout/stderr."""
    web = demo.client("notes-web")
    with serve_practice_api(tls=True) as api:
        issued = api.app.tokens.issue("ada", "profile", client_id=web["client_id"])
        auth = auth_class(api.url("/oauth/token"), issued, client_id=web["client_id"],
                          client_secret=web["client_secret"], verify=api.ca_bundle, now=api.clock.now)
        caplog.set_level(logging.DEBUG)
        caplog.set_level(logging.DEBUG, logger="urllib3")
        api.clock.advance(290)  # the next request refreshes first
        with requests.Session() as session:
            session.trust_env = False
            session.auth = auth
            session.verify = api.ca_bundle
            assert session.get(api.url("/me"), timeout=5).status_code == 200
        spent = [issued["access_token"], issued["refresh_token"], auth.access_token, auth._refresh_token]
    assert auth.refreshes == 1
    assert '"POST /oauth/token HTTP/1.1" 200' in caplog.text, "urllib3 logged nothing: the test saw nothing"
    printed = capsys.readouterr()
    text = caplog.text + printed.out + printed.err
    labels = ["old access token", "old refresh token", "new access token", "new refresh token", "client secret"]
    return [label for label, value in zip(labels, [*spent, web["client_secret"]]) if value in text]


class LoggingRefreshingBearerAuth(RefreshingBearerAuth):
    """Broken on purpose: the debug line someone adds while chasing a refresh bug."""

    def refresh(self, stale_token=None):
        logging.getLogger("helpers.client.auth").debug("refreshing with %s", self._refresh_token)
        return super().refresh(stale_token)


def test_no_secret_in_a_log_line(caplog, capsys):
    assert secrets_in_logs(RefreshingBearerAuth, caplog, capsys) == []


def test_no_secret_in_a_log_line__broken_copy(caplog, capsys):
    assert secrets_in_logs(LoggingRefreshingBearerAuth, caplog, capsys) == ["old refresh token"]


def secrets_in_exceptions(auth_class) -> list[str]:
    """Which secrets reach the text of the errors a refresh raises, when the server repeats what it was sent."""
    access, refresh, secret = "access-SECRET-1", "refresh-SECRET-2", "client-SECRET-3"
    echo = f"refresh_token={refresh} from client with secret {secret}, access token {access}"
    answers = [
        (400, {"error": "invalid_grant", "error_description": f"Refused: {echo}"}),  # TokenRefreshError
        (401, {"error": "invalid_client", "error_description": echo}),  # raise_for_status: HTTPError
        (500, {"error": "server_error", "error_description": echo}),
        (302, {}),  # a redirect, not followed
    ]
    texts = []
    for status, body in answers:
        auth = auth_class("https://auth.example.test/oauth/token", {"access_token": access, "token_type": "Bearer", "refresh_token": refresh},
                          client_id="cli", client_secret=secret)
        with responses.RequestsMock() as mock:
            mock.post("https://auth.example.test/oauth/token", status=status, json=body,
                      headers={"Location": "https://auth.example.test/elsewhere"} if status == 302 else {})
            with pytest.raises((TokenRefreshError, requests.HTTPError)) as raised:
                auth.refresh()
        texts.append(f"{raised.value} {raised.value!r}")
    return [name for name, value in [("access token", access), ("refresh token", refresh), ("client secret", secret)]
            if any(value in text for text in texts)]


class EchoingRefreshingBearerAuth(RefreshingBearerAuth):
    """Broken on purpose: quotes the server's error_description as it came."""

    def _without_secrets(self, text):
        return text


def test_no_secret_in_an_exception_message():
    assert secrets_in_exceptions(RefreshingBearerAuth) == []


def test_no_secret_in_an_exception_message__broken_copy():
    assert secrets_in_exceptions(EchoingRefreshingBearerAuth) == ["access token", "refresh token", "client secret"]


# -- rule: no verify=False ---------------------------------------------------------------------------

def certificate_checks_turned_off(source: str) -> list[tuple[int, str]]:
    """verify=False in a call, `x.verify = False`, and the ssl ways of doing the same."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            found += [(node.lineno, f"verify={ast.unparse(keyword.value)}") for keyword in node.keywords
                      if keyword.arg == "verify" and _is_off(keyword.value)]
            if ast.unparse(node.func).endswith("_create_unverified_context"):
                found.append((node.lineno, "ssl._create_unverified_context()"))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in ("verify", "check_hostname") \
                        and _is_off(node.value):
                    found.append((node.lineno, f"{ast.unparse(target)} = {ast.unparse(node.value)}"))
                if isinstance(target, ast.Attribute) and target.attr == "verify_mode" \
                        and ast.unparse(node.value).endswith("CERT_NONE"):
                    found.append((node.lineno, f"{ast.unparse(target)} = CERT_NONE"))
    return found


def _is_off(value: ast.expr) -> bool:
    """False, or another false constant: requests checks `if verify`, so 0 and "" turn it off too (None does not)."""
    return isinstance(value, ast.Constant) and value.value is not None and not value.value


def test_no_helper_turns_certificate_checks_off():
    assert scan(certificate_checks_turned_off) == []


@pytest.mark.parametrize("source, flagged", [
    ("requests.get(url, verify=False, timeout=5)", True),
    ("session.verify = False", True),
    ("requests.get(url, verify=0, timeout=5)", True),
    ("session.verify = ''", True),
    ("requests.get(url, verify=None, timeout=5)", False),  # None: the session's verify, True by default
    ("context.check_hostname = False", True),
    ("context.verify_mode = ssl.CERT_NONE", True),
    ("context = ssl._create_unverified_context()", True),
    ("requests.get(url, verify=api.ca_bundle, timeout=5)", False),
    ("session.verify = '/etc/ssl/private-ca.pem'", False),
    ("message = 'never pass verify=False'", False),
    ("context.verify_mode = ssl.CERT_REQUIRED", False),
])
def test_no_helper_turns_certificate_checks_off__broken_copies(source, flagged):
    assert bool(certificate_checks_turned_off(source)) is flagged
