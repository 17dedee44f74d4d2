"""The README is a newcomer's page: its commands, links and credentials must be true."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

from conftest import NOTEBOOKS, ROOT
from helpers.practice_api import demo

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_gives_the_two_commands_and_the_conda_alternative():
    assert "make lab" in README and "make test" in README
    assert "conda env create -f environment.yml" in README


def test_binder_badges_open_existing_notebooks():
    links = re.findall(r"\((https://mybinder\.org/v2/gh/[^)]+)\)", README)
    assert links, "no Binder badge"
    for link in links:
        labpath = parse_qs(urlsplit(link).query)["labpath"][0]
        assert (ROOT / unquote(labpath)).is_file(), labpath
    assert any(link.endswith("labpath=notebooks%2F00-start-here.ipynb") for link in links)


def test_every_notebook_is_on_the_map_with_minutes_and_links_resolve():
    for path in NOTEBOOKS:
        row = next((line for line in README.splitlines() if f"](notebooks/{path.name})" in line), None)
        assert row, f"{path.name} is not on the map"
        time_line = re.search(r"\*\*Time:\*\* (\d+) min teaching, (\d+) min exercises", path.read_text(encoding="utf-8"))
        assert time_line, f"{path.name} has no Time line"
        teaching, exercises = time_line.groups()
        assert f"| {teaching} min | {exercises} min |" in row, f"the map's minutes for {path.name} are not its own"
    for target in re.findall(r"\]\(((?!https?://)[^)#]+)\)", README):
        assert (ROOT / target).exists(), target


def test_demo_credentials_match_the_practice_api():
    for user in demo.USERS:
        assert f"| user | `{user['username']}` | `{user['password']}`" in README
    for client in demo.CLIENTS:
        assert f"| OAuth client `{client['client_id']}`" in README
        if "client_secret" in client:
            assert f"`{client['client_secret']}`" in README
    for key in demo.API_KEYS:
        assert f"| API key `{key['key_id']}`" in README and f"`{key['key']}`" in README
    assert f"curl -i -u '{demo.USERS[0]['username']}:{demo.USERS[0]['password']}'" in README
    assert "python -m helpers.server" in README
