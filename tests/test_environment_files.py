"""pyproject.toml (pip), requirements/lock.txt (make lab, make test, CI), binder/ (Binder) and environment.yml
(conda) install the same packages at the same versions."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

from conftest import ROOT

import lock as lock_tool

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# pip extras that conda-forge ships as separate packages
EXTRAS_AS_PACKAGES = {("pyjwt", "crypto"): ["cryptography"]}
LOCK_TEXT = (ROOT / lock_tool.LOCK).read_text(encoding="utf-8")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def conda_env(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def conda_python(env: dict) -> str:
    pins = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    assert len(pins) == 1, "pin python to one minor version, e.g. python=3.11"
    assert re.fullmatch(r"python=3\.\d+", pins[0]), pins[0]
    return pins[0].split("=")[1]


def pip_packages(python: str) -> list[str]:
    """The names that core + the lab and test extras install directly, as seen by that Python."""
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    lines = project["dependencies"] + [d for name in ("lab", "test") for d in extras[name]]
    marker_env = {**default_environment(), "python_version": python, "python_full_version": python + ".0"}
    packages = []
    for line in lines:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(marker_env):
            continue
        packages.append(requirement.name.lower())
        for extra in requirement.extras:
            packages += EXTRAS_AS_PACKAGES[(requirement.name.lower(), extra)]
    return packages


def conda_packages(env: dict) -> dict[str, str]:
    packages = {}
    for dependency in env["dependencies"]:
        if isinstance(dependency, str) and not dependency.startswith(("python=", "pip")):
            name, specifier = re.fullmatch(r"([\w.-]+)\s*(.*)", dependency).groups()
            packages[name.lower()] = specifier
    return packages


def test_conda_environment_pins_each_package_to_the_lock_version_for_its_python():
    env = conda_env("environment.yml")
    assert env["channels"] == ["conda-forge"]
    python = conda_python(env)
    locked = lock_tool.locked_for(LOCK_TEXT, python)
    assert conda_packages(env) == {name: "==" + locked[name] for name in pip_packages(python)}


def test_pinning_the_conda_environment_rewrites_only_the_versions():
    text = "dependencies:\n  - python=3.11\n  - pip\n  - requests>=2.32\n  - pyjwt==1.0\n  - pip:\n      - -e .\n"
    lock_text = ("requests==2.34.2 \\\n    --hash=sha256:aa\npyjwt==2.15.1\n"
                 "tomli==2.5.0 ; python_full_version < '3.11'\n"
                 "hypothesis==6.168.5 ; python_full_version < '3.11'\n"
                 "hypothesis==6.170.17 ; python_full_version >= '3.11'\n")
    pinned = lock_tool.pin_conda_environment(text + "  - hypothesis\n", lock_text)
    assert pinned == text.replace("requests>=2.32", "requests==2.34.2").replace("pyjwt==1.0", "pyjwt==2.15.1") + \
        "  - hypothesis==6.170.17\n"  # the version for python=3.11, not 3.10's


def test_binder_installs_a_part_of_the_lock_line_for_line():
    """Same versions and PyPI hashes as requirements/lock.txt: what CI tests is what Binder runs. (Markers may
    be spelt differently: uv simplifies each for the packages of its own resolution.)"""
    def entries(text: str) -> dict[str, list[str]]:
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 4)[4])  # one block per pin, after the header
        return {block.split(" ", 1)[0]: sorted(re.findall(r"--hash=(sha256:[0-9a-f]{64})", block)) for block in blocks}

    binder = entries((ROOT / lock_tool.BINDER_LOCK).read_text(encoding="utf-8"))
    full = entries(LOCK_TEXT)
    assert binder and all(hashes and full.get(pin) == hashes for pin, hashes in binder.items())
    names = {name for name, _, _ in lock_tool.pins("\n".join(binder))}
    assert set(pip_packages("3.11")) <= names and "tomli" in names
    assert "playwright" not in names and "jupyter-repo2docker" not in names, "maintainer tools stay out of Binder"


def test_binder_is_pip_based_with_one_python():
    assert not (ROOT / "binder/environment.yml").exists(), "repo2docker would use it and ignore requirements.txt"
    runtime = (ROOT / "binder/runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime == "python-" + conda_python(conda_env("environment.yml")), "Binder and conda users run one Python"
    assert "-e" not in (ROOT / lock_tool.BINDER_LOCK).read_text(encoding="utf-8").split(), \
        "a local package would stop Binder from caching the packages' layer: postBuild installs the helpers"


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


@pytest.fixture(scope="module")
def binder_plan() -> str:
    """repo2docker --no-build --debug prints the Dockerfile Binder would build, without Docker. It is in the
    tools extra, so pinned in the lock: a venv without it fails here with the fix instead of skipping."""
    result = subprocess.run([sys.executable, "-m", "repo2docker", "--no-build", "--debug", str(ROOT)],
                            capture_output=True, text=True, timeout=60)
    plan = result.stdout + result.stderr
    assert "No module named repo2docker" not in plan, "install the tools extra: make install (from the lock)"
    assert result.returncode == 0, plan[-2000:]
    return plan


def test_binder_plan_installs_the_locked_requirements_in_a_cached_layer_then_runs_postbuild(binder_plan):
    python = (ROOT / "binder/runtime.txt").read_text(encoding="utf-8").strip().removeprefix("python-")
    assert f"Building conda environment for python={python}" in binder_plan
    copy_lock = binder_plan.index("COPY --chown=0:0 src/binder/requirements.txt ${REPO_DIR}/binder/requirements.txt")
    install = binder_plan.index('${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r "binder/requirements.txt"')
    source = binder_plan.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    post_build = binder_plan.index("RUN ./binder/postBuild")
    assert copy_lock < install < source < post_build, "locked packages first (cached), then the repo, then postBuild"
    assert "binder/environment.yml" not in binder_plan and "src/environment.yml" not in binder_plan, \
        "neither environment.yml is read: binder/ has none, and the root one is ignored when binder/ exists"


def test_binder_plan_installs_exact_versions_with_hashes(binder_plan):
    """pip enters hash-checking mode for a file with a --hash on any line: every package then needs one, and
    an ==, so Binder installs these versions or fails its build, never something else."""
    text = (ROOT / lock_tool.BINDER_LOCK).read_text(encoding="utf-8")
    requirements = [block for block in re.split(r"\n(?=[A-Za-z0-9])", text) if not block.startswith("#")]
    assert requirements and all(re.match(r"[\w.-]+==[^\s;]+", block) and "--hash=sha256:" in block
                                for block in requirements)
