"""Round 3, fixer Y2: notebooks 04 and 05 re-run after Setup, and a spent device code (walkthrough W).

- `tools/rerun_cells.py --pairs` on 04 and 05 finds no cell that fails or prints something else when
  re-run after the Setup cell (or after a mistake above it). 05's "next request before the last body
  was read" raised ConnectionRefusedError after Setup, because it reused the connection of the server
  that Setup had stopped. A cell whose output is volatile (tagged nbval-ignore-output: timings) may
  print other numbers, as under nbval; it must still not fail.
- Notebook 04's device cells (section 6), re-run after the whole notebook, show what they showed the
  first time (authorization_pending, then slow_down): each asks for a fresh device code, instead of
  polling one the server has long forgotten ("not known for this client").
- A device code exchanged once is refused with invalid_grant (RFC 6749 §5.2, which RFC 8628 §3.5
  keeps) and the server says it was already used, in the words of the other one-time grants.

The notebook tests run a kernel each; marked robustness, as tests/test_robustness.py.
"""
from __future__ import annotations

import copy

import pytest

from conftest import ROOT
from rerun_cells import new_client, pairs_failures, printed, run_all, sanitizers
from test_oauth import ALLOW, assert_error, assert_token_response, device_form, poll, start_device

NOTEBOOK_04 = ROOT / "notebooks" / "04-oauth2.ipynb"
NOTEBOOK_05 = ROOT / "notebooks" / "05-raw-http-client.ipynb"


def volatile(path, failure) -> bool:
    """A cell whose output nbval ignores (timings), that printed other numbers but raised nothing."""
    import nbformat

    cell = nbformat.read(path, as_version=4).cells[failure.index]
    return ("nbval-ignore-output" in cell.metadata.get("tags", [])
            and failure.error.startswith("prints something else"))


@pytest.mark.robustness
@pytest.mark.parametrize("path", [NOTEBOOK_04, NOTEBOOK_05], ids=["04", "05"])
def test_cells_re_run_after_setup_or_a_mistake_show_the_same(path):
    failures, count = pairs_failures(path)
    real = [failure for failure in failures if not volatile(path, failure)]
    assert real == [], f"{len(real)} of {count} teaching cells:\n" + "\n".join(map(str, real))


@pytest.mark.robustness
def test_device_cells_re_run_after_the_whole_notebook_show_the_same():
    notebook, client = new_client(NOTEBOOK_04, timeout=120)
    firsts = [index for index, cell in enumerate(notebook.cells)
              if cell.cell_type == "code" and ("def poll_once" in cell.source or "poll_once()" in cell.source)]
    assert len(firsts) == 2  # 6.2's poll, and the mistake of polling too fast
    rules = sanitizers()
    with client.setup_kernel():
        errors = run_all(notebook, client)
        assert [errors[index] for index in firsts] == [None, None]
        shown = [printed(notebook.cells[index], rules) for index in firsts]
        assert "authorization_pending" in shown[0] and "slow_down" in shown[1]
        for index, first in zip(firsts, shown):
            again = copy.deepcopy(notebook.cells[index])
            client.execute_cell(again, index)
            assert printed(again, rules) == first


def test_a_device_code_used_twice_is_told_already_used(http, api):
    started = start_device(http, api)
    device_form(http, api, {"user_code": started["user_code"], **ALLOW})
    api.clock.advance(5)
    assert_token_response(poll(http, api, started["device_code"]))
    api.clock.advance(5)
    assert_error(poll(http, api, started["device_code"]), 400, "invalid_grant", "already used")
