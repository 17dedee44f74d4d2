"""Helpers for the series "HTTP API authentication with Python requests".

Notebooks import only these names:

    from helpers import start_practice_api, serve_practice_api, show, checks, check_environment
"""
from helpers import checks
from helpers.environment import check_environment
from helpers.inprocess import start_practice_api
from helpers.loopback import serve_practice_api
from helpers.viewers import show

__all__ = ["check_environment", "checks", "serve_practice_api", "show", "start_practice_api"]
