"""Which notebook outputs changed since the last commit, cell by cell: what `make upgrade` shows the maintainer.

`git diff` of a notebook is JSON; this names each code cell whose outputs changed and the first line that
differs, so a new library message or default is read before the new lock is committed.
"""
from __future__ import annotations

import configparser
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SANITIZE = ROOT / "tests" / "nbval-sanitize.cfg"  # what nbval ignores (tokens, times, ports) is ignored here too


def sanitizers() -> list[tuple[re.Pattern, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SANITIZE, encoding="utf-8")
    return [(re.compile(parser[section]["regex"]), parser[section]["replace"]) for section in parser.sections()]


def output_text(cell: dict, rules: list[tuple[re.Pattern, str]] = ()) -> list[str]:
    """A code cell's outputs as the lines a reader sees (stream text, plain-text results, errors), with
    nbval's volatile values replaced as its sanitizer does."""
    lines = []
    for output in cell.get("outputs", []):
        if "text" in output:
            text = output["text"]
        elif "data" in output:
            text = output["data"].get("text/plain", "")
        else:
            text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
        text = "".join(text) if isinstance(text, list) else text
        for pattern, replace in rules:
            text = pattern.sub(replace, text)
        lines += text.splitlines()
    return lines


def changed_cells(before: dict, after: dict) -> list[tuple[int, str, str]]:
    """[(cell number from 1, line before, line after)] for each code cell whose outputs changed."""
    def code(notebook: dict) -> list[dict]:
        return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]

    rules = sanitizers()
    changes = []
    for number, (old, new) in enumerate(zip(code(before), code(after)), start=1):
        old_lines, new_lines = output_text(old, rules), output_text(new, rules)
        if old_lines != new_lines:
            first = next((i for i, pair in enumerate(zip(old_lines, new_lines)) if pair[0] != pair[1]),
                         min(len(old_lines), len(new_lines)))
            line = (lambda lines: lines[first] if first < len(lines) else "(no line)")
            changes.append((number, line(old_lines), line(new_lines)))
    return changes


def main(argv: list[str] | None = None) -> int:
    paths = argv if argv else sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb"))
    total = 0
    for path in paths:
        shown = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=ROOT, capture_output=True, text=True)
        if shown.returncode != 0:
            print(f"{path}: new (not in the last commit)")
            continue
        changes = changed_cells(json.loads(shown.stdout), json.loads((ROOT / path).read_text(encoding="utf-8")))
        total += len(changes)
        for number, old, new in changes:
            print(f"{path}, code cell {number}:\n  - {old[:96]}\n  + {new[:96]}")
    print(f"{total} code cells changed their outputs" + ("" if total else ": the upgrade changed no output"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
