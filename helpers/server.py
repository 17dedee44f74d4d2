"""Serve the practice API from a terminal, for curl, Postman or a browser.

    python -m helpers.server [--port N]

The first line of standard output is one JSON object: `base_url` and the demo
credentials (`users`, `api_keys`, `clients`), for scripts. Readable lines follow,
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
    args = parser.parse_args(argv)

    try:
        api = serve_practice_api(args.port, log=lambda line: print(line, flush=True))
    except OSError as error:
        print(f"Cannot listen on 127.0.0.1:{args.port}: {error.strerror}. Try another --port, or 0.", file=sys.stderr)
        return 1

    print(json.dumps({"base_url": api.base_url, **demo.credentials()}, ensure_ascii=False), flush=True)
    user = demo.USERS[0]
    print(f"Practice API (demo credentials only) listening on {api.base_url}")
    print(f"Try:  curl -i -u '{user['username']}:{user['password']}' {api.url('/basic/whoami')}")
    print("Stop: Ctrl-C", flush=True)

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it like Ctrl-C
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    api.stop()
    print("Practice API stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
