"""The instructor guide's schedules agree with the notebooks' own Time lines, and its links work."""
from __future__ import annotations

import re

import nbformat
import pytest

from conftest import ROOT

GUIDE = (ROOT / "instructors/README.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| (\d:\d\d) \| (.+?) \|\s*(\d*)\s*\| (\d+|take-home) \|$", re.M)


def notebook_minutes(name: str) -> tuple[int, int]:
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    match = re.search(r"\*\*Time:\*\* (\d+) min teaching, (\d+) min exercises", text)
    assert match, f"{name} has no '**Time:** N min teaching, M min exercises' line"
    return int(match.group(1)), int(match.group(2))


def schedule(heading: str) -> list[tuple[str, str, str, str]]:
    section = GUIDE.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return ROW.findall(section)


@pytest.mark.parametrize("heading, total", [("### Half day: 3 hours", 180), ("### 90 minutes", 90)])
def test_schedules_use_the_notebooks_minutes_and_add_up(heading, total):
    rows = schedule(heading)
    assert rows
    elapsed = 0
    for start, what, teaching, exercises in rows:
        hours, minutes = map(int, start.split(":"))
        assert hours * 60 + minutes == elapsed, f"{what} starts at {start}, expected after {elapsed} min"
        link = re.search(r"\(\.\./notebooks/([^)]+)\)", what)
        if link:
            teach, practise = notebook_minutes(link.group(1))
            if "(sections" not in what:  # a part of a notebook may take less
                assert int(teaching) == teach, what
            assert exercises in ("take-home", str(practise)), what
        elapsed += int(teaching or 0) + (0 if exercises == "take-home" else int(exercises))
    assert elapsed == total


def test_guide_links_resolve_and_it_covers_the_day():
    for target in re.findall(r"\]\((\.\./[^)#]+)\)", GUIDE):
        assert (ROOT / "instructors" / target).resolve().exists(), target
    for topic in ["Freeze and tag", "Launch it once on Binder", "about 100 users", "10 minutes idle",
                  "conda env create -f environment.yml", "make lab", "nbgitpuller", "Kernel not found",
                  "practice API is not started", "Windows", "old requests", "make learner-copies"]:
        assert topic in GUIDE, topic


def test_every_notebook_has_teaching_notes():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        assert f"**{path.name[:2]} · " in GUIDE, f"no teaching notes for {path.name}"
