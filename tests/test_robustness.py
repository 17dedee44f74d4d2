"""What learners do to notebooks: re-run every cell, lose the network. `make test-robustness`.

- Re-run safety: each notebook runs top to bottom twice in ONE kernel without an error
  outside the cells tagged raises-exception. Learners re-run the setup cell all the time.
- Re-run each cell: after Run All, every teaching cell re-runs on its own in the same kernel
  (tools/rerun_cells.py says precisely which cells and how they are judged).
- Re-run after setup or a mistake (`rerun_cells.py --pairs`): a cell re-run after the setup cell, or after
  a mistake cell above it, prints what it printed in the first run. Run here on the notebooks of 06 and 07
  (about 10 s each); a made-up notebook shows that the measurement catches both kinds.
- Offline: strict nbval passes in a network namespace that has only loopback
  (`unshare -n`), where the machine allows it.
"""
from __future__ import annotations

import copy
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import NOTEBOOKS, ROOT
from notebook_runner import execute
from rerun_cells import alone_failures, pairs_failures, rerun_failures

pytestmark = pytest.mark.robustness


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_twice_in_one_kernel(path):
    notebook = nbformat.read(path, as_version=4)
    runnable = [cell for cell in notebook.cells if "nbval-skip" not in cell.metadata.get("tags", [])]
    notebook.cells = runnable + copy.deepcopy(runnable)
    execute(notebook, path.parent)  # raises CellExecutionError on any untagged error
    second_half = notebook.cells[len(runnable):]
    for cell in second_half:
        if cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", []):
            printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert printed.startswith("✗ Not yet"), printed


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_teaching_cell_reruns_after_run_all(path):
    failures, count = rerun_failures(path)
    assert failures == [], (f"{len(failures)} of {count} teaching cells fail on re-run after Run All:\n"
                            + "\n".join(str(failure) for failure in failures))


def made_up_notebook(tmp_path, *cells: tuple[str, list[str]]):
    """A notebook of code cells (source, tags), saved in tmp_path."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source, metadata={"tags": tags}) for source, tags in cells]
    path = tmp_path / "made-up.ipynb"
    nbformat.write(notebook, path)
    return path


def test_the_measurement_finds_a_clobbered_name_and_a_changed_mistake(tmp_path):
    """The measurement itself can fail: an exercise stub that overwrites a teaching cell's name, a mistake
    cell that raises another exception the second time, and a cell that prints other text on re-run."""
    path = made_up_notebook(
        tmp_path,
        ("total = 1", []),
        ("print(total + 1)", []),  # 1: reads a name that the exercise below overwrites
        ("calls = []", []),
        ("calls.append(1)\n{'a': 1}['b'] if len(calls) == 1 else int('x')", ["raises-exception"]),  # 3
        ("seen = globals().setdefault('seen', [])\nseen.append(1)\nprint(len(seen))", []),  # 4: prints 1, then 2
        ("total = ...  # your code here", ["exercise"]),
        ("print('never run')", ["nbval-skip"]),
    )
    failures, count = rerun_failures(path)
    assert count == 5  # the exercise and the nbval-skip cell are not teaching cells
    assert [(failure.index, failure.error.split(":")[0]) for failure in failures] == [(1, "TypeError"),
                                                                                      (3, "ValueError")]
    assert "not KeyError as in the first run" in failures[1].error
    failures, count = alone_failures(path)
    assert [failure.index for failure in failures] == [1, 3, 4]
    assert "'1' became '2'" in failures[2].error


PAIRS_NOTEBOOKS = [path for path in NOTEBOOKS if path.name[:2] in ("06", "07")]


@pytest.mark.parametrize("path", PAIRS_NOTEBOOKS, ids=[p.name for p in PAIRS_NOTEBOOKS])
def test_teaching_cells_print_the_same_after_setup_or_a_mistake_is_re_run(path):
    failures, count = pairs_failures(path)
    assert failures == [], (f"{len(failures)} of {count} teaching cells print something else when re-run after "
                            "the setup cell or a mistake:\n" + "\n".join(str(failure) for failure in failures))


def test_the_pairs_measurement_finds_a_stale_server_and_an_undone_fix(tmp_path):
    """The shapes of review RV3's findings: a cell that holds a bound method of the server the setup cell
    replaced (07's HMACAuth), a fix cell that relies on the cell between it and the mistake (06's
    RedactSecrets), and a demo that checks the state of the server the setup cell replaced (03's revocation)."""
    path = made_up_notebook(
        tmp_path,
        ("class Server:\n    def __init__(self):\n        self.clock, self.revoked = 0, set()\n"
         "    def now(self):\n        return self.clock\nserver = Server()\nfilters = ['redact']", []),  # 0: setup
        ("now = server.now  # MISTAKE: bound to this server", []),  # 1
        ("print('fresh' if now.__self__ is server else 'stale')", []),  # 2: prints fresh
        ("filters.clear()\nprint('key' if not filters else 'hidden')", ["mistake"]),  # 3
        ("filters.append('redact')\nprint('key' if not filters else 'hidden')", []),  # 4: the fix
        ("print('key' if not filters else 'hidden')", []),  # 5: relies on cell 4 having run after 3
        ("server.revoked.add('old')", []),  # 6
        ("print('refused' if 'old' in server.revoked else 'accepted')", []),  # 7: relies on cell 6's server
    )
    failures, count = pairs_failures(path)
    assert count == 8
    assert [(failure.index, failure.error.split(":")[0]) for failure in failures] == [
        (2, "prints something else re-run after cell 0"), (5, "prints something else re-run after cells 0, 3"),
        (7, "prints something else re-run after cell 0")]
    assert "'fresh' became 'stale'" in failures[0].error and "'hidden' became 'key'" in failures[1].error
    assert "'refused' became 'accepted'" in failures[2].error


def network_namespace_available() -> bool:
    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    probe = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True)
    return probe.returncode == 0


def test_notebooks_pass_strict_nbval_with_only_loopback():
    if not network_namespace_available():
        pytest.skip("This machine cannot make a network namespace (unshare -n needs root or user namespaces).")
    command = (f"ip link set lo up && {sys.executable} -m pytest -q -p no:cacheprovider -n 2 --dist loadfile "
               "--nbval --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg notebooks")
    result = subprocess.run(["unshare", "-n", "sh", "-c", command], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]


def test_the_namespace_really_is_offline():
    if not network_namespace_available():
        pytest.skip("This machine cannot make a network namespace.")
    probe = ("import socket\n"
             "try:\n    socket.create_connection(('1.1.1.1', 443), timeout=2)\n    print('online')\n"
             "except OSError:\n    print('offline')\n")
    result = subprocess.run(["unshare", "-n", sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "offline"
