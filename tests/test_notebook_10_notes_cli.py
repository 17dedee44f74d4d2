"""notes.py, the CLI notebook 10 writes (cell `%%writefile .../notes.py`): run as a learner would.

A refused sign-in (ada presses Deny) is said as such in the browser and the terminal, printing only
the error codes of RFC 6749 §4.1.2.1; nothing secret goes over plain http (RFC 6750 §5.3, RFC 6749
§3.2, loopback literals only: RFC 8252 §8.3); an error at run time is one line, not a traceback.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
import requests

from helpers import InsecureTransportError, serve_practice_api

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "analytical:engine:1843"


def notes_source() -> str:
    cells = nbformat.read(ROOT / "notebooks" / "10-putting-it-together.ipynb", 4).cells
    cell = next(cell for cell in cells if cell.cell_type == "code" and "/notes.py" in cell.source
                and "%%writefile" in cell.source)
    return "\n".join(line for line in cell.source.splitlines() if not line.startswith("%%"))


@pytest.fixture
def notes(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("NOTES_HOME", str(home))
    script = tmp_path / "notes.py"
    script.write_text(notes_source(), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("notes_under_test", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def live():
    server = serve_practice_api()
    try:
        yield server
    finally:
        server.stop()


def browser(decision: str, pages: list[str]):
    """ada's browser: she signs in and presses `decision`; it follows the redirect in a thread."""
    def open_browser(url: str) -> bool:
        answer = requests.post(url, data={"username": "ada", "password": PASSWORD, "decision": decision},
                               allow_redirects=False, timeout=5)
        location = answer.headers["Location"]
        threading.Thread(target=lambda: pages.append(requests.get(location, timeout=5).text)).start()
        return True
    return open_browser


def test_deny_says_sign_in_cancelled_and_exits_with_the_rfc6749_4_1_2_1_code(notes, live):
    pages: list[str] = []
    with pytest.raises(SystemExit) as exited:
        notes.main(live.base_url, "me", open_browser=browser("deny", pages))
    assert str(exited.value) == "Sign-in refused (access_denied)"
    for _ in range(50):
        if pages:
            break
        threading.Event().wait(0.02)
    assert pages and pages[0].startswith("Sign-in cancelled")


def test_an_error_code_outside_rfc6749_4_1_2_1_is_not_printed(notes):
    assert "made_up" not in notes.AUTHORIZATION_ERRORS
    assert notes.AUTHORIZATION_ERRORS == {"invalid_request", "unauthorized_client", "access_denied",
                                          "unsupported_response_type", "invalid_scope", "server_error",
                                          "temporarily_unavailable"}


def test_approve_still_signs_in(notes, live):
    pages: list[str] = []
    assert notes.main(live.base_url, "me", open_browser=browser("approve", pages)).endswith("signed in")


def test_an_http_issuer_by_name_is_refused_before_anything_is_sent_rfc6750_5_3_rfc8252_8_3(notes, live):
    before = len(live.calls)
    with pytest.raises(InsecureTransportError):
        notes.main(live.base_url.replace("127.0.0.1", "localhost"), "me", open_browser=lambda url: True)
    assert len(live.calls) == before


def test_a_token_endpoint_over_plain_http_is_refused_rfc6749_3_2(notes, monkeypatch):
    class Metadata:
        status_code = 200

        def raise_for_status(self):
            pass

        def json(self):
            return {"issuer": "https://as.example.test", "token_endpoint": "http://as.example.test/token",
                    "authorization_endpoint": "https://as.example.test/authorize"}

    monkeypatch.setattr(requests.Session, "get", lambda self, url, **kw: Metadata())
    with pytest.raises(InsecureTransportError, match="http://as.example.test"):
        notes.main("https://as.example.test", "me", open_browser=lambda url: True)


@pytest.mark.parametrize("issuer", ["http://localhost:9/", "https://127.0.0.1:9"])
def test_run_as_a_program_an_error_is_one_line_not_a_traceback(tmp_path, issuer):
    (tmp_path / "notes.py").write_text(notes_source(), encoding="utf-8")
    run = subprocess.run([sys.executable, "notes.py", issuer, "me"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "NOTES_HOME": str(tmp_path / "home"),
                                                     "PYTHONPATH": str(ROOT)})
    assert run.returncode == 1
    assert run.stderr.startswith("notes: ") and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
