"""How long each notebook's teaching part takes to read and run, measured from its text.

    python tools/reading_time.py    # a Markdown table, one row per notebook, as the instructor guide quotes it

The teaching part is everything before "## Exercises". Its prose is the Markdown a learner reads:
without the navigation cells, the solutions, code and diagram blocks, and link targets. The model:
- prose at READING_WPM words a minute: 175, the low end of the 175-300 wpm that most adults read
  English non-fiction at silently (Brysbaert 2019, J. Memory and Language 109:104047; mean 238, and
  lower for readers of English as a second language), because this text is technical and read on a
  screen beside code; an instructor reading aloud goes at about 183 wpm (same source);
- CELL_MINUTES for each code cell: read the code, run it, read the output. This figure is an
  assumption, not a measurement; running itself takes under 1.3 s per notebook.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

from navigation import MARKER as NAVIGATION_MARKER

ROOT = Path(__file__).resolve().parent.parent
READING_WPM = 175
CELL_MINUTES = 0.75
SOLUTION = re.compile(r"<details><summary>Solution</summary>.*?</details>", re.S)
FENCED = re.compile(r"```.*?```", re.S)
LINK_TARGET = re.compile(r"\]\([^)]*\)")
WORD = re.compile(r"[\w`'’.-]+")
TIME = re.compile(r"\*\*Time:\*\* (\d+) min teaching, (\d+) min exercises")


def prose_words(markdown: str) -> int:
    text = LINK_TARGET.sub("]", FENCED.sub("", SOLUTION.sub("", markdown)))
    return len(WORD.findall(text))


def measure(path: Path) -> dict:
    """Words of prose and code cells of the teaching part, the estimate in minutes, and the Time line."""
    cells = [cell for cell in nbformat.read(path, as_version=4).cells if not cell.source.startswith(NAVIGATION_MARKER)]
    words = code_cells = 0
    for cell in cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("## Exercises"):
            break
        if cell.cell_type == "markdown":
            words += prose_words(cell.source)
        else:
            code_cells += 1
    time = TIME.search("\n".join(cell.source for cell in cells if cell.cell_type == "markdown"))
    estimate = words / READING_WPM + code_cells * CELL_MINUTES
    return {"name": path.name, "words": words, "code_cells": code_cells, "estimate": round(estimate),
            "teaching": int(time.group(1)) if time else None}


def table(paths: list[Path]) -> str:
    lines = ["| Notebook | Words of prose | Code cells | Estimate (min) | Time line (min) |",
             "|---|---|---|---|---|"]
    for row in map(measure, paths):
        lines.append(f"| {row['name'][:2]} | {row['words']} | {row['code_cells']} | {row['estimate']} | "
                     f"{row['teaching']} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    print(table(sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
