"""The README is a newcomer's page: its commands, links and credentials must be true."""
from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from conftest import NOTEBOOKS, ROOT
from helpers.practice_api import demo
from helpers.serving.loopback import serve_practice_api

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_gives_the_two_commands_and_the_conda_alternative():
    assert "make lab" in README and "make test" in README
    assert "conda env create -f environment.yml" in README


def test_binder_badges_open_existing_notebooks():
    links = re.findall(r"\((https://mybinder\.org/v2/gh/[^)]+)\)", README)
    assert links, "no Binder badge"
    for link in links:
        labpath = parse_qs(urlsplit(link).query)["labpath"][0]
        assert (ROOT / unquote(labpath)).is_file(), labpath
    assert any(link.endswith("labpath=notebooks%2F00-start-here.ipynb") for link in links)


def test_every_notebook_is_on_the_map_with_minutes_and_links_resolve():
    for path in NOTEBOOKS:
        row = next((line for line in README.splitlines() if f"](notebooks/{path.name})" in line), None)
        assert row, f"{path.name} is not on the map"
        time_line = re.search(r"\*\*Time:\*\* (\d+) min teaching, (\d+) min exercises", path.read_text(encoding="utf-8"))
        assert time_line, f"{path.name} has no Time line"
        teaching, exercises = time_line.groups()
        assert f"| {teaching} min | {exercises} min |" in row, f"the map's minutes for {path.name} are not its own"
    for target in re.findall(r"\]\(((?!https?://)[^)#]+)\)", README):
        assert (ROOT / target).exists(), target


def test_demo_credentials_match_the_practice_api():
    for user in demo.USERS:
        assert f"| user | `{user['username']}` | `{user['password']}`" in README
    for client in demo.CLIENTS:
        assert f"| OAuth client `{client['client_id']}`" in README
        if "client_secret" in client:
            assert f"`{client['client_secret']}`" in README
    for key in demo.API_KEYS:
        assert f"| API key `{key['key_id']}`" in README and f"`{key['key']}`" in README
    assert f"curl -i -u '{demo.USERS[0]['username']}:{demo.USERS[0]['password']}'" in README
    assert "python -m helpers.server" in README
    signer = demo.AWS["credentials"][0]  # the README's curl --aws-sigv4 line, run below with the rest
    assert (f"--aws-sigv4 'aws:amz:{demo.AWS['region']}:{demo.AWS['service']}'" in README and
            f"--user '{signer['access_key_id']}:{signer['secret_access_key']}' \"$BASE{demo.AWS['whoami']}\"" in README)


# -- the terminal commands of "The practice API", run as written ----------------------------------

BASH_BLOCKS = re.findall(r"```bash\n(.*?)```", README, re.S)
SERVER_COMMAND = ".venv/bin/python -m helpers.server"
README_BASE_URL = "http://127.0.0.1:8000"
BASE_LINE = re.compile(r"BASE=(\S+)(\s+#.*)?")  # the curl block's first line: where the server listens


def commands(block: str) -> list[str]:
    """The block's commands, one per entry: continued lines (ending in a backslash) joined, blank lines dropped."""
    joined = block.replace("\\\n", "")  # as bash reads a backslash-newline: nothing
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def expected_status(command: str) -> int:
    """The status a README line promises in its comment: `curl ... /login   # 200: tokens` -> 200."""
    promise = re.search(r"\s#\s*(\d{3})\b[^'\"]*$", command)
    assert promise, f"this README line does not say which status it answers (end it with '# 200' or so): {command}"
    return int(promise.group(1))


def block_kind(block: str) -> str:
    if block.startswith(SERVER_COMMAND):
        return "server"
    lines = commands(block)
    if BASE_LINE.fullmatch(lines[0]) and all(command.startswith("curl ") for command in lines[1:]):
        return "curl"
    if "make lab" in block:
        return "make"  # tests/test_make_targets.py runs `make lab`, and `make test` is what runs this file
    if block.startswith("conda "):
        return "conda"  # no conda here; tests/test_environment_files.py keeps environment.yml true
    return "unknown"


def test_every_bash_block_is_run_by_a_test():
    kinds = [block_kind(block) for block in BASH_BLOCKS]
    assert "unknown" not in kinds, f"a ```bash block of the README that no test runs: {BASH_BLOCKS[kinds.index('unknown')]}"
    assert kinds.count("server") == 1 and kinds.count("curl") >= 1


def test_commands_join_continued_lines_and_read_the_promised_status():
    block = "curl -i -H 'A: b' \\\n     -d '{\"x\": 1}' http://h/login   # 200: tokens\n\ncurl -i http://h/   # 401\n"
    assert commands(block) == ["curl -i -H 'A: b'      -d '{\"x\": 1}' http://h/login   # 200: tokens",
                               "curl -i http://h/   # 401"]
    assert [expected_status(command) for command in commands(block)] == [200, 401]
    with pytest.raises(AssertionError, match="does not say which status"):
        expected_status("curl -i http://h/  # the '#' in a comment without a status")


class Lines:
    """The lines a process writes, read in a thread, so that a test waits for each with a timeout."""

    def __init__(self, stream) -> None:
        self.queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)  # the process closed its standard output

    def next(self, timeout: float = 10) -> str:
        try:
            line = self.queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line from the server within {timeout} s") from None
        assert line is not None, "the server stopped"
        return line


def readme_shell(tmp_path: Path) -> dict[str, str]:
    """A folder and environment where the README's `.venv/bin/python` is the Python running this test.

    Under `make test-pythons` the venv is .venv-3.10 or .venv-3.13, and this checkout's .venv may be
    another Python or absent: the README's commands must run with the Python under test.
    """
    shim = tmp_path / ".venv" / "bin" / "python"
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


@pytest.fixture(params=["as 8000 comes", "8000 held by another learner's server"])
def port_8000(request):
    """Nothing done to port 8000, or another practice API holding it (the shared JupyterHub machine): then the
    README's lines must reach the learner's own server, never that one. Yields that other server's log."""
    if request.param == "as 8000 comes":
        yield None
        return
    other_log: list[str] = []
    try:
        other = serve_practice_api(8000, log=other_log.append)
    except OSError:  # some other test's server holds it already: the case is there all the same
        yield None
        return
    try:
        yield other_log
    finally:
        other.stop()


def test_the_practice_api_commands_work_as_written(tmp_path, port_8000):
    """The README's server command, then its curl block verbatim (with the BASE= line the server prints, when
    8000 is taken), against the server it started."""
    if shutil.which("curl") is None:
        pytest.fail("curl is not installed, and the README's terminal commands use it: install it "
                    "(apt-get install curl, brew install curl) to run this test")
    [server_block] = [block for block in BASH_BLOCKS if block_kind(block) == "server"]
    [curl_block] = [commands(block) for block in BASH_BLOCKS if block_kind(block) == "curl"]
    base_line, curl_lines = curl_block[0], curl_block[1:]
    assert BASE_LINE.fullmatch(base_line).group(1) == README_BASE_URL
    [server_command] = commands(server_block)
    env = readme_shell(tmp_path)
    server = subprocess.Popen(["bash", "-c", server_command], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, encoding="utf-8", start_new_session=True)
    try:
        lines = Lines(server.stdout)
        base_url = json.loads(lines.next())["base_url"]
        announcement = [lines.next()]
        while announcement[-1] != "Stop: Ctrl-C":
            announcement.append(lines.next())
        if base_url != README_BASE_URL:  # 8000 was taken: the server prints the BASE= line to type instead
            assert announcement[1].startswith("Port 8000 is taken") and \
                announcement[2].startswith(f"{README_BASE_URL} is someone else's server: requests sent there do "
                                           "not reach this one."), announcement
            base_line = announcement[3]  # what the README tells a person to type then, in place of its own
            assert base_line == f"BASE={base_url}", announcement

        for command in curl_lines:
            run = f"{base_line}\n{command}"
            result = subprocess.run(["bash", "-c", run], cwd=tmp_path, env=env, capture_output=True, text=True,
                                    timeout=20)
            assert result.returncode == 0, f"{command}\n{result.stderr}"
            status_line = result.stdout.splitlines()[0]
            assert re.fullmatch(r"HTTP/1\.[01] (\d{3}) .*", status_line), status_line
            assert int(status_line.split()[1]) == expected_status(command), f"{command}\n{result.stdout}"
            path = re.search(r'"\$BASE(/[^"]*)"', command).group(1)
            assert lines.next() == f"{'POST' if ' -d ' in run else 'GET'} {path} -> {expected_status(command)}", \
                "the answer did not come from the server the README's command started"

        assert not port_8000, f"the README's lines reached the server on port 8000, not their own: {port_8000}"
        os.killpg(server.pid, signal.SIGINT)  # Ctrl-C stops the server, as the README says
        assert server.wait(timeout=10) == 0
        assert lines.next() == "Practice API stopped."
        assert server.stderr.read() == ""
    finally:
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.wait()


def test_tells_a_newcomer_how_to_check_their_machine():
    run_it = README[README.index("## Run it"):README.index("## What you will be able to do")]
    assert "`make check`" in run_it and "`python -m helpers.environment`" in run_it
    recipe = subprocess.run(["make", "-n", "check"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "-m helpers.environment" in recipe
