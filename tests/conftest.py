"""Shared test set-up: paths, the notebooks, and the fixtures most test files use."""
from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

sys.path.insert(0, str(ROOT / "tools"))  # notebook_runner, navigation, learner_copies: shared with `make`

from helpers import serve_practice_api, start_practice_api
from helpers.practice_api import demo  # noqa: E402

DEMO_SECRETS = [user["password"] for user in demo.USERS] + [str(key["key"]) for key in demo.API_KEYS]


def free_port() -> int:
    """A loopback port that nothing listens on right now, for a server a test starts in another process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ada_login(api) -> dict:
    """ada's token response from POST /login (notebook 03's login): the client tests' first tokens."""
    response = requests.post(api.url("/login"), json={"username": "ada", "password": demo.password_of("ada")},
                             timeout=5)
    response.raise_for_status()
    return response.json()


def token_calls(api) -> list:
    """The calls the token endpoint received: how a test counts refreshes."""
    return [call for call in api.calls if call.path == "/oauth/token"]


def assert_right(output: str, phrase: str = "") -> None:
    """A check's output praises the answer, and says `phrase`."""
    assert output.startswith("✓ Right: "), output
    assert phrase in output, output


def assert_not_yet(output: str, hint: str) -> None:
    """A check's output asks for another try, and gives `hint`."""
    assert output.startswith("✗ Not yet: "), output
    assert hint in output, output


def assert_no_bug(api) -> None:
    assert api.app.errors == [], "the practice API hit a bug (500):\n" + "\n".join(api.app.errors)


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def no_proxy_settings(monkeypatch):
    """This test's own proxy settings: none from the machine running it."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.fixture
def api():
    """A fresh in-process practice API; the test fails if the API hit a bug (a 500)."""
    api = start_practice_api()
    try:
        yield api
    finally:
        api.stop()
    assert_no_bug(api)


@pytest.fixture(params=["in-process", "loopback"])
def any_api(request):
    """The practice API on each transport in turn."""
    api = start_practice_api() if request.param == "in-process" else serve_practice_api()
    try:
        yield api
    finally:
        api.stop()
    assert_no_bug(api)


@pytest.fixture
def http():
    """A session that ignores ~/.netrc and proxy variables, so only what a test sends is sent."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture
def feedback(capsys):
    """Run a check; return its one line of output. Fail if it raised, used stderr, or printed a secret."""
    capsys.readouterr()

    def run(check, answer) -> str:
        result = check(answer)
        out, err = capsys.readouterr()
        assert result is None
        assert err == ""
        assert out.endswith("\n") and out.count("\n") == 1, out
        for secret in DEMO_SECRETS:
            assert secret not in out, "a check printed a demo secret"
        return out.rstrip("\n")

    return run
