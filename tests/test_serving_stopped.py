"""A server that was stopped says so when it is used again, and says how to get a new one.

Learners re-run cells: after `api.stop()` (or the end of a `with` block), a cell that builds a URL
or a CA path from the stopped server used to get a port nobody listens on, or the path of a CA file
that stop() had deleted, and requests then failed far from the cause ("Connection refused",
"Could not find a suitable TLS CA certificate bundle"). The handle itself now refuses, at once,
with the cell to run again.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import serve_practice_api, serve_tunnel_proxy


def test_a_stopped_api_refuses_to_give_a_url():
    api = serve_practice_api()
    assert api.url("/basic/whoami") == api.base_url + "/basic/whoami"  # running: as before
    api.stop()
    with pytest.raises(RuntimeError, match=r"was stopped.*serve_practice_api\(\.\.\.\) again"):
        api.url("/basic/whoami")


def test_a_stopped_tls_api_refuses_its_deleted_ca_files():
    api = serve_practice_api(tls=True)
    folder = Path(api.ca_bundle).parent
    api.stop()
    assert not folder.exists()
    for name in ("ca_bundle", "client_cert"):
        with pytest.raises(RuntimeError, match="its CA files are deleted"):
            getattr(api, name)


def test_the_end_of_a_with_block_stops_it_too():
    with serve_practice_api() as api:
        api.url("/")
    with pytest.raises(RuntimeError, match="was stopped"):
        api.url("/")


def test_a_stopped_api_says_so_in_its_repr_and_stopping_twice_is_harmless():
    api = serve_practice_api()
    assert "stopped" not in repr(api)
    api.stop()
    api.stop()
    assert repr(api) == f"<practice API at {api.base_url} (loopback, stopped)>"
    assert api.calls == [] and api.clock.now() > 0  # what it received stays readable


def test_a_closed_proxy_refuses_to_give_its_url():
    proxy = serve_tunnel_proxy("ada", "p@ss:word/1")
    assert proxy.url == f"http://127.0.0.1:{proxy.port}"
    proxy.close()
    with pytest.raises(RuntimeError, match=r"was closed.*serve_tunnel_proxy\(\.\.\.\) again"):
        proxy.url
