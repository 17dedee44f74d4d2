"""Write the lock files from pyproject.toml: `make lock` (keep today's pins where they still fit) and
`make upgrade` (`--upgrade`: the newest releases).

requirements/lock.txt pins every package that `make lab` and `make test` install (pyproject.toml's
dependencies and all its extras), with PyPI's sha256 of each of their files, for every Python from
requires-python up ("universal": a package that dropped Python 3.10 gets two lines, each with a marker).
binder/requirements.txt is the same resolution for the lab and test extras only: Binder needs no
Playwright or repo2docker. Both come from `uv pip compile`, run from .venv-lock (requirements/lock-tool.txt
pins uv itself).

Each lock starts with the sha256 of the inputs it was made from (requires-python, dependencies and extras);
tests/test_lock.py fails when pyproject.toml's no longer match, so a changed dependency cannot land with a
stale lock. Stdlib only (and tomli on 3.10), since it runs in .venv-lock.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# One parser for the lock, the notebooks' check's (stdlib only, as this script needs):
from helpers.environment.lock import LOCK, NOTEBOOK_LOCK as BINDER_LOCK, applies, normalize, pins  # noqa: E402
BINDER_EXTRAS = ("lab", "test")  # what a learner's Binder session runs; "tools" is for maintainers
TOOL_INPUT, TOOL_LOCK = "requirements/lock-tool.in", "requirements/lock-tool.txt"
# PyPI by name: pip and uv here may also read local mirrors, and a lock must install on a laptop and on Binder.
INDEX = "https://pypi.org/simple"
INPUTS = re.compile(r"^# inputs sha256: ([0-9a-f]{64})", re.MULTILINE)


def inputs(pyproject_text: str) -> dict:
    """What a lock depends on in pyproject.toml: nothing else there (pytest settings, the version) stales it."""
    project = tomllib.loads(pyproject_text)["project"]
    return {"requires-python": project.get("requires-python", ""),
            "dependencies": project.get("dependencies", []),
            "optional-dependencies": project.get("optional-dependencies", {})}


def inputs_digest(pyproject_text: str) -> str:
    """sha256 of `inputs`, in one canonical JSON spelling (so reordering the TOML's tables changes nothing)."""
    canonical = json.dumps(inputs(pyproject_text), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def recorded_digest(lock_text: str) -> str | None:
    """The inputs sha256 a lock's header records, or None for a lock without one."""
    found = INPUTS.search(lock_text)
    return found.group(1) if found else None


def minimum_python(pyproject_text: str) -> str:
    floor = re.fullmatch(r">=\s*(3\.\d+)", inputs(pyproject_text)["requires-python"].strip())
    if not floor:
        raise SystemExit("tools/lock.py reads requires-python as '>=3.X'; lock by hand for any other form")
    return floor.group(1)


def compile_lock(uv: str, output: str, extras: list[str] | None, python: str, upgrade: bool,
                 constraint: str | None = None) -> None:
    """Run `uv pip compile` for pyproject.toml into `output` (all extras when `extras` is None)."""
    command = [uv, "pip", "compile", "pyproject.toml", "--universal", "--python-version", python,
               "--generate-hashes", "--default-index", INDEX, "--quiet", "--output-file", output,
               "--custom-compile-command", "make lock"]
    command += ["--all-extras"] if extras is None else [flag for extra in extras for flag in ("--extra", extra)]
    if constraint:
        command += ["--constraint", constraint]  # the same versions as the full lock, for a subset of it
    if upgrade:
        command.append("--upgrade")
    subprocess.run(command, cwd=ROOT, check=True, env={**os.environ, "UV_NO_CONFIG": "1"})


def stamp(path: Path, digest: str, what: str) -> None:
    """Put the inputs sha256 under uv's header (replacing an older one), so that a test can compare it."""
    text = re.sub(r"^# inputs sha256: .*\n(#   .*\n)*", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    header, _, body = text.partition("\n#    make lock\n")
    line = (f"# inputs sha256: {digest}\n"
            f"#   of pyproject.toml's requires-python, dependencies and {what} (tests/test_lock.py checks it)\n")
    path.write_text(f"{header}\n#    make lock\n{line}{body}", encoding="utf-8")


def changes(before: str, after: str) -> list[str]:
    """One line per package whose pinned versions changed: "requests 2.34.2 -> 2.35.0"."""
    def versions(text: str) -> dict[str, str]:
        table: dict[str, list[str]] = {}
        for name, version, _ in pins(text):
            table.setdefault(name, []).append(version)
        return {name: ", ".join(found) for name, found in table.items()}

    old, new = versions(before), versions(after)
    return [f"{name} {old.get(name, '(new)')} -> {new.get(name, '(removed)')}"
            for name in sorted(old.keys() | new.keys()) if old.get(name) != new.get(name)]


CONDA_ENVIRONMENT = "environment.yml"
CONDA_PIN = re.compile(r"^(\s*-\s*)([A-Za-z0-9._-]+)[ \t]*([<>=!~][^\s#]*)?[ \t]*$", re.MULTILINE)
CONDA_PYTHON = re.compile(r"^\s*-\s*python=(3\.\d+)\s*$", re.MULTILINE)


def locked_for(lock_text: str, python: str) -> dict[str, str]:
    """{name: version} that the lock installs on `python` ("3.11") on this platform."""
    return {name: version for name, version, marker in pins(lock_text) if applies(marker, python)}


def pin_conda_environment(text: str, lock_text: str) -> str:
    """environment.yml with each package `==` the version the lock has for its python= (a name the lock
    lacks, python and pip, is left as it is). conda-forge may not have a release yet: the README says so."""
    python = CONDA_PYTHON.search(text)
    if not python:
        raise SystemExit(f"{CONDA_ENVIRONMENT}: pin python to one minor version (python=3.11)")
    versions = locked_for(lock_text, python.group(1))

    def pinned(match: re.Match) -> str:
        version = versions.get(normalize(match.group(2)))
        return f"{match.group(1)}{match.group(2)}=={version}" if version else match.group(0)

    return CONDA_PIN.sub(pinned, text)


def newer(lock_text: str, freeze_text: str) -> list[str]:
    """What `make test-latest` installed beyond the lock, one line a package: "requests 2.34.2 -> 2.35.0",
    or "(new)" for a dependency the lock does not have (a new release brought it)."""
    locked: dict[str, list[str]] = {}
    for name, version, marker in pins(lock_text):
        if applies(marker):
            locked.setdefault(name, []).append(version)
    return [f"{name} {', '.join(locked.get(name, ['(new)']))} -> {version}"
            for name, version, _ in sorted(pins(freeze_text)) if version not in locked.get(name, [])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", default="uv", help="the uv to run (make lock passes .venv-lock's)")
    parser.add_argument("--upgrade", action="store_true", help="newest releases, not today's pins")
    parser.add_argument("--tool", action="store_true", help=f"re-lock only uv itself ({TOOL_LOCK})")
    parser.add_argument("--compare", metavar="FREEZE", help="only list how a `pip freeze` differs from the lock")
    args = parser.parse_args(argv)
    if args.compare:
        found = newer((ROOT / LOCK).read_text(encoding="utf-8"), Path(args.compare).read_text(encoding="utf-8"))
        print(f"{len(found)} packages newer than {LOCK}" + (":" if found else " (the lock is up to date)"))
        for line in found:
            print(f"  {line}")
        return 0
    pyproject_text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    python, digest = minimum_python(pyproject_text), inputs_digest(pyproject_text)
    before = (ROOT / LOCK).read_text(encoding="utf-8") if (ROOT / LOCK).exists() else ""
    if args.tool:
        subprocess.run([args.uv, "pip", "compile", TOOL_INPUT, "--universal", "--python-version", python,
                        "--generate-hashes", "--default-index", INDEX, "--quiet", "--output-file", TOOL_LOCK,
                        "--custom-compile-command", "make lock-tool"] + ["--upgrade"] * args.upgrade,
                       cwd=ROOT, check=True, env={**os.environ, "UV_NO_CONFIG": "1"})
        print(f"{TOOL_LOCK}: written (then `make lock` installs it into .venv-lock)")
        return 0
    (ROOT / LOCK).parent.mkdir(exist_ok=True)
    compile_lock(args.uv, LOCK, None, python, args.upgrade)
    stamp(ROOT / LOCK, digest, "all its extras")
    compile_lock(args.uv, BINDER_LOCK, list(BINDER_EXTRAS), python, upgrade=False, constraint=LOCK)
    stamp(ROOT / BINDER_LOCK, digest, "the extras " + " and ".join(BINDER_EXTRAS))
    conda = ROOT / CONDA_ENVIRONMENT
    conda.write_text(pin_conda_environment(conda.read_text(encoding="utf-8"), (ROOT / LOCK).read_text(
        encoding="utf-8")), encoding="utf-8")
    changed = changes(before, (ROOT / LOCK).read_text(encoding="utf-8"))
    print(f"{LOCK}: " + (f"{len(changed)} packages changed" if changed else "no version changed"))
    for line in changed:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
