"""The two commands: `make test` does not reinstall needlessly; `make lab` serves the notebooks."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import requests

from conftest import NOTEBOOKS, ROOT, free_port


def test_a_second_run_does_not_reinstall():
    # `make -q` exits 0 only when the target is up to date: nothing would be reinstalled.
    assert subprocess.run(["make", "-q", "install"], cwd=ROOT).returncode == 0


def test_make_test_runs_unit_tests_and_strict_nbval_in_parallel():
    recipe = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "--nbval " in recipe and "--nbval-lax" not in recipe
    assert "--nbval-current-env" in recipe and "--nbval-sanitize-with tests/nbval-sanitize.cfg" in recipe
    assert "-n 2 --dist loadfile" in recipe


def test_ci_runs_make_test():
    script = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in script and "\nmake test\n" in script and "\nmake test-browser\n" in script


def test_make_lab_serves_the_notebooks_with_token_auth(tmp_path):
    port, token = free_port(), "test-token-" + os.urandom(8).hex()
    args = f"--no-browser --port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "LAB_ARGS": args}
    lab = subprocess.Popen(["make", "lab"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/api", timeout=1)
                break
            except requests.ConnectionError:
                assert lab.poll() is None, f"make lab exited: {lab.stdout.read()}"
                assert time.monotonic() < deadline, "JupyterLab did not start within 60 s"
                time.sleep(0.1)
        auth = {"Authorization": f"token {token}"}
        assert requests.get(f"{base}/api/contents/notebooks", timeout=5).status_code == 403, "token auth is off"
        for path in NOTEBOOKS:
            reply = requests.get(f"{base}/api/contents/notebooks/{path.name}", headers=auth, timeout=10)
            assert reply.status_code == 200 and reply.json()["type"] == "notebook", path.name
        page = requests.get(f"{base}/lab/tree/notebooks/00-start-here.ipynb", headers=auth, timeout=10)
        assert page.status_code == 200 and "JupyterLab" in page.text
        settings = requests.get(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification",
                                headers=auth, timeout=10).json()
        defaults = {name: spec.get("default") for name, spec in settings["schema"]["properties"].items()}
        assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, "news pop-ups are on"
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        output, _ = lab.communicate(timeout=20)
    assert re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=", output), "the URL with its token is printed"
