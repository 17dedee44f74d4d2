"""Review RV4 on the pre-workshop check: a proxy's password, what the check can report, no_proxy, check_environment."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from importlib import metadata

import pytest

from conftest import PROXY_VARIABLES, ROOT
from helpers import environment

def clean_env(**settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name.lower() not in PROXY_VARIABLES}
    return {**env, "PYTHONIOENCODING": "utf-8", **settings}


def run_check(env: dict[str, str], python: str = sys.executable) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "helpers.environment"], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=120, env=env)


# -- 1. the list learners send the instructor never holds a proxy's password -----------------------

BAD_PROXIES = {
    "http://alice:s3cr3t@proxy.corp:80800": ["s3cr3t"],  # port out of range: InvalidURL quoted it whole
    "http://alice:pa/ss@proxy.corp:8080": ["pa/ss", "alice:pa", "'pa'"],  # "/" cuts the host: ValueError quoted 'pa'
}


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "HTTPS_PROXY"])
@pytest.mark.parametrize("proxy", list(BAD_PROXIES))
def test_an_unparsable_proxy_is_named_without_its_password(no_proxy_settings, proxy, variable):
    no_proxy_settings.setenv(variable, proxy)
    [check] = environment.check_proxy()
    assert not check.ok
    assert check.what == (f"the proxy setting {variable} is not a valid URL "
                          "(percent-encode @ : / # ? in the password)")
    assert "%40 %3A %2F %23 %3F" in check.advice and "Reinstall" not in check.advice
    printed = "\n".join(check.lines())
    for secret in BAD_PROXIES[proxy]:
        assert secret not in printed


@pytest.mark.parametrize("proxy", list(BAD_PROXIES))
def test_the_whole_list_holds_no_proxy_password_and_does_not_say_reinstall(proxy):
    result = run_check(clean_env(HTTP_PROXY=proxy, HTTPS_PROXY=proxy))
    assert result.returncode == 1
    for secret in BAD_PROXIES[proxy]:
        assert secret not in result.stdout + result.stderr
    assert "could not finish" not in result.stdout
    loopback = next(line for line in result.stdout.splitlines() if "practice API over loopback" in line)
    assert loopback == "✗ the practice API over loopback does not answer: requests cannot use the proxy setting"
    assert "Reinstall" not in result.stdout


def test_a_url_with_a_password_in_an_error_is_masked(no_proxy_settings):
    no_proxy_settings.setenv("HTTPS_PROXY", "http://bob:hunter22@proxy.example.test:3128")
    check = environment.Check(False, "InvalidURL: Failed to parse: http://carol:pw1@h:1 and hunter22",
                              "the proxy's password hunter22")
    printed = "\n".join(check.lines())
    assert "carol:pw1" not in printed and "://***@h:1" in printed and "hunter22" not in printed


# -- 3. no_proxy before NO_PROXY; the variable in force; each shell's form -------------------------

def test_a_lower_case_no_proxy_without_loopback_is_named(no_proxy_settings):
    """requests and curl read no_proxy first: NO_PROXY=127.0.0.1 does not help while no_proxy is set."""
    no_proxy_settings.setenv("HTTP_PROXY", "http://proxy.example.test:3128")
    no_proxy_settings.setenv("NO_PROXY", "127.0.0.1,localhost")
    no_proxy_settings.setenv("no_proxy", "corp.example")
    [check] = environment.check_proxy()
    assert not check.ok
    assert "set by HTTP_PROXY" in check.what and "no_proxy is set but does not list 127.0.0.1" in check.what
    assert 'export no_proxy="127.0.0.1,localhost,${no_proxy:-$NO_PROXY}"; export NO_PROXY="$no_proxy"' \
        in check.advice
    assert '$env:NO_PROXY = "127.0.0.1,localhost,$env:NO_PROXY"' in check.advice
    assert "set NO_PROXY=127.0.0.1,localhost" in check.advice


def test_the_lower_case_proxy_variable_is_the_one_named(no_proxy_settings):
    no_proxy_settings.setenv("HTTP_PROXY", "http://upper.example.test:1111")
    no_proxy_settings.setenv("http_proxy", "http://lower.example.test:2222")
    [check] = environment.check_proxy()
    assert "lower.example.test:2222" in check.what and "upper.example.test" not in check.what
    assert "set by http_proxy; curl reads it too" in check.what


def test_the_advised_posix_line_makes_the_check_pass():
    """The macOS/Linux line of the advice, run in sh as written, with both spellings set against it."""
    env = clean_env(HTTP_PROXY="http://proxy.example.test:3128", no_proxy="corp.example",
                    NO_PROXY="other.example")
    assert proxy_line_ok(env) is False  # before: no_proxy is in force, and lists no loopback
    posix = next(line for line in environment.NO_PROXY_FIX.splitlines() if line.startswith("macOS, Linux:"))
    command = posix.partition(":")[2].strip()
    script = (f"{command}\n"
              f"{sys.executable} -c 'from helpers import environment as e; c, = e.check_proxy(); print(c.ok)'\n"
              'echo "$no_proxy|$NO_PROXY"')
    result = subprocess.run(["sh", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines() == ["True", "127.0.0.1,localhost,corp.example|127.0.0.1,localhost,corp.example"]


def proxy_line_ok(env: dict[str, str]) -> bool:
    """Whether the check's proxy line is a ✓ in a Python started with `env`."""
    result = subprocess.run([sys.executable, "-c", "from helpers import environment as e; c, = e.check_proxy(); "
                             "print(c.ok)"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() in {"True", "False"}, result.stderr
    return result.stdout.strip() == "True"


def test_the_docstring_does_not_promise_no_network_beyond_loopback():
    text = " ".join(environment.__doc__.split())
    assert "reaches no network beyond 127.0.0.1" not in text
    assert "requests sends them to that proxy's host" in text


# -- 2. the check reports a missing or broken package instead of a traceback -----------------------

def shadowing(tmp_path, module: str, error: str) -> dict[str, str]:
    """An environment where `import module` raises `error`: a package of that name first on sys.path."""
    package = tmp_path / "shadow" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"raise {error}\n", encoding="utf-8")
    return clean_env(PYTHONPATH=os.pathsep.join([str(tmp_path / "shadow"), str(ROOT)]))


@pytest.mark.parametrize("module, name", [("requests", "requests"), ("urllib3", "urllib3"),
                                          ("cryptography", "cryptography"), ("authlib", "authlib"),
                                          ("dotenv", "python-dotenv"), ("trustme", "trustme")])
def test_a_package_that_does_not_import_is_a_cross_with_its_fix(tmp_path, module, name):
    result = run_check(shadowing(tmp_path, module, "ImportError('its compiled part is missing')"))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1
    line = next((line for line in result.stdout.splitlines() if line.startswith(f"✗ {name} ")), None)
    assert line is not None, result.stdout
    assert "is installed but `import " in line and "ImportError: its compiled part is missing" in line
    advice = result.stdout.splitlines()[result.stdout.splitlines().index(line) + 1]
    assert "--force-reinstall" in advice and f'"{name}>=' in advice


def test_importing_helpers_imports_no_third_party_package():
    script = ("import sys, helpers, helpers.environment; "
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'requests', 'urllib3', 'jwt', 'responses'}))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_the_public_names_still_import_and_are_listed():
    import helpers

    for name in helpers.__all__:
        assert getattr(helpers, name) is not None
    assert set(helpers.__all__) <= set(dir(helpers))
    assert "check_environment" in helpers.__all__ and "checks" in helpers.__all__
    with pytest.raises(AttributeError, match="has no attribute 'absent'"):
        getattr(helpers, "absent")
    assert "so that the pre-workshop check can run and report what is missing" in " ".join(helpers.__doc__.split())


@pytest.mark.parametrize("path", ["helpers/__init__.py", "helpers/environment/__init__.py",
                                  "helpers/environment/__main__.py"])
def test_what_runs_before_the_python_check_parses_on_python_3_9(path):
    """So that Python 3.9 gets the ✗ "Python 3.9 is too old" line, not a SyntaxError."""
    ast.parse((ROOT / path).read_text(encoding="utf-8"), feature_version=(3, 9))


def test_cryptography_is_checked_with_pyjwts_own_bound():
    declared = environment.declared_minimums()
    crypto_bound = next(line for line in metadata.requires("PyJWT") if line.startswith("cryptography"))
    assert declared["cryptography"] == environment._parse(crypto_bound.split(">=")[1])


# -- 5 (the check's half). inside a venv, the fix is pip in that venv, not `make lab` that skips ----

def test_the_fix_for_an_old_package_inside_a_venv_is_pip_there(monkeypatch):
    monkeypatch.setattr(environment.sys, "prefix", str(ROOT / ".venv"))
    monkeypatch.setattr(environment.sys, "base_prefix", "/usr")
    monkeypatch.setattr(environment.sys, "executable", str(ROOT / ".venv" / "bin" / "python"))
    real = metadata.version
    monkeypatch.setattr(environment.metadata, "version", lambda name: "2.0.0" if name == "urllib3" else real(name))
    [check] = [check for check in environment.check_packages() if not check.ok]
    assert check.what == "urllib3 2.0.0 is too old (the notebooks need 2.6.3 or newer)"
    assert check.advice == 'Upgrade it: run `.venv/bin/python -m pip install -e ".[lab]"` in the repository\'s folder.'


# -- 6. the setup cell's check_environment() checks every dependency --------------------------------

@pytest.mark.parametrize("name, old, expected", [("urllib3", "2.0.7", r"urllib3 >= 2\.6\.3 \(found 2\.0\.7\)"),
                                                 ("cryptography", "3.0", r"cryptography >= 3\.4\.0 \(found 3\.0\)"),
                                                 ("trustme", "0.9", r"trustme >= 1\.1 \(found 0\.9\)")])
def test_check_environment_refuses_any_old_dependency(monkeypatch, name, old, expected):
    real = metadata.version
    monkeypatch.setattr(environment.metadata, "version", lambda asked: old if asked == name else real(asked))
    with pytest.raises(RuntimeError, match=expected):
        environment.check_environment()


def test_check_environment_does_not_need_jupyterlab_in_the_kernel(monkeypatch, capsys):
    real = metadata.version

    def version(name):
        if name.lower() == "jupyterlab":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(environment.metadata, "version", version)
    environment.check_environment()
    assert capsys.readouterr().out.startswith("✓ Ready: Python ")
