"""Helpers for the series "HTTP API authentication with Python requests".

Notebooks import only these names:

    from helpers import start_practice_api, serve_practice_api, show, show_jwt, checks, check_environment
    from helpers import BearerAuth, RefreshingBearerAuth
    from helpers import RedirectListener
"""
from helpers import checks
from helpers.auth import BearerAuth, RefreshingBearerAuth, TokenRefreshError
from helpers.environment import check_environment
from helpers.inprocess import start_practice_api
from helpers.loopback import serve_practice_api
from helpers.redaction import RedactSecrets
from helpers.redirect_listener import RedirectListener
from helpers.viewers import show, show_jwt

__all__ = ["BearerAuth", "RedactSecrets", "RedirectListener", "RefreshingBearerAuth", "TokenRefreshError",
           "check_environment", "checks", "serve_practice_api", "show", "show_jwt", "start_practice_api"]
