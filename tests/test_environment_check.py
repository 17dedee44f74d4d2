"""check_environment(): the first line of every notebook says what is installed, or how to fix it."""
from __future__ import annotations

from importlib import metadata

import pytest

from helpers import check_environment, environment


def test_prints_the_versions_in_use(capsys):
    check_environment()
    line = capsys.readouterr().out.strip()
    assert line.startswith("✓ Ready: Python 3.")
    for name in environment.MINIMUM_VERSIONS:
        assert f" · {name} {metadata.version(name)}" in line


def test_an_old_package_is_named_with_the_fix(monkeypatch):
    real = metadata.version
    monkeypatch.setattr(environment.metadata, "version", lambda name: "2.20.0" if name == "requests" else real(name))
    with pytest.raises(RuntimeError, match=r"requests >= 2\.32 \(found 2\.20\.0\).*make lab.*conda env update"):
        check_environment()


def test_a_missing_package_is_named(monkeypatch):
    real = metadata.version

    def version(name):
        if name == "PyJWT":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(environment.metadata, "version", version)
    with pytest.raises(RuntimeError, match="PyJWT >= 2.10 \\(not installed in this kernel's environment\\)"):
        check_environment()


@pytest.mark.parametrize("text, parsed", [("2.34.2", (2, 34, 2)), ("1.0rc1", (1, 0)), ("3", (3,)), ("dev", (0,))])
def test_version_parsing(text, parsed):
    assert environment._parse(text) == parsed
