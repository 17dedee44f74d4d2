"""HTTPS with a local CA, mutual TLS, and 429 with Retry-After in both of its forms."""
from __future__ import annotations

import email.utils
import json
import os
import signal
import ssl
import subprocess
import sys
from datetime import datetime, timezone

import pytest
import requests

from conftest import ROOT
from helpers import serve_practice_api
from helpers.practice_api import demo

KEY = demo.api_key("ro-1")


@pytest.fixture(scope="module")
def tls_api():
    with serve_practice_api(tls=True) as api:
        yield api
    assert api.app.errors == []


def test_the_right_ca_verifies_and_the_default_trust_store_does_not(tls_api, http):
    assert tls_api.base_url.startswith("https://127.0.0.1:")
    ok = http.get(tls_api.url("/basic/whoami"), auth=("ada", "analytical:engine:1843"), verify=tls_api.ca_bundle,
                  timeout=5)
    assert ok.status_code == 200
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(tls_api.url("/"), timeout=5)


def test_a_wrong_ca_fails(tls_api, http):
    with serve_practice_api(tls=True) as other:  # another throw-away CA
        with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            http.get(tls_api.url("/"), verify=other.ca_bundle, timeout=5)


def test_mutual_tls_needs_the_client_certificate(tls_api, http):
    with_cert = http.get(tls_api.url("/mtls/whoami"), verify=tls_api.ca_bundle, cert=tls_api.client_cert, timeout=5)
    assert with_cert.status_code == 200
    assert with_cert.json() == {"client_certificate": "ada-laptop", "scheme": "mutual TLS"}
    without = http.get(tls_api.url("/mtls/whoami"), verify=tls_api.ca_bundle, timeout=5)
    assert without.status_code == 403 and without.json()["error"] == "client_certificate_required"
    assert "cert=" in without.json()["error_description"]


def test_a_client_certificate_from_another_ca_is_refused(tls_api, http):
    with serve_practice_api(tls=True) as other:
        with pytest.raises(requests.exceptions.SSLError):
            http.get(tls_api.url("/mtls/whoami"), verify=tls_api.ca_bundle, cert=other.client_cert, timeout=5)
    assert http.get(tls_api.url("/"), verify=tls_api.ca_bundle, timeout=5).status_code == 200, "server survived"


def test_plain_http_to_the_tls_port_and_mtls_without_tls(tls_api, http, api):
    with pytest.raises(requests.ConnectionError):
        http.get(tls_api.url("/").replace("https://", "http://"), timeout=5)
    assert http.get(api.url("/mtls/whoami"), timeout=5).status_code == 403  # in-process: never a certificate


def test_the_pem_files_go_away_with_the_server():
    with serve_practice_api(tls=True) as api:
        files = [api.ca_bundle, *api.client_cert]
        assert all(os.path.exists(path) for path in files)
        ssl.create_default_context(cafile=api.ca_bundle)  # a valid bundle
    assert not any(os.path.exists(path) for path in files)
    with serve_practice_api() as plain, pytest.raises(RuntimeError, match="tls=True"):
        plain.ca_bundle


def test_cli_tls_prints_the_ca_bundle_and_serves_https():
    server = subprocess.Popen([sys.executable, "-m", "helpers.server", "--tls"], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8")
    try:
        first = json.loads(server.stdout.readline())
        assert first["base_url"].startswith("https://127.0.0.1:")
        assert os.path.exists(first["ca_bundle"]) and len(first["client_cert"]) == 2
        mtls = requests.get(first["base_url"] + "/mtls/whoami", verify=first["ca_bundle"],
                            cert=tuple(first["client_cert"]), timeout=5)
        assert mtls.json()["client_certificate"] == "ada-laptop"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=5) == 0
        assert not os.path.exists(first["ca_bundle"])
    finally:
        server.kill()
        server.communicate()


def limited(http, api, path="/limited", key=KEY):
    return http.get(api.url(path), headers={"X-API-Key": key}, timeout=5)


def test_429_with_retry_after_in_seconds(http, any_api):
    assert [limited(http, any_api).status_code for _ in range(3)] == [200, 200, 200]
    refused = limited(http, any_api)
    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
    assert refused.headers["Retry-After"] == "10"
    any_api.clock.advance(9)
    assert limited(http, any_api).status_code == 429
    assert limited(http, any_api).headers["Retry-After"] == "1"
    any_api.clock.advance(1)
    assert limited(http, any_api).status_code == 200


def test_429_with_retry_after_as_an_http_date(http, api):
    for _ in range(3):
        limited(http, api, "/limited/date").raise_for_status()
    refused = limited(http, api, "/limited/date")
    assert refused.status_code == 429
    when = email.utils.parsedate_to_datetime(refused.headers["Retry-After"])
    assert when.tzinfo == timezone.utc and refused.headers["Retry-After"].endswith(" GMT")
    wait = (when - datetime.fromtimestamp(api.clock.now(), timezone.utc)).total_seconds()
    assert 9 <= wait <= 11
    api.clock.advance(wait)
    assert limited(http, api, "/limited/date").status_code == 200


def test_limits_are_per_key_and_per_endpoint(http, api):
    for _ in range(4):
        limited(http, api)
    assert limited(http, api).status_code == 429
    assert limited(http, api, key=demo.api_key("rw-2")).status_code == 200
    assert limited(http, api, "/limited/date").status_code == 200
    assert http.get(api.url("/limited"), timeout=5).status_code == 401  # a key is needed to be counted
