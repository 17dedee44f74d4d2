"""The version check at the top of every notebook, and the check of a whole machine.

`check_environment()` fails early, with the fix, instead of letting an old library fail later in a
confusing way (an old requests, say, or a kernel from another environment).

`python -m helpers.environment` (or `make check`) is what a learner runs the day before a workshop:
a ✓ or ✗ line for each thing the notebooks need (Python, the packages, the Jupyter kernel, a loopback
port and no proxy in its way, keyring, the practice API in process and over loopback), with the fix
under each ✗. Its exit
status is 0 only when every line is a ✓. It reaches no network beyond 127.0.0.1.

It starts the practice API with the functions every notebook's setup cell calls (from helpers.serving):
a ✓ then means that those cells work here, which a separate process could not show as directly.
"""
from __future__ import annotations

import errno
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

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


# -- python -m helpers.environment: the check a learner runs the day before --------------------------

PROJECT = "http-api-auth-tutorial-helpers"  # the distribution pyproject.toml names
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"  # helpers/environment/__init__.py -> the repository
EXTRAS = {"lab"}  # what learners install beyond the dependencies; "test" and "tools" are for contributors
NOTEBOOK_KERNEL = "python3"  # the kernelspec name in every notebook's metadata (a test keeps them in step)
SETUP = "run `make lab` (or `make check`) in the repository, or `conda env update -f environment.yml`"


@dataclass
class Check:
    """One line of the list: ✓ or ✗, what was checked, and for a ✗ the fix (for a ✓, maybe a note)."""

    ok: bool
    what: str
    advice: str = ""

    def lines(self) -> list[str]:
        mark = "✓" if self.ok else "✗"
        return [f"{mark} {self.what}"] + [f"    {line}" for line in self.advice.splitlines() if self.advice]


def check_python() -> list[Check]:
    version = sys.version.split()[0]
    if sys.version_info >= MINIMUM_PYTHON:
        return [Check(True, f"Python {version} (the notebooks need {_dotted(MINIMUM_PYTHON)} or newer)")]
    return [Check(False, f"Python {version} is too old: the notebooks need {_dotted(MINIMUM_PYTHON)} or newer",
                  f"Install Python {_dotted(MINIMUM_PYTHON)} or newer (python.org, pyenv, or conda), then {SETUP}.")]


def declared_minimums() -> dict[str, tuple[int, ...]]:
    """{package: lowest version} from pyproject.toml's dependencies and the lab extra.

    pyproject.toml first: after a `git pull` that raised a bound, the installed metadata is older than
    the file. The installed metadata serves where there is no file to read (tomllib is 3.11+; 3.10 has
    tomli only with the test extra).
    """
    requirements = _pyproject_requirements()
    if requirements is None:
        requirements = metadata.requires(PROJECT) or []
    minimums = {}
    for line in requirements:
        bound = re.match(r"\s*([A-Za-z0-9._-]+)(\[[^\]]*\])?\s*>=\s*([0-9][0-9.]*)", line)
        if bound and _for_learners(line):
            minimums[bound.group(1)] = _parse(bound.group(3))
    return minimums


def _for_learners(requirement: str) -> bool:
    """True for a requirement with no marker, or with `extra == "lab"` (how the metadata writes the lab extra)."""
    marker = requirement.partition(";")[2].strip()
    extra = re.fullmatch(r"""extra\s*==\s*['"]([\w-]+)['"]""", marker)
    return not marker or bool(extra and extra.group(1) in EXTRAS)


def _pyproject_requirements() -> list[str] | None:
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            return None
    try:
        project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    except (OSError, KeyError, ValueError):
        return None
    optional = project.get("optional-dependencies", {})
    return [*project.get("dependencies", []), *(line for extra in sorted(EXTRAS) for line in optional.get(extra, []))]


def check_packages() -> list[Check]:
    try:
        minimums = declared_minimums()
    except metadata.PackageNotFoundError:
        return [Check(False, "the project is not installed in this Python, and pyproject.toml cannot be read",
                      f"Run this from the repository's folder with its environment's Python: {SETUP}.")]
    checks = []
    for name, minimum in minimums.items():
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            checks.append(Check(False, f"{name} is not installed (the notebooks need {_dotted(minimum)} or newer)",
                                f"Install it: {SETUP}."))
            continue
        if _parse(found) < minimum:
            checks.append(Check(False, f"{name} {found} is too old (the notebooks need {_dotted(minimum)} or newer)",
                                f"Upgrade it: {SETUP}."))
        else:
            checks.append(Check(True, f"{name} {found} (>= {_dotted(minimum)})"))
    return checks


def check_kernel() -> list[Check]:
    """Is the kernel the notebooks name ("python3") this environment's Python, as JupyterLab will find it?"""
    what = f'Jupyter kernel "{NOTEBOOK_KERNEL}"'
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return [Check(False, f"{what}: JupyterLab is not installed in this Python", f"Install it: {SETUP}.")]
    try:
        spec = KernelSpecManager().get_kernel_spec(NOTEBOOK_KERNEL)
    except NoSuchKernel:
        return [Check(False, f"{what} does not exist (ipykernel is not installed here)", f"Install it: {SETUP}.")]
    program = spec.argv[0] if spec.argv else ""
    # jupyter_client starts "python", "python3" or "python3.X" as the Python that runs JupyterLab itself
    if program in {"python", f"python{sys.version_info[0]}", "python%d.%d" % sys.version_info[:2]}:
        return [Check(True, f"{what} runs this Python, when JupyterLab runs from this environment (`make lab` does)")]
    prefix = _prefix_of(program)
    if prefix is not None and os.path.normcase(os.path.realpath(prefix)) == \
            os.path.normcase(os.path.realpath(sys.prefix)):
        return [Check(True, f"{what} runs this environment's Python")]
    runs = f"{program}, which does not run" if prefix is None else f"{program}, from {prefix}"
    advice = ["The notebooks would run without this environment's packages."]
    if os.environ.get("JUPYTER_PATH"):
        advice.append("JUPYTER_PATH is set, and Jupyter looks there first: unset it, or take that kernel out of it.")
    advice += ["Start JupyterLab with `make lab` (it sets JUPYTER_PREFER_ENV_PATH=1, so that this environment's",
               "kernel comes first), or run `python -m ipykernel install --user --name http-api-auth` with this",
               "Python, and pick that kernel in JupyterLab (Kernel > Change Kernel)."]
    return [Check(False, f"{what} is another environment's: {spec.resource_dir}/kernel.json starts {runs}",
                  "\n".join(advice))]


def _prefix_of(program: str) -> str | None:
    """sys.prefix of the Python `program`, or None when it does not run."""
    try:
        result = subprocess.run([program, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True,
                                timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def check_loopback_port() -> list[Check]:
    """A server can listen on 127.0.0.1 and a client can connect to it: what loopback notebooks and curl need."""
    from helpers.serving.cli import DEFAULT_PORT

    try:
        with socket.create_server(("127.0.0.1", 0)) as server, \
                socket.create_connection(server.getsockname(), timeout=5):
            port = server.getsockname()[1]
    except OSError as error:
        return [Check(False, f"no port on 127.0.0.1 to listen on and connect to ({error.strerror or error})",
                      "Most notebooks, and `python -m helpers.server`, serve the practice API on 127.0.0.1 (for\n"
                      "http.client, urllib and curl). Ask whoever manages this machine to allow loopback\n"
                      "connections (a firewall or a sandbox blocks them), or use Binder for the workshop.")]
    note = (f"Port {DEFAULT_PORT} is free: `python -m helpers.server` will serve the README's "
            f"http://127.0.0.1:{DEFAULT_PORT}." if _port_is_free(DEFAULT_PORT) else
            f"Port {DEFAULT_PORT} is taken: `python -m helpers.server` will say which free port it takes instead.")
    return [Check(True, f"127.0.0.1 takes connections (tried port {port})", note)]


def _port_is_free(port: int) -> bool:
    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server: TIME_WAIT is not taken
            probe.bind(("127.0.0.1", port))
    except OSError as error:
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        raise
    return True


def check_proxy() -> list[Check]:
    """No proxy from the environment stands between requests and 127.0.0.1.

    requests (2.34) and curl send even a request for 127.0.0.1 to the proxy that HTTP_PROXY or
    HTTPS_PROXY names, unless NO_PROXY lists it: on a laptop set up for a company proxy, every
    loopback cell would fail with ProxyError.
    """
    from requests.utils import get_environ_proxies, select_proxy

    proxies = set()
    for url in ("http://127.0.0.1:8000/", "https://127.0.0.1:8000/", "http://localhost:8000/"):
        proxy = select_proxy(url, get_environ_proxies(url))
        if proxy:
            where = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            proxies.add(f"{where.hostname}:{where.port}" if where.port else str(where.hostname))  # never user:password
    if not proxies:
        return [Check(True, "no proxy from the environment stands between requests and 127.0.0.1")]
    return [Check(False, f"requests would send requests for 127.0.0.1 to the proxy {', '.join(sorted(proxies))} "
                         "(a *_proxy environment variable names it; curl reads them too)",
                  "List loopback in NO_PROXY before you start JupyterLab or curl:\n"
                  "`export NO_PROXY=127.0.0.1,localhost` (Windows: `set NO_PROXY=127.0.0.1,localhost`).")]


def check_keyring() -> list[Check]:
    """Notebook 02 calls keyring.get_keyring() and swaps in backends of its own: keyring must import and start."""
    try:
        import keyring
        import keyring.backends.fail

        backend = keyring.get_keyring()
    except Exception as error:  # a broken keyringrc.cfg or backend raises anything at all
        return [Check(False, f"keyring does not start: {type(error).__name__}: {error}",
                      "Notebook 02 uses it. `python -m keyring diagnose` shows its configuration file; remove\n"
                      f"or fix that file, or reinstall: {SETUP}.")]
    version = metadata.version("keyring")
    if isinstance(backend, keyring.backends.fail.Keyring):
        return [Check(True, f"keyring {version}, with no OS keychain on this machine (usual on servers and Binder)",
                      "Nothing to do: notebook 02 shows this case, and brings a stand-in for its keychain cells.\n"
                      "On your own laptop, keyring uses the macOS Keychain, the Windows Credential Locker, or\n"
                      "the Secret Service of a Linux desktop (GNOME Keyring, KWallet).")]
    return [Check(True, f"keyring {version}, storing secrets in {type(backend).__module__}.{type(backend).__name__}")]


def check_practice_api() -> list[Check]:
    """The practice API answers a request in process (responses) and over loopback HTTP, as the notebooks use it."""
    import requests

    from helpers.serving.inprocess import start_practice_api
    from helpers.serving.loopback import serve_practice_api

    checks = []
    for transport, start in (("in process", start_practice_api), ("over loopback", serve_practice_api)):
        what = f"the practice API {transport}"
        try:
            api = start()
            try:
                url = api.url("/.well-known/jwks.json")
                with requests.Session() as session:
                    session.trust_env = False  # no ~/.netrc login rides along on a helper's request (notebook 07)
                    session.proxies = requests.utils.get_environ_proxies(url)  # but the proxies a notebook meets
                    response = session.get(url, timeout=5)
            finally:
                api.stop()
        except requests.exceptions.ProxyError:
            checks.append(Check(False, f"{what} does not answer: requests sent it to a proxy",
                                "Fix the proxy line above (NO_PROXY), then run this again."))
            continue
        except Exception as error:
            checks.append(Check(False, f"{what} does not answer: {type(error).__name__}: {error}",
                                f"Reinstall, then run this again: {SETUP}. If it still fails, send this list to\n"
                                "the instructor."))
            continue
        if response.status_code == 200:
            checks.append(Check(True, f"{what} answers (GET {response.url} -> 200)"))
        else:
            checks.append(Check(False, f"{what} answers GET {response.url} with {response.status_code}, not 200",
                                "Send this list to the instructor: the practice API is broken here."))
    return checks


CHECKS = (check_python, check_packages, check_kernel, check_loopback_port, check_proxy, check_keyring,
          check_practice_api)


def main() -> int:
    """Print the list; 0 when every line is a ✓, 1 otherwise."""
    started = time.monotonic()
    print(f"Checking this machine for the notebooks (Python at {sys.executable}):")
    checks = []
    for run in CHECKS:
        try:
            checks += run()
        except Exception as error:  # a check that breaks is a ✗ with its reason, never a traceback
            checks.append(Check(False, f"{run.__name__} could not finish: {type(error).__name__}: {error}",
                                "Send this list to the instructor."))
    for check in checks:
        print("\n".join(check.lines()))
    problems = sum(not check.ok for check in checks)
    took = f"({time.monotonic() - started:.1f} s)"
    if problems:
        print(f"✗ {problems} of {len(checks)} checks failed {took}: fix each ✗ as its lines say, then run this again.")
        return 1
    print(f"✓ All {len(checks)} checks passed {took}: this machine is ready for the notebooks.")
    return 0

