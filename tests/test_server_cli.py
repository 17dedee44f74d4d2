"""`python -m helpers.server`: the practice API from a terminal."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from conftest import ROOT


def start_server(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "helpers.server", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_prints_credentials_serves_and_stops_cleanly(stop_signal):
    server = start_server()
    try:
        first = json.loads(server.stdout.readline())
        readable = [server.stdout.readline() for _ in range(3)]

        assert set(first) == {"base_url", "users", "api_keys", "clients"}
        assert first["base_url"].startswith("http://127.0.0.1:")
        assert {"username": "ada", "password": "analytical:engine:1843"} in first["users"]
        assert all(set(user) == {"username", "password"} for user in first["users"])
        assert all({"key", "scopes"} <= set(key) for key in first["api_keys"]) and len(first["api_keys"]) == 4
        assert {c["client_id"] for c in first["clients"]} == {"reports-job", "notes-web", "notes-cli", "notes-tv",
                                                                   "notes-api"}
        assert all({"client_id", "grant_types", "redirect_uris", "scope"} <= set(c) for c in first["clients"])
        assert "listening on " + first["base_url"] in readable[0]
        assert readable[1].startswith("Try:  curl -i -u 'ada:analytical:engine:1843' ")

        user = first["users"][0]
        ok = requests.get(first["base_url"] + "/basic/whoami", auth=(user["username"], user["password"]), timeout=5)
        assert ok.status_code == 200 and ok.json() == {"username": "ada", "scheme": "Basic"}
        assert server.stdout.readline().strip() == "GET /basic/whoami -> 200"  # the request log

        started = time.monotonic()
        server.send_signal(stop_signal)
        out, err = server.communicate(timeout=5)
        assert time.monotonic() - started < 2
        assert server.returncode == 0
        assert out.strip().endswith("Practice API stopped.")
        assert err == ""
        with pytest.raises(requests.ConnectionError):
            requests.get(first["base_url"] + "/", timeout=2)
    finally:
        server.kill()
        server.communicate()


def test_port_option_and_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = start_server("--port", str(port))
        out, err = server.communicate(timeout=10)
    assert server.returncode == 1
    assert out == ""
    assert f"Cannot listen on 127.0.0.1:{port}" in err and "--port" in err

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    server = start_server("--port", str(free))
    try:
        assert json.loads(server.stdout.readline())["base_url"] == f"http://127.0.0.1:{free}"
    finally:
        server.terminate()
        server.communicate(timeout=5)
    assert server.returncode == 0


@pytest.mark.parametrize("reader", ["head -n 1", "true"])
def test_a_reader_that_goes_away_stops_the_server_quietly(reader):
    """`python -m helpers.server | head -n 1`: when the pipe's reader exits, the server stops, with no
    BrokenPipeError traceback and exit status 0 (set -o pipefail makes the pipeline report the server's)."""
    pipeline = subprocess.Popen(["bash", "-c", f"set -o pipefail; {sys.executable} -m helpers.server | {reader}"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                start_new_session=True)  # its own process group, to stop the server if it hangs
    try:
        out, err = pipeline.communicate(timeout=20)
    finally:
        try:  # the server, if it outlived the pipeline
            os.killpg(pipeline.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pipeline.communicate()
    assert err == ""
    assert pipeline.returncode == 0
    if reader.startswith("head"):
        assert json.loads(out)["base_url"].startswith("http://127.0.0.1:")


def test_a_reader_that_goes_away_while_requests_are_logged():
    """The log line of a request is the write that meets the closed pipe."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen([sys.executable, "-m", "helpers.server"], cwd=ROOT, stdout=write_end,
                              stderr=subprocess.PIPE, text=True, encoding="utf-8")
    os.close(write_end)
    try:
        with open(read_end, encoding="utf-8") as reader:
            first = json.loads(reader.readline())
        # the reader is gone: the next request's log line cannot be written
        try:
            requests.get(first["base_url"] + "/", timeout=5)
        except requests.ConnectionError:
            pass  # the server may already have noticed and stopped
        _, err = server.communicate(timeout=10)
        assert err == ""
        assert server.returncode == 0
    finally:
        server.kill()
        server.communicate()
