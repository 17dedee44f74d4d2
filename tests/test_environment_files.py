"""pyproject.toml (pip), environment.yml (conda) and binder/ (Binder) install the same packages."""
from __future__ import annotations

import json
import re
import sys

import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

from conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# pip extras that conda-forge ships as separate packages
EXTRAS_AS_PACKAGES = {("pyjwt", "crypto"): {"cryptography": ""}}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def conda_env(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def conda_python(env: dict) -> str:
    pins = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    assert len(pins) == 1, "pin python to one minor version, e.g. python=3.11"
    assert re.fullmatch(r"python=3\.\d+", pins[0]), pins[0]
    return pins[0].split("=")[1]


def pip_packages(python: str) -> dict[str, str]:
    """{name: version specifier} of core + every extra, as seen by that Python."""
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    lines = project["dependencies"] + [d for name in ("lab", "test") for d in extras[name]]
    marker_env = {**default_environment(), "python_version": python, "python_full_version": python + ".0"}
    packages = {}
    for line in lines:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(marker_env):
            continue
        name = requirement.name.lower()
        packages[name] = str(requirement.specifier)
        for extra in requirement.extras:
            packages.update(EXTRAS_AS_PACKAGES[(name, extra)])
    return packages


def conda_packages(env: dict) -> dict[str, str]:
    packages = {}
    for dependency in env["dependencies"]:
        if isinstance(dependency, str) and not dependency.startswith(("python=", "pip")):
            name, specifier = re.fullmatch(r"([\w.-]+)\s*(.*)", dependency).groups()
            packages[name.lower()] = specifier
    return packages


def test_conda_environment_matches_pyproject():
    env = conda_env("environment.yml")
    assert env["channels"] == ["conda-forge"]
    assert conda_packages(env) == pip_packages(conda_python(env))


def test_binder_environment_is_the_conda_one_without_the_local_package():
    local, binder = conda_env("environment.yml"), conda_env("binder/environment.yml")
    assert binder["channels"] == local["channels"]
    assert conda_python(binder) == conda_python(local)
    assert conda_packages(binder) == conda_packages(local)
    assert not [d for d in binder["dependencies"] if isinstance(d, dict)], "no pip section: postBuild installs"
    assert "-e" not in (ROOT / "binder/environment.yml").read_text(encoding="utf-8").split()


def test_local_conda_environment_installs_the_helpers():
    pip_section = [d["pip"] for d in conda_env("environment.yml")["dependencies"] if isinstance(d, dict)]
    assert pip_section == [["-e ."]]


def test_python_floor_agrees():
    assert pyproject()["project"]["requires-python"] == ">=3.10"
    assert tuple(map(int, conda_python(conda_env("environment.yml")).split("."))) >= (3, 10)


def test_postbuild_stops_on_errors_installs_helpers_and_silences_news():
    script = (ROOT / "binder/postBuild").read_text(encoding="utf-8")
    lines = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert lines[0].startswith("set -e")
    assert "pip install --no-deps -e ." in script
    assert "overrides.json" in script
    settings = (ROOT / "binder/overrides.json").read_text(encoding="utf-8")
    assert '"fetchNews": "false"' in settings and '"checkForUpdates": false' in settings
    assert json.loads(settings)["@jupyterlab/notebook-extension:tracker"]["codeCellConfig"]["lineWrap"] is True  # no code cut off at 1280 px
