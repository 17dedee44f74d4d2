"""Helpers for the series "HTTP API authentication with Python requests".

Notebooks import only the names below (`from helpers import ...`):
- the practice API: start_practice_api (in-process), serve_practice_api (loopback);
- viewers and checks: show, show_jwt, checks, check_environment;
- client-side auth: BearerAuth, RefreshingBearerAuth (and the errors they raise: TokenRefreshError,
  InsecureTransportError), RedirectListener, RedactSecrets;
- the server's side of a password check, to read in notebook 05.
"""
from helpers import checks
from helpers.auth import BearerAuth, InsecureTransportError, RefreshingBearerAuth, TokenRefreshError
from helpers.basic_auth import PasswordChecker, parse_basic
from helpers.environment import check_environment
from helpers.inprocess import start_practice_api
from helpers.loopback import serve_practice_api
from helpers.passwords import hash_password, verify_password
from helpers.redaction import RedactSecrets
from helpers.redirect_listener import RedirectListener
from helpers.tunnel_proxy import serve_tunnel_proxy
from helpers.users import DUMMY_HASH, PASSWORD_HASHES
from helpers.viewers import show, show_jwt

__all__ = ["DUMMY_HASH", "PASSWORD_HASHES", "PasswordChecker", "hash_password", "parse_basic", "verify_password",
           "BearerAuth", "InsecureTransportError", "RedactSecrets", "RedirectListener", "RefreshingBearerAuth", "TokenRefreshError",
           "check_environment", "checks", "serve_practice_api", "serve_tunnel_proxy", "show", "show_jwt",
           "start_practice_api"]
