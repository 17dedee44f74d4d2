"""app.faults: a busy or slow practice API on demand, for notebook 10's step 6 (429 storm, slow server).

Busy answers come from the app (both transports). A slow answer is handled, then sent late: on loopback
the server really waits, in-process the practice clock moves and a shorter read timeout raises
ReadTimeout, as a socket would, without a sleep.
"""
from __future__ import annotations

import time

import pytest
import requests
import urllib3.util.retry

from helpers import api_session, serve_practice_api

PASSWORD = "analytical:engine:1843"


def login(api) -> dict:
    response = requests.post(api.url("/login"), json={"username": "ada", "password": PASSWORD}, timeout=5)
    response.raise_for_status()
    return response.json()


def bearer(tokens: dict) -> dict:
    return {"Authorization": "Bearer " + tokens["access_token"]}


@pytest.mark.parametrize("status, error", [(429, "rate_limited"), (503, "temporarily_unavailable"),
                                           (502, "bad_gateway"), (504, "gateway_timeout")])
def test_busy_answers_the_next_requests_then_the_api_is_back(any_api, status, error):
    headers = bearer(login(any_api))
    any_api.app.faults.busy("/me", times=2, status=status, retry_after=7)
    for _ in range(2):
        busy = requests.get(any_api.url("/me"), headers=headers, timeout=5)
        assert busy.status_code == status and busy.headers["Retry-After"] == "7"
        assert busy.json()["error"] == error
    assert requests.get(any_api.url("/me"), headers=headers, timeout=5).status_code == 200


def test_busy_without_retry_after_or_with_a_date_or_junk(api):
    api.app.faults.busy("/me", retry_after=None)
    assert "Retry-After" not in requests.get(api.url("/me"), timeout=5).headers
    api.app.faults.busy("/me", retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    assert requests.get(api.url("/me"), timeout=5).headers["Retry-After"] == "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize("options", [{"status": 500}, {"status": 401}, {"retry_after": -1}, {"retry_after": True},
                                     {"retry_after": "1\r\nSet-Cookie: x=1"}, {"retry_after": ""}, {"times": 0},
                                     {"times": 1.5}, {"retry_after": 1.5}, {"retry_after": " 1 "},
                                     {"retry_after": "1 "}, {"retry_after": "\t1"}, {"retry_after": " "}])
def test_busy_refuses_what_a_server_must_not_send(api, options):
    with pytest.raises(ValueError):
        api.app.faults.busy("/me", **options)


@pytest.mark.parametrize("seconds", [0, -1, 61, float("nan"), float("inf"), "1"])
def test_slow_takes_a_short_finite_delay(api, seconds):
    with pytest.raises(ValueError):
        api.app.faults.slow("/me", seconds=seconds)


def test_slow_in_process_moves_the_clock_and_a_shorter_read_timeout_fires(api):
    headers = bearer(login(api))
    api.app.faults.slow("/me", seconds=30, times=2)
    before, calls = api.clock.now(), len(api.calls)
    with pytest.raises(requests.ReadTimeout):
        requests.get(api.url("/me"), headers=headers, timeout=(3.05, 10))
    assert api.clock.now() - before == pytest.approx(10, abs=0.5)  # the read timeout, not a real wait
    assert len(api.calls) == calls + 1  # the server did handle it: only the answer was lost
    response = requests.get(api.url("/me"), headers=headers, timeout=60)
    assert response.status_code == 200 and api.clock.now() - before == pytest.approx(40, abs=0.5)
    assert requests.get(api.url("/me"), headers=headers, timeout=5).status_code == 200  # used up


def test_slow_on_loopback_really_waits_and_api_session_times_out():
    with serve_practice_api() as api:
        headers = bearer(login(api))
        api.app.faults.slow("/me", seconds=0.3)
        with api_session(timeout=(2, 0.05), retries=0) as session:
            started = time.monotonic()
            with pytest.raises(requests.ReadTimeout):
                session.get(api.url("/me"), headers=headers)
            assert time.monotonic() - started < 0.3
            assert session.get(api.url("/me"), headers=headers).status_code == 200
        assert api.app.errors == []


def test_a_429_storm_on_loopback_is_ridden_out_by_api_session(monkeypatch):
    waits = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", waits.append)
    with serve_practice_api() as api:
        headers = bearer(login(api))
        api.app.faults.busy("/me", times=3, retry_after=2)
        with api_session(retries=3) as session:
            assert session.get(api.url("/me"), headers=headers).status_code == 200
        assert waits == [2, 2, 2]
        api.app.faults.busy("/me", times=3, retry_after=2)
        api.app.faults.clear()
        assert requests.get(api.url("/me"), headers=headers, timeout=5).status_code == 200


@pytest.mark.parametrize("retry_after", [" 1 ", "1 ", " soon"])
def test_a_retry_after_with_a_space_at_either_end_is_refused_when_the_fault_is_set_not_answered_with_500(
        api, retry_after):
    """RFC 9110 §5.5: a field value has no leading or trailing whitespace; busy() says so at once."""
    with pytest.raises(ValueError, match="no space at either end"):
        api.app.faults.busy("/me", retry_after=retry_after)
    assert requests.get(api.url("/me"), timeout=5).status_code == 401  # no fault was set: the API as usual


def test_a_retry_after_date_with_inner_spaces_is_still_allowed(api):
    api.app.faults.busy("/me", retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    assert requests.get(api.url("/me"), timeout=5).status_code == 429
