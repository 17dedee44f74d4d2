"""`make bench`: how much each notebook costs the test run, and how fast the practice API is.

Prints, measured in this run on this machine:
- each notebook's nbval time next to an empty notebook's (median of 5 runs each). The time is
  pytest's own "passed in N s": kernel start and every cell, without the interpreter and plugin
  start-up, which is the same for every notebook and only adds noise;
- the whole `make test` time;
- the loopback server's requests per second.
This is a benchmark, not a test: it asserts nothing.
"""
from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import serve_practice_api  # noqa: E402

RUNS = 5
NBVAL = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(ROOT / "tests/nbval-sanitize.cfg")]


def nbval_seconds(path: Path) -> float:
    times = []
    for _ in range(RUNS):
        result = subprocess.run([*NBVAL, str(path)], cwd=ROOT, check=True, capture_output=True, text=True)
        summary = result.stdout.strip().splitlines()[-1]  # "12 passed in 1.84s"
        times.append(float(re.search(r" in ([\d.]+)s", summary).group(1)))
    return statistics.median(times)


def requests_per_second(path: str, seconds: float = 2.0, **kwargs) -> float:
    with serve_practice_api() as api, requests.Session() as session:
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            session.get(api.url(path), timeout=5, **kwargs)
            count += 1
        return count / (time.perf_counter() - started)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "empty.ipynb"
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
        notebook.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
        notebook.cells[0].execution_count = 1
        nbformat.write(notebook, empty)
        baseline = nbval_seconds(empty)

    print(f"nbval, one notebook at a time, median of {RUNS} runs (pytest's own time)")
    print(f"  {'empty notebook':32} {baseline:5.2f} s")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        seconds = nbval_seconds(path)
        print(f"  {path.name:32} {seconds:5.2f} s  ({seconds - baseline:+.2f} s over empty)")

    started = time.perf_counter()
    result = subprocess.run(["make", "test"], cwd=ROOT, capture_output=True, text=True)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "no output"
    print(f"make test: {time.perf_counter() - started:.1f} s ({summary})")

    print("loopback practice API, one client, keep-alive:")
    print(f"  GET /              {requests_per_second('/'):7.0f} requests/s")
    print(f"  GET /basic/whoami  {requests_per_second('/basic/whoami', auth=('ada', 'analytical:engine:1843')):7.0f}"
          " requests/s (each checks a PBKDF2 hash)")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
