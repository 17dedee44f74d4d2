"""What the tests of notebook 07's signing checks share: the practice signing key, and a `run` fixture that
fails a test whose check printed the secret or a digest."""
from __future__ import annotations

import re

import pytest

from helpers.practice_api import demo

SECRET = demo.SIGNING_KEYS[0]["secret"].encode()
KEY_ID = demo.SIGNING_KEYS[0]["key_id"]
HEX_64 = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.fixture
def run(feedback):
    """`feedback`, and also: the signing secret and signatures never appear in the output."""
    def run_check(check, answer) -> str:
        output = feedback(check, answer)
        assert SECRET.decode() not in output
        assert not HEX_64.search(output), "a check printed a digest or a signature"
        return output
    return run_check
