"""Review RV4 #5: `make lab` with a .venv it cannot use says `make clean`, not a pip error."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def make_install(venv) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "install", f"VENV={venv}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_a_venv_without_pip_gets_the_fix(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    result = make_install(venv)
    assert result.returncode != 0
    assert "No module named pip" not in result.stdout + result.stderr
    assert f"{venv} has no pip" in result.stdout and "`make clean`, then `make lab`" in result.stdout


def test_a_venv_of_an_old_python_gets_the_fix(tmp_path):
    """A .venv made with python3.8 stays 3.8 after `make install PYTHON=python3.12`: the check says so."""
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    # a Python 3.8 as the Makefile meets it: it reports its version and fails the `>= 3.10` test
    python.write_text('#!/bin/sh\ncase "$1" in --version) echo "Python 3.8.18";; *) exit 1;; esac\n')
    python.chmod(0o755)
    result = make_install(tmp_path / "venv")
    assert result.returncode != 0
    assert "runs Python 3.8.18, and the notebooks need Python 3.10 or newer" in result.stdout
    assert "`make clean`, then `make lab PYTHON=python3.12`" in result.stdout
    assert "Installing" not in result.stdout
