"""Every redaction pattern runs in linear time: a log line or a response body of 100 kB made to make a
regex backtrack (a.a.a..., a-a-a..., ======, quotes, repeated header names) is redacted in well under a
second, and so is show() of a response holding one. The https://user:password@host pattern used to take
28 s on 100 kB of a.a.a... (quadratic backtracking), which hangs a kernel that logs or shows such a line."""
from __future__ import annotations

import time

import pytest
import requests
import responses

from helpers.client.redaction import JWT, PATTERNS, RedactSecrets
from helpers.viewers import Exchange

SIZE = 100_000
UNITS = ["a.", "a-", "a+", "a.-", "eyJaa.", "eyJaa.aa.", "eyJ" + "a" * 40 + ".", "=", "'", '"', "'x'='x'", "\\",
         "%", ":", " ", "a://", "a://b:", "a://:b", "authorization ", "authorization: ", "authorization:'",
         "Authorization=", "x-api-key: ", "cookie:", "token ", "token=", "token='", "token = '", "token :",
         "('token', '", '("token", "', "( 'token' , ", '"token": "', '"token":"', "'token': '", "code ",
         "Bearer ", "bearer ", "DPoP ", "Bearer a", "?access_token=", "&token=a", "a b", "a\tb",
         "\\r\\nx-api-key: ", "\\nauthorization: \\", "x-api-key: \\", "\\t"]  # escaped bytes, as debuglevel prints
SHAPES = {unit: unit * (SIZE // len(unit)) for unit in UNITS}
SHAPES |= {"url then run": "https://" + "a" * SIZE + ":", "url colon run": "a://" + ":" * SIZE,
           "open quote run": "authorization: '" + "a' x" * (SIZE // 4), "escaped quotes": "('authorization', '" + "\\'" * (SIZE // 2),
           "spaces then name": "(" + " " * SIZE + "'token'", "name spaces eq": "token=" + " " * SIZE + "x",
           "jwt no end": "eyJ" + "a" * SIZE, "padding": "Bearer " + "a" * 8 + "=" * SIZE}
LIMIT = 0.5  # seconds; linear patterns take about 0.05 s on 100 kB, a quadratic one takes tens of seconds


def _seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_pattern_is_linear_on_100_kb_of_an_adversarial_line(name):
    text = SHAPES[name]
    slow = {pattern.pattern[:50]: round(seconds, 2) for pattern in [JWT, *(p for p, _ in PATTERNS)]
            if (seconds := _seconds(lambda: pattern.sub("", text))) > LIMIT}
    assert not slow
    assert _seconds(lambda: RedactSecrets().redact(text)) < 2 * LIMIT


@pytest.mark.parametrize("name", ["a.", "a-", "eyJaa.", "'x'='x'", "authorization: ", "url then run", "a b", "token="])
def test_show_redacts_a_100_kb_word_in_a_json_body_and_a_text_body_quickly(name):
    with responses.RequestsMock() as mock:
        mock.get("https://api.example.test/json", json={"host": SHAPES[name]})
        mock.get("https://api.example.test/text", body=SHAPES[name], content_type="text/plain")
        for path in ("json", "text"):
            response = requests.get(f"https://api.example.test/{path}", timeout=5)
            assert _seconds(lambda: str(Exchange(response))) < 2 * LIMIT


def test_the_url_pattern_still_masks_a_password_in_a_url_after_a_long_scheme_like_run():
    redact = RedactSecrets().redact
    assert redact("x https://u:p4ss@host/") == "x https://u:[REDACTED]@host/"
    assert redact("a." * 40 + "https://u:p4ss@host/") == "a." * 40 + "https://u:[REDACTED]@host/"
    assert redact("git+ssh://git:p4ss@host") == "git+ssh://git:[REDACTED]@host"
