"""Notebook 07's netrc demonstration touches no real netrc file, and the trap it shows is real.

1. The whole notebook runs in a kernel whose HOME is an empty temporary folder, with an audit
   hook that records every file opened. Afterwards HOME is still empty, every netrc file
   opened lay inside the temporary folder the notebook made, and NETRC is unset again.
2. Directly: with NETRC pointing at a temporary netrc file, requests uses it, and it replaces an
   Authorization header set with headers=; auth= and trust_env = False stop that.
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import nbformat
import pytest
import requests
import responses

from conftest import ROOT
from helpers import BearerAuth
from notebook_runner import execute

NOTEBOOK = ROOT / "notebooks" / "07-other-schemes-and-traps.ipynb"
NETRC_NAMES = {"netrc", ".netrc", "_netrc"}  # the names requests and the notebook use
ENTRY = "machine api.practice.test login ada password analytical:engine:1843\n"

AUDIT = '''
import sys as _sys
_opened = []

def _record(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.append(os.fsdecode(args[0]))

_sys.addaudithook(_record)
'''
REPORT = '''
import json as _json
print("REPORT " + _json.dumps({"opened": _opened, "netrc_set": "NETRC" in os.environ,
                                "tempdir": tempfile.gettempdir(), "home": os.path.expanduser("~")}))
'''


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """An empty HOME for the kernel; Jupyter and IPython keep their files elsewhere."""
    home, jupyter, temp = tmp_path / "home", tmp_path / "jupyter", tmp_path / "tmp"
    for folder in (home, jupyter, temp):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.delenv("NETRC", raising=False)
    for name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "MPLCONFIGDIR"):
        monkeypatch.setenv(name, str(jupyter / name.lower()))
    return home, temp


def test_the_notebook_reads_and_writes_no_netrc_outside_a_temporary_folder(isolated_home):
    home, temp = isolated_home
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    audited = copy.deepcopy(notebook)
    setup = next(i for i, cell in enumerate(audited.cells) if cell.cell_type == "code")
    audited.cells.insert(setup + 1, nbformat.v4.new_code_cell(AUDIT))  # after the imports, before any request
    audited.cells.append(nbformat.v4.new_code_cell(REPORT))
    netrc_cells = [cell for cell in audited.cells if "temporary_netrc(" in cell.source]
    assert netrc_cells, "the notebook no longer demonstrates the netrc trap"

    execute(audited, NOTEBOOK.parent)

    printed = "".join(output.get("text", "") for output in audited.cells[-1].outputs)
    report = json.loads(printed.split("REPORT ", 1)[1])
    assert report["home"] == str(home) and report["tempdir"] == str(temp)
    netrc_opened = [path for path in report["opened"] if Path(path).name.lower() in NETRC_NAMES]
    assert netrc_opened, "the demonstration should have made requests read its temporary netrc file"
    for path in netrc_opened:
        assert Path(path).is_relative_to(temp), f"a netrc file outside the temporary folder was opened: {path}"
    assert not any(Path(path).is_relative_to(home) for path in report["opened"]), "the notebook opened a file in HOME"
    assert report["netrc_set"] is False, "NETRC is still set after the demonstration"
    assert list(home.iterdir()) == [], f"the notebook wrote to HOME: {sorted(p.name for p in home.iterdir())}"
    assert not [p for p in temp.rglob("*") if p.name.lower() in NETRC_NAMES], "the temporary netrc file was not deleted"
    assert "NETRC" not in os.environ


@pytest.fixture
def netrc_file(tmp_path, monkeypatch):
    """NETRC pointing at a temporary netrc file with an entry for the practice API's host."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no real ~/.netrc can get in the way
    path = tmp_path / "netrc"
    path.write_text(ENTRY, encoding="utf-8")
    monkeypatch.setenv("NETRC", str(path))
    return path


def received(response: requests.Response) -> str | None:
    assert response.status_code == 200
    return response.json()["authorization"]


def test_requests_reads_the_netrc_file_and_it_replaces_a_header(api, netrc_file):
    assert requests.utils.get_netrc_auth(api.url("/headers")) == ("ada", "analytical:engine:1843")
    assert received(requests.get(api.url("/headers"), timeout=5)) == "Basic (credentials hidden)"
    by_hand = requests.get(api.url("/headers"), headers={"Authorization": "Bearer demo-token"}, timeout=5)
    assert received(by_hand) == "Basic (credentials hidden)"  # the header set by hand was replaced
    session = requests.Session()
    session.headers["Authorization"] = "Bearer demo-token"
    assert received(session.get(api.url("/headers"), timeout=5)) == "Basic (credentials hidden)"


def test_auth_and_trust_env_false_stop_it(api, netrc_file):
    with_auth = requests.get(api.url("/headers"), auth=BearerAuth("demo-token"), timeout=5)
    assert received(with_auth) == "Bearer (credentials hidden)"
    session = requests.Session()
    session.auth = BearerAuth("demo-token")
    assert received(session.get(api.url("/headers"), timeout=5)) == "Bearer (credentials hidden)"
    no_env = requests.Session()
    no_env.trust_env = False
    by_hand = no_env.get(api.url("/headers"), headers={"Authorization": "Bearer demo-token"}, timeout=5)
    assert received(by_hand) == "Bearer (credentials hidden)"
    assert received(no_env.get(api.url("/headers"), timeout=5)) is None


def test_another_host_gets_no_entry_meant_for_this_one(api, netrc_file):
    # On the cross-host redirect, rebuild_auth looks up netrc for the new host: it has no entry.
    response = requests.get(api.url("/redirect/other-host"), timeout=5)
    assert response.history[0].request.headers["Authorization"].startswith("Basic ")
    assert received(response) is None


# -- RefreshingBearerAuth's own token requests (issue 12, item 3) ------------------------------------

def token_calls(api) -> list:
    return [call for call in api.calls if call.path == "/oauth/token"]


def test_a_public_clients_refresh_sends_no_netrc_entry(api, netrc_file):
    from helpers import RefreshingBearerAuth

    issued = api.app.tokens.issue("ada", "profile", client_id="notes-tv")
    auth = RefreshingBearerAuth(api.url("/oauth/token"), issued, client_id="notes-tv", now=api.clock.now)
    auth.refresh()
    assert auth.refreshes == 1
    assert token_calls(api)[-1].header("authorization") is None  # ada's netrc password stayed at home


def test_a_confidential_clients_refresh_sends_its_own_credentials_only(api, netrc_file):
    from helpers import RefreshingBearerAuth
    from helpers.practice_api import demo

    web = demo.client("notes-web")
    issued = api.app.tokens.issue("ada", "profile", client_id=web["client_id"])
    auth = RefreshingBearerAuth(api.url("/oauth/token"), issued, client_id=web["client_id"],
                                client_secret=web["client_secret"], now=api.clock.now)
    auth.refresh()
    expected = requests.auth._basic_auth_str(web["client_id"], web["client_secret"])  # demo ids encode to themselves
    assert token_calls(api)[-1].header("authorization") == expected


@pytest.fixture
def netrc_for_the_token_host(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    path = tmp_path / "netrc"
    path.write_text("machine auth.example.test login ada password netrc-password-1843\n"
                    "machine other.example.test login ada password netrc-password-1843\n", encoding="utf-8")
    monkeypatch.setenv("NETRC", str(path))
    assert requests.utils.get_netrc_auth("https://auth.example.test/") == ("ada", "netrc-password-1843")
    return path


@pytest.mark.parametrize("status, location", [
    (307, "https://auth.example.test/v2/token"),  # same host: requests keeps Authorization, then reads netrc
    (308, "https://other.example.test/token"),  # another host: the body (the refresh token) would go along
    (302, "https://auth.example.test/login"),
])
@pytest.mark.parametrize("client_secret", [None, "web-secret-0123456789"])
def test_the_refresh_follows_no_redirect_and_reads_no_netrc(netrc_for_the_token_host, status, location,
                                                            client_secret):
    from helpers import RefreshingBearerAuth

    auth = RefreshingBearerAuth("https://auth.example.test/oauth/token", {"access_token": "a1", "token_type": "Bearer", "refresh_token": "r1"},
                                client_id="notes-web", client_secret=client_secret)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post("https://auth.example.test/oauth/token", status=status, headers={"Location": location})
        for url in ("https://auth.example.test/v2/token", "https://other.example.test/token"):
            mock.post(url, json={"access_token": "a2", "token_type": "Bearer", "refresh_token": "r2"})
        mock.get("https://auth.example.test/login", body="<form>")
        with pytest.raises(requests.HTTPError, match="redirect"):
            auth.refresh()
        sent = [(call.request.url, call.request.headers.get("Authorization")) for call in mock.calls]
    assert len(sent) == 1, f"the redirect was followed: {sent}"
    client_basic = requests.auth._basic_auth_str("notes-web", client_secret) if client_secret else None
    assert sent == [("https://auth.example.test/oauth/token", client_basic)]  # not ada's netrc password
    assert auth.refreshes == 0 and auth.access_token == "a1"
