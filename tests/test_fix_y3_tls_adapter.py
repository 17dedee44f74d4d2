"""06, exercise 1: checks.tls_session judges the adapter that really sends the session's https requests.

A Session with the right verify, cert and trust_env can still mount an HTTPAdapter subclass that turns
certificate checks off. The check builds the connection pool that adapter would use for an https URL (as
HTTPAdapter.send does, without connecting) and refuses CERT_NONE, assert_hostname=False, and an ssl_context
that asks for no checks. An adapter that only changes retries is fine.
"""
from __future__ import annotations

import ssl

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning
from urllib3.util import Retry

from conftest import assert_not_yet, assert_right
from helpers import checks, serve_practice_api
from helpers.serving.tls import make_local_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_local_pki(tmp_path_factory.mktemp("pki"))


class CertVerifyOff(HTTPAdapter):
    """After requests sets cert_reqs, set it back to CERT_NONE: no certificate is checked."""
    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, verify, cert)
        conn.cert_reqs, conn.ca_certs = "CERT_NONE", None


class PoolCertNone(HTTPAdapter):
    """Every pool it makes starts with cert_reqs=CERT_NONE; cert_verify then leaves no CA."""
    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, verify, cert)
        conn.cert_reqs = ssl.CERT_NONE


class NoHostname(HTTPAdapter):
    """assert_hostname=False: urllib3 accepts a certificate issued to any host."""
    def init_poolmanager(self, *args, **kwargs):
        kwargs["assert_hostname"] = False
        return super().init_poolmanager(*args, **kwargs)


def context_adapter(verify_mode: ssl.VerifyMode, check_hostname: bool) -> HTTPAdapter:
    class ContextAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            context = ssl.create_default_context()
            context.check_hostname = check_hostname
            context.verify_mode = verify_mode
            kwargs["ssl_context"] = context
            return super().init_poolmanager(*args, **kwargs)
    return ContextAdapter()


def right_session(pki, adapter: HTTPAdapter | None = None) -> requests.Session:
    session = requests.Session()
    session.verify, session.cert, session.trust_env = str(pki.ca_bundle), pki.client_cert, False
    if adapter is not None:
        session.mount("https://", adapter)
    return session


@pytest.mark.parametrize("adapter", [CertVerifyOff(), PoolCertNone()], ids=["cert_verify", "cert_reqs"])
def test_an_adapter_that_sets_cert_none_is_refused(feedback, pki, adapter):
    assert_not_yet(feedback(checks.tls_session, right_session(pki, adapter)), "CERT_NONE")


def test_an_adapter_that_skips_the_hostname_is_refused(feedback, pki):
    assert_not_yet(feedback(checks.tls_session, right_session(pki, NoHostname())), "assert_hostname=False")


@pytest.mark.parametrize("mode, hostname, named", [(ssl.CERT_NONE, False, "CERT_NONE"),
                                                    (ssl.CERT_REQUIRED, False, "check_hostname")])
def test_an_adapter_whose_ssl_context_asks_for_no_checks_is_refused(feedback, pki, mode, hostname, named):
    assert_not_yet(feedback(checks.tls_session, right_session(pki, context_adapter(mode, hostname))), named)


def test_an_adapter_mounted_for_one_host_only_is_judged_too(feedback, pki):
    session = right_session(pki)
    session.mount("https://127.0.0.1", CertVerifyOff())
    assert_not_yet(feedback(checks.tls_session, session), "CERT_NONE")


def test_an_adapter_that_only_retries_is_right(feedback, pki):
    adapter = HTTPAdapter(max_retries=Retry(total=3, backoff_factor=0.5))
    assert_right(feedback(checks.tls_session, right_session(pki, adapter)), "trusts only the practice CA")


def test_the_plain_session_is_right(feedback, pki):
    assert_right(feedback(checks.tls_session, right_session(pki)), "trusts only the practice CA")


def test_no_adapter_for_https_is_not_yet(feedback, pki):
    session = right_session(pki)
    session.adapters.clear()
    session.mount("http://", HTTPAdapter())
    assert_not_yet(feedback(checks.tls_session, session), "no adapter")


def test_the_insecure_adapters_really_send_without_checks(pki):
    """What the refused adapters do: CertVerifyOff connects to a server whose CA the session does not trust."""
    other = make_local_pki(pki.ca_bundle.parent / "other")
    api = serve_practice_api(tls=True)
    try:
        plain = right_session(other)
        plain.cert = None
        with pytest.raises(requests.exceptions.SSLError):
            plain.get(api.url("/headers"), timeout=5)
        off = right_session(other, CertVerifyOff())
        off.cert = None
        with pytest.warns(InsecureRequestWarning):
            assert off.get(api.url("/headers"), timeout=5).status_code == 200
    finally:
        api.stop()


class SendsUnverified(HTTPAdapter):
    """A send() that passes verify=False on, whatever the session says."""
    def send(self, request, **kwargs):
        kwargs["verify"] = False
        return super().send(request, **kwargs)


def test_an_adapter_whose_send_passes_verify_false_is_refused(feedback, pki):
    assert_not_yet(feedback(checks.tls_session, right_session(pki, SendsUnverified())), "verify=False")


def test_the_check_leaves_the_adapter_as_it_was(feedback, pki):
    adapter = HTTPAdapter()
    assert_right(feedback(checks.tls_session, right_session(pki, adapter)))
    assert "cert_verify" not in vars(adapter)
