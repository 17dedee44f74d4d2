"""Which installed versions differ from the lock the committed notebook outputs come from.

`make lab` and `make test` install requirements/lock.txt; binder/requirements.txt is its part for the
notebooks (the lab and test extras: no maintainer tools), and Binder installs exactly that. A kernel with
other versions (an old local venv, a conda environment, a `pip install --upgrade`) may print something
other than the committed output: `differences()` names them so that the learner knows why.

It runs at the top of every notebook, so it reads a file and the installed metadata, no pip subprocess.
Stdlib only (packaging, for markers, when it is installed: ipykernel needs it); tools/lock.py uses the
same parsing.
"""
from __future__ import annotations

import os
import re
import sys
from importlib import metadata
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]  # helpers/environment/lock.py -> the repository (editable install)
LOCK = "requirements/lock.txt"  # what `make lab` and `make test` install
NOTEBOOK_LOCK = "binder/requirements.txt"  # its part that a notebook's kernel runs (what Binder installs)
# `make test-latest` points this at the throw-away venv's own `pip freeze`: newer releases there are the point.
LOCK_VARIABLE = "HTTP_API_AUTH_LOCK"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\\n]+?))?\s*\\?$", re.MULTILINE)


def normalize(name: str) -> str:
    """PEP 503's normalized name: "PyJWT" and "pyjwt", "jaraco.classes" and "jaraco-classes" are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> list[tuple[str, str, str]]:
    """[(normalized name, version, marker or "")] of each `name==version` line of a lock or a `pip freeze`."""
    return [(normalize(name), version, (marker or "").strip()) for name, version, marker in PIN.findall(text)]


def applies(marker: str, python: str | None = None) -> bool:
    """Does a lock line's marker (`python_full_version < '3.11'`) hold for this Python (or for `python`,
    "3.11", on this platform)? True without packaging: then a package gets all its locked versions to
    choose from, a looser check but never a false alarm."""
    if not marker:
        return True
    try:
        from packaging.markers import Marker
    except ImportError:
        return True
    environment = {"python_version": python, "python_full_version": python + ".0"} if python else None
    return Marker(marker).evaluate(environment)


def notebook_lock() -> Path | None:
    """The lock to compare with: $HTTP_API_AUTH_LOCK, else the repository's, else None (the helpers were
    pip-installed from elsewhere, and there is no lock to compare with)."""
    chosen = os.environ.get(LOCK_VARIABLE)
    path = Path(chosen) if chosen else REPOSITORY / NOTEBOOK_LOCK
    return path if path.is_file() else None


def installed_versions() -> dict[str, str]:
    """{normalized name: version} of every distribution on sys.path, the first one found winning, as imports do.

    Read from the folder names (`PyJWT-2.15.1.dist-info`, `name-version-py3.11.egg-info`), which name and
    version every installed distribution: one directory listing per path entry, not a file per package
    (importlib.metadata.distributions() reads each METADATA file, ten times slower at a kernel's start).
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = [item.name for item in os.scandir(entry or ".") if item.name.endswith(INSTALLED)]
        except OSError:  # a zip file or a folder that is gone
            continue
        for folder in names:
            parts = folder.rsplit(".", 1)[0].split("-")
            if len(parts) >= 2:
                found.setdefault(normalize(parts[0]), parts[1])
    return found


INSTALLED = (".dist-info", ".egg-info")


def differences(lock: Path | None = None) -> list[tuple[str, str, str]]:
    """[(name, installed version, locked version)] for each locked package installed at another version.

    A locked package that is not installed is not a difference here: check_environment() already fails
    for a missing dependency, and a package only the maintainer tools need is absent on Binder. Markers
    are read only for a version that matches none of a package's lines, so the usual case imports nothing.
    """
    lock = lock or notebook_lock()
    if lock is None:
        return []
    try:
        text = lock.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    lines: dict[str, list[tuple[str, str]]] = {}
    for name, version, marker in pins(text):
        lines.setdefault(name, []).append((version, marker))
    installed = installed_versions()
    found = []
    for name, locked in sorted(lines.items()):
        mine = installed.get(name)
        if mine is None or any(version == mine for version, _ in locked):
            continue
        wanted = [version for version, marker in locked if applies(marker)]
        if wanted:  # none: locked only for another platform or Python (colorama on Windows, tomli on 3.10)
            found.append((name, mine, " or ".join(wanted)))
    return found


def fix() -> str:
    """The command that installs the locked versions into the Python running this check."""
    if sys.prefix == sys.base_prefix:  # conda, or a Python of the system: pip would mix into it
        return ("`conda env update -f environment.yml --prune` (conda-forge may lag the lock), or `make lab`"
                " for a .venv with exactly the locked versions")
    python = sys.executable
    inside = os.path.relpath(python, REPOSITORY)
    if not inside.startswith(os.pardir):
        python = inside  # .venv/bin/python, as the README writes it
    return f"`{python} -m pip install --require-hashes -r {LOCK}` in the repository's folder"


def report(found: list[tuple[str, str, str]], shown: int = 4) -> str:
    """The lines a notebook's setup cell prints under its ✓ line when versions differ ("" when none do)."""
    if not found:
        return ""
    named = ", ".join(f"{name} {mine} (locked {locked})" for name, mine, locked in found[:shown])
    more = f" and {len(found) - shown} more" if len(found) > shown else ""
    one = len(found) == 1
    return (f"! {len(found)} {'package differs' if one else 'packages differ'} from the versions these notebooks were "
            f"run with: {named}{more}.\n"
            f"  An output may differ from the one shown. To match: {fix()}.")
