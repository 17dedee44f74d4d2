"""The checks of notebook 06 (HTTPS, secrets and rate limits): right answers get "✓ Right", the `...`
placeholder and typical wrong answers get "✗ Not yet" with their specific hint. Checks never raise,
never print a secret, and never print a file path."""
from __future__ import annotations

import certifi
import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from conftest import assert_not_yet, assert_right
from helpers import checks
from helpers.practice_api import demo
from helpers.serving.tls import make_local_pki

PLACEHOLDER_HINT = "replace the `...` in the cell"
READ_KEY = demo.api_key("ro-1")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_local_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    return make_local_pki(tmp_path_factory.mktemp("other-pki"))


def session_with(verify=None, cert=None, trust_env=False) -> requests.Session:
    session = requests.Session()
    if verify is not None:
        session.verify = verify
    session.cert = cert
    session.trust_env = trust_env
    return session


def test_checks_are_exported():
    from helpers.checks import https_limits
    assert sorted(https_limits.__all__) == ["redact_api_key", "retry_policy", "tls_session"]


@pytest.mark.parametrize("check", [checks.tls_session, checks.retry_policy, checks.redact_api_key])
@pytest.mark.parametrize("answer", [..., None])
def test_placeholder(feedback, check, answer):
    assert_not_yet(feedback(check, answer), PLACEHOLDER_HINT)


# -- tls_session (exercise 1) -------------------------------------------------------------------

def test_tls_session_right(feedback, pki):
    session = session_with(str(pki.ca_bundle), tuple(str(p) for p in pki.client_cert))
    assert_right(feedback(checks.tls_session, session), "trusts only the practice CA")


def test_tls_session_right_with_path_objects(feedback, pki):
    assert_right(feedback(checks.tls_session, session_with(pki.ca_bundle, tuple(pki.client_cert))))


def test_tls_session_refuses_a_list_cert_that_requests_fails_on(feedback, pki):
    """requests 2.34 keys its pools on cert: a list raises TypeError: unhashable type: 'list'."""
    session = session_with(pki.ca_bundle, list(pki.client_cert))
    with pytest.raises(TypeError, match="unhashable"):
        session.get("https://127.0.0.1:9/", timeout=5)
    assert_not_yet(feedback(checks.tls_session, session), "session.cert is a list")


def test_tls_session_verify_false(feedback, pki):
    output = feedback(checks.tls_session, session_with(False, pki.client_cert))
    assert_not_yet(output, "session.verify = False turns certificate checks off")


def test_tls_session_default_trust_store(feedback, pki):
    assert_not_yet(feedback(checks.tls_session, session_with(True, pki.client_cert)), "does not know the practice CA")


def test_tls_session_client_cert_passed_as_verify(feedback, pki):
    output = feedback(checks.tls_session, session_with(pki.client_cert))
    assert_not_yet(output, "goes in session.cert")
    output = feedback(checks.tls_session, session_with(str(pki.client_cert[0]), pki.client_cert))
    assert_not_yet(output, "points at ada's client certificate, not at a CA")
    output = feedback(checks.tls_session, session_with(str(pki.client_cert[1]), pki.client_cert))
    assert_not_yet(output, "points at a private key")


def test_tls_session_public_bundle(feedback, pki):
    output = feedback(checks.tls_session, session_with(certifi.where(), pki.client_cert))
    assert_not_yet(output, "a bundle of")


def test_tls_session_missing_file_says_no_path(feedback, pki, tmp_path):
    output = feedback(checks.tls_session, session_with(str(tmp_path / "nope.pem"), pki.client_cert))
    assert_not_yet(output, "names no file that exists")
    assert str(tmp_path) not in output


def test_tls_session_no_client_cert(feedback, pki):
    assert_not_yet(feedback(checks.tls_session, session_with(pki.ca_bundle)), "Set session.cert = api.client_cert")


@pytest.mark.parametrize("cert, hint", [
    ("swapped", "the wrong way round"),
    ("ca", "session.cert points at the CA"),
    ("cert only", "has no private key"),
    ("other key", "the key does not belong to the certificate"),
])
def test_tls_session_wrong_client_cert(feedback, pki, other_pki, cert, hint):
    chain, key = pki.client_cert
    value = {"swapped": (key, chain), "ca": pki.ca_bundle, "cert only": chain,
             "other key": (chain, other_pki.client_cert[1])}[cert]
    assert_not_yet(feedback(checks.tls_session, session_with(pki.ca_bundle, value)), hint)


def test_tls_session_trust_env_left_on(feedback, pki):
    output = feedback(checks.tls_session, session_with(pki.ca_bundle, pki.client_cert, trust_env=True))
    assert_not_yet(output, "REQUESTS_CA_BUNDLE")


@pytest.mark.parametrize("answer, hint", [(requests.Session, "the class itself"),
                                          ("session", "expected a requests.Session")])
def test_tls_session_not_a_session(feedback, answer, hint):
    assert_not_yet(feedback(checks.tls_session, answer), hint)


def test_tls_session_right_one_actually_works():
    """What the check accepts does connect: the practice API's own PKI, end to end."""
    from helpers import serve_practice_api

    with serve_practice_api(tls=True) as api:
        session = session_with(api.ca_bundle, api.client_cert)
        assert session.get(api.url("/mtls/whoami"), timeout=5).json()["client_certificate"] == "ada-laptop"


# -- retry_policy (exercise 2) --------------------------------------------------------------------

GOOD = dict(total=3, status_forcelist=[429, 503], allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,
            respect_retry_after_header=True, backoff_factor=0.5, raise_on_status=False)
if hasattr(Retry(), "retry_after_max"):
    GOOD["retry_after_max"] = 60


def test_retry_policy_right(feedback):
    assert_right(feedback(checks.retry_policy, Retry(**GOOD)), "HTTPAdapter(max_retries=retry)")


def test_retry_policy_right_as_adapter_or_session(feedback):
    assert_right(feedback(checks.retry_policy, HTTPAdapter(max_retries=Retry(**GOOD))))
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=Retry(**GOOD)))
    assert_right(feedback(checks.retry_policy, session))


@pytest.mark.parametrize("changes, hint", [
    ({"status_forcelist": [500, 502, 503]}, "429 is not in status_forcelist"),
    ({"status_forcelist": [429]}, "add 503"),
    ({"respect_retry_after_header": False}, "respect_retry_after_header is off"),
    ({"total": None}, "total=None"),
    ({"total": 10}, "total=10: the brief says at most 3 retries"),
    ({"total": 4}, "total=4: the brief says at most 3 retries"),
    ({"total": 0}, "total=0"),
    ({"raise_on_status": True}, "raise_on_status=False"),
    ({"allowed_methods": None}, "retries every method"),
    ({"allowed_methods": ["GET", "POST"]}, "this policy retries POST"),
    ({"backoff_factor": 0}, "backoff_factor is 0"),
])
def test_retry_policy_wrong(feedback, changes, hint):
    assert_not_yet(feedback(checks.retry_policy, Retry(**{**GOOD, **changes})), hint)


@pytest.mark.skipif(not hasattr(Retry(), "retry_after_max"), reason="urllib3 < 2.6.3 has no retry_after_max")
def test_retry_policy_default_cap_of_six_hours(feedback):
    policy = {key: value for key, value in GOOD.items() if key != "retry_after_max"}
    assert_not_yet(feedback(checks.retry_policy, Retry(**policy)), "retry_after_max is 21600 s (6 h)")


@pytest.mark.skipif(not hasattr(Retry(), "retry_after_max"), reason="urllib3 < 2.6.3 has no retry_after_max")
@pytest.mark.parametrize("cap, hint", [(61, "retry_after_max=61: the brief says never wait more than 60 s"),
                                       (300, "retry_after_max=300: the brief says"),
                                       (7200, "retry_after_max is 7200 s (2 h)")])
def test_retry_policy_cap_above_60(feedback, cap, hint):
    assert_not_yet(feedback(checks.retry_policy, Retry(**{**GOOD, "retry_after_max": cap})), hint)


@pytest.mark.skipif(not hasattr(Retry(), "retry_after_max"), reason="urllib3 < 2.6.3 has no retry_after_max")
def test_retry_policy_lower_cap_is_right(feedback):
    assert_right(feedback(checks.retry_policy, Retry(**{**GOOD, "retry_after_max": 30})))


def test_retry_policy_what_the_check_asks_for_returns_the_last_429():
    """raise_on_status=False: when retries run out, the 429 comes back (RetryError otherwise)."""
    from helpers import serve_practice_api

    class NoSleep(Retry):
        def sleep(self, response=None) -> None:
            pass

    with serve_practice_api(tls=True) as api:
        for raise_on_status in (False, True):
            session = session_with(api.ca_bundle)
            session.headers["X-API-Key"] = READ_KEY
            session.mount("https://", HTTPAdapter(max_retries=NoSleep(**{**GOOD, "total": 1,
                                                                         "raise_on_status": raise_on_status})))
            api.clock.advance(10)
            for _ in range(3):
                session.get(api.url("/limited"), timeout=5)
            if raise_on_status:
                with pytest.raises(requests.exceptions.RetryError):
                    session.get(api.url("/limited"), timeout=5)
            else:
                assert session.get(api.url("/limited"), timeout=5).status_code == 429


def test_retry_policy_int_and_default_adapter(feedback):
    assert_not_yet(feedback(checks.retry_policy, 3), "max_retries=3 becomes Retry(3)")
    assert_not_yet(feedback(checks.retry_policy, requests.Session()), "never retries")


def test_retry_policy_notebook_clock_version(feedback):
    class PracticeClockRetry(Retry):
        def sleep(self, response=None) -> None:
            pass

    assert_not_yet(feedback(checks.retry_policy, PracticeClockRetry(**GOOD)), "for this notebook only")


def test_retry_policy_not_a_retry(feedback):
    assert_not_yet(feedback(checks.retry_policy, Retry), "the class itself")
    assert_not_yet(feedback(checks.retry_policy, {"total": 3}), "expected a urllib3.util.Retry")


# -- redact_api_key (exercise 3) ------------------------------------------------------------------

def right_redact(line):
    name, colon, value = line.partition(":")
    if colon and name.strip().lower() == "x-api-key":
        return f"{name}: [REDACTED]"
    return line


def test_redact_right(feedback):
    assert_right(feedback(checks.redact_api_key, right_redact), "header name stays")


def test_redact_that_prints_the_line_it_was_given_is_not_right(feedback):
    # A redactor that logs its input puts the very key it should hide in the output.
    def noisy(line):
        print("redacting", line)
        return right_redact(line)
    output = feedback(checks.redact_api_key, noisy)
    assert output.startswith("✗ Not yet"), output
    assert "practice_" not in output


def test_redact_right_keeping_no_space(feedback):
    def keeps_spacing(line):
        name, colon, value = line.partition(":")
        if name.lower() == "x-api-key":
            return name + colon + (" " if value.startswith(" ") else "") + "[REDACTED]"
        return line

    assert_right(feedback(checks.redact_api_key, keeps_spacing))


WRONG = {
    "case-sensitive": (lambda line: "X-API-Key: [REDACTED]" if line.startswith("X-API-Key:") else line,
                       "Header names are case-insensitive"),
    "one known key": (lambda line: line.replace(READ_KEY, "[REDACTED]"), "not one key you know"),
    "prefix match": (lambda line: line.split(":")[0] + ": [REDACTED]" if line.lower().startswith("x-api-key") else line,
                     "Compare the whole name before the colon"),
    "name dropped": (lambda line: "[REDACTED]" if line.lower().startswith("x-api-key:") else line,
                     "the header name is gone"),
    "last four kept": (lambda line: (line.split(":")[0] + ": ****" + line[-4:]) if line.lower().startswith("x-api-key:")
                       else line, "part of the key is still there"),
    "deleted": (lambda line: line.split(":")[0] + ":" if line.lower().startswith("x-api-key:") else line,
                "write [REDACTED] in its place"),
    "returns nothing": (lambda line: None, "returned None"),
    "raises": (lambda line: line.split(":", 1)[1].strip().upper()[100], "raised IndexError"),
    "only the mask": (lambda line: "[REDACTED]", "the header name is gone"),
    "hard-coded name": (lambda line: "X-API-Key: [REDACTED]" if line.lower().startswith("x-api-key:") else line,
                        "Keep it exactly as it came"),
    "every value": (lambda line: line.partition(":")[0] + ": [REDACTED]", "Redact only X-API-Key lines"),
    "lowercases": (lambda line: right_redact(line) if line.lower().startswith("x-api-key:") else line.lower(),
                   "Return other lines exactly"),
}


@pytest.mark.parametrize("wrong", WRONG, ids=list(WRONG))
def test_redact_wrong(feedback, wrong):
    function, hint = WRONG[wrong]
    assert_not_yet(feedback(checks.redact_api_key, function), hint)


def test_redact_hard_coded_name_hint_shows_the_name_as_it_came(feedback):
    output = feedback(checks.redact_api_key, WRONG["hard-coded name"][0])
    assert "'x-api-key: [REDACTED]'" in output, output


def test_redact_result_instead_of_function(feedback):
    assert_not_yet(feedback(checks.redact_api_key, "X-API-Key: [REDACTED]"), "pass the function itself")
    assert_not_yet(feedback(checks.redact_api_key, 42), "pass the function itself")


def test_redact_never_prints_the_test_key(feedback):
    output = feedback(checks.redact_api_key, lambda line: line)
    assert "practice_ro_" not in output
