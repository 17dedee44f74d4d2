"""Serve the practice API from a terminal, for curl, Postman or a browser.

    python -m helpers.server [--port N] [--tls]

It listens on 127.0.0.1:8000, the README's BASE for its curl lines. When another program holds
8000 (on a shared JupyterHub machine, another learner's server), it says so, takes any free port
instead, and prints the `BASE=http://127.0.0.1:NNNNN` line to type before the curl lines: `base_url`
in the first line is always where it really listens.
`--port N` asks for port N and fails if it is taken; `--port 0` takes any free port.

The first line of standard output is one JSON object: `base_url` and the demo
credentials (`users`, `api_keys`, `clients`, `service_accounts`, `aws`), for scripts; with --tls also `ca_bundle`
and `client_cert` (paths to PEM files of a throw-away local CA). Readable lines follow,
then one line per request. Ctrl-C or SIGTERM stops it cleanly, and so does the reader
of a pipe going away (`python -m helpers.server | head -n 1`): it exits with status 0 and
no BrokenPipeError traceback. A standard output that refuses a write for another reason (a
full disk) stops it with a message on stderr and status 1.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import select
import signal
import stat
import sys
import threading

from helpers.practice_api import demo
from helpers.serving.loopback import LoopbackAPI, serve_practice_api

DEFAULT_PORT = 8000  # the README's curl lines use it
# bind() errors that mean "this port is not for you": held by another program, or (Windows) a reserved range
PORT_UNAVAILABLE = {errno.EADDRINUSE, errno.EACCES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=port_number, default=None,
                        help=f"port on 127.0.0.1 (default: {DEFAULT_PORT}, or any free port when it is taken; "
                             "0: any free port)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throw-away local CA")
    args = parser.parse_args(argv)

    # SIGTERM stops it like Ctrl-C. Set before the first line is printed: whoever reads that
    # line may stop the server at once.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    output = Output()
    try:
        api, note = listen(args.port, tls=args.tls, log=output.line)
    except OSError as error:
        port = DEFAULT_PORT if args.port is None else args.port
        print(f"Cannot listen on 127.0.0.1:{port}: {error.strerror}. Try another --port, or 0.", file=sys.stderr)
        return 1

    try:
        announce(api, tls=args.tls, print_line=output.line, note=note)
        output.wait_until_reader_leaves()
    except KeyboardInterrupt:
        pass
    api.stop()
    output.line("Practice API stopped.")
    if output.error is not None:
        print(f"Cannot write to standard output ({output.error.strerror or output.error}): "
              "the practice API stopped.", file=sys.stderr)
        return 1
    return 0


def listen(port: int | None, *, tls: bool, log) -> tuple[LoopbackAPI, str | None]:
    """The server on `port`; with no --port, on DEFAULT_PORT, or on any free port when that one is taken.

    Forty learners on one JupyterHub machine share its loopback interface, and the hub itself often
    listens on 8000: only one server can have that port, and the others must still start. The second
    value is the line that tells a person why the port is not 8000 (None when nothing needs saying).
    A port asked for with --port is never swapped for another: whoever typed it meant it.
    """
    if port is not None:
        return serve_practice_api(port, tls=tls, log=log), None
    try:
        return serve_practice_api(DEFAULT_PORT, tls=tls, log=log), None
    except OSError as error:
        if error.errno not in PORT_UNAVAILABLE:
            raise
    api = serve_practice_api(0, tls=tls, log=log)
    return api, fallback_note(api.base_url)


def fallback_note(base_url: str) -> str:
    """The lines that say why this server is not on DEFAULT_PORT, and the README's BASE= line to type instead.

    The README's curl lines send to "$BASE": with BASE left at port 8000, a learner on a shared machine
    would reach another learner's server, and get its 200s, without a word that it is not their own.
    """
    default = f"{base_url.partition('://')[0]}://127.0.0.1:{DEFAULT_PORT}"
    return (f"Port {DEFAULT_PORT} is taken (by another program, or another person's server on this machine), "
            f"so this one listens on {base_url}.\n"
            f"{default} is someone else's server: requests sent there do not reach this one. "
            "In the terminal where you run curl, set BASE to this server first (not the README's port 8000):\n"
            f"BASE={base_url}")


def port_number(text: str) -> int:
    """argparse's type for --port: a usage error for 70000 or -1, not an OverflowError from bind()."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535; 0 picks a free one)")
    return port


class Output:
    """Standard output that notices when its reader has gone, as `head -n 1` does after one line.

    A write to a pipe nobody reads raises BrokenPipeError; a standard output closed from the
    start (`>&-`) has no reader either. Then standard output is pointed at os.devnull, so that
    nothing (not even Python's final flush at exit) writes a traceback, and the server stops as
    after Ctrl-C. A reader can also leave while nothing is written: on a pipe, poll() reports
    that, so the server need not wait for a request to find out. Any other OSError (a full disk)
    stops the server too, but is kept in `error` for main() to report: it is not a reader leaving.
    A character the output's encoding lacks (grace's "€" on a Windows code page) is no error at all.
    """

    def __init__(self) -> None:
        self.gone = threading.Event()
        self.error: OSError | None = None
        # every connection's thread logs here, and print() writes the text and the newline apart
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        """Write one whole line, or notice that standard output has no reader any more."""
        with self._lock:
            self._write(text)

    def _write(self, text: str) -> None:
        stream = sys.stdout
        if self.gone.is_set():
            return
        if stream is None or stream.closed:  # None: Python found file descriptor 1 closed at start
            self._stop()
            return
        try:
            print(_encodable(text, stream), file=stream, flush=True)
        except BrokenPipeError:
            self._stop()
        except ValueError:  # "I/O operation on closed file": closed by someone since the check above
            if not stream.closed:
                raise
            self._stop()
        except OSError as error:
            self.error = error
            self._stop()

    def _stop(self) -> None:
        if sys.stdout is not None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        self.gone.set()

    def wait_until_reader_leaves(self) -> None:
        """Block until the pipe's reader goes away or a write fails; forever (until Ctrl-C) for a terminal or a file."""
        poller = _pipe_poller(sys.stdout)
        while not self.gone.is_set():
            if poller is not None and poller.poll(500):  # POLLERR: the read end was closed
                self._stop()
            elif poller is None:
                self.gone.wait(0.5)  # short waits, so that Ctrl-C is handled at once everywhere


def _encodable(text: str, stream) -> str:
    """`text` with each character that `stream`'s encoding lacks written as an escape, like \\u20ac.

    print() would raise UnicodeEncodeError for it; the escape keeps the line, and tells which
    character it was.
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    return text.encode(encoding, "backslashreplace").decode(encoding)


def _pipe_poller(stream) -> "select.poll | None":
    """A poll object that wakes when the reader of `stream` (a pipe) closes it; None if that cannot be seen."""
    try:
        is_pipe = stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return None
    if not is_pipe or not hasattr(select, "poll"):  # Windows has no poll(); a file or a terminal never "leaves"
        return None
    poller = select.poll()
    poller.register(stream.fileno(), 0)  # no events asked for: only POLLERR and POLLHUP are reported
    return poller


def announce(api, *, tls: bool, print_line=print, note: str | None = None) -> None:
    """The JSON line for scripts, then lines for people (`note` after the address, when there is one)."""
    first_line = {"base_url": api.base_url, **demo.credentials(api.base_url)}
    cacert = ""
    if tls:
        first_line.update(ca_bundle=api.ca_bundle, client_cert=list(api.client_cert))
        cacert = f"--cacert {api.ca_bundle} "
    # ensure_ascii: "€" goes out as \u20ac, so the line is plain ASCII that every encoding of standard
    # output can carry, and any JSON reader decodes it back to the same text.
    print_line(json.dumps(first_line, ensure_ascii=True))
    user = demo.USERS[0]
    print_line(f"Practice API (demo credentials only) listening on {api.base_url}")
    for line in (note or "").splitlines():
        print_line(line)
    print_line(f"Try:  curl -i {cacert}-u '{user['username']}:{user['password']}' {api.url('/basic/whoami')}")
    if tls:
        cert, key = api.client_cert
        print_line(f"mTLS: curl -i {cacert}--cert {cert} --key {key} {api.url('/mtls/whoami')}")
    print_line("Stop: Ctrl-C")


if __name__ == "__main__":
    sys.exit(main())
