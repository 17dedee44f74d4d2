"""06, exercise 1 (review RV5 #3, #4, #8): checks.tls_session judges what the session really does.

- An adapter that hands urllib3 an ssl_context of its own is refused: ssl.create_default_context()
  already trusts the system's public CAs, and urllib3 adds session.verify's CA to them.
- A session or adapter class that replaces the methods a request goes through is refused, naming the
  method: such code may turn verification off for another host, timeout or call than the check's probe.
- The probe leaves the learner's adapter as it was, and what the adapter prints while probed goes
  through the check's capture, never straight into the notebook (with a machine path in it).
"""
from __future__ import annotations

import ssl
import warnings

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning

from conftest import assert_not_yet, assert_right
from helpers import checks, serve_practice_api
from helpers.serving.tls import make_local_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_local_pki(tmp_path_factory.mktemp("pki"))


def right_session(pki, adapter: HTTPAdapter | None = None, kind: type = requests.Session) -> requests.Session:
    session = kind()
    session.verify, session.cert, session.trust_env = str(pki.ca_bundle), pki.client_cert, False
    if adapter is not None:
        session.mount("https://", adapter)
    return session


class DefaultContext(HTTPAdapter):
    """The common "custom ciphers" adapter: a default context, so the system's CAs are trusted too."""
    def init_poolmanager(self, *args, **kwargs):
        context = ssl.create_default_context()
        context.set_ciphers("DEFAULT")
        kwargs["ssl_context"] = context
        return super().init_poolmanager(*args, **kwargs)


class CaFolderContext(HTTPAdapter):
    """A context that trusts a CA folder: OpenSSL loads it lazily, so get_ca_certs() lists none of them."""
    def init_poolmanager(self, *args, **kwargs):
        context = ssl.create_default_context(capath=ssl.get_default_verify_paths().capath or ".")
        kwargs["ssl_context"] = context
        return super().init_poolmanager(*args, **kwargs)


@pytest.mark.parametrize("adapter", [DefaultContext(), CaFolderContext()], ids=["default", "ca-folder"])
def test_an_adapter_with_its_own_ssl_context_is_refused(feedback, pki, adapter):
    assert_not_yet(feedback(checks.tls_session, right_session(pki, adapter)), "ssl_context of its own")


def test_a_default_context_really_trusts_more_than_the_practice_ca(pki):
    """Why: the context the adapter hands urllib3 holds the public CAs, before session.verify's is added."""
    session = right_session(pki, DefaultContext())
    pool = session.get_adapter("https://127.0.0.1/").poolmanager.connection_from_url("https://127.0.0.1/")
    assert len(pool.conn_kw["ssl_context"].get_ca_certs()) > 1


class LaxSession(requests.Session):
    """verify=False on every call, whatever session.verify says."""
    def request(self, *args, **kwargs):
        kwargs["verify"] = False
        return super().request(*args, **kwargs)


class LaxMerge(requests.Session):
    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {**settings, "verify": "localhost" not in url and settings["verify"]}


class LaxSend(requests.Session):
    def send(self, request, **kwargs):
        kwargs["verify"] = False
        return super().send(request, **kwargs)


@pytest.mark.parametrize("kind, method", [(LaxSession, "request"), (LaxMerge, "merge_environment_settings"),
                                          (LaxSend, "send")])
def test_a_session_class_that_replaces_a_step_is_refused(feedback, pki, kind, method):
    assert_not_yet(feedback(checks.tls_session, right_session(pki, kind=kind)), f"{method}()")


def test_a_request_method_set_on_the_instance_is_refused(feedback, pki):
    session = right_session(pki)
    plain = session.request
    session.request = lambda *args, **kwargs: plain(*args, **{**kwargs, "verify": False})
    assert_not_yet(feedback(checks.tls_session, session), "request()")


def test_the_lax_session_really_sends_unverified(pki):
    """What LaxSession does: it reaches a server whose CA the session does not trust."""
    api = serve_practice_api(tls=True)
    try:
        session = right_session(pki, kind=LaxSession)
        session.cert = None
        with pytest.warns(InsecureRequestWarning):
            assert session.get(api.url("/headers"), timeout=5).status_code == 200
    finally:
        api.stop()


class OnlyLocalhost(HTTPAdapter):
    def send(self, request, **kwargs):
        if "localhost" in request.url:
            kwargs["verify"] = False
        return super().send(request, **kwargs)


class OtherTimeout(HTTPAdapter):
    def send(self, request, **kwargs):
        if kwargs.get("timeout") != 5:
            kwargs["verify"] = False
        return super().send(request, **kwargs)


class AfterTheFirst(HTTPAdapter):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def send(self, request, **kwargs):
        self.calls += 1
        if self.calls > 1:
            kwargs["verify"] = False
        return super().send(request, **kwargs)


@pytest.mark.parametrize("adapter", [OnlyLocalhost(), OtherTimeout(), AfterTheFirst()],
                         ids=["localhost", "timeout", "second-call"])
def test_an_adapter_whose_send_decides_for_itself_is_refused(feedback, pki, adapter):
    assert_not_yet(feedback(checks.tls_session, right_session(pki, adapter)), "send()")


def test_the_probe_keeps_a_cert_verify_set_on_the_instance(feedback, pki):
    adapter = HTTPAdapter()
    mine = HTTPAdapter.cert_verify.__get__(adapter)
    adapter.cert_verify = mine
    feedback(checks.tls_session, right_session(pki, adapter))
    assert vars(adapter)["cert_verify"] is mine


class Chatty(HTTPAdapter):
    """Prints what it is given (the CA's path among it) each time it sets up a connection."""
    def cert_verify(self, conn, url, verify, cert):
        print("cert_verify", url, verify)
        return super().cert_verify(conn, url, verify, cert)


def test_what_the_adapter_prints_while_probed_does_not_reach_the_notebook(feedback, pki):
    output = feedback(checks.tls_session, right_session(pki, Chatty()))
    assert str(pki.ca_bundle) not in output
    assert str(pki.ca_bundle.parent) not in output
    assert "cert_verify" not in output  # what it printed is counted with the verdict, never shown
    assert "printed while the check ran" in output


def test_the_plain_session_is_still_right(feedback, pki):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_right(feedback(checks.tls_session, right_session(pki)), "trusts only the practice CA")
