"""Every published solution passes its check, run in its notebook by a real kernel.

The stubs in the notebooks print "✗ Not yet" (see test_notebook_hygiene). Here each
exercise cell is replaced by the solution from the <details> block below it, the
whole notebook runs top to bottom, and every check must print "✓ Right".
"""
from __future__ import annotations

import copy

import nbformat
import pytest

from conftest import NOTEBOOKS
from notebook_runner import execute
from test_notebook_hygiene import SOLUTION


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_solutions_pass_their_checks(path):
    notebook = nbformat.read(path, as_version=4)
    solved = copy.deepcopy(notebook)
    exercise_cells = []
    for index, cell in enumerate(solved.cells):
        if "exercise" in cell.metadata.get("tags", []):
            cell.source = SOLUTION.findall(solved.cells[index + 1].source)[0]
            exercise_cells.append(cell)
    assert exercise_cells

    execute(solved, path.parent)

    for cell in exercise_cells:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert printed.startswith("✓ Right"), f"solution printed {printed!r}:\n{cell.source}"
