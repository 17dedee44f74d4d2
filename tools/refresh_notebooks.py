"""Re-execute notebooks in place from a clean kernel: `make refresh`.

Committed outputs must come from a real top-to-bottom run, never from editing.

    python tools/refresh_notebooks.py notebooks/*.ipynb
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat

from notebook_runner import execute


def coalesce_streams(outputs: list) -> list:
    """Join neighbouring stdout (or stderr) outputs into one, as nbval does before comparing.

    How a cell's prints are split into messages depends on timing; joined, a re-run that prints
    the same text commits the same JSON, and `git diff` shows only real changes.
    """
    joined: list = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (previous is not None and output.output_type == "stream" == previous.output_type
                and output.name == previous.name):
            previous.text += output.text
        else:
            joined.append(output)
    return joined


def refresh(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # start clean: a cell the run skips keeps no output from an older run
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    started = time.perf_counter()
    execute(notebook, path.parent)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # nbclient's timestamps: they change on every run
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    nbformat.write(notebook, path)
    return time.perf_counter() - started


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: python tools/refresh_notebooks.py NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    for name in paths:
        seconds = refresh(Path(name))
        print(f"refreshed {name} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
