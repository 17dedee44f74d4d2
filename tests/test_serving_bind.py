"""What the practice's loopback servers share when they bind (helpers.serving.loopback.LoopbackServer)."""
from __future__ import annotations

import socket

import pytest

from helpers import RedirectListener, serve_practice_api


@pytest.fixture
def no_reverse_lookup(monkeypatch):
    def refuse(*args):
        raise AssertionError("socket.getfqdn was called: a reverse DNS lookup can take seconds at bind")
    monkeypatch.setattr(socket, "getfqdn", refuse)


def test_the_practice_api_binds_without_a_reverse_dns_lookup(no_reverse_lookup):
    with serve_practice_api() as api:
        assert api.url("/").startswith("http://127.0.0.1:")


def test_the_redirect_listener_binds_without_a_reverse_dns_lookup(no_reverse_lookup):
    listener = RedirectListener()
    try:
        assert listener.redirect_uri.startswith("http://127.0.0.1:")
    finally:
        listener.close()
