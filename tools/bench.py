"""`make bench`: how much each notebook costs the test run, and how fast the practice API is.

Prints, measured in this run on this machine:
- each notebook's nbval time next to an empty notebook's, median and best of 7 runs. A notebook's
  nbval time is the sum of its test items' durations: kernel start, every cell with its output
  comparison, and kernel shutdown. pytest's "passed in N s" also counts about 2 s of collection and
  plugin work that is the same for every notebook but varies by +-0.4 s from run to run here, so
  it is shown too but would hide a 0.1 s change. The runs alternate between notebooks, so a slow
  spell of the machine hits all of them alike;
- the whole `make test` time;
- the loopback server's requests per second, with one client and with 50 concurrent clients
  doing mixed flows for 10 s (and whether any request failed or was lost).
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
from xml.etree import ElementTree

import nbformat
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import serve_practice_api  # noqa: E402

RUNS = 7
NBVAL = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(ROOT / "tests/nbval-sanitize.cfg"), "-o", "junit_duration_report=total"]


def nbval_run(path: Path, report: Path) -> tuple[float, float]:
    """(the notebook's own nbval time, pytest's whole session time) for one run, in seconds."""
    result = subprocess.run([*NBVAL, f"--junitxml={report}", str(path)], cwd=ROOT, check=True,
                            capture_output=True, text=True)
    summary = result.stdout.strip().splitlines()[-1]  # "12 passed in 1.84s"
    items = sum(float(case.get("time")) for case in ElementTree.parse(report).iter("testcase"))
    return items, float(re.search(r" in ([\d.]+)s", summary).group(1))


def nbval_times(paths: list[Path], folder: Path) -> dict[Path, list[tuple[float, float]]]:
    """RUNS rounds; each round runs every notebook once, so drift in the machine's speed is shared."""
    times: dict[Path, list[tuple[float, float]]] = {path: [] for path in paths}
    for _ in range(RUNS):
        for path in paths:
            times[path].append(nbval_run(path, folder / "report.xml"))
    return times


def requests_per_second(path: str, seconds: float = 2.0, **kwargs) -> float:
    with serve_practice_api() as api, requests.Session() as session:
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            session.get(api.url(path), timeout=5, **kwargs)
            count += 1
        return count / (time.perf_counter() - started)


def load(clients: int = 50, seconds: float = 10.0) -> tuple[int, int, float]:
    """(requests answered, requests failed, seconds) for `clients` threads running mixed flows."""
    import threading

    key = "practice_ro_I7H0P6vXjFOogKzzeJbijcVc4jjHOKCa"
    counts, failures, lock = [0], [0], threading.Lock()
    with serve_practice_api() as api:
        stop_at = time.perf_counter() + seconds

        def client(number: int) -> None:
            with requests.Session() as session:
                user = "ada" if number % 2 else "grace"  # lockouts are per user: none is triggered here
                password = "analytical:engine:1843" if user == "ada" else "Grüße-€-cobol-1959".encode()
                while time.perf_counter() < stop_at:
                    flow = [("GET", "/", {}), ("GET", "/keys/whoami", {"headers": {"X-API-Key": key}}),
                            ("GET", "/basic/whoami", {"auth": (user.encode(), password if isinstance(password, bytes)
                                                               else password.encode())})]
                    for method, path, kwargs in flow:
                        try:
                            ok = session.request(method, api.url(path), timeout=10, **kwargs).status_code == 200
                        except requests.RequestException:
                            ok = False
                        with lock:
                            counts[0] += 1
                            failures[0] += 0 if ok else 1

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        received = api.calls.total  # api.calls keeps only the newest 1000; total counts them all
    assert received == counts[0], f"{counts[0]} requests sent, {received} received: requests were lost"
    return counts[0], failures[0], elapsed


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "empty.ipynb"
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
        notebook.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
        notebook.cells[0].execution_count = 1
        nbformat.write(notebook, empty)
        chosen = [Path(name).resolve() for name in sys.argv[1:]]  # `tools/bench.py notebooks/03-*.ipynb`
        notebooks = chosen or sorted((ROOT / "notebooks").glob("*.ipynb"))
        times = nbval_times([empty, *notebooks], Path(folder))

    def summary(path: Path, index: int) -> tuple[float, float]:
        values = [run[index] for run in times[path]]
        return statistics.median(values), min(values)

    (items, best_items), (session, best_session) = summary(empty, 0), summary(empty, 1)
    print(f"nbval, one notebook at a time, {RUNS} runs each: median (best)")
    print(f"  {'':36} {'notebook items':>18} {'over empty':>18} {'pytest session':>16} {'over empty':>18}")
    print(f"  {'empty notebook':36} {items:9.2f} ({best_items:.2f}) s {'':18} {session:7.2f} ({best_session:.2f}) s")
    for path in notebooks:
        (median, best), (session_median, session_best) = summary(path, 0), summary(path, 1)
        print(f"  {path.name:36} {median:9.2f} ({best:.2f}) s {median - items:+8.2f} ({best - best_items:+.2f}) s "
              f"{session_median:7.2f} ({session_best:.2f}) s {session_median - session:+8.2f} "
              f"({session_best - best_session:+.2f}) s")
    if chosen:
        return 0

    started = time.perf_counter()
    result = subprocess.run(["make", "test"], cwd=ROOT, capture_output=True, text=True)
    outcome = next((line.strip("= ") for line in reversed(result.stdout.splitlines()) if " in " in line
                    and ("passed" in line or "failed" in line)), "no pytest summary")
    print(f"make test: {time.perf_counter() - started:.1f} s ({outcome})")

    print("loopback practice API, one client, keep-alive:")
    print(f"  GET /              {requests_per_second('/'):7.0f} requests/s")
    print(f"  GET /basic/whoami  {requests_per_second('/basic/whoami', auth=('ada', 'analytical:engine:1843')):7.0f}"
          " requests/s (each checks a PBKDF2 hash)")
    answered, failed, elapsed = load()
    print(f"  50 clients, mixed flows, {elapsed:.0f} s: {answered / elapsed:7.0f} requests/s, "
          f"{answered} answered, {failed} failed, none lost")
    return result.returncode or (1 if failed else 0)


if __name__ == "__main__":
    sys.exit(main())
