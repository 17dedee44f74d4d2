"""A learner who types http:// for the in-process practice API gets a short error that says https."""
from __future__ import annotations

import pytest
import requests

from helpers import start_practice_api


@pytest.fixture
def api():
    return start_practice_api()


@pytest.mark.parametrize("url", ["http://api.practice.test/basic/whoami", "http://other.practice.test/headers",
                                 "http://api.practice.test/oauth/token?x=1"])
def test_plain_http_is_refused_in_one_short_message_naming_https(api, url):
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        requests.post(url, data={"password": "analytical:engine:1843"}, timeout=5)
    message = str(raised.value)
    assert "https://" in message and len(message.splitlines()) == 1 and len(message) < 300
    assert "registered mock" not in message
    assert "analytical" not in message  # the body is never quoted
    assert len(api.calls) == 0  # nothing reached the API


def test_https_still_answers(api):
    assert requests.get(api.url("/basic/whoami"), timeout=5).status_code == 401
