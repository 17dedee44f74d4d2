"""`make learner-copies`: the notebooks as learners get them in a workshop, in learner-copies/.

    python tools/learner_copies.py            # write learner-copies/ from notebooks/
    python tools/learner_copies.py --check    # exit 1 if learner-copies/ is not what writing it gives
    python tools/learner_copies.py FOLDER     # write the copies to FOLDER instead

Each copy keeps every explanation and every exercise stub, and loses:
- the solutions (the <details> blocks after the exercises);
- all outputs, so that learners see each result appear when they run the cell;
- the sentences that promise a solution (REWRITES says them otherwise, for a copy without one).
Its navigation cell's Binder link opens the copy, not the full notebook.

The folder is committed, as fastbook commits clean/, because Binder and nbgitpuller only see what
is in the repository; a test runs --check, so a notebook edited without a new copy fails it.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat

from navigation import MARKER as NAVIGATION_MARKER

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
FOLDER = "learner-copies"
TARGET = ROOT / FOLDER
SOLUTION = re.compile(r"\s*<details><summary>Solution</summary>.*?</details>\s*", re.S)

# Text of the full notebooks that is wrong in a copy without solutions: (notebook, old, new).
# A test checks that each old text is still there, and that no copy mentions a solution otherwise.
REWRITES = [
    ("00-start-here.ipynb",
     "Each has a solution, folded away under *Solution*.",
     "This copy has no solutions: keep trying until the check says ✓. The full notebooks in\n"
     "`notebooks/` have them, for afterwards."),
]


def rewritten(name: str, text: str) -> str:
    """`text` with this notebook's REWRITES applied."""
    for notebook, old, new in REWRITES:
        if notebook == name:
            text = text.replace(old, new)
    return text


BINDER_REF = re.compile(r"(https://mybinder\.org/v2/gh/[^/\s]+/[^/\s]+/)HEAD\?")


def learner_copy(notebook: nbformat.NotebookNode, name: str = "", ref: str = "HEAD") -> nbformat.NotebookNode:
    """The learner's copy of `notebook` (changed in place), whose file is called `name`.

    Its Binder link opens the git `ref` (a branch): the committed copies use HEAD, and an instructor
    writes them with the frozen workshop branch (`--ref workshop-YYYY-MM-DD`), so that learners get the
    image Binder built and cached for that branch instead of a rebuild of whatever HEAD is that day.
    """
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            text = rewritten(name, SOLUTION.sub("\n\n", cell.source).strip())
            if not text:
                continue  # the cell held only a solution
            if text.startswith(NAVIGATION_MARKER):  # Binder opens this copy, not the full notebook
                text = text.replace("labpath=" + quote("notebooks/", safe=""), "labpath=" + quote(f"{FOLDER}/", safe=""))
                text = BINDER_REF.sub(lambda link: link.group(1) + quote(ref, safe="") + "?", text)
            cell.source = text
        else:
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
        cells.append(cell)
    notebook.cells = cells
    return notebook


def copies(ref: str = "HEAD") -> dict[str, str]:
    """{file name: the text of its learner copy}, for every notebook, as nbformat.write() saves it."""
    texts = {}
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        text = nbformat.writes(learner_copy(nbformat.read(path, as_version=4), path.name, ref))
        texts[path.name] = text if text.endswith("\n") else text + "\n"
    return texts


def stale(target: Path, texts: dict[str, str]) -> list[str]:
    """The copies in `target` that differ from `texts`, are missing, or have no notebook any more."""
    present = {path.name for path in target.glob("*.ipynb")}
    names = sorted(present | set(texts))
    return [name for name in names
            if name not in texts or name not in present
            or (target / name).read_bytes() != texts[name].encode("utf-8")]


def write(target: Path, texts: dict[str, str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in stale(target, texts):
        if name in texts:
            (target / name).write_bytes(texts[name].encode("utf-8"))  # bytes: no newline translation on Windows
            print(f"wrote {target.name}/{name}")
        else:
            (target / name).unlink()
            print(f"removed {target.name}/{name}: its notebook is gone")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python tools/learner_copies.py", description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", type=Path, default=TARGET, help=f"the folder to write (default: {FOLDER}/)")
    parser.add_argument("--check", action="store_true", help=f"only say whether {FOLDER}/ is up to date")
    parser.add_argument("--ref", default="HEAD", help="the git branch the Binder links open (default: HEAD, as "
                                                       "committed; the frozen workshop branch for a workshop)")
    args = parser.parse_args(argv)
    texts = copies(args.ref)
    if args.check:
        out_of_date = stale(TARGET, texts)
        if out_of_date:
            print(f"{FOLDER}/ is out of date for: {', '.join(out_of_date)}. "
                  f"Run: python tools/learner_copies.py (or make learner-copies), then commit {FOLDER}/")
            return 1
        return 0
    write(args.target, texts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
