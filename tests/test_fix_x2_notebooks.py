"""Review RV2 of notebooks 04 and 05: cells that must still teach the same thing when a learner re-runs them,
diagrams that draw what the RFCs say, and prose that says what JupyterLab 4 does.

The re-run tests run a whole notebook in one in-process IPython shell (as nbval's kernel would, cwd
notebooks/), then re-run cells the way a learner does. They take seconds, so they run with
`make test-robustness`; the others are quick reads of the notebooks.
"""
from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"


def cells(name: str) -> dict:
    return {cell.get("id"): cell for cell in nbformat.read(NOTEBOOKS / name, as_version=4).cells}


NB04, NB05 = "04-oauth2.ipynb", "05-raw-http-client.ipynb"


def mermaid(source: str) -> str:
    return re.search(r"```mermaid\n(.*?)```", source, re.S).group(1)


# -- the diagrams ----------------------------------------------------------------------------------------

def test_device_grant_diagram_polls_while_ada_approves_and_the_200_answers_a_poll():
    """RFC 8628 §1: the client polls (E) while the user reviews the request (D); the 200 answers a request."""
    lines = [line.strip() for line in mermaid(cells(NB04)["c49"].source).splitlines()]
    assert "par" in [line.split(" ")[0] for line in lines], lines
    approval = next(i for i, line in enumerate(lines) if line.startswith("P->>AS"))
    par = max(i for i, line in enumerate(lines) if line.split(" ")[0] == "par" and i < approval)
    and_ = next(i for i, line in enumerate(lines) if line.split(" ")[0] == "and" and i > par)
    assert par < approval < and_, lines  # the approval is the first branch, the polling loop the second
    assert lines[and_ + 1].startswith("loop"), lines
    final = next(i for i, line in enumerate(lines) if "200" in line)
    assert lines[final].startswith("AS-->>D") and lines[final - 1].startswith("D->>AS: POST /oauth/token"), lines


def test_pkce_diagram_names_the_method_the_response_type_and_the_form_post():
    """RFC 7636 §4.3: code_challenge_method defaults to plain when left out; the 303 answers the form POST."""
    diagram = mermaid(cells(NB04)["c20"].source)
    assert "code_challenge_method=S256" in diagram and "response_type=code" in diagram
    arrows = [line.strip() for line in diagram.splitlines() if "->>" in line]
    post = next(i for i, line in enumerate(arrows) if line.startswith("B->>AS: POST /oauth/authorize"))
    assert arrows[post + 1].startswith("AS-->>B: 303"), arrows


# -- prose ----------------------------------------------------------------------------------------------

def test_no_note_that_promises_what_run_all_does_not_show():
    assert "Ten minutes later" not in cells(NB04)["c53"].source


def test_05_says_how_a_kernel_really_stops():
    """JupyterLab 4: closing a notebook's tab does not stop its kernel (notebook-extension tracker.json)."""
    schema = (Path(sys.prefix) / "share/jupyter/lab/schemas/@jupyterlab/notebook-extension/tracker.json").read_text()
    assert re.search(r'"kernelShutdown":\s*\{[^}]*"default":\s*false', schema, re.S)
    text = " ".join(cells(NB05)["c66"].source.split())
    assert "closing the notebook)" not in text
    assert "Shut Down Kernel" in text and "Running" in text and "does not stop" in text


# -- re-runs, as a learner does them ----------------------------------------------------------------------

def shell_after_run_all(name: str):
    """An IPython shell that has run every code cell of the notebook (not nbval-skip), and the cells by id."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    notebook = cells(name)
    here = os.getcwd()
    os.chdir(NOTEBOOKS)
    try:
        for cell in notebook.values():
            if cell.cell_type == "code" and "nbval-skip" not in cell.metadata.get("tags", []):
                run(shell, cell)
    finally:
        os.chdir(here)
    return shell, notebook


def forget(shell) -> None:
    """Empty the shell and drop the IPython singleton: checks wrap their lines when they find one."""
    from IPython.core.interactiveshell import InteractiveShell

    shell.reset(new_session=False)
    InteractiveShell.clear_instance()


def run(shell, cell) -> str:
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = shell.run_cell(cell.source, store_history=False)
    if result.error_in_exec is not None and "raises-exception" not in cell.metadata.get("tags", []):
        raise AssertionError(f"cell {cell.get('id')} raised {result.error_in_exec!r}")
    return captured.stdout + "".join(str(output.data.get("text/plain", "")) for output in captured.outputs)


@pytest.fixture(scope="module")
def nb04():
    shell, notebook = shell_after_run_all(NB04)
    yield shell, notebook
    forget(shell)


@pytest.mark.robustness
def test_using_a_code_twice_never_shows_tokens_after_4_4_and_4_5_are_re_run(nb04):
    shell, notebook = nb04
    for cell_id in ("c27", "c29"):  # 4.4 and 4.5 again: a fresh code in `code`
        run(shell, notebook[cell_id])
    printed = run(shell, notebook["c40"])
    assert "access_token" not in printed and "refresh_token" not in printed and "eyJ" not in printed, printed
    assert printed.count("invalid_grant") == 1 and "already used" in printed, printed


@pytest.mark.robustness
def test_4_6_works_after_4_1_is_re_run(nb04):
    shell, notebook = nb04
    run(shell, notebook["c21"])
    assert "GET /me with the access token: {'username': 'ada'" in run(shell, notebook["c31"])


@pytest.mark.robustness
def test_4_5_works_after_4_6_is_re_run(nb04):
    """4.6 makes its own request, and leaves auth_url, state and callback_url agreeing for 4.4 and 4.5."""
    shell, notebook = nb04
    run(shell, notebook["c31"])
    assert run(shell, notebook["c29"]).strip() == "code received: 43 characters"


@pytest.mark.robustness
def test_the_device_polls_show_the_same_answers_long_after_run_all(nb04):
    shell, notebook = nb04
    api = shell.user_ns["api"]
    api.clock.advance(45)  # a learner reads for a while; the first device code is long gone (purged)
    assert run(shell, notebook["c54"]).strip() == "400 authorization_pending"
    assert "slow_down" in run(shell, notebook["c56"])


@pytest.mark.robustness
def test_05_setup_cells_re_run_stop_the_server_they_replace():
    """Re-running a cell that starts a server stops the one it started before: "the three servers" stay three."""
    shell, notebook = shell_after_run_all(NB05)
    try:
        for _ in range(2):
            for cell_id, name in (("c02", "server"), ("c31", "tls_server"), ("c35", "impostor")):
                old = shell.user_ns[name]
                run(shell, notebook[cell_id])
                assert shell.user_ns[name] is not old
                with pytest.raises(OSError):  # refused: nothing listens there any more
                    socket.create_connection((old.host, old.port), timeout=2).close()
    finally:
        for name in ("server", "tls_server", "impostor"):
            if name in shell.user_ns:
                shell.user_ns[name].stop()
        forget(shell)
