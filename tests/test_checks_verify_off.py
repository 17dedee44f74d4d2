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
