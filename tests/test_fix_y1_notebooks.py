"""Notebook 02 under what learners do (round 3, Y1 f): the Setup cell re-run before the log-line cell.

It failed on the notebook before the fix: the re-run printed "No api_key= in this practice API's log"
instead of the log line, so `tools/rerun_cells.py --pairs` flagged it. Marked robustness, as
tests/test_robustness.py (`make test-robustness`): one kernel.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT
from rerun_cells import new_client, raised, run_all
from test_fix_x1_notebooks import Kernel, text_of

pytestmark = pytest.mark.robustness
LOG_TIME = re.compile(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\]")  # as tests/nbval-sanitize.cfg


def log_cell_after_setup_rerun(path: Path) -> tuple[str, str, str | None]:
    """Notebook 02's log-line cell: its output after Run All, and after Setup and it are run again."""
    notebook, client = new_client(path, timeout=120)
    with client.setup_kernel():
        run_all(notebook, client)
        kernel = Kernel(client, notebook)
        first = text_of(notebook.cells[kernel.by_id["c11"]])
        kernel.cell("c02")  # Setup again: a new practice API, with an empty access log
        again = kernel.cell("c11")
        return first, text_of(again), raised(again)


def test_notebook_02_log_line_cell_prints_the_same_after_a_setup_rerun():
    first, again, error = log_cell_after_setup_rerun(ROOT / "notebooks" / "02-api-keys.ipynb")
    assert error is None
    assert "GET /keys/notes?api_key=" in first
    assert LOG_TIME.sub("[DATE]", again) == LOG_TIME.sub("[DATE]", first)
