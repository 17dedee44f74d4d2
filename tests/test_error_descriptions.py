"""error_description holds only RFC 6749 §5.2's characters, whatever a request echoes into it.

§5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ), printable ASCII without '"' and '\\'.
RFC 6750 §3, RFC 7009 §2.2.1, RFC 7662 §2.3 and RFC 8628 §3.5 use the same error responses.
"""
from __future__ import annotations

import re

import pytest
import requests

from helpers import start_practice_api

ALLOWED = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")
ENDPOINTS = ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/device_authorization"]
FIELD_NAMES = ['a"b', "a%5Cb", "caf%C3%A9", "a%00b", "a%0D%0Ab", "a%E2%80%AEb"]


@pytest.fixture(scope="module")
def api():
    return start_practice_api()


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("name", FIELD_NAMES)
def test_a_repeated_field_is_named_within_the_allowed_characters(api, path, name):
    body = f"{name}=1&{name}=2"
    response = requests.post(api.url(path), data=body, timeout=5,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "invalid_request"
    assert "appears more than once" in error["error_description"]
    assert ALLOWED.fullmatch(error["error_description"]), error["error_description"]


def test_a_plain_repeated_field_is_still_named_as_it_is(api):
    response = requests.post(api.url("/oauth/token"), data="grant_type=a&grant_type=b", timeout=5,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.json()["error_description"] == "The field 'grant_type' appears more than once."


def test_a_bad_host_is_refused_in_the_allowed_characters(api):
    response = requests.post(api.url("/oauth/token"), data={"grant_type": "x"}, headers={"Host": "a b"}, timeout=5)
    assert response.status_code == 400
    assert ALLOWED.fullmatch(response.json()["error_description"])
