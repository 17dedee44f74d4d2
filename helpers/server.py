"""Serve the practice API from a terminal, for curl, Postman or a browser.

    python -m helpers.server [--port N] [--tls]

The first line of standard output is one JSON object: `base_url` and the demo
credentials (`users`, `api_keys`, `clients`), for scripts; with --tls also `ca_bundle`
and `client_cert` (paths to PEM files of a throw-away local CA). Readable lines follow,
then one line per request. Ctrl-C or SIGTERM stops it cleanly.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from helpers import demo
from helpers.loopback import serve_practice_api


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throw-away local CA")
    args = parser.parse_args(argv)

    # SIGTERM stops it like Ctrl-C. Set before the first line is printed: whoever reads that
    # line may stop the server at once.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        api = serve_practice_api(args.port, tls=args.tls, log=lambda line: print(line, flush=True))
    except OSError as error:
        print(f"Cannot listen on 127.0.0.1:{args.port}: {error.strerror}. Try another --port, or 0.", file=sys.stderr)
        return 1

    try:
        announce(api, tls=args.tls)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    api.stop()
    print("Practice API stopped.", flush=True)
    return 0


def announce(api, *, tls: bool) -> None:
    """The JSON line for scripts, then lines for people."""
    first_line = {"base_url": api.base_url, **demo.credentials()}
    cacert = ""
    if tls:
        first_line.update(ca_bundle=api.ca_bundle, client_cert=list(api.client_cert))
        cacert = f"--cacert {api.ca_bundle} "
    print(json.dumps(first_line, ensure_ascii=False), flush=True)
    user = demo.USERS[0]
    print(f"Practice API (demo credentials only) listening on {api.base_url}")
    print(f"Try:  curl -i {cacert}-u '{user['username']}:{user['password']}' {api.url('/basic/whoami')}")
    if tls:
        cert, key = api.client_cert
        print(f"mTLS: curl -i {cacert}--cert {cert} --key {key} {api.url('/mtls/whoami')}")
    print("Stop: Ctrl-C", flush=True)


if __name__ == "__main__":
    sys.exit(main())
