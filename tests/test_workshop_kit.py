"""The workshop kit: navigation cells, learner copies without solutions (committed, and up to date), the Binder
build plan."""
from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest

from conftest import NOTEBOOKS, ROOT
from notebook_runner import execute
from test_notebook_hygiene import SOLUTION

import learner_copies
import navigation


def test_navigation_is_up_to_date():
    result = subprocess.run([sys.executable, "tools/navigation.py", "--check"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_navigation_cells_top_and_bottom_link_to_real_files(path):
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].source.startswith(navigation.MARKER) and cells[-1].source.startswith(navigation.MARKER)
    for target in re.findall(r"\]\(([^)#\s]+)", cells[0].source):
        if target.startswith("https://mybinder.org/"):
            assert target == navigation.binder_link(path.name)
        else:
            assert (path.parent / target).is_file(), target
    assert "→" in cells[0].source or path == NOTEBOOKS[-1]
    assert "←" in cells[0].source or path == NOTEBOOKS[0]


def test_readme_binder_links_use_the_same_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"https://mybinder\.org/v2/gh/[^)\s]+", readme)
    assert links and all(link.startswith(navigation.BINDER) for link in links)


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    folder = tmp_path_factory.mktemp("learner-copies")
    learner_copies.write(folder, learner_copies.copies())
    return folder


def solution_lines(path) -> set[str]:
    """Code lines that appear only in a notebook's solutions: not in its stubs, steps or prose."""
    notebook = nbformat.read(path, as_version=4)
    solutions, taught = [], []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            solutions += SOLUTION.findall(cell.source)
            taught.append(SOLUTION.sub("", cell.source))
        else:
            taught.append(cell.source)
    taught_text = "\n".join(taught)
    lines = {line.strip() for block in solutions for line in block.splitlines() if len(line.strip()) > 12}
    return {line for line in lines if line not in taught_text}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_learner_copies_hold_no_solution_and_no_output(copies, path):
    copy = nbformat.read(copies / path.name, as_version=4)
    text = (copies / path.name).read_text(encoding="utf-8")
    assert "<summary>Solution</summary>" not in text
    leaked = [line for line in solution_lines(path) if line in text]
    assert not leaked, f"solution lines in the learner copy: {leaked[:3]}"
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in copy.cells if cell.cell_type == "code")
    assert sum("exercise" in cell.metadata.get("tags", []) for cell in copy.cells) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_learner_copies_run_stubs_give_friendly_feedback_and_solutions_pass(copies, path):
    """One kernel run per notebook checks both sides of every exercise: the learner copy runs
    clean, each stub prints "✗ Not yet", and the published solution, run right after its stub,
    prints "✓ Right"."""
    original = nbformat.read(path, as_version=4)
    solutions = [SOLUTION.findall(original.cells[index + 1].source)[0]
                 for index, cell in enumerate(original.cells) if "exercise" in cell.metadata.get("tags", [])]
    copy = nbformat.read(copies / path.name, as_version=4)
    cells, pairs = [], []
    for cell in copy.cells:
        cells.append(cell)
        if "exercise" in cell.metadata.get("tags", []):
            solved = nbformat.v4.new_code_cell(solutions[len(pairs)])
            cells.append(solved)
            pairs.append((cell, solved))
    assert len(pairs) == len(solutions) >= 2
    copy.cells = cells
    execute(copy, ROOT / learner_copies.FOLDER)  # where learners run it; raises on any error outside cells tagged raises-exception

    def printed(cell):
        assert not [o for o in cell.outputs if o.output_type == "error"]
        return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")

    for stub, solved in pairs:
        assert printed(stub).startswith("✗ Not yet"), printed(stub)
        assert printed(solved).startswith("✓ Right"), f"solution printed {printed(solved)!r}:\n{solved.source}"


def test_learner_copy_of_a_notebook_keeps_the_brief_and_drops_the_solution_only():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("### Exercise 1\n\nDo it."),
        nbformat.v4.new_code_cell("x = ...\nchecks.thing(x)"),
        nbformat.v4.new_markdown_cell("Intro.\n\n<details><summary>Solution</summary>\n\n```python\nx = 1\n```\n\n"
                                      "</details>\n\nAfter."),
        nbformat.v4.new_markdown_cell("<details><summary>Solution</summary>\n\n```python\ny = 2\n```\n\n</details>"),
    ])
    copy = learner_copies.learner_copy(notebook)
    assert [cell.source for cell in copy.cells] == ["### Exercise 1\n\nDo it.", "x = ...\nchecks.thing(x)",
                                                    "Intro.\n\nAfter."]


def test_committed_learner_copies_are_what_the_tool_writes_byte_for_byte(capsys):
    """Binder and nbgitpuller see only what is committed, so the copies are committed, and a notebook edited
    without new copies fails here."""
    folder = ROOT / learner_copies.FOLDER
    tracked = subprocess.run(["git", "ls-files", learner_copies.FOLDER], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert sorted(tracked) == [f"{learner_copies.FOLDER}/{path.name}" for path in NOTEBOOKS], \
        "commit one learner copy per notebook (and nothing else) in " + learner_copies.FOLDER
    ignored = subprocess.run(["git", "check-ignore", "-q", f"{learner_copies.FOLDER}/{NOTEBOOKS[0].name}"], cwd=ROOT)
    assert ignored.returncode == 1, f"{learner_copies.FOLDER}/ is git-ignored"
    assert {path.name for path in folder.glob("*.ipynb")} == {path.name for path in NOTEBOOKS}
    assert learner_copies.main(["--check"]) == 0, capsys.readouterr().out


def test_check_finds_a_changed_a_missing_and_a_left_over_copy(tmp_path):
    texts = learner_copies.copies()
    learner_copies.write(tmp_path, texts)
    assert learner_copies.stale(tmp_path, texts) == []
    first, second = sorted(texts)[:2]
    (tmp_path / first).write_bytes(texts[first].replace("\n", "\r\n").encode("utf-8"))  # as a Windows checkout
    (tmp_path / second).unlink()
    (tmp_path / "99-gone.ipynb").write_text("{}", encoding="utf-8")
    assert learner_copies.stale(tmp_path, texts) == sorted([first, second, "99-gone.ipynb"])
    learner_copies.write(tmp_path, texts)
    assert learner_copies.stale(tmp_path, texts) == [] and not (tmp_path / "99-gone.ipynb").exists()


SOLUTION_WORD = re.compile(r"\bsolutions?\b|folded away", re.I)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_learner_copies_promise_no_solution(copies, path):
    """A copy without solutions must not send the learner looking for one ("Each has a solution, folded away")."""
    said = [new for name, old, new in learner_copies.REWRITES if name == path.name]
    for cell in nbformat.read(copies / path.name, as_version=4).cells:
        if cell.cell_type == "markdown":
            text = cell.source
            for sentence in said:
                text = text.replace(sentence, "")
            assert not SOLUTION_WORD.search(text), f"the copy still mentions a solution: {text[:300]}"


def test_every_rewrite_still_finds_its_text():
    for name, old, new in learner_copies.REWRITES:
        notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        found = sum(cell.source.count(old) for cell in notebook.cells if cell.cell_type == "markdown")
        assert found == 1, f"{name} no longer says {old!r}: update REWRITES in tools/learner_copies.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_learner_copies_navigation_opens_the_copies(copies, path):
    cells = nbformat.read(copies / path.name, as_version=4).cells
    for cell in (cells[0], cells[-1]):
        assert cell.source.startswith(navigation.MARKER)
        binder = re.findall(r"https://mybinder\.org/[^)\s]+", cell.source)
        assert binder == [f"{navigation.BINDER}?labpath={learner_copies.FOLDER}%2F{path.name}"]
        for target in re.findall(r"\]\(([^)#\s]+)", cell.source):
            assert target.startswith("https://") or (ROOT / learner_copies.FOLDER / target).is_file(), target
