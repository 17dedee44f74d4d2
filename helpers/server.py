"""`python -m helpers.server [--port N] [--tls]`: serve the practice API until Ctrl-C.

On 127.0.0.1:8000 by default, or on a free port (it says which) when 8000 is taken.

This name is what people type, so it stays; the code is in helpers/serving/cli.py.
"""
import sys

from helpers.serving.cli import main

if __name__ == "__main__":
    sys.exit(main())
