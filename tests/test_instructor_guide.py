"""The instructor guide: schedules in step with the notebooks' Time lines and with the rules of a workable day
(set-up first, a break at least every 75 minutes, a wrap-up, start times that add up); links that open the
learner copies; the pre-workshop check; and the cheat sheet, kept in step with the notebooks' Key points."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import nbformat
import pytest

from conftest import ROOT

import cheatsheet
import learner_copies
import navigation
import reading_time

GUIDE = (ROOT / "instructors/README.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| (\d+:\d\d) \| (.+?) \| (\d+)(?: \+ (\d+) exercises| \+ (exercises at home))? \|$", re.M)
LINK = re.compile(r"\(\.\./notebooks/(\d\d-[^)]+\.ipynb)\)")
COMING = re.compile(r"^(\d\d) · .+ \(coming\)$")
MAX_STRETCH = 75  # minutes without a break
NO_BREAK_UP_TO = 90  # a session this long or shorter runs straight through, as the guide says
SCHEDULES = {"### Half day: 3 hours": 180, "### 90 minutes": 90,
             "### Full day, notebooks 00 to 07: 7 hours": 420, "### Full day with 08 to 10: 7 hours": 420}


def notebook_minutes(name: str) -> tuple[int, int]:
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    match = re.search(r"\*\*Time:\*\* (\d+) min teaching, (\d+) min exercises", text)
    assert match, f"{name} has no '**Time:** N min teaching, M min exercises' line"
    return int(match.group(1)), int(match.group(2))


def schedule(heading: str, guide: str = GUIDE) -> list[tuple[int, str, int]]:
    """(start in minutes, what, minutes) for each row of the table under `heading`."""
    assert heading in guide, f"no schedule {heading!r}"
    section = guide.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    rows = []
    for start, what, minutes, exercises, at_home in ROW.findall(section):
        hours, mins = map(int, start.split(":"))
        rows.append((hours * 60 + mins, what, int(minutes) + int(exercises or 0)))
    return rows


def kind(what: str) -> str:
    for word in ("Set-up", "Break", "Lunch", "Wrap-up"):
        if what.startswith(word):
            return word
    return "notebook"


def problems(rows: list[tuple[int, str, int]], total: int) -> list[str]:
    """What is wrong with a schedule: its start times, its total, its set-up, breaks and wrap-up."""
    found = []
    if not rows:
        return ["no rows"]
    elapsed = stretch = 0
    for start, what, minutes in rows:
        if start != elapsed:
            found.append(f"{what} starts at {start // 60}:{start % 60:02d}, after {elapsed} min of rows above it")
        elapsed = start + minutes
        if kind(what) in ("Break", "Lunch"):
            stretch = 0
        else:  # the wrap-up too: the room sits through it as through a notebook
            stretch += minutes
            if stretch > MAX_STRETCH and total > NO_BREAK_UP_TO:
                found.append(f"{what} ends {stretch} min after the last break (at most {MAX_STRETCH})")
    if elapsed != total:
        found.append(f"the rows add up to {elapsed} min, not {total}")
    if kind(rows[0][1]) != "Set-up" or rows[0][2] < 10:
        found.append("the first row is not a set-up of 10 minutes or more")
    if kind(rows[-1][1]) != "Wrap-up" or rows[-1][2] < 10:
        found.append("the last row is not a wrap-up of 10 minutes or more")
    return found


@pytest.mark.parametrize("heading", SCHEDULES)
def test_schedules_have_set_up_breaks_and_wrap_up_and_add_up(heading):
    assert problems(schedule(heading), SCHEDULES[heading]) == []


@pytest.mark.parametrize("rows, problem", [
    ([(0, "[00](x)", 20), (20, "Wrap-up", 10)], "the first row is not a set-up"),
    ([(0, "Set-up", 15), (15, "[00](x)", 20)], "the last row is not a wrap-up"),
    ([(0, "Set-up", 15), (15, "[01](x)", 40), (55, "[02](x)", 30), (85, "Wrap-up", 10)], "after the last break"),
    ([(0, "Set-up", 15), (15, "[01](x)", 40), (55, "Break", 10), (65, "[02](x)", 60), (125, "Wrap-up", 20)],
     "Wrap-up ends 80 min after the last break"),
    ([(0, "Set-up", 15), (20, "[00](x)", 20), (40, "Wrap-up", 10)], "starts at 0:20"),
    ([(0, "Set-up", 15), (15, "[00](x)", 20), (35, "Wrap-up", 10)], "add up to 45 min, not 60"),
])
def test_the_rules_catch_a_schedule_without_slack(rows, problem):
    assert any(problem in found for found in problems(rows, 60 if "add up" in problem else rows[-1][0] + 10))


@pytest.mark.parametrize("heading", SCHEDULES)
def test_each_notebook_row_uses_its_time_line(heading):
    section = GUIDE.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    for start, what, teaching, exercises, at_home in ROW.findall(section):
        link = LINK.search(what)
        coming = COMING.match(what)
        if kind(what) != "notebook":
            assert not exercises and not at_home, what
        elif link:
            teach, practise = notebook_minutes(link.group(1))
            assert int(teaching) == teach, f"{what}: {teaching} min teaching, its Time line says {teach}"
            assert at_home or int(exercises) == practise, f"{what}: {exercises} min exercises, its Time line says {practise}"
        else:
            assert coming, f"{what} is neither a linked notebook nor marked (coming)"
            landed = sorted((ROOT / "notebooks").glob(f"{coming.group(1)}-*.ipynb"))
            assert not landed, f"{landed[0].name} has landed: link it in {heading!r} and use its Time line"


def test_schedules_cover_every_notebook_and_the_coming_ones():
    names = {path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")}
    today = {LINK.search(what).group(1) for _, what, _ in schedule("### Full day, notebooks 00 to 07: 7 hours")
             if LINK.search(what)}
    later = [what for _, what, _ in schedule("### Full day with 08 to 10: 7 hours")]
    assert names <= today | {LINK.search(what).group(1) for what in later if LINK.search(what)}, \
        "a notebook is in neither full day"
    for number in ("08", "09", "10"):
        assert any(what.startswith(f"{number} · ") or f"../notebooks/{number}-" in what for what in later), number


def test_the_reading_time_table_covers_every_notebook_and_states_its_assumptions():
    measured = reading_time.table(sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")))
    quoted = [line for line in GUIDE.splitlines() if line.startswith("| ") and line.count("|") == 6
              and re.match(r"\| \d\d \| \d+ \| \d+ \| \d+ \| \d+ \|$", line)]
    assert [line.split(" | ")[0] for line in quoted] == [line.split(" | ")[0] for line in measured.splitlines()[2:]]
    assert f"**{reading_time.READING_WPM} words a minute**" in GUIDE and "Brysbaert 2019" in GUIDE
    assert f"**{round(reading_time.CELL_MINUTES * 60)} seconds a code cell**" in GUIDE


def test_reading_time_counts_prose_and_code_cells_of_the_teaching_part(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(navigation.MARKER + "\nnot counted"),
        nbformat.v4.new_markdown_cell("# Title\n\n**Time:** 7 min teaching, 3 min exercises.\n\n"
                                      "```mermaid\nA->>B: not counted\n```\n[one two](https://not.counted/x)"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("## Exercises\n\nnot counted either"),
        nbformat.v4.new_code_cell("checks.thing(...)"),
    ])
    nbformat.write(notebook, tmp_path / "99-x.ipynb")
    row = reading_time.measure(tmp_path / "99-x.ipynb")
    assert (row["words"], row["code_cells"], row["teaching"]) == (10, 1, 7)


def test_guide_links_resolve_and_it_covers_the_day():
    for target in re.findall(r"\]\((\.\./[^)#]+)\)", GUIDE):
        assert (ROOT / "instructors" / target).resolve().exists(), target
    for target in re.findall(r"\]\(([\w.-]+\.(?:md|html))\)", GUIDE):
        assert (ROOT / "instructors" / target).is_file(), target
    for topic in ["Freeze", "Launch it once on Binder", "about 100 users", "10 minutes idle",
                  "conda env create -f environment.yml", "make lab", "nbgitpuller", "Kernel not found",
                  "practice API is not started", "Windows", "old requests", "make learner-copies",
                  "python tools/learner_copies.py", "python tools/cheatsheet.py"]:
        assert topic in GUIDE, topic


def test_guide_tells_instructors_to_send_the_pre_workshop_check_the_day_before():
    step = next(line for line in GUIDE.split("\n4. ") if "pre-workshop check" in line.split("\n", 1)[0])
    assert "the day before" in step and "python -m helpers.environment" in step and "✗" in step


def links(pattern: str) -> list[str]:
    return re.findall(pattern + r"[^`)\s]+", GUIDE)


def test_binder_links_open_the_learner_copies():
    found = links(r"https://mybinder\.org/v2/gh/")
    assert found
    for link in found:
        parts = urlsplit(link)
        assert link.startswith(navigation.BINDER.rsplit("/", 1)[0] + "/"), link  # mybinder.org/v2/gh/<org>/<repo>/
        labpath = parse_qs(parts.query)["labpath"][0]
        assert labpath.startswith(learner_copies.FOLDER + "/") and (ROOT / labpath).is_file(), link
        assert quote(labpath, safe="") in parts.query, "labpath is percent-encoded, as navigation.py writes it"


def test_nbgitpuller_link_opens_the_learner_copies_in_the_folder_it_clones_into():
    found = links(r"https://<your-hub>/hub/user-redirect/git-pull\?")
    assert found
    for link in found:
        query = parse_qs(urlsplit(link).query)
        repo = query["repo"][0]
        assert f"https://github.com/{navigation.BINDER.split('/gh/')[1].rsplit('/', 1)[0]}" == repo
        assert query["branch"][0] and "tag" not in query
        folder = repo.rsplit("/", 1)[-1]  # nbgitpuller's default target folder: the last part of the repo URL
        prefix = f"lab/tree/{folder}/"
        path = query["urlpath"][0]
        assert path.startswith(prefix) and (ROOT / path[len(prefix):]).is_file(), path
        assert path[len(prefix):].startswith(learner_copies.FOLDER + "/"), path


def test_every_notebook_has_teaching_notes():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        assert f"**{path.name[:2]} · " in GUIDE, f"no teaching notes for {path.name}"


def test_cheat_sheet_is_what_the_tool_writes(capsys):
    assert cheatsheet.main(["--check"]) == 0, capsys.readouterr().out


def test_cheat_sheet_check_finds_a_stale_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cheatsheet, "MARKDOWN", tmp_path / "cheatsheet.md")
    monkeypatch.setattr(cheatsheet, "PRINTABLE", tmp_path / "cheatsheet.html")
    monkeypatch.setattr(cheatsheet, "ROOT", tmp_path)
    assert cheatsheet.main(["--check"]) == 1 and "out of date: cheatsheet.md, cheatsheet.html" in capsys.readouterr().out
    assert cheatsheet.main([]) == 0 and cheatsheet.main(["--check"]) == 0
    (tmp_path / "cheatsheet.md").write_text("- an old point\n", encoding="utf-8")
    assert cheatsheet.main(["--check"]) == 1


def test_cheat_sheet_holds_every_notebooks_key_points_and_nothing_else():
    text = cheatsheet.MARKDOWN.read_text(encoding="utf-8")
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert [line[3:] for line in text.splitlines() if line.startswith("## ")] == \
        [cheatsheet.key_points(path)[0] for path in paths]
    for path in paths:
        source = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
        section = source.split("## Key points", 1)[1].split("\n## ", 1)[0]
        first = section.strip().splitlines()[0]
        assert first.startswith("- ") and first[2:] in text, f"{path.name}: {first}"
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(bullets) == sum(len(cheatsheet.key_points(path)[1]) for path in paths)


def test_cheat_sheet_bullets_end_where_the_list_ends(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# 99 · A title\n\n## Key points\n- one\n  continued\n- two\n\nA paragraph, not a point.\n\n## What's next")])
    nbformat.write(notebook, tmp_path / "99-x.ipynb")
    assert cheatsheet.key_points(tmp_path / "99-x.ipynb") == ("99 · A title", ["one continued", "two"])


@pytest.mark.parametrize("markdown, html", [
    ("**A (`S256`) + `state`** for *you*", "<strong>A (<code>S256</code>) + <code>state</code></strong> for <em>you</em>"),
    ("`Bearer <token>` & `**not bold**`", "<code>Bearer &lt;token&gt;</code> &amp; <code>**not bold**</code>"),
    ("2*3*4 <b>", "2*3*4 &lt;b&gt;"),
])
def test_cheat_sheet_html_renders_the_markdown_the_key_points_use(markdown, html):
    assert cheatsheet.inline(markdown) == html


@pytest.mark.browser
def test_printable_cheat_sheet_is_one_a4_sheet_printed_on_both_sides():
    """Chromium prints cheatsheet.html as the guide tells instructors to: at most two A4 pages (one sheet)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(cheatsheet.PRINTABLE.as_uri())
            pdf = page.pdf(prefer_css_page_size=True)
        finally:
            browser.close()
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) <= 2
