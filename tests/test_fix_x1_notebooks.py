"""Notebooks 02 and 03 under what learners do (review RV1): a ~/.netrc entry for the practice API's host,
and the Setup cell re-run before a later cell. Each test failed on the notebooks before the fix.
One kernel per notebook; marked robustness, as tests/test_robustness.py (`make test-robustness`)."""
from __future__ import annotations

import copy
import re

import nbformat
import pytest

from conftest import ROOT
from rerun_cells import new_client, raised, run_all

pytestmark = pytest.mark.robustness
NETRC = "machine api.practice.test login me password my-netrc-password\n"


def text_of(cell: nbformat.NotebookNode) -> str:
    return "".join(output.get("text", "") or output.get("data", {}).get("text/plain", "") for output in cell.outputs)


class Kernel:
    """A notebook run top to bottom in one fresh kernel; then cells (by id) or code run again in it."""

    def __init__(self, client, notebook):
        self.client, self.notebook = client, notebook
        self.by_id = {cell.id: index for index, cell in enumerate(notebook.cells)}

    def cell(self, cell_id: str) -> nbformat.NotebookNode:
        index = self.by_id[cell_id]
        again = copy.deepcopy(self.notebook.cells[index])
        self.client.execute_cell(again, index)
        return again

    def code(self, source: str) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(source)
        self.client.execute_cell(cell, len(self.notebook.cells) - 1)
        return cell


def run(name: str, tmp_path, monkeypatch, body) -> None:
    """Run notebook `name` with a ~/.netrc entry for the practice API's host; then body(kernel, errors)."""
    path = tmp_path / "netrc"
    path.write_text(NETRC, encoding="utf-8")
    monkeypatch.setenv("NETRC", str(path))  # the kernel inherits it
    notebook, client = new_client(ROOT / "notebooks" / name, timeout=120)
    with client.setup_kernel():
        errors = run_all(notebook, client)
        body(Kernel(client, notebook), errors)


def unexpected(notebook_errors: dict, notebook) -> dict:
    return {index: error for index, error in notebook_errors.items()
            if error and "raises-exception" not in notebook.cells[index].metadata.get("tags", [])}


def test_notebook_03_with_a_netrc_entry_and_its_revocation_cells_after_setup_is_rerun(tmp_path, monkeypatch):
    def body(kernel, errors):
        assert unexpected(errors, kernel.notebook) == {}  # login() and refresh() send no netrc password
        kernel.cell("c02")  # Setup again: a new practice API, without the revocations of section 9
        revoked = kernel.cell("c55")
        assert raised(revoked) is None and "The refresh token was refused" in text_of(revoked), text_of(revoked)
        introspected = kernel.cell("c55-introspect")
        assert raised(introspected) is None
        assert "the revoked one: {'active': False}" in text_of(introspected)
        assert "accepted: True False False" in text_of(introspected)
        kernel.code('ISSUER = "https://evil.practice.test"')  # metadata for another issuer than the one asked
        refused = kernel.cell("c55-introspect")
        assert "metadata names another issuer" in (raised(refused) or ""), raised(refused)
    run("03-jwt-bearer-tokens.ipynb", tmp_path, monkeypatch, body)


def test_notebook_02_log_line_after_setup_rerun_and_exercise_1_solution_with_a_netrc_entry(tmp_path, monkeypatch):
    def body(kernel, errors):
        kernel.cell("c02")  # Setup again: a new practice API, with an empty log
        line = kernel.cell("c11")
        assert raised(line) is None and "GET /keys/notes?api_key=" in text_of(line)
        solution = re.search(r"```python\n(.*?)```", kernel.notebook.cells[kernel.by_id["c49"]].source, re.S)
        checked = kernel.code(solution.group(1))
        assert raised(checked) is None and text_of(checked).startswith("✓ Right"), text_of(checked)
    run("02-api-keys.ipynb", tmp_path, monkeypatch, body)
