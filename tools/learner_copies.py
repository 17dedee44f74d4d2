"""`make learner-copies`: the notebooks as learners get them in a workshop, in learner-copies/.

Each copy keeps every explanation and every exercise stub, and loses:
- the solutions (the <details> blocks after the exercises);
- all outputs, so that learners see each result appear when they run the cell.
The folder is git-ignored; build it on the day, from a tagged commit.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = re.compile(r"\s*<details><summary>Solution</summary>.*?</details>\s*", re.S)
TARGET = ROOT / "learner-copies"


def learner_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            text = SOLUTION.sub("\n\n", cell.source).strip()
            if not text:
                continue  # the cell held only a solution
            cell.source = text
        else:
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
        cells.append(cell)
    notebook.cells = cells
    return notebook


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else TARGET
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        nbformat.write(learner_copy(nbformat.read(path, as_version=4)), target / path.name)
        print(f"wrote {target.name}/{path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
