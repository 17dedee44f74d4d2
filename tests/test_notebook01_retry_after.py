"""Notebook 01, section 8 (429 and Retry-After), as learners use it: they copy
get_honouring_retry_after() into their code, and they re-run cells after Run All."""
from __future__ import annotations

import copy
import email.utils
import time

import nbformat
import pytest
import requests

from conftest import ROOT
from helpers.checks.feedback import fake_response
from notebook_runner import execute

NOTEBOOK = ROOT / "notebooks" / "01-basic-auth.ipynb"


def notebook_function(name: str):
    """The function `name` as the notebook defines it (the cell's source up to the first line outside it)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    source = next(cell.source for cell in notebook.cells
                  if cell.cell_type == "code" and f"def {name}(" in cell.source)
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"def {name}("))
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith((" ", "#"))),
               len(lines))
    namespace = {"time": time, "requests": requests}
    exec("\n".join(lines[start:end]), namespace)
    return namespace[name]


class Answers:
    """A stand-in session: answers each GET with the next response, and counts the calls."""

    def __init__(self, *responses: requests.Response) -> None:
        self.responses, self.calls = list(responses), 0

    def get(self, url, timeout):
        assert timeout, "every call has a timeout"
        self.calls += 1
        return self.responses.pop(0)


def too_many(retry_after: str | None) -> requests.Response:
    response = fake_response(429, {} if retry_after is None else {"Retry-After": retry_after})
    response.reason = "Too Many Requests"
    return response


@pytest.mark.parametrize("value", [email.utils.formatdate(time.time() + 3600, usegmt=True),
                                   "Wed Oct 21 07:28:00 2099", "soon", "-5", "1.5"],
                         ids=["imf-date-in-an-hour", "asctime-date", "soon", "negative", "decimal"])
def test_a_date_or_junk_gives_up_instead_of_retrying_too_early(value):
    """A date may be an hour away: retrying after default_wait would come far earlier than asked."""
    get = notebook_function("get_honouring_retry_after")
    waits: list[float] = []
    session = Answers(too_many(value), fake_response(200, {}))
    with pytest.raises(requests.HTTPError):
        get(session, "https://api.practice.test/basic/whoami", sleep=waits.append)
    assert waits == [] and session.calls == 1


@pytest.mark.parametrize("value, wait", [("30", 30.0), (None, 1.0), ("0", 0.0)], ids=["seconds", "no-header", "zero"])
def test_seconds_or_no_header_wait_then_retry_once(value, wait):
    get = notebook_function("get_honouring_retry_after")
    waits: list[float] = []
    session = Answers(too_many(value), fake_response(200, {}))
    assert get(session, "https://api.practice.test/basic/whoami", sleep=waits.append).status_code == 200
    assert waits == [wait] and session.calls == 2


def test_a_wait_beyond_max_wait_gives_up():
    get = notebook_function("get_honouring_retry_after")
    waits: list[float] = []
    with pytest.raises(requests.HTTPError):
        get(Answers(too_many("3600")), "https://api.practice.test/basic/whoami", sleep=waits.append)
    assert waits == []


def section(notebook: nbformat.NotebookNode, heading: str) -> list[nbformat.NotebookNode]:
    """The cells from the markdown cell that starts with `heading` up to the next '## ' heading."""
    start = next(i for i, cell in enumerate(notebook.cells) if cell.source.startswith(heading))
    end = next(i for i in range(start + 1, len(notebook.cells)) if notebook.cells[i].source.startswith("## "))
    return notebook.cells[start + 1:end]


def section_8_code_cells() -> list[str]:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    return [cell.id for cell in section(notebook, "## 8.") if cell.cell_type == "code"]


@pytest.mark.parametrize("cell_id", section_8_code_cells())
def test_each_code_cell_of_section_8_re_runs_alone_after_run_all(cell_id):
    """After Run All, re-run one code cell of section 8 on its own: it prints what it printed before."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    runnable = [cell for cell in notebook.cells if "nbval-skip" not in cell.metadata.get("tags", [])]
    committed = next(cell for cell in notebook.cells if cell.id == cell_id)
    notebook.cells = runnable + [copy.deepcopy(committed)]
    execute(notebook, NOTEBOOK.parent)  # raises CellExecutionError on any error

    def printed(cell) -> str:
        return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")

    assert printed(notebook.cells[-1]) == printed(committed), committed.source
