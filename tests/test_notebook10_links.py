"""Notebook 10's take-home checklist links each item to the notebook and section that taught it.

A link to `NN-name.ipynb#Anchor` must name a notebook that exists and a heading in it: JupyterLab makes
a heading's anchor from its text as shown (markdown marks such as backticks dropped), with each space
turned into "-", as the series' "#The-map" links already assume. A link to "#Anchor" alone is a
heading of notebook 10 itself.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "10-putting-it-together.ipynb"
LINK = re.compile(r"\]\(((?:\d\d-[\w-]+\.ipynb)?)#([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def anchor(heading: str) -> str:
    """The id JupyterLab gives a heading: its text without markdown marks, spaces as '-'."""
    text = re.sub(r"[`*_]", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return text.strip().replace(" ", "-")


def anchors(path: Path) -> set[str]:
    notebook = nbformat.read(path, as_version=4)
    return {anchor(heading) for cell in notebook.cells if cell.cell_type == "markdown"
            for heading in HEADING.findall(re.sub(r"```.*?```", "", cell.source, flags=re.S))}


def checklist() -> str:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    return next(cell.source for cell in notebook.cells if cell.source.startswith("## 11. A checklist"))


def test_the_checklist_has_ten_items_each_with_a_link():
    rows = [line for line in checklist().splitlines() if line.startswith("| ☐ |")]
    assert len(rows) == 10
    assert all(LINK.search(row) for row in rows)


@pytest.mark.parametrize("target, fragment", LINK.findall(checklist()))
def test_each_checklist_link_resolves_to_a_heading(target, fragment):
    path = NOTEBOOK.parent / target if target else NOTEBOOK
    assert path.is_file(), f"no notebook {target}"
    assert fragment in anchors(path), f"{target or 'this notebook'} has no heading with the anchor #{fragment}"


@pytest.mark.parametrize("heading, expected", [
    ("## 6. `Retry-After` with urllib3's `Retry`", "6.-Retry-After-with-urllib3's-Retry"),
    ("## The map", "The-map"),
])
def test_anchor_follows_jupyterlab(heading, expected):
    assert anchor(HEADING.match(heading).group(1)) == expected


def test_a_broken_anchor_is_caught():
    assert "7.-Timeouts" not in anchors(ROOT / "notebooks" / "06-https-secrets-rate-limits.ipynb")
