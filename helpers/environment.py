"""The version check at the top of every notebook.

It fails early, with the fix, instead of letting an old library fail later in a
confusing way (an old requests, say, or a kernel from another environment).
"""
from __future__ import annotations

import re
import sys
from importlib import metadata

MINIMUM_PYTHON = (3, 10)
MINIMUM_VERSIONS = {"requests": (2, 32), "responses": (0, 25), "PyJWT": (2, 10), "Authlib": (1, 3)}


def check_environment() -> None:
    """Print the versions in use, or raise RuntimeError saying what to install."""
    problems = []
    if sys.version_info < MINIMUM_PYTHON:
        problems.append(f"Python {_dotted(MINIMUM_PYTHON)} or newer (this kernel runs {sys.version.split()[0]})")
    found = {}
    for name, minimum in MINIMUM_VERSIONS.items():
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} >= {_dotted(minimum)} (not installed in this kernel's environment)")
            continue
        if _parse(found[name]) < minimum:
            problems.append(f"{name} >= {_dotted(minimum)} (found {found[name]})")
    if problems:
        raise RuntimeError(
            "This kernel's environment is missing: " + "; ".join(problems) + ". "
            "Run `make lab` from the repository (it installs everything into .venv), or "
            "`conda env update -f environment.yml`, then pick that environment's kernel.")
    versions = " · ".join(f"{name} {version}" for name, version in found.items())
    print(f"✓ Ready: Python {sys.version.split()[0]} · {versions}")


def _parse(version: str) -> tuple[int, ...]:
    """(2, 34, 2) from "2.34.2"; pre-release tags such as "rc1" are ignored."""
    leading = re.match(r"\d+(\.\d+)*", version)
    return tuple(int(n) for n in leading.group(0).split(".")) if leading else (0,)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))
