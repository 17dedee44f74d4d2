"""Notebook 00, exercise 1, as an adversary would answer it: the check must refuse every call that
a learner could paste into production and regret (no timeout, verify=False, credentials in the URL,
plain http), and accept the right one. Each answer is a real call to the practice API."""
from __future__ import annotations

import pytest
import requests
import urllib3

from conftest import assert_not_yet, assert_right
from helpers import checks, serve_practice_api
from helpers.practice_api import demo

PATH = "/basic/whoami"


def right_call(api, http):
    return http.get(api.url(PATH), timeout=5)


WRONG_CALLS = {  # name: (the call, the hint the check must give)
    "no-timeout": (lambda api, http: http.get(api.url(PATH)), "has no timeout="),
    "timeout-none": (lambda api, http: http.get(api.url(PATH), timeout=None), "has no timeout="),
    "read-timeout-none": (lambda api, http: http.get(api.url(PATH), timeout=(3.05, None)), "waits forever"),
    "connect-timeout-none": (lambda api, http: http.get(api.url(PATH), timeout=(None, 27)), "waits forever"),
    "zero-timeout": (lambda api, http: http.get(api.url(PATH), timeout=0),
                     "a finite number above 0"),
    "verify-false": (lambda api, http: http.get(api.url(PATH), timeout=5, verify=False), "verify=False"),
    "verify-zero": (lambda api, http: http.get(api.url(PATH), timeout=5, verify=0), "verify=0 turns off"),
    "verify-empty": (lambda api, http: http.get(api.url(PATH), timeout=5, verify=""), "verify='' turns off"),
    "x-api-key": (lambda api, http: http.get(api.url(PATH), headers={"X-API-Key": demo.api_key("ro-1")}, timeout=5),
                  "carried the header X-API-Key"),
    "cookie": (lambda api, http: http.get(api.url(PATH), cookies={"session": "abc"}, timeout=5),
               "carried the header Cookie"),
    "proxy-authorization": (lambda api, http: http.get(api.url(PATH), headers={"Proxy-Authorization": "Basic eDp5"},
                                                       timeout=5), "carried the header Proxy-Authorization"),
    "read-timeout-default": (lambda api, http: http.get(api.url(PATH), timeout=urllib3.Timeout(connect=2)),
                             "waits forever"),
    "read-timeout-none-in-urllib3-timeout": (
        lambda api, http: http.get(api.url(PATH), timeout=urllib3.Timeout(connect=2, read=None)), "waits forever"),
    "credentials-in-url": (lambda api, http: http.get(api.url(PATH).replace("https://", "https://ada:x@"),
                                                      timeout=5), "went in the URL"),
    "auth": (lambda api, http: http.get(api.url(PATH), auth=("ada", demo.password_of("ada")), timeout=5),
             "carried an Authorization header"),
    "wrong-path": (lambda api, http: http.get(api.url("/basic/who"), timeout=5), "The path is /basic/whoami"),
    "index": (lambda api, http: http.get(api.url("/"), timeout=5), "expected 401 Unauthorized, got 200"),
}


def test_right_call_is_accepted(feedback, api, http):
    assert_right(feedback(checks.unauthenticated_call, right_call(api, http)), "401 Unauthorized")


@pytest.mark.parametrize("timeout", [5, 0.5, (3.05, 27), urllib3.Timeout(connect=2, read=5), urllib3.Timeout(total=5),
                                     urllib3.Timeout(total=5, read=None), urllib3.Timeout(connect=2, read=5, total=6)],
                         ids=["int", "float", "tuple", "urllib3-Timeout", "urllib3-Timeout-total",
                              "urllib3-Timeout-total-read-None", "urllib3-Timeout-all-three"])
def test_every_finite_timeout_is_accepted(feedback, api, http, timeout):
    assert_right(feedback(checks.unauthenticated_call, http.get(api.url(PATH), timeout=timeout)))


def test_a_timeout_from_a_variable_is_judged_by_its_value(feedback, api, http):
    """What the call really used counts, not how the source spells it."""
    options = {"timeout": None}
    assert_not_yet(feedback(checks.unauthenticated_call, http.get(api.url(PATH), **options)), "no timeout=")


@pytest.mark.parametrize("name", list(WRONG_CALLS))
def test_wrong_calls_are_refused(feedback, api, http, name):
    call, hint = WRONG_CALLS[name]
    assert_not_yet(feedback(checks.unauthenticated_call, call(api, http)), hint)


def test_credentials_in_the_url_are_never_printed(feedback, api, http):
    secret = demo.password_of("ada").replace(":", "%3A")
    response = http.get(api.url(PATH).replace("https://", f"https://ada:{secret}@"), timeout=5)
    output = feedback(checks.unauthenticated_call, response)
    assert secret not in output and "ada:" not in output


def test_plain_http_is_refused(feedback, http):
    """A real call over http://, to the loopback server: the exercise's call goes to api.url(), over https."""
    with serve_practice_api() as server:
        response = http.get(server.url(PATH), timeout=5)
    assert response.status_code == 401
    assert_not_yet(feedback(checks.unauthenticated_call, response), "plain http://")


def test_a_response_from_elsewhere_is_refused(feedback):
    """A response the in-process practice API did not answer: nothing tells what the call used."""
    response = requests.Response()
    response.status_code, response.url = 401, "https://api.practice.test/basic/whoami"
    response.request = requests.Request("GET", response.url).prepare()
    response.headers["WWW-Authenticate"] = 'Basic realm="practice"'
    assert_not_yet(feedback(checks.unauthenticated_call, response), "api.url('/basic/whoami')")



def test_an_unreadable_timeout_object_is_feedback_not_a_traceback():
    """A timeout object that raises when read gets a hint, never the exception."""
    from helpers.checks.feedback import timeout_problem

    class Odd(urllib3.Timeout):
        def clone(self):
            raise RuntimeError("unreadable")

    assert "seconds" in timeout_problem(Odd(total=5))
