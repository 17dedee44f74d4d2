"""Write the navigation cells (previous · map · next · Binder) at the top and bottom of every notebook.

    python tools/navigation.py            # update the cells in place
    python tools/navigation.py --check    # exit 1 if any notebook's navigation is out of date

The cells are found by their first line, a marker comment, so running it again replaces
them instead of adding more. `make refresh` runs it first; a test runs --check.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MARKER = "<!-- navigation: written by tools/navigation.py; edit that script, not this cell -->"
BINDER = "https://mybinder.org/v2/gh/http-api-auth/python-requests-auth-tutorial/HEAD"


def binder_link(notebook_name: str) -> str:
    return f"{BINDER}?labpath={quote('notebooks/' + notebook_name, safe='')}"


def title(path: Path) -> str:
    """'01 · Basic auth' from the notebook's '# 01 · HTTP Basic authentication'-style heading."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and not cell.source.startswith(MARKER):
            match = re.match(r"#\s+(.+)", cell.source)
            if match:
                return match.group(1).strip()
    return path.stem


def navigation(paths: list[Path], index: int) -> str:
    parts = []
    if index > 0:
        parts.append(f"[← {title(paths[index - 1])}]({paths[index - 1].name})")
    parts.append("[Map of the series](00-start-here.ipynb#The-map)")
    if index + 1 < len(paths):
        parts.append(f"[{title(paths[index + 1])} →]({paths[index + 1].name})")
    parts.append(f"[Open in Binder]({binder_link(paths[index].name)})")
    return MARKER + "\n" + " · ".join(parts)


def with_navigation(path: Path, paths: list[Path]) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    cells = [cell for cell in notebook.cells if not cell.source.startswith(MARKER)]
    text = navigation(paths, paths.index(path))
    top, bottom = nbformat.v4.new_markdown_cell(text), nbformat.v4.new_markdown_cell(text)
    top.id, bottom.id = "nav-top", "nav-bottom"
    notebook.cells = [top, *cells, bottom]
    return notebook


def main(argv: list[str]) -> int:
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    stale = []
    for path in paths:
        updated = nbformat.writes(with_navigation(path, paths))
        updated += "" if updated.endswith("\n") else "\n"  # as nbformat.write() saves it
        if updated != path.read_text(encoding="utf-8"):
            stale.append(path.name)
            if "--check" not in argv:
                path.write_text(updated, encoding="utf-8")
    if "--check" in argv and stale:
        print("navigation out of date in: " + ", ".join(stale) + ". Run: python tools/navigation.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
