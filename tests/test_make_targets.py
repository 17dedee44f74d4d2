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


# -- the first install says what it does; later runs say nothing ----------------------------------

FAKE_PYTHON = """#!/bin/sh
# A stand-in for python3: `-m venv DIR` makes DIR/bin/python, which logs its arguments and prints one line.
[ "$1 $2" = "-m venv" ] || exit 9
mkdir -p "$3/bin"
cat > "$3/bin/python" <<'PY'
#!/bin/sh
echo "$@" >> "$(dirname "$0")/../calls.log"
echo "(pip would install here)"
PY
chmod +x "$3/bin/python"
"""


def run_install(tmp_path, target: str = "install") -> str:
    """`make TARGET` into a fresh venv folder, with a fake python3: make's own recipe runs, in milliseconds, offline."""
    fake = tmp_path / "python3"
    fake.write_text(FAKE_PYTHON, encoding="utf-8")
    fake.chmod(0o755)
    result = subprocess.run(["make", "--no-print-directory", target, f"PYTHON={fake}", f"VENV={tmp_path / 'venv'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_the_first_install_says_what_it_does_and_how_long_it_takes(tmp_path):
    output = run_install(tmp_path)
    lines = output.splitlines()
    pip = lines.index("(pip would install here)")
    before, after = "\n".join(lines[:pip]), "\n".join(lines[pip + 1:])
    assert f"Creating {tmp_path / 'venv'}" in before
    assert re.search(r"Installing JupyterLab, requests and the other packages into .*: a minute or two the first time", before)
    assert "prints nothing until it is done" in before
    assert re.search(r"Installed in \d+ s\. Later runs skip this step", after)
    assert "pip install --quiet" in (tmp_path / "venv" / "calls.log").read_text(encoding="utf-8")


def test_a_second_install_is_quiet_and_installs_nothing(tmp_path):
    run_install(tmp_path)
    calls = (tmp_path / "venv" / "calls.log").read_text(encoding="utf-8")
    again = run_install(tmp_path)
    assert "Installing" not in again and "(pip would install here)" not in again
    assert (tmp_path / "venv" / "calls.log").read_text(encoding="utf-8") == calls


def test_make_lab_and_make_test_say_it_on_their_first_install(tmp_path):
    for target in ("lab", "test"):
        recipe = subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'none'}"], cwd=ROOT, capture_output=True,
                                text=True).stdout
        assert "Installing JupyterLab, requests and the other packages" in recipe, target


def test_make_check_prints_the_list_without_a_warning():
    """The day-before check: the ✓/✗ list of python -m helpers.environment, and runpy's warning kept out."""
    result = subprocess.run(["make", "--no-print-directory", "check"], cwd=ROOT, capture_output=True, text=True,
                            encoding="utf-8", timeout=120, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Checking this machine for the notebooks")
    assert result.stdout.splitlines()[-1].startswith("✓ All ")
    assert result.stderr == ""


def test_make_workshop_opens_the_learner_copies():
    # The guide's pip route: learners on a laptop land where Binder and nbgitpuller put them, not on the solutions.
    recipe = subprocess.run(["make", "-n", "workshop"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "default_url=/lab/tree/learner-copies/00-start-here.ipynb" in recipe
    assert (ROOT / "learner-copies" / "00-start-here.ipynb").is_file()
    assert "`make workshop`" in (ROOT / "instructors" / "README.md").read_text(encoding="utf-8")
