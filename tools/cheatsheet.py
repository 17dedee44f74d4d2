"""The one-page cheat sheet, made from every notebook's "Key points", to hand out at the end of a workshop.

    python tools/cheatsheet.py            # write instructors/cheatsheet.md and instructors/cheatsheet.html
    python tools/cheatsheet.py --check    # exit 1 if either is not what writing them would give

cheatsheet.md is for reading in the repository. cheatsheet.html is the same text laid out to print on
one A4 page (two columns, small type): open it in a browser and print it. Both are committed, and a
test runs --check, so a notebook whose Key points change without a new cheat sheet fails it.
"""
from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import nbformat

from navigation import MARKER as NAVIGATION_MARKER

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MARKDOWN = ROOT / "instructors" / "cheatsheet.md"
PRINTABLE = ROOT / "instructors" / "cheatsheet.html"
TITLE = "Cheat sheet: HTTP API authentication with Python requests"
NOTE = "Written by tools/cheatsheet.py from each notebook's Key points: edit the notebooks, then run it."


def key_points(path: Path) -> tuple[str, list[str]]:
    """The notebook's title and the bullets of its "## Key points" (each bullet's lines joined by spaces)."""
    cells = [cell.source for cell in nbformat.read(path, as_version=4).cells
             if cell.cell_type == "markdown" and not cell.source.startswith(NAVIGATION_MARKER)]
    title = next(re.match(r"#\s+(.+)", text).group(1).strip() for text in cells if re.match(r"#\s", text))
    section = next((text.split("## Key points", 1)[1] for text in cells if "## Key points" in text), None)
    if section is None:
        raise SystemExit(f"{path.name} has no '## Key points' section")
    bullets: list[str] = []
    for line in section.split("\n## ", 1)[0].strip().splitlines():
        if line.startswith("- "):
            bullets.append(line[2:].strip())
        elif line.startswith(" ") and bullets and line.strip():
            bullets[-1] += " " + line.strip()
        else:
            break  # the list ended: any paragraph after it is not a key point
    return title, bullets


def sections() -> list[tuple[str, list[str]]]:
    return [key_points(path) for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))]


def markdown(parts: list[tuple[str, list[str]]]) -> str:
    lines = [f"<!-- {NOTE} -->", f"# {TITLE}", "",
             "Print [cheatsheet.html](cheatsheet.html) for the one-page version.", ""]
    for title, bullets in parts:
        lines += [f"## {title}", *(f"- {bullet}" for bullet in bullets), ""]
    return "\n".join(lines)


def inline(text: str) -> str:
    """HTML for the Markdown the Key points use: `code`, **bold** and *italic*, everything else escaped.

    Code spans are set aside first, so that bold around a code span works and nothing inside one is
    read as Markdown."""
    spans: list[str] = []

    def set_aside(match: re.Match) -> str:
        spans.append(f"<code>{html.escape(match.group(1))}</code>")
        return f"\0{len(spans) - 1}\0"

    text = html.escape(re.sub(r"`([^`]+)`", set_aside, text), quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", text)
    return re.sub("\0(\\d+)\0", lambda match: spans[int(match.group(1))], text)


STYLE = """@page { size: A4; margin: 9mm; }
body { font: 7pt/1.17 system-ui, sans-serif; margin: 0; columns: 2; column-gap: 6mm; }
h1 { column-span: all; font-size: 11pt; margin: 0 0 1.5mm; }
h2 { font-size: 8.4pt; margin: 1.8mm 0 0.6mm; break-after: avoid; }
ul { margin: 0; padding-left: 3.5mm; }
li { margin: 0 0 0.5mm; break-inside: avoid; }
code { font: 6.6pt ui-monospace, monospace; }"""


def printable(parts: list[tuple[str, list[str]]]) -> str:
    lines = ["<!DOCTYPE html>", f"<!-- {NOTE} -->", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{html.escape(TITLE)}</title>", f"<style>\n{STYLE}\n</style>", "</head>", "<body>",
             f"<h1>{html.escape(TITLE)}</h1>"]
    for title, bullets in parts:
        lines += [f"<h2>{inline(title)}</h2>", "<ul>", *(f"<li>{inline(bullet)}</li>" for bullet in bullets),
                  "</ul>"]
    return "\n".join(lines + ["</body>", "</html>", ""])


def outputs() -> dict[Path, str]:
    parts = sections()
    return {MARKDOWN: markdown(parts), PRINTABLE: printable(parts)}


def main(argv: list[str]) -> int:
    stale = [path for path, text in outputs().items()
             if not path.exists() or path.read_bytes() != text.encode("utf-8")]
    if argv == ["--check"]:
        if stale:
            names = ", ".join(path.relative_to(ROOT).as_posix() for path in stale)
            print(f"out of date: {names}. Run: python tools/cheatsheet.py, then commit them")
            return 1
        return 0
    for path, text in outputs().items():
        if path in stale:
            path.write_bytes(text.encode("utf-8"))  # bytes: the same file on every OS
            print(f"wrote {path.relative_to(ROOT).as_posix()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
