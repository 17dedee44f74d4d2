"""The series' own rules for notebooks, beyond what nbval compares.

A notebook must come from a clean top-to-bottom run, show no error it does not mean to
show, keep stderr and machine paths out of its outputs, and teach only code that is safe
to paste into production.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import NOTEBOOKS
from navigation import MARKER as NAVIGATION_MARKER

MACHINE_PATH = re.compile(r"(/root/|/home/\w+|/tmp/|/Users/\w+|/work/|/opt/|/usr/(?:local/)?lib/python|site-packages"
                          r"|dist-packages|\.venv|\.pyenv|[A-Za-z]:\\\\|[A-Za-z]:\\(?:Users|Windows|Program))")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CALL = re.compile(r"\b(?:requests|\w*session|client)\.(?:get|post|put|patch|delete|head|options|request)\(")
REMOTE_HTTP = re.compile(r"http://(?!127\.0\.0\.1|localhost|\[::1\])[\w.-]+")
SOLUTION = re.compile(r"<details><summary>Solution</summary>\s*```python\n(.*?)```.*?</details>", re.S)
MISTAKE_TAGS = {"mistake", "raises-exception"}
SKELETON = ["## Setup", "## Exercises", "## Key points", "## What's next", "## References"]

ids = [path.name for path in NOTEBOOKS]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def text_of(output: dict) -> str:
    if output["output_type"] == "stream":
        return "".join(output["text"])
    if output["output_type"] == "error":
        return output["ename"] + ": " + output["evalue"]
    return "\n".join("".join(output.get("data", {}).get(mime, "")) for mime in ("text/plain", "text/html"))


def code_cells(notebook: dict) -> list[dict]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def calls_in(code: str):
    """Each requests-style call, from its name to its closing parenthesis."""
    for match in CALL.finditer(code):
        depth, i = 0, match.end() - 1
        while i < len(code):
            depth += {"(": 1, ")": -1}.get(code[i], 0)
            if depth == 0:
                break
            i += 1
        yield code[match.start(): i + 1]


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:2] == ["00-start-here.ipynb", "01-basic-auth.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_outputs_come_from_one_clean_run(path):
    cells = [cell for cell in code_cells(load(path)) if "".join(cell["source"]).strip()]
    counts = [cell["execution_count"] for cell in cells if "nbval-skip" not in cell["metadata"].get("tags", [])]
    assert counts == list(range(1, len(counts) + 1)), "run `make refresh`: cells were skipped or run out of order"
    for cell in cells:
        if "nbval-skip" in cell["metadata"].get("tags", []):  # the tests never run it, so neither does refresh
            assert cell["execution_count"] is None and not cell["outputs"], "run `make refresh`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_errors_only_where_tagged_and_tagged_cells_do_fail(path):
    for cell in code_cells(load(path)):
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        source = "".join(cell["source"])
        if "raises-exception" in tags(cell):
            assert errors, f"tagged raises-exception but did not raise:\n{source}"
        else:
            assert not errors, f"untagged error {errors[0]['ename']} in:\n{source}"


def committed_text(output: dict) -> str:
    """Everything of an output that the .ipynb keeps, tracebacks included: a reader sees it all on GitHub."""
    text = text_of(output)
    if output["output_type"] == "error":
        text += "\n" + "\n".join(output.get("traceback", []))
    return ANSI.sub("", text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_nothing_on_stderr_and_no_machine_paths(path):
    """No path of the machine that ran `make refresh`: not in prints, not in warnings, not in tracebacks.

    nbval skips tracebacks when it compares, but the committed notebook keeps them, so a reader would
    see the author's disk (the setup cells use `%xmode Minimal`, which prints no frames).
    """
    for cell in code_cells(load(path)):
        for output in cell["outputs"]:
            assert output.get("name") != "stderr", f"stderr output: {text_of(output)[:200]!r}"
            hit = MACHINE_PATH.search(committed_text(output))
            assert not hit, f"machine path {hit.group(0)!r} in the output of:\n{''.join(cell['source'])}"


@pytest.mark.parametrize("sample", [
    "/work/main/.venv/lib/python3.11/site-packages/requests/models.py", "/root/.pyenv/versions/3.11.7/lib",
    "File /usr/local/lib/python3.12/ssl.py:1", r"C:\\Users\\ada\\x.py", r"C:\Users\ada\x.py",
    "/home/ada/notes", "/tmp/tmpa1b2c3/ca.pem", "/opt/conda/lib/python3.11/", "/Users/ada/x"])
def test_machine_path_pattern_catches_paths(sample):
    assert MACHINE_PATH.search(sample)


@pytest.mark.parametrize("sample", ["https://api.practice.test/basic/whoami", "notebooks/01-basic-auth.ipynb",
                                    "helpers/practice_api/basic_auth.py", "GET /me HTTP/1.1", "ValueError: bad padding"])
def test_machine_path_pattern_spares_what_notebooks_print(sample):
    assert not MACHINE_PATH.search(sample)


def code_to_teach(notebook: dict):
    """(where, code) for every cell and solution a learner may copy: not the shown mistakes."""
    for index, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and not tags(cell) & MISTAKE_TAGS:
            yield f"cell {index}", source
        elif cell["cell_type"] == "markdown":
            for solution in SOLUTION.findall(source):
                yield f"solution in cell {index}", solution


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_code_to_copy_is_secure_by_default(path):
    for where, code in code_to_teach(load(path)):
        for call in calls_in(code):
            assert "timeout=" in call, f"{where}: call without timeout=: {call}"
        assert "verify=False" not in code, where
        assert not REMOTE_HTTP.search(code), f"{where}: plain http:// to a remote host"
        assert not re.search(r"(?<![\w.])input\(", code), f"{where}: input() fails under nbval"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_follows_the_skeleton(path):
    notebook = load(path)
    markdown = "\n".join(source for c in notebook["cells"] if c["cell_type"] == "markdown"
                         and not (source := "".join(c["source"])).startswith(NAVIGATION_MARKER))
    assert markdown.startswith("# "), "one # title first (after the navigation cell)"
    for heading in SKELETON:
        assert heading in markdown, f"missing {heading!r}"
    assert "**You will be able to**" in markdown and "**Time:**" in markdown
    assert "```mermaid\nsequenceDiagram" in markdown, "every notebook has a Mermaid sequence diagram"
    assert "check_environment()" in "".join(code_cells(notebook)[0]["source"]), "the Setup cell checks versions"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_each_exercise_has_a_check_a_solution_and_a_friendly_stub(path):
    cells = load(path)["cells"]
    exercises = [i for i, cell in enumerate(cells) if "exercise" in tags(cell)]
    assert exercises, "no exercise cells (tag them 'exercise')"
    for i in exercises:
        stub = "".join(cells[i]["source"])
        assert "checks." in stub, f"exercise cell {i} calls no check"
        solution = SOLUTION.findall("".join(cells[i + 1]["source"]))
        assert solution and "checks." in solution[0], f"exercise cell {i} is not followed by a <details> solution"
        printed = "".join(text_of(o) for o in cells[i]["outputs"])
        assert printed.startswith("✗ Not yet"), f"the stub of exercise cell {i} printed {printed!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_local_links_point_at_files(path):
    notebook = load(path)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            for target in re.findall(r"\]\(([^)#\s]+)", "".join(cell["source"])):
                if not target.startswith(("http://", "https://")):
                    assert (path.parent / target).exists(), f"link to missing {target}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebooks_import_only_the_public_names_of_helpers(path):
    for where, code in code_to_teach(load(path)):
        assert not re.search(r"(from|import)\s+helpers\.\w+", code), f"{where}: use `from helpers import ...`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_neighbouring_prints_are_one_output(path):
    """make refresh joins them (as nbval does), so a re-run that prints the same text changes no JSON."""
    for cell in code_cells(load(path)):
        kinds = [(o["output_type"], o.get("name")) for o in cell["outputs"]]
        assert all(not (a == b and a[0] == "stream") for a, b in zip(kinds, kinds[1:])), "run `make refresh`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_short_tracebacks_as_the_setup_cell_promises(path):
    """The setup cell says "Short tracebacks"; every committed error then shows only itself, no frames."""
    notebook = load(path)
    setup = "".join(code_cells(notebook)[0]["source"])
    assert "%xmode Minimal" in setup and "Short tracebacks" in setup
    for cell in code_cells(notebook):
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                assert len(output["traceback"]) == 1, f"{output['ename']}: {len(output['traceback'])} frames"


MERMAID = re.compile(r"```mermaid\n(.*?)```", re.S)


def mermaid_problems(diagram: str) -> list[str]:
    """What stops Mermaid drawing a diagram that reads fine as text."""
    # ';' ends a statement in Mermaid (write #59; for a semicolon): a note with one is cut, or the diagram
    # is not drawn at all, leaving an empty output.
    return [line.strip() for line in diagram.splitlines() if ";" in line.replace("#59;", "")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_diagram_draws(path):
    diagrams = [MERMAID.findall("".join(cell["source"])) for cell in load(path)["cells"] if cell["cell_type"] == "markdown"]
    assert any(diagrams), "every notebook shows at least one flow as a diagram"
    assert [problem for found in diagrams for diagram in found for problem in mermaid_problems(diagram)] == []


@pytest.mark.parametrize("diagram, flagged", [
    ("sequenceDiagram\n    Note over A: one; two", True),
    ("sequenceDiagram\n    A->>B: GET /a; then /b", True),
    ("sequenceDiagram\n    A->>B: a semicolon #59; escaped", False),
    ("sequenceDiagram\n    A->>B: GET /me<br/>Authorization: Bearer", False),
])
def test_every_diagram_draws__broken_copies(diagram, flagged):
    assert bool(mermaid_problems(diagram)) is flagged
