"""06 says exactly who wins between REQUESTS_CA_BUNDLE and verify (round 3, Y3 b).

requests' Session.merge_environment_settings, with trust_env: `if verify is True or verify is None:
verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify`, before the
session's verify is merged. So the variable replaces session.verify and verify=True on the call; only a
path (or False) on the call, or trust_env = False, wins. 06 used to say the variable "beats session.verify
(but not verify= on a call)", which is wrong for verify=True.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "06-https-secrets-rate-limits.ipynb"
URL = "https://api.practice.test/"


def verify_used(session: requests.Session, verify) -> object:
    """The verify a call with `verify=` would use: what Session.request computes before it sends."""
    settings = session.merge_environment_settings(URL, {}, None, verify, None)
    return settings["verify"]


@pytest.fixture
def bundle_in_env(monkeypatch, tmp_path):
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "from-env.pem"))
    return str(tmp_path / "from-env.pem")


@pytest.mark.parametrize("on_the_call", [True, None], ids=["verify=True", "verify not given"])
def test_the_variable_replaces_verify_true_and_session_verify(bundle_in_env, on_the_call):
    session = requests.Session()
    session.verify = "/somewhere/session.pem"
    assert verify_used(session, on_the_call) == bundle_in_env


@pytest.mark.parametrize("on_the_call", ["/somewhere/call.pem", False])
def test_a_path_or_false_on_the_call_wins(bundle_in_env, on_the_call):
    assert verify_used(requests.Session(), on_the_call) == on_the_call


def test_trust_env_false_ignores_the_variable(bundle_in_env):
    session = requests.Session()
    session.trust_env = False
    session.verify = "/somewhere/session.pem"
    assert verify_used(session, None) == "/somewhere/session.pem"


def cells() -> list[dict]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def markdown() -> str:
    return "\n".join("".join(cell["source"]) for cell in cells() if cell["cell_type"] == "markdown")


def test_06_no_longer_says_verify_on_a_call_beats_the_variable():
    text = " ".join(markdown().split())
    assert "(but not `verify=` on a call)" not in text
    assert "`REQUESTS_CA_BUNDLE` replaces `session.verify`, and `verify=True` on a call" in text


def test_06_shows_verify_true_on_the_call_losing_to_the_variable():
    printed = ["".join(output["text"]) for cell in cells() if cell["cell_type"] == "code"
               for output in cell.get("outputs", []) if output["output_type"] == "stream"]
    rows = [line for text in printed for line in text.splitlines() if line.startswith("variable + ")]
    assert "variable + verify=True on the call:   200" in rows
    assert "variable + verify=<path> on the call: SSLError" in rows
