"""check_environment(): the first line of every notebook says what is installed, or how to fix it."""
from __future__ import annotations

from importlib import metadata

import os
import re

import pytest

from helpers import check_environment, environment


def test_prints_the_versions_in_use(capsys):
    check_environment()
    line = capsys.readouterr().out.strip()
    assert line.startswith("✓ Ready: Python 3.")
    for name in environment.SHOWN:
        assert f" · {name} {metadata.version(name)}" in line


def test_an_old_package_is_named_with_the_fix(monkeypatch):
    real = metadata.version
    monkeypatch.setattr(environment.metadata, "version", lambda name: "2.20.0" if name == "requests" else real(name))
    with pytest.raises(RuntimeError, match=r"requests >= 2\.32 \(found 2\.20\.0\).*make lab.*conda env update"):
        check_environment()


def test_a_missing_package_is_named(monkeypatch):
    real = metadata.version

    def version(name):
        if name.lower() == "pyjwt":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(environment.metadata, "version", version)
    with pytest.raises(RuntimeError, match="pyjwt >= 2.14 \\(not installed in this kernel's environment\\)"):
        check_environment()


@pytest.mark.parametrize("text, parsed", [("2.34.2", (2, 34, 2)), ("1.0rc1", (1, 0)), ("3", (3,)), ("dev", (0,))])
def test_version_parsing(text, parsed):
    assert environment._parse(text) == parsed


# -- python -m helpers.environment: the list a learner runs the day before ---------------------------

import errno  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import keyring  # noqa: E402
import keyring.backend  # noqa: E402
import keyring.backends.fail  # noqa: E402

from conftest import NOTEBOOKS, ROOT  # noqa: E402
from helpers.serving import cli, inprocess, loopback  # noqa: E402

try:
    import tomllib
except ImportError:  # Python 3.10: the test extra installs tomli
    import tomli as tomllib

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def only(checks: list) -> "environment.Check":
    assert len(checks) == 1, checks
    return checks[0]


def assert_fails_with_fix(check, what: str, fix: str) -> None:
    assert not check.ok, check
    assert what in check.what, check.what
    assert fix in check.advice, check.advice
    assert check.lines()[0].startswith("✗ ") and all(line.startswith("    ") for line in check.lines()[1:])


def test_python_passes_here_and_names_its_minimum():
    check = only(environment.check_python())
    assert check.ok and check.what == f"Python {sys.version.split()[0]} (the notebooks need 3.10 or newer)"
    assert check.lines() == ["✓ " + check.what]


def test_an_old_python_fails_with_the_fix(monkeypatch):
    monkeypatch.setattr(environment, "MINIMUM_PYTHON", (sys.version_info[0], sys.version_info[1] + 1))
    assert_fails_with_fix(only(environment.check_python()), "is too old", "make lab")


def test_the_minimum_python_is_pyprojects():
    assert PYPROJECT["requires-python"] == ">=" + environment._dotted(environment.MINIMUM_PYTHON)


def test_the_packages_checked_are_pyprojects_dependencies_and_the_lab_extra():
    declared = environment.declared_minimums()
    expected = [*PYPROJECT["dependencies"], *PYPROJECT["optional-dependencies"]["lab"]]
    # and what an extra of theirs brings: pyjwt[crypto] needs cryptography
    assert sorted(declared) == sorted([*(line.split(">=")[0].split("[")[0] for line in expected), "cryptography"])
    assert declared["urllib3"] == (2, 6, 3) and declared["jupyterlab"] == (4, 2) and "pytest" not in declared


def test_the_installed_metadata_gives_the_same_list_where_pyproject_cannot_be_read(monkeypatch):
    from_file = environment.declared_minimums()
    monkeypatch.setattr(environment, "_pyproject_requirements", lambda extras: None)
    assert environment.declared_minimums() == from_file


def test_the_notebooks_version_check_agrees_with_pyproject():
    declared = {name.lower(): minimum for name, minimum in environment.declared_minimums().items()}
    assert {name.lower() for name in environment.SHOWN} <= set(declared)


def test_every_package_passes_here():
    checks = environment.check_packages()
    assert len(checks) == len(environment.declared_minimums()) and all(check.ok for check in checks), checks
    assert f"✓ requests {metadata.version('requests')} (>= 2.32)" in [check.lines()[0] for check in checks]


def test_an_old_and_a_missing_package_fail_with_the_fix(monkeypatch):
    real = metadata.version

    def version(name):
        if name == "pyjwt":
            raise metadata.PackageNotFoundError(name)
        return "2.20.0" if name == "requests" else real(name)

    monkeypatch.setattr(environment.metadata, "version", version)
    failed = {check.what: check for check in environment.check_packages() if not check.ok}
    assert set(failed) == {"requests 2.20.0 is too old (the notebooks need 2.32 or newer)",
                           "pyjwt is not installed (the notebooks need 2.14 or newer)"}
    for check in failed.values():
        assert environment.reinstall() in check.advice


def test_the_kernel_the_notebooks_name_is_the_one_checked():
    assert {json.loads(path.read_text(encoding="utf-8"))["metadata"]["kernelspec"]["name"]
            for path in NOTEBOOKS} == {environment.NOTEBOOK_KERNEL}


def test_the_kernel_passes_here():
    check = only(environment.check_kernel())
    assert check.ok and check.what.startswith('Jupyter kernel "python3" runs this')


def kernel_spec(tmp_path, monkeypatch, program: str) -> None:
    """A "python3" kernel spec found before any other (JUPYTER_PATH comes first), starting `program`."""
    folder = tmp_path / "jupyter" / "kernels" / "python3"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({"argv": [program, "-m", "ipykernel_launcher", "-f",
                                                             "{connection_file}"],
                                                    "display_name": "Python 3", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))


def test_a_kernel_of_another_environment_fails_with_the_fix(tmp_path, monkeypatch):
    other = tmp_path / "other-python"
    other.write_text("#!/bin/sh\necho /opt/another-environment\n")
    other.chmod(0o755)
    kernel_spec(tmp_path, monkeypatch, str(other))
    check = only(environment.check_kernel())
    assert_fails_with_fix(check, f"is another environment's: {tmp_path / 'jupyter' / 'kernels' / 'python3'}",
                          "make lab")
    assert f"starts {other}, from /opt/another-environment" in check.what
    assert "python -m ipykernel install --user --name http-api-auth" in check.advice
    assert "JUPYTER_PATH is set, and Jupyter looks there first" in check.advice


def test_a_kernel_whose_python_is_gone_fails_with_the_fix(tmp_path, monkeypatch):
    kernel_spec(tmp_path, monkeypatch, str(tmp_path / "deleted" / "python"))
    assert_fails_with_fix(only(environment.check_kernel()), "which does not run", "JUPYTER_PREFER_ENV_PATH=1")


def test_a_kernel_that_names_this_python_by_its_path_passes(tmp_path, monkeypatch):
    kernel_spec(tmp_path, monkeypatch, sys.executable)
    check = only(environment.check_kernel())
    assert check.ok and check.what == 'Jupyter kernel "python3" runs this environment\'s Python'


def test_no_kernel_and_no_jupyter_fail_with_the_fix(monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    def no_kernel(self, name):
        raise NoSuchKernel(name)

    monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", no_kernel)
    assert_fails_with_fix(only(environment.check_kernel()), "does not exist", "make lab")
    monkeypatch.setitem(sys.modules, "jupyter_client.kernelspec", None)  # None: the import raises ImportError
    assert_fails_with_fix(only(environment.check_kernel()), "JupyterLab is not installed", "make lab")


def test_a_loopback_port_passes_here_and_says_whether_8000_is_free(monkeypatch):
    check = only(environment.check_loopback_port())
    assert check.ok and check.what.startswith("127.0.0.1 takes connections (tried port ")
    monkeypatch.setattr(environment, "_port_is_free", lambda port: port != cli.DEFAULT_PORT)
    assert only(environment.check_loopback_port()).advice == (
        "Port 8000 is taken: `python -m helpers.server` will say which free port it takes instead.")
    monkeypatch.setattr(environment, "_port_is_free", lambda port: True)
    assert "Port 8000 is free" in only(environment.check_loopback_port()).advice


def test_port_8000_held_by_another_program_is_seen_as_taken():
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", 8000))
            holder.listen()
        except OSError:
            pass  # another program holds it already: taken either way
        assert environment._port_is_free(8000) is False


def test_no_loopback_fails_with_the_fix(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(environment.socket, "create_server", refuse)
    assert_fails_with_fix(only(environment.check_loopback_port()), "Operation not permitted", "Binder")


class Keychain(keyring.backend.KeyringBackend):
    """A keyring backend for this test: it stores nothing."""

    priority = 1

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        raise NotImplementedError

    def delete_password(self, service, username):
        raise NotImplementedError


def test_keyring_with_and_without_a_keychain_passes(monkeypatch):
    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())
    check = only(environment.check_keyring())
    assert check.ok and "no OS keychain on this machine" in check.what and "Nothing to do" in check.advice
    monkeypatch.setattr(keyring, "get_keyring", lambda: Keychain())
    check = only(environment.check_keyring())
    assert check.ok and check.what.endswith(f"storing secrets in {__name__}.Keychain") and check.advice == ""


def test_a_keyring_that_does_not_start_fails_with_the_fix(monkeypatch):
    def broken():
        raise ValueError("No backend named 'keyrings.gone.Keyring'")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    assert_fails_with_fix(only(environment.check_keyring()), "keyring does not start: ValueError: No backend",
                          "python -m keyring diagnose")


def test_the_practice_api_answers_here_in_process_and_over_loopback():
    checks = environment.check_practice_api()
    assert [check.ok for check in checks] == [True, True]
    assert checks[0].what == ("the practice API in process answers "
                              "(GET https://api.practice.test/.well-known/jwks.json -> 200)")
    assert checks[1].what.startswith("the practice API over loopback answers (GET http://127.0.0.1:")
    assert inprocess._running is None, "the check left the in-process API intercepting requests"


def test_a_practice_api_that_does_not_start_or_answers_wrong_fails(monkeypatch):
    def unimportable():
        raise ImportError("cannot import name 'RequestsMock' from 'responses'")

    real_serve = loopback.serve_practice_api
    monkeypatch.setattr(inprocess, "start_practice_api", unimportable)
    monkeypatch.setattr(loopback, "serve_practice_api", lambda: WrongPathOn(real_serve()))
    in_process, over_loopback = environment.check_practice_api()
    assert_fails_with_fix(in_process, "the practice API in process does not answer: ImportError", "make lab")
    assert not over_loopback.ok and over_loopback.what.endswith("/no-such-path with 404, not 200")
    assert "instructor" in over_loopback.advice


class WrongPathOn:
    """A running practice API whose url() points at a path it does not serve."""

    def __init__(self, api) -> None:
        self.api = api

    def url(self, path: str) -> str:
        return self.api.url("/no-such-path")

    def stop(self) -> None:
        self.api.stop()


def test_the_list_ends_with_a_summary_and_exit_status_1_for_any_failure(monkeypatch, capsys):
    def broken_check():
        raise KeyError("surprise")

    monkeypatch.setattr(environment, "CHECKS", (environment.check_python, broken_check))
    assert environment.main() == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("✓ Python ")
    assert out[2] == "✗ broken_check could not finish: KeyError: 'surprise'"
    assert out[-1].startswith("✗ 1 of 2 checks failed (") and "fix each ✗" in out[-1]

    monkeypatch.setattr(environment, "CHECKS", (environment.check_python,))
    assert environment.main() == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("✓ All 1 checks passed (")


def run_command(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers.environment"], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=60, env={**os.environ, "PYTHONIOENCODING": "utf-8", **env})


def test_the_command_passes_here_with_a_line_per_check_within_3_s():
    result = run_command()
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout
    assert lines[0] == f"Checking this machine for the notebooks (Python at {sys.executable}):"
    marks = [line[0] for line in lines[1:] if not line.startswith("    ")]
    assert set(marks) == {"✓"} and len(marks) >= 15
    took = float(re.search(r"passed \((\d+\.\d) s\)", lines[-1]).group(1))
    assert took < 3, f"the checks took {took} s"
    assert "Traceback" not in result.stderr


def test_the_command_fails_with_status_1_and_the_fix_when_a_check_fails(tmp_path):
    folder = tmp_path / "kernels" / "python3"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({"argv": [str(tmp_path / "gone" / "python")],
                                                    "display_name": "Python 3", "language": "python"}))
    result = run_command(JUPYTER_PATH=str(tmp_path))
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    assert failed[0].startswith('✗ Jupyter kernel "python3" is another environment\'s') and len(failed) == 2
    assert failed[1].startswith("✗ 1 of ")


def test_no_proxy_passes(no_proxy_settings):
    check = only(environment.check_proxy())
    assert check.ok and check.what == "no proxy from the environment stands between requests and 127.0.0.1"


def test_a_proxy_in_the_environment_fails_with_the_fix_and_without_its_password(no_proxy_settings):
    """requests 2.34 sends http://127.0.0.1 to HTTP_PROXY unless NO_PROXY names it: every loopback cell fails."""
    no_proxy_settings.setenv("HTTP_PROXY", "http://ada:proxy-secret@proxy.example.test:3128")
    check = only(environment.check_proxy())
    assert_fails_with_fix(check, "to the proxy proxy.example.test:3128", "NO_PROXY=127.0.0.1,localhost")
    assert "proxy-secret" not in "\n".join(check.lines())
    with socket.socket() as closed:  # a proxy on loopback that nothing answers: no request leaves the machine
        closed.bind(("127.0.0.1", 0))
        no_proxy_settings.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed.getsockname()[1]}")
        over_loopback = environment.check_practice_api()[1]
    assert not over_loopback.ok and over_loopback.what.endswith("requests sent it to a proxy")
    assert "no_proxy" in over_loopback.advice


def test_a_proxy_with_loopback_in_no_proxy_passes(no_proxy_settings):
    no_proxy_settings.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    no_proxy_settings.setenv("HTTP_PROXY", "http://proxy.example.test:3128")
    no_proxy_settings.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert only(environment.check_proxy()).ok


def test_the_check_reads_this_repository_s_pyproject():
    # In a checkout it reads the lower bounds from pyproject.toml; a wrong path would fall back to the installed
    # metadata without a word, and the check would stop following the file.
    from helpers import environment
    assert environment.PYPROJECT == ROOT / "pyproject.toml"
    assert environment.PYPROJECT.is_file()


# -- the lock: which installed versions differ from the ones the committed outputs come from ----------

from helpers.environment import lock as drift  # noqa: E402


def write_lock(tmp_path, text: str):
    path = tmp_path / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_versions_that_match_the_lock_print_nothing_more(monkeypatch, capsys):
    """Strict nbval: the setup cell's output is one line wherever the lock is installed."""
    check_environment()
    assert capsys.readouterr().out.count("\n") == 1


def test_the_lock_is_found_beside_the_package_as_on_binder(monkeypatch):
    monkeypatch.delenv(drift.LOCK_VARIABLE, raising=False)
    assert drift.notebook_lock() == ROOT / drift.NOTEBOOK_LOCK


def test_a_version_other_than_the_lock_s_is_named_with_the_fix(tmp_path, monkeypatch, capsys):
    lock = write_lock(tmp_path, "requests==2.0.0 \\\n    --hash=sha256:00\npyjwt==2.15.1\n")
    monkeypatch.setenv(drift.LOCK_VARIABLE, str(lock))
    check_environment()
    first, second, third = capsys.readouterr().out.splitlines()
    assert first.startswith("✓ Ready")
    assert second == (f"! 1 package differs from the versions these notebooks were run with: requests "
                      f"{metadata.version('requests')} (locked 2.0.0).")
    assert third.startswith("  An output may differ")
    assert "pip install --require-hashes -r requirements/lock.txt" in third


def test_many_differences_are_summed_up(tmp_path):
    names = ["requests", "urllib3", "pyjwt", "cryptography", "authlib", "responses"]
    found = drift.differences(write_lock(tmp_path, "".join(f"{name}==0.0.1\n" for name in names)))
    assert [name for name, _, _ in found] == sorted(names)
    assert "and 2 more." in drift.report(found).splitlines()[0]


def test_a_pin_for_another_python_or_platform_is_no_difference(tmp_path):
    lock = write_lock(tmp_path, "requests==0.0.1 ; python_full_version < '3.0'\n"
                                "urllib3==0.0.1 ; sys_platform == 'nonesuch'\nnot-installed-here==1.0\n")
    assert drift.differences(lock) == []


def test_without_a_lock_file_nothing_is_compared(tmp_path, monkeypatch, capsys):
    """A learner who pip-installed the helpers has no repository around them."""
    monkeypatch.delenv(drift.LOCK_VARIABLE, raising=False)
    monkeypatch.setattr(drift, "REPOSITORY", tmp_path)
    assert drift.notebook_lock() is None and drift.differences() == []
    check_environment()
    assert capsys.readouterr().out.count("\n") == 1
    assert environment.check_lock()[0].ok


def test_the_list_has_a_cross_with_each_difference_in_a_venv(tmp_path, monkeypatch):
    monkeypatch.setenv(drift.LOCK_VARIABLE, str(write_lock(tmp_path, "requests==2.0.0\n")))
    [check] = environment.check_lock()
    assert not check.ok and "1 installed version differs" in check.what
    assert check.advice.startswith(f"requests {metadata.version('requests')} (locked 2.0.0)\n")
    monkeypatch.setattr(drift.sys, "base_prefix", sys.prefix)  # conda: conda-forge may lag, nothing is broken
    [check] = environment.check_lock()
    assert check.ok and "conda env update -f environment.yml" in check.advice


def test_installed_versions_are_importlib_metadata_s():
    expected = {}
    for distribution in metadata.distributions():
        expected.setdefault(drift.normalize(distribution.metadata["Name"]), distribution.version)
    assert drift.installed_versions() == expected


def test_the_usual_case_reads_no_marker_and_runs_no_pip():
    """It runs at every kernel start: a listing of site-packages and one file, no packaging, no subprocess."""
    code = ("import subprocess, sys; from helpers.environment import lock\n"
            "subprocess.Popen = None\nassert lock.differences() == []\n"
            "assert 'packaging.markers' not in sys.modules, 'markers were parsed'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30,
                            env={k: v for k, v in os.environ.items() if k != drift.LOCK_VARIABLE})
    assert result.returncode == 0, result.stderr
