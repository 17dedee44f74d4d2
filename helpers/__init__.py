"""Helpers for the series "HTTP API authentication with Python requests".

Notebooks import only the names below (`from helpers import ...`):
- the practice API: start_practice_api (in-process), serve_practice_api (loopback);
- viewers and checks: show, show_jwt, checks, check_environment;
- client-side auth: BearerAuth, RefreshingBearerAuth (and the errors they raise: TokenRefreshError,
  InsecureTransportError), RedactSecrets;
- loopback tools for the client's side of a flow: RedirectListener (04), serve_tunnel_proxy (06);
- the server's side of a password check, to read in notebook 05.

Which layer may import which (tests/test_layers.py reads the imports and enforces it):
- practice_api/  the server; imports no serving, client, viewers or checks;
- serving/       how clients reach the server; imports practice_api, nothing learner-facing;
- client/        code to copy into a project; imports nothing else from helpers;
- viewers.py     show(), show_jwt(); reads requests objects, imports neither server nor transport;
- checks/        the exercises' feedback; may use viewers, client and the server's public facts (the
                 demo credentials, hashes and key, and the rules a check must apply as the server
                 does: tests/test_layers.py lists them), never the app or a transport;
- environment/   the version check and `python -m helpers.environment`; imports only serving (to start
                 the practice API as a notebook does);
- server.py      only the entry point of `python -m helpers.server` (the code is serving/cli.py).
"""
from helpers.practice_api.basic_auth import PasswordChecker, parse_basic
from helpers.practice_api.passwords import hash_password, verify_password
from helpers.practice_api.users import DUMMY_HASH, PASSWORD_HASHES
from helpers.serving.inprocess import start_practice_api
from helpers.serving.loopback import serve_practice_api
from helpers.serving.redirect_listener import RedirectListener
from helpers.serving.tunnel_proxy import serve_tunnel_proxy
from helpers.client.auth import BearerAuth, InsecureTransportError, RefreshingBearerAuth, TokenRefreshError
from helpers.client.redaction import RedactSecrets
from helpers.viewers import show, show_jwt
from helpers import checks
from helpers.environment import check_environment

__all__ = ["DUMMY_HASH", "PASSWORD_HASHES", "PasswordChecker", "hash_password", "parse_basic", "verify_password",
           "BearerAuth", "InsecureTransportError", "RedactSecrets", "RedirectListener", "RefreshingBearerAuth", "TokenRefreshError",
           "check_environment", "checks", "serve_practice_api", "serve_tunnel_proxy", "show", "show_jwt",
           "start_practice_api"]
