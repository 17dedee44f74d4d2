"""The version check at the top of every notebook, and the check of a whole machine.

`check_environment()` fails early, with the fix, instead of letting an old library fail later in a
confusing way (an old requests, say, or a kernel from another environment).

`python -m helpers.environment` (or `make check`) is what a learner runs the day before a workshop:
a ✓ or ✗ line for each thing the notebooks need (Python, the packages, the Jupyter kernel, a loopback
port and no proxy in its way, keyring, the practice API in process and over loopback), with the fix
under each ✗. Its exit status is 0 only when every line is a ✓. Its only requests are for 127.0.0.1, its
own practice API; but where a proxy variable is set and no_proxy does not list loopback, requests sends
them to that proxy's host, as a notebook's would (the proxy line says so). Every line it prints has a
proxy's user:password@ masked: learners send this list to the instructor.

It imports only the standard library until a check needs more, and `helpers/__init__.py` loads its
names lazily: so a missing or broken package (requests, urllib3, cryptography), or a Python too old
for them, is a ✗ line with its fix, not a traceback.

It starts the practice API with the functions every notebook's setup cell calls (from helpers.serving):
a ✓ then means that those cells work here, which a separate process could not show as directly.
"""
from __future__ import annotations

import errno
import importlib
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

from helpers.environment import lock

MINIMUM_PYTHON = (3, 10)
SHOWN = ("requests", "responses", "PyJWT", "Authlib")  # the versions the setup cell's ✓ line names


def check_environment() -> None:
    """Print the versions in use, or raise RuntimeError saying what to install.

    It checks every package the notebooks depend on (pyproject.toml's dependencies and what their extras
    bring, such as cryptography for pyjwt[crypto]), not only the ones it names: an old urllib3 would
    otherwise pass here and fail in notebook 06. Metadata only, nothing imported: it runs at every kernel start.
    """
    problems = []
    if sys.version_info < MINIMUM_PYTHON:
        problems.append(f"Python {_dotted(MINIMUM_PYTHON)} or newer (this kernel runs {sys.version.split()[0]})")
    found = {}
    for name, minimum in declared_minimums(extras=()).items():
        try:
            found[name.lower()] = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} >= {_dotted(minimum)} (not installed in this kernel's environment)")
            continue
        if _parse(found[name.lower()]) < minimum:
            problems.append(f"{name} >= {_dotted(minimum)} (found {found[name.lower()]})")
    if problems:
        raise RuntimeError(
            "This kernel's environment is missing: " + "; ".join(problems) + ". "
            "Run `make lab` from the repository (it installs everything into .venv), or "
            "`conda env update -f environment.yml`, then pick that environment's kernel.")
    versions = " · ".join(f"{name} {found[name.lower()]}" for name in SHOWN if name.lower() in found)
    print(f"✓ Ready: Python {sys.version.split()[0]} · {versions}")
    drift = lock.report(lock.differences())  # nothing when the versions are the lock's (strict nbval)
    if drift:
        print(drift)


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
# The module to import to see that a package works, where it is not the distribution's own name.
# cryptography: the part PyJWT's RS256 uses, which loads its compiled core (a bare `import cryptography` does not).
# jupyterlab: None, not imported (seconds); it is the program that starts the kernel, which check_kernel covers.
IMPORT_NAMES = {"pyjwt": "jwt", "python-dotenv": "dotenv",
                "cryptography": "cryptography.hazmat.primitives.asymmetric.rsa", "jupyterlab": None}


@dataclass
class Check:
    """One line of the list: ✓ or ✗, what was checked, and for a ✗ the fix (for a ✓, maybe a note)."""

    ok: bool
    what: str
    advice: str = ""

    def lines(self) -> list[str]:
        """The printed lines: a URL's user:password@ in `what`, and a proxy variable's password anywhere, masked."""
        mark = "✓" if self.ok else "✗"
        what = re.sub(r"://[^\s@]*@", "://***@", self.what)  # an error quoting a URL with its user:password
        lines = [f"{mark} {what}"] + [f"    {line}" for line in self.advice.splitlines() if self.advice]
        return [masked(line) for line in lines]


def masked(text: str) -> str:
    """`text` with each proxy variable's user:password (and password) as ***.

    An error from requests or urllib3 quotes the proxy URL it could not use, password and all (InvalidURL:
    "Failed to parse: http://alice:s3cr3t@proxy.corp:80800"); this list goes to the instructor.
    """
    for secret in _proxy_credentials():
        text = text.replace(secret, "***")
    return text


def _proxy_credentials() -> list[str]:
    """The user:password (and the password alone) of each *_proxy variable, longest first."""
    secrets = set()
    for name, value in os.environ.items():
        if name.lower().endswith("_proxy") and "@" in value:
            userinfo = value.partition("://")[2].rpartition("@")[0] if "://" in value else value.rpartition("@")[0]
            password = userinfo.partition(":")[2]
            secrets.update(secret for secret in (userinfo, password) if len(secret) >= 3)
    return sorted(secrets, key=len, reverse=True)


def check_python() -> list[Check]:
    version = sys.version.split()[0]
    if sys.version_info >= MINIMUM_PYTHON:
        return [Check(True, f"Python {version} (the notebooks need {_dotted(MINIMUM_PYTHON)} or newer)")]
    return [Check(False, f"Python {version} is too old: the notebooks need {_dotted(MINIMUM_PYTHON)} or newer",
                  f"Install Python {_dotted(MINIMUM_PYTHON)} or newer (python.org, pyenv, or conda), then {SETUP}.")]


def declared_minimums(extras=EXTRAS) -> dict[str, tuple[int, ...]]:
    """{package: lowest version} from pyproject.toml's dependencies and `extras` (the lab extra), and
    from what their own extras require (pyjwt[crypto]: cryptography, as PyJWT's metadata says).

    pyproject.toml first: after a `git pull` that raised a bound, the installed metadata is older than
    the file. The installed metadata serves where there is no file to read (tomllib is 3.11+; 3.10 has
    tomli only with the test extra).
    """
    requirements = _pyproject_requirements(extras)
    if requirements is None:
        requirements = metadata.requires(PROJECT) or []
    minimums = {}
    for line in requirements:
        bound = REQUIREMENT.match(line)
        if bound and _wanted(line, extras):
            minimums[bound.group(1)] = _parse(bound.group(3))
            if bound.group(2):
                minimums.update(_minimums_of_extras(bound.group(1), bound.group(2).strip("[]").split(",")))
    return minimums


REQUIREMENT = re.compile(r"\s*([A-Za-z0-9._-]+)(\[[^\]]*\])?\s*>=\s*([0-9][0-9.]*)")


def _minimums_of_extras(package: str, extras: list[str]) -> dict[str, tuple[int, ...]]:
    """{package: lowest version} that `package`'s own `extras` require; empty when it is not installed."""
    try:
        requirements = metadata.requires(package) or []
    except metadata.PackageNotFoundError:
        return {}  # its own line says it is missing
    wanted = {extra.strip() for extra in extras}
    return {bound.group(1): _parse(bound.group(3)) for line in requirements
            if (bound := REQUIREMENT.match(line)) and _marker_extra(line) in wanted}


def _marker_extra(requirement: str) -> str | None:
    """"lab" for a requirement marked `extra == "lab"` (how the metadata writes an extra), else None."""
    extra = re.fullmatch(r"""extra\s*==\s*['"]([\w-]+)['"]""", requirement.partition(";")[2].strip())
    return extra.group(1) if extra else None


def _wanted(requirement: str, extras=EXTRAS) -> bool:
    """True for a requirement with no marker, or marked as one of `extras`."""
    return not requirement.partition(";")[2].strip() or _marker_extra(requirement) in extras


def _pyproject_requirements(extras=EXTRAS) -> list[str] | None:
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
    return [*project.get("dependencies", []), *(line for extra in sorted(extras) for line in optional.get(extra, []))]


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
                                f"Install it: {reinstall()}."))
            continue
        if _parse(found) < minimum:
            checks.append(Check(False, f"{name} {found} is too old (the notebooks need {_dotted(minimum)} or newer)",
                                f"Upgrade it: {reinstall()}."))
            continue
        module = IMPORT_NAMES.get(name.lower(), name.lower().replace("-", "_"))
        try:
            if module is not None:
                importlib.import_module(module)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # a broken compiled core may raise anything (pyo3's PanicException too)
            again = f'--force-reinstall "{name}>={_dotted(minimum)}"'  # pip keeps a broken copy of the right version
            checks.append(Check(False, f"{name} {found} is installed but `import {module}` fails: "
                                       f"{type(error).__name__}: {error}",
                                f"Reinstall it: {reinstall(again)}."))
            continue
        checks.append(Check(True, f"{name} {found} (>= {_dotted(minimum)})"))
    return checks


def reinstall(what: str = '-e ".[lab]"') -> str:
    """How to install `what` (pip's arguments; the project by default) into the Python running this check.

    In a venv (make lab's .venv), pip installs into it directly: `make lab` would not reinstall while its
    stamp file is newer than pyproject.toml, so it is no fix for a package that broke or went old inside.
    """
    if sys.prefix == sys.base_prefix:  # conda, or a Python of the system
        return SETUP
    python = sys.executable
    inside = os.path.relpath(python, PYPROJECT.parent)
    if not inside.startswith(os.pardir):
        python = inside  # .venv/bin/python, as the README writes it
    return f"run `{python} -m pip install {what}` in the repository's folder"


def check_lock() -> list[Check]:
    """The installed versions are the ones the committed outputs come from (binder/requirements.txt's).

    A ✗ in a venv, where the fix installs exactly those; a ✓ with the list in a conda environment or the
    system's Python, where conda-forge may not have every locked version yet and nothing is broken.
    """
    path = lock.notebook_lock()
    if path is None:
        return [Check(True, "no lock file to compare versions with (the helpers were installed without the "
                            "repository)")]
    shown = os.path.relpath(path, PYPROJECT.parent) if path.is_relative_to(PYPROJECT.parent) else str(path)
    found = lock.differences(path)
    if not found:
        return [Check(True, f"the installed versions are {shown}'s, which the notebooks' outputs come from")]
    named = "\n".join(f"{name} {mine} (locked {locked})" for name, mine, locked in found)
    differ = "versions differ" if len(found) > 1 else "version differs"
    return [Check(sys.prefix == sys.base_prefix, f"{len(found)} installed {differ} from {shown}'s, "
                  "which the notebooks' outputs come from",
                  f"{named}\nAn output may differ from the committed one. To match: {lock.fix()}.")]


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


LOOPBACK_URLS = ("http://127.0.0.1:8000/", "https://127.0.0.1:8000/", "http://localhost:8000/")
# How to put loopback in front of the no_proxy list in force, in each shell. Both spellings in POSIX
# shells: requests and curl read no_proxy first, and NO_PROXY only where no_proxy is unset or empty.
# Windows has one variable for both spellings.
NO_PROXY_FIX = (
    "List loopback in no_proxy and NO_PROXY, then start JupyterLab or curl from that same terminal:\n"
    'macOS, Linux:  export no_proxy="127.0.0.1,localhost,${no_proxy:-$NO_PROXY}"; export NO_PROXY="$no_proxy"\n'
    'Windows PowerShell:  $env:NO_PROXY = "127.0.0.1,localhost,$env:NO_PROXY"\n'
    "Windows cmd:  set NO_PROXY=127.0.0.1,localhost  (then add your other entries after a comma)")


def check_proxy() -> list[Check]:
    """No proxy from the environment stands between requests and 127.0.0.1.

    requests (2.34) and curl send even a request for 127.0.0.1 to the proxy that http_proxy or
    https_proxy (or the upper-case spelling) names, unless no_proxy lists it: on a laptop set up for a
    company proxy, every loopback cell would fail with ProxyError. A proxy URL requests cannot parse
    (a password with an unencoded "/" or "@", a port above 65535) fails every such cell too; the line
    says so without quoting it, since it holds a password.
    """
    from requests.exceptions import InvalidURL  # InvalidProxyURL is a kind of it; both are ValueErrors
    from requests.utils import get_environ_proxies, select_proxy
    from urllib3.util import parse_url

    proxies, variables = set(), set()
    for url in LOOPBACK_URLS:
        proxy = select_proxy(url, get_environ_proxies(url))
        if not proxy:
            continue
        variable = _proxy_variable(urlsplit(url).scheme)
        variables.add(variable)
        try:
            where = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            where.port  # noqa: B018 - raises ValueError for a port that is no number, or above 65535
            parse_url(proxy)  # how requests reads it: LocationParseError (a ValueError) for "alice:pa" as host
        except (ValueError, InvalidURL):
            return [Check(False, f"the proxy setting {variable} is not a valid URL (percent-encode @ : / # ? "
                                 "in the password)",
                          "requests cannot use it, and sends no request while it is set. Write it as\n"
                          "http://user:password@host:port, with each @ : / # ? of the user or password as\n"
                          "%40 %3A %2F %23 %3F (Python: urllib.parse.quote(password, safe=\"\")), and a port up to\n"
                          "65535. Or, if loopback needs no proxy here:\n" + NO_PROXY_FIX)]
        proxies.add(f"{where.hostname}:{where.port}" if where.port else str(where.hostname))  # never user:password
    if not proxies:
        return [Check(True, "no proxy from the environment stands between requests and 127.0.0.1")]
    in_force = "no_proxy" if os.environ.get("no_proxy") else "NO_PROXY" if os.environ.get("NO_PROXY") else None
    unlisted = (f"; {in_force} is set but does not list 127.0.0.1, and requests and curl read no_proxy first"
                if in_force == "no_proxy" and os.environ.get("NO_PROXY") else
                f"; {in_force} does not list 127.0.0.1" if in_force else "")
    # curl reads the lower-case http_proxy only (an upper-case HTTP_PROXY could come from a CGI request's header)
    curl = "curl reads it too" if variables - {"HTTP_PROXY"} else "curl ignores HTTP_PROXY, so curl may still work"
    return [Check(False, f"requests would send requests for 127.0.0.1 to the proxy {', '.join(sorted(proxies))} "
                         f"(set by {', '.join(sorted(variables))}; {curl}){unlisted}",
                  NO_PROXY_FIX)]


def _proxy_variable(scheme: str) -> str:
    """The variable that gives requests its proxy for `scheme`: the lower-case spelling first, as urllib reads them."""
    for key in (f"{scheme}_proxy", "all_proxy"):
        for name in (key, key.upper()):
            if os.environ.get(name):
                return name
    return "the system's proxy settings"


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
        url = None
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
                                "Fix the proxy line above (no_proxy), then run this again."))
            continue
        except ValueError as error:  # InvalidURL and InvalidProxyURL too: a proxy URL requests cannot parse
            if url is None or not _uses_a_proxy(url):
                raise
            checks.append(Check(False, f"{what} does not answer: requests cannot use the proxy setting",
                                "Fix the proxy line above, then run this again."))
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


def _uses_a_proxy(url: str) -> bool:
    from requests.utils import get_environ_proxies, select_proxy

    return bool(select_proxy(url, get_environ_proxies(url)))


CHECKS = (check_python, check_packages, check_lock, check_kernel, check_loopback_port, check_proxy, check_keyring,
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

