"""`python -m helpers.server`: the practice API from a terminal."""
from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests

from conftest import ROOT
from helpers.practice_api import demo


def as_in_a_terminal() -> None:
    """In the child, before Python starts: Ctrl-C (SIGINT) at its default, as in a terminal. A test run
    started in the background by a shell without job control (`make test &` in a script) inherits SIGINT
    ignored, and Python then keeps it ignored: the Ctrl-C test would wait for a server that never stops."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_server(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "helpers.server", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
                            preexec_fn=as_in_a_terminal if os.name == "posix" else None)


def announcement(stream) -> list[str]:
    """The readable lines after the JSON line, up to "Stop: Ctrl-C", less the one that says 8000 is taken
    (there when another test's server holds 8000 at the time)."""
    lines: list[str] = []
    while not lines or lines[-1] != "Stop: Ctrl-C":
        line = stream.readline()
        assert line, f"the server stopped after {lines}"
        lines.append(line.rstrip("\n"))
    note = cli.fallback_note("http://127.0.0.1:0").splitlines()
    return [line for line in lines if not (line.startswith(note[0][:20]) or line.startswith(note[1][:30])
                                           or line.startswith("BASE="))]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_prints_credentials_serves_and_stops_cleanly(stop_signal):
    server = start_server()
    try:
        first = json.loads(server.stdout.readline())
        readable = announcement(server.stdout)

        assert set(first) == {"base_url", "users", "api_keys", "clients", "service_accounts", "aws"}
        assert first["base_url"].startswith("http://127.0.0.1:")
        assert {"username": "ada", "password": "analytical:engine:1843"} in first["users"]
        assert all(set(user) == {"username", "password"} for user in first["users"])
        assert all({"key", "scopes"} <= set(key) for key in first["api_keys"]) and len(first["api_keys"]) == 4
        assert {c["client_id"] for c in first["clients"]} == {"reports-job", "notes-web", "notes-cli", "notes-tv",
                                                                   "notes-api", "reports-signer", "reports-mtls",
                                                                   "notes-signin"}
        # private keys are demo secrets too, published like the rest (notebook 09)
        assert "BEGIN PRIVATE KEY" in next(c for c in first["clients"] if c["client_id"] == "reports-signer")[
            "private_key"]
        assert [account["token_uri"] for account in first["service_accounts"]] == [first["base_url"] + "/oauth/token"]
        assert all({"client_id", "grant_types", "redirect_uris", "scope"} <= set(c) for c in first["clients"])
        assert "listening on " + first["base_url"] in readable[0]
        assert readable[1].startswith("Try:  curl -i -u 'ada:analytical:engine:1843' ")

        user = first["users"][0]
        ok = requests.get(first["base_url"] + "/basic/whoami", auth=(user["username"], user["password"]), timeout=5)
        assert ok.status_code == 200 and ok.json() == {"username": "ada", "scheme": "Basic"}
        assert server.stdout.readline().strip() == "GET /basic/whoami -> 200"  # the request log

        started = time.monotonic()
        server.send_signal(stop_signal)
        out, err = server.communicate(timeout=5)
        assert time.monotonic() - started < 2
        assert server.returncode == 0
        assert out.strip().endswith("Practice API stopped.")
        assert err == ""
        with pytest.raises(requests.ConnectionError):
            requests.get(first["base_url"] + "/", timeout=2)
    finally:
        server.kill()
        server.communicate()


def test_port_option_and_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = start_server("--port", str(port))
        out, err = server.communicate(timeout=10)
    assert server.returncode == 1
    assert out == ""
    assert f"Cannot listen on 127.0.0.1:{port}" in err and "--port" in err

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    server = start_server("--port", str(free))
    try:
        assert json.loads(server.stdout.readline())["base_url"] == f"http://127.0.0.1:{free}"
    finally:
        server.terminate()
        server.communicate(timeout=5)
    assert server.returncode == 0


@pytest.mark.parametrize("reader", ["head -n 1", "true"])
def test_a_reader_that_goes_away_stops_the_server_quietly(reader):
    """`python -m helpers.server | head -n 1`: when the pipe's reader exits, the server stops, with no
    BrokenPipeError traceback and exit status 0 (set -o pipefail makes the pipeline report the server's)."""
    pipeline = subprocess.Popen(["bash", "-c", f"set -o pipefail; {sys.executable} -m helpers.server | {reader}"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                start_new_session=True)  # its own process group, to stop the server if it hangs
    try:
        out, err = pipeline.communicate(timeout=20)
    finally:
        try:  # the server, if it outlived the pipeline
            os.killpg(pipeline.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pipeline.communicate()
    assert err == ""
    assert pipeline.returncode == 0
    if reader.startswith("head"):
        assert json.loads(out)["base_url"].startswith("http://127.0.0.1:")


def test_a_reader_that_goes_away_while_requests_are_logged():
    """The log line of a request is the write that meets the closed pipe."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen([sys.executable, "-m", "helpers.server"], cwd=ROOT, stdout=write_end,
                              stderr=subprocess.PIPE, text=True, encoding="utf-8")
    os.close(write_end)
    try:
        with open(read_end, encoding="utf-8") as reader:
            first = json.loads(reader.readline())
        # the reader is gone: the next request's log line cannot be written
        try:
            requests.get(first["base_url"] + "/", timeout=5)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            pass  # the server may already have noticed and stopped, before or in the middle of its answer
        _, err = server.communicate(timeout=10)
        assert err == ""
        assert server.returncode == 0
    finally:
        server.kill()
        server.communicate()


def raw_get(base_url: str, target: bytes) -> bytes:
    """One request with `target` sent as raw bytes (requests would percent-encode it); the answer's first line."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as connection:
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return connection.makefile("rb").readline()


def await_line(stream, start: str) -> str:
    """The next line of `stream` that begins with `start` (a log line), skipping others."""
    for line in stream:
        if line.startswith(start):
            return line
    raise AssertionError(f"the server stopped before a line starting with {start!r}")


@pytest.mark.parametrize("encoding", ["ascii", "cp932", "latin-1"])
def test_a_stdout_that_cannot_encode_every_character_still_gets_every_line(encoding):
    """grace's password has '€' and 'ü'; a Windows code page or PYTHONIOENCODING may lack them. The
    JSON line is ASCII (\\u20ac escapes, decoded back by any JSON reader); readable lines get \\xe9 escapes."""
    server = subprocess.Popen([sys.executable, "-m", "helpers.server"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, encoding=encoding,
                              env={**os.environ, "PYTHONIOENCODING": encoding})
    try:
        first_line = server.stdout.readline()
        assert first_line.isascii()
        first = json.loads(first_line)
        assert {key: first[key] for key in ("users", "api_keys", "clients", "service_accounts", "aws")} == \
            demo.credentials(first["base_url"])
        assert "listening on " + first["base_url"] in server.stdout.readline()

        assert raw_get(first["base_url"], b"/caf\xe9").startswith(b"HTTP/1.1 4")  # logged as /caf\xe9 or /café
        assert await_line(server.stdout, "GET /caf")
        assert requests.get(first["base_url"] + "/after", timeout=5).status_code == 404  # still serving
        assert await_line(server.stdout, "GET /after ").strip() == "GET /after -> 404"

        server.terminate()
        out, err = server.communicate(timeout=5)
        assert (server.returncode, err) == (0, "")
        assert out.strip().endswith("Practice API stopped.")
    finally:
        server.kill()
        server.communicate()


def test_an_ascii_stdout_redirected_to_a_file(tmp_path):
    """`PYTHONIOENCODING=ascii python -m helpers.server > out.txt`: the file gets the lines, the server runs."""
    out_file = tmp_path / "out.txt"
    with open(out_file, "wb") as stdout:
        server = subprocess.Popen([sys.executable, "-m", "helpers.server"], cwd=ROOT, stdout=stdout,
                                  stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    try:
        deadline = time.monotonic() + 10
        while "Stop: Ctrl-C" not in out_file.read_text("ascii") and server.poll() is None:
            assert time.monotonic() < deadline, "the server wrote no complete announcement"
            time.sleep(0.05)
        assert server.poll() is None, "the server stopped by itself"
        server.terminate()
        _, err = server.communicate(timeout=5)
        assert (server.returncode, err) == (0, "")
        lines = out_file.read_text("ascii").splitlines()
        assert json.loads(lines[0])["users"] == demo.USERS
        assert lines[-1] == "Practice API stopped."
    finally:
        server.kill()
        server.communicate()


def test_a_stdout_that_cannot_be_written_stops_the_server_with_a_message():
    """/dev/full refuses every write (ENOSPC): not a reader that left, so a message and status 1, no traceback."""
    with open("/dev/full", "w") as full:
        server = subprocess.Popen([sys.executable, "-m", "helpers.server"], cwd=ROOT, stdout=full,
                                  stderr=subprocess.PIPE, text=True)
    try:
        _, err = server.communicate(timeout=10)
    finally:
        server.kill()
        server.communicate()
    assert server.returncode == 1
    assert "standard output" in err and "Traceback" not in err


def test_a_closed_stdout_is_a_reader_that_has_gone():
    """Started with standard output closed (`>&-`), it has nobody to tell its address: it stops, status 0."""
    pipeline = subprocess.Popen(["bash", "-c", f"{sys.executable} -m helpers.server >&-"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = pipeline.communicate(timeout=10)
    finally:
        try:
            os.killpg(pipeline.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pipeline.communicate()
    assert (pipeline.returncode, err) == (0, "")


@pytest.mark.parametrize("port", ["70000", "65536", "-1", "eighty"])
def test_a_port_that_is_not_a_port_number_gets_a_usage_error(port):
    server = start_server("--port", port)
    out, err = server.communicate(timeout=10)
    assert server.returncode == 2  # argparse's status for a usage error
    assert out == "" and "Traceback" not in err
    assert "--port" in err and "0 to 65535" in err


class _SlowStream:
    """A standard output whose first write waits until another write arrives (or 0.3 s): the moment
    where a second connection's thread used to slip its line in between text and newline."""

    encoding = "utf-8"
    closed = False

    def __init__(self) -> None:
        import threading

        self.writes: list[str] = []
        self.second_write = threading.Event()

    def write(self, text: str) -> int:
        self.writes.append(text)
        if len(self.writes) == 1:
            self.second_write.wait(0.3)
        else:
            self.second_write.set()
        return len(text)

    def flush(self) -> None:
        pass


def test_lines_from_two_connection_threads_never_interleave(monkeypatch):
    """print() writes the text, then the newline: each connection's thread logs, so Output.line locks."""
    import threading

    from helpers.serving.cli import Output

    stream = _SlowStream()
    monkeypatch.setattr(sys, "stdout", stream)
    output = Output()
    threads = [threading.Thread(target=output.line, args=(text,)) for text in ("GET /a -> 200", "GET /b -> 404")]
    threads[0].start()
    time.sleep(0.05)  # the first thread is inside its write
    threads[1].start()
    for thread in threads:
        thread.join(5)
    assert "".join(stream.writes).splitlines() in (["GET /a -> 200", "GET /b -> 404"],
                                                   ["GET /b -> 404", "GET /a -> 200"])


# -- the default port: 8000, the README's, or a free one that the server names -----------------------

def hold_port_8000() -> socket.socket | None:
    """A listening socket on 127.0.0.1:8000, or None when another program already listens there.

    SO_REUSEADDR as the server sets it: a connection of an earlier test in TIME_WAIT does not hold the port.
    Either way, 8000 is taken while the caller runs."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("127.0.0.1", cli.DEFAULT_PORT))
    except OSError:
        holder.close()
        return None
    holder.listen()
    return holder


from helpers.serving import cli  # noqa: E402


def test_the_default_port_is_the_readmes():
    assert cli.DEFAULT_PORT == 8000
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\nBASE=http://127.0.0.1:8000 " in readme  # the first line of its curl block


def test_with_no_port_it_listens_on_the_default_port_when_that_is_free(monkeypatch):
    port = free_port_number()
    monkeypatch.setattr(cli, "DEFAULT_PORT", port)
    api, note = cli.listen(None, tls=False, log=None)
    try:
        assert (api.base_url, note) == (f"http://127.0.0.1:{port}", None)
    finally:
        api.stop()


def test_with_no_port_and_the_default_taken_it_takes_a_free_port_and_says_so(monkeypatch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setattr(cli, "DEFAULT_PORT", busy.getsockname()[1])
        api, note = cli.listen(None, tls=False, log=None)
        try:
            assert api.port != cli.DEFAULT_PORT
            assert requests.get(api.url("/.well-known/jwks.json"), timeout=5).status_code == 200
            assert note.splitlines() == [
                f"Port {cli.DEFAULT_PORT} is taken (by another program, or another person's server on this machine), "
                f"so this one listens on {api.base_url}.",
                f"http://127.0.0.1:{cli.DEFAULT_PORT} is someone else's server: requests sent there do not reach "
                "this one. In the terminal where you run curl, set BASE to this server first (not the README's "
                "port 8000):",
                f"BASE={api.base_url}"]
        finally:
            api.stop()


def test_a_port_asked_for_is_never_swapped_for_another(monkeypatch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(cli, "DEFAULT_PORT", taken)
        with pytest.raises(OSError):
            cli.listen(taken, tls=False, log=None)


def test_an_error_that_is_not_a_taken_port_is_not_hidden_by_the_fallback(monkeypatch):
    def refuse(port, **kwargs):
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    monkeypatch.setattr(cli, "serve_practice_api", refuse)
    with pytest.raises(OSError) as raised:
        cli.listen(None, tls=False, log=None)
    assert raised.value.errno == errno.EADDRNOTAVAIL


def test_the_command_with_8000_taken_names_the_port_it_took_and_serves_there():
    """What the 2nd of 40 learners on one JupyterHub machine sees: a line that says why, a base_url that is true."""
    holder = hold_port_8000()
    try:
        server = start_server()
        try:
            first = json.loads(server.stdout.readline())
            listening, note, other, base, try_line = (server.stdout.readline().strip() for _ in range(5))
            port = urlsplit(first["base_url"]).port
            assert port != 8000
            assert listening.endswith("listening on " + first["base_url"])
            assert note.startswith("Port 8000 is taken") and note.endswith(f"listens on {first['base_url']}.")
            assert other.startswith("http://127.0.0.1:8000 is someone else's server: requests sent there do not "
                                    "reach this one.")
            assert base == f"BASE={first['base_url']}"
            assert try_line.endswith(first["base_url"] + "/basic/whoami")
            assert requests.get(first["base_url"] + "/basic/whoami", timeout=5).status_code == 401
        finally:
            server.terminate()
            out, err = server.communicate(timeout=5)
        assert (server.returncode, err) == (0, "")
    finally:
        if holder is not None:
            holder.close()


def test_the_command_with_a_taken_port_asked_for_fails_with_the_way_out():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = start_server("--port", str(port))
        out, err = server.communicate(timeout=10)
    assert (server.returncode, out) == (1, "")
    assert err.strip() == f"Cannot listen on 127.0.0.1:{port}: Address already in use. Try another --port, or 0."


def free_port_number() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
