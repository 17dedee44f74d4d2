"""Does each teaching cell still work when a learner re-runs it after Run All? `make test-robustness` asks.

    python tools/rerun_cells.py notebooks/01-basic-auth.ipynb ...

For each notebook: run it top to bottom in one fresh kernel (the same kernel as nbval and
`make refresh`: this interpreter, cwd notebooks/), then, in that same kernel, re-run each teaching
cell once, from the last to the first, and print each that fails and "N of M teaching cells fail".
Learners scroll back and re-run cells all the time; a cell that only works in its first run
teaches them that the code is fragile when it is the notebook that is.

A *teaching cell* is a code cell that Run All runs (not tagged `nbval-skip`) and that is not
tagged `exercise`: the learner's stubs are theirs to break. Mistake cells count too. On its re-run
a cell tagged `raises-exception` passes if it raises the same exception class as in the first run
(the mistake still shows the same mistake); any other cell passes if it raises nothing.
The re-runs are in reverse order so that each cell meets the state that every later cell left
behind, which is the state a learner meets after Run All.

    python tools/rerun_cells.py --alone notebooks/01-basic-auth.ipynb

is slower and stricter (one kernel per teaching cell, so not in the tests): for each teaching cell, Run
All in a fresh kernel, then re-run that one cell. It fails as above, and it also lists each cell that
prints something else the second time (outputs compared after tests/nbval-sanitize.cfg, as nbval
compares them). That finds a cell that reads a name a later cell reassigns, which the reverse order
can hide: `show(response)` re-run after a later cell set `response` to another response raises
nothing, yet shows the wrong exchange.

    python tools/rerun_cells.py --pairs notebooks/07-other-schemes-and-traps.ipynb

finds a re-run that silently teaches the opposite, in one kernel (fast enough for the tests): after
Run All, for each teaching cell from the last to the first, re-run the setup cell (the first code cell: the notebooks invite
re-running it) and then that cell; and for each mistake cell (tagged `mistake`) above it, re-run
the setup cell, the mistake and then that cell. Each such cell must print what it printed in the first run
(sanitized as above). That catches a cell that still holds an object of the server the setup cell
replaced (a bound method of the old clock), and a fix cell that relies on the cell between it and
the mistake to undo what a re-run mistake did.
"""
from __future__ import annotations

import configparser
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))  # notebook_runner, when imported from elsewhere

from notebook_runner import CurrentPythonKernels  # noqa: E402

SANITIZE = Path(__file__).resolve().parent.parent / "tests" / "nbval-sanitize.cfg"


@dataclass
class Failure:
    """One teaching cell that failed on its re-run."""

    index: int  # 0-based position in the notebook's cell list, markdown included
    first_line: str
    error: str  # "KeyError: 'www-authenticate'", or what a raises-exception cell did instead

    def __str__(self) -> str:
        return f"cell {self.index} ({self.first_line}): {self.error}"


def tags(cell: nbformat.NotebookNode) -> list[str]:
    return cell.metadata.get("tags", [])


def is_teaching_cell(cell: nbformat.NotebookNode) -> bool:
    """A code cell that Run All runs and that is not a learner's exercise (see the module docstring)."""
    return cell.cell_type == "code" and "exercise" not in tags(cell) and "nbval-skip" not in tags(cell)


def raised(cell: nbformat.NotebookNode) -> str | None:
    """The exception a cell's run raised, as "Class: message", or None."""
    for output in cell.outputs:
        if output.output_type == "error":
            message = output.evalue.strip().splitlines()[0] if output.evalue.strip() else ""
            return f"{output.ename}: {message}"
    return None


def exception_class(error: str | None) -> str | None:
    return None if error is None else error.split(":", 1)[0]


def new_client(path: Path, timeout: int) -> tuple[nbformat.NotebookNode, NotebookClient]:
    """The notebook without outputs, and a client for a fresh kernel in its folder (as nbval: cwd notebooks/)."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    manager = KernelManager(kernel_spec_manager=CurrentPythonKernels(), kernel_name="python3")
    client = NotebookClient(notebook, km=manager, timeout=timeout, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    return notebook, client


def run_all(notebook: nbformat.NotebookNode, client: NotebookClient) -> dict[int, str | None]:
    """Run every cell that Run All runs under nbval, top to bottom; what each code cell raised."""
    errors: dict[int, str | None] = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "nbval-skip" not in tags(cell):
            client.execute_cell(cell, index)
            errors[index] = raised(cell)
    return errors


def first_unexpected_error(notebook: nbformat.NotebookNode, errors: dict[int, str | None], before: int) -> str:
    """Where the first run first went wrong before cell `before`, for a cell that failed in it (a broken
    Setup cell breaks every cell after it)."""
    for index, error in errors.items():
        if index < before and error is not None and "raises-exception" not in tags(notebook.cells[index]):
            return f" (the run's first error: cell {index}, {error})"
    return ""


def first_line(cell: nbformat.NotebookNode) -> str:
    return cell.source.strip().splitlines()[0] if cell.source.strip() else ""


def rerun_failures(path: Path, *, timeout: int = 120) -> tuple[list[Failure], int]:
    """(the teaching cells that fail on re-run after Run All, how many teaching cells there are).

    A teaching cell that already fails in the first run (an untagged error, or a tagged cell that
    raised nothing) counts as a failure too, with "in the first run" in its error.
    """
    notebook, client = new_client(path, timeout)
    teaching = [index for index, cell in enumerate(notebook.cells) if is_teaching_cell(cell)]
    failures: list[Failure] = []
    with client.setup_kernel():
        first_errors = run_all(notebook, client)
        for index in reversed(teaching):
            cell = notebook.cells[index]
            problem = first_run_problem(notebook, first_errors, index) or \
                rerun_problem(client, cell, index, first_errors[index], "on re-run")
            if problem is not None:
                failures.append(Failure(index, first_line(cell), problem))
    return sorted(failures, key=lambda failure: failure.index), len(teaching)


def sanitizers() -> list[tuple[re.Pattern, str]]:
    """The (regex, replacement) pairs of tests/nbval-sanitize.cfg, in its order."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(SANITIZE, encoding="utf-8")
    return [(re.compile(config[name]["regex"]), config[name]["replace"]) for name in config.sections()]


def printed(cell: nbformat.NotebookNode, rules: list[tuple[re.Pattern, str]]) -> str:
    """What a cell printed and displayed as text, sanitized as nbval sanitizes it."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
    text = "".join(parts)
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def first_difference(before: str, after: str) -> str:
    """The first line that differs between two printouts, as "'old' became 'new'"."""
    old, new = before.splitlines(), after.splitlines()
    for line_before, line_after in zip(old, new):
        if line_before != line_after:
            return f"{line_before[:120]!r} became {line_after[:120]!r}"
    return f"{len(old)} lines became {len(new)}"


def alone_failures(path: Path, *, timeout: int = 120) -> tuple[list[Failure], int]:
    """Like rerun_failures, but each teaching cell is re-run alone right after a Run All of its own,
    and a cell that prints something else the second time fails too (see the module docstring)."""
    rules = sanitizers()
    teaching = [index for index, cell in enumerate(nbformat.read(path, as_version=4).cells) if is_teaching_cell(cell)]
    failures: list[Failure] = []
    for index in teaching:
        notebook, client = new_client(path, timeout)
        with client.setup_kernel():
            first_errors = run_all(notebook, client)
            cell = notebook.cells[index]
            problem = first_run_problem(notebook, first_errors, index) or \
                rerun_problem(client, cell, index, first_errors[index], "on re-run", rules)
        if problem is not None:
            failures.append(Failure(index, first_line(cell), problem))
    return failures, len(teaching)


def pairs_failures(path: Path, *, timeout: int = 120) -> tuple[list[Failure], int]:
    """(the teaching cells that print something else, or fail, when re-run right after the setup cell or
    after a mistake cell above them, how many teaching cells there are). See the module docstring."""
    rules = sanitizers()
    notebook, client = new_client(path, timeout)
    teaching = [index for index, cell in enumerate(notebook.cells) if is_teaching_cell(cell)]
    failures: list[Failure] = []
    with client.setup_kernel():
        first_errors = run_all(notebook, client)
        setup = teaching[0] if teaching else None
        mistakes = [index for index in teaching if "mistake" in tags(notebook.cells[index])]
        for index in reversed(teaching):  # as in rerun_failures: each cell meets what the later ones left behind
            cell = notebook.cells[index]
            problem = first_run_problem(notebook, first_errors, index)
            if problem is not None:
                failures.append(Failure(index, first_line(cell), problem))
                continue
            if setup is None or index == setup:
                continue
            for earlier in [[setup]] + [[setup, mistake] for mistake in mistakes if mistake < index]:
                for other in earlier:
                    client.execute_cell(copy.deepcopy(notebook.cells[other]), other)
                when = f"re-run after cell{'s' if len(earlier) > 1 else ''} {', '.join(map(str, earlier))}"
                problem = rerun_problem(client, cell, index, first_errors[index], when, rules)
                if problem is not None:
                    failures.append(Failure(index, first_line(cell), problem))
                    break
    return sorted(failures, key=lambda failure: failure.index), len(teaching)


def first_run_problem(notebook: nbformat.NotebookNode, first_errors: list, index: int) -> str | None:
    """What went wrong with teaching cell `index` in the Run All itself, and where that run first went wrong."""
    problem = judge(notebook.cells[index], first_errors[index], "in the first run")
    return None if problem is None else problem + first_unexpected_error(notebook, first_errors, index)


def rerun_problem(client, cell: nbformat.NotebookNode, index: int, first_error: str | None, when: str,
                  rules: list[tuple[re.Pattern, str]] | None = None) -> str | None:
    """Run a copy of `cell` again in the kernel: what is wrong with that run, or None.

    With `rules` (the sanitizers), printing something else than the first run did is wrong too.
    """
    again = copy.deepcopy(cell)
    client.execute_cell(again, index)
    problem = judge(cell, raised(again), when, expected=first_error)
    if problem is None and rules is not None and printed(again, rules) != printed(cell, rules):
        problem = f"prints something else {when}: " + first_difference(printed(cell, rules), printed(again, rules))
    return problem


def judge(cell: nbformat.NotebookNode, error: str | None, when: str, *, expected: str | None = None) -> str | None:
    """What is wrong with one run of a teaching cell, or None when it behaved as it should."""
    if "raises-exception" in tags(cell):
        if error is None:
            return f"raised nothing {when} (it is tagged raises-exception)"
        if expected is not None and exception_class(error) != exception_class(expected):
            return f"{error} {when}, not {exception_class(expected)} as in the first run"
        return None
    if error is None:
        return None
    return f"{error} {when}"


def main(arguments: list[str]) -> int:
    modes = {"--alone": alone_failures, "--pairs": pairs_failures}
    chosen = [modes[argument] for argument in arguments if argument in modes]
    paths = [argument for argument in arguments if argument not in modes]
    if not paths or len(chosen) > 1:
        print("usage: python tools/rerun_cells.py [--alone | --pairs] NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    measure = chosen[0] if chosen else rerun_failures
    total_failed = total_cells = 0
    for name in paths:
        failures, count = measure(Path(name).resolve())
        print(f"{name}: {len(failures)} of {count} teaching cells fail")
        for failure in failures:
            print(f"  {failure}")
        total_failed += len(failures)
        total_cells += count
    if len(paths) > 1:
        print(f"all: {total_failed} of {total_cells} teaching cells fail")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
