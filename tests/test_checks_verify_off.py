"""`feedback.verify_off`: the one test every check uses for "certificate checking is turned off".

requests turns the check off for any false value of verify=, not only False: the adapter's
cert_verify() tests `if url.lower().startswith("https") and verify`. None is not "off" here: as a
keyword it means "the session's setting", and a missing value reads as None.
"""
from __future__ import annotations

import pytest

from helpers.checks.feedback import verify_off


@pytest.mark.parametrize("value", [False, 0, 0.0, "", b"", [], ()], ids=repr)
def test_false_values_turn_checking_off(value):
    assert verify_off(value) is True


@pytest.mark.parametrize("value", [None, True, 1, "/etc/ssl/certs/ca.pem", "ca-folder/"], ids=repr)
def test_other_values_keep_checking_on(value):
    assert verify_off(value) is False


# -- every check that judges a session or a call: verify=0 and verify="" are refused ------------

import requests  # noqa: E402
from urllib.parse import quote_plus  # noqa: E402

from conftest import assert_right  # noqa: E402
from helpers import BearerAuth, checks
from helpers.practice_api import demo  # noqa: E402
from helpers.serving.tls import make_local_pki  # noqa: E402
from test_checks_api_keys import APIKeyAuth  # noqa: E402  (the notebook's auth class)

OFF = [pytest.param(0, id="verify=0"), pytest.param("", id="verify=empty-string")]
ON = pytest.param(True, id="verify=True")
WEB_CLIENT_ID = "notes-web"
WEB_REDIRECT_URI = "https://notes-web.test/callback"


def unauthenticated_call(api, verify):
    with requests.Session() as session:
        session.trust_env = False
        return checks.unauthenticated_call, session.get(api.url("/basic/whoami"), timeout=5, verify=verify)


def read_notes(api, verify):
    with requests.Session() as session:
        session.trust_env = False
        response = session.get(api.url("/keys/notes"), headers={"X-API-Key": demo.api_key("ro-1")}, timeout=5,
                               verify=verify)
    return checks.read_notes, response


def exchange_code(api, verify):
    secret = str(demo.client(WEB_CLIENT_ID)["client_secret"])

    def function(session, token_url, code, code_verifier):
        response = session.post(token_url, data={"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": WEB_REDIRECT_URI, "code_verifier": code_verifier},
                                auth=(quote_plus(WEB_CLIENT_ID), quote_plus(secret)), timeout=5, verify=verify,
                                allow_redirects=False)
        response.raise_for_status()
        if response.status_code != 200:  # raise_for_status() lets a redirect through
            raise requests.HTTPError(f"{response.status_code}: expected 200", response=response)
        return response.json()

    return checks.exchange_code, function


def session_verifying(verify, **settings) -> requests.Session:
    session = requests.Session()
    for name, value in settings.items():
        setattr(session, name, value)
    session.verify = verify
    return session


def basic_session(api, verify):
    return checks.basic_session, session_verifying(verify, auth=("ada", demo.password_of("ada")))


def key_session(api, verify):
    return checks.key_session, session_verifying(verify, auth=APIKeyAuth(demo.api_key("rw-2")))


def bearer_session(api, verify):
    with requests.Session() as http:
        http.trust_env = False
        tokens = http.post(api.url("/login"), json={"username": "ada", "password": demo.password_of("ada")},
                           timeout=5).json()
    return checks.bearer_session, session_verifying(verify, auth=BearerAuth(tokens["access_token"]))


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_local_pki(tmp_path_factory.mktemp("pki"))


def tls_session(api, verify, pki):
    ca_bundle = str(pki.ca_bundle) if verify is True else verify  # True stands for "the right answer" here
    return checks.tls_session, session_verifying(ca_bundle, cert=tuple(str(p) for p in pki.client_cert),
                                                 trust_env=False)


CHECKS = [unauthenticated_call, read_notes, exchange_code, basic_session, key_session, bearer_session]


@pytest.mark.parametrize("verify", [ON, *OFF])
@pytest.mark.parametrize("answer", CHECKS, ids=lambda answer: answer.__name__)
def test_certificate_checking_off_is_refused(feedback, api, answer, verify):
    """The right answer gets "✓"; the same answer with certificate checking off gets "✗ Not yet"."""
    check, learner = answer(api, verify)
    output = feedback(check, learner)
    if verify is True:
        assert_right(output)
    else:
        assert output.startswith("✗ Not yet: "), output


@pytest.mark.parametrize("verify", [ON, *OFF])
def test_tls_session_with_certificate_checking_off_is_refused(feedback, api, pki, verify):
    check, learner = tls_session(api, verify, pki)
    output = feedback(check, learner)
    if verify is True:
        assert_right(output)
    else:
        assert output.startswith("✗ Not yet: "), output
