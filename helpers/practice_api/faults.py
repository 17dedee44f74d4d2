"""Failures on demand for the resilience demos (notebook 10): a server that is busy, or slow.

    api.app.faults.busy("/me", times=3)                  # the next 3 calls answer 429, Retry-After: 1
    api.app.faults.busy("/me", status=503, retry_after=None)
    api.app.faults.slow("/me", seconds=0.2)              # the next answer comes 0.2 s late

A busy answer comes from the app itself, on any transport: the request is not handled. A slow
answer is handled (a POST is applied!) and then sent late, which is what a client's read timeout
meets: the work may be done though the answer never arrived. Only a transport can be late:
- loopback: the server really waits `seconds` before it sends the answer, so a read timeout
  fires on a real socket (the one place where real time has to pass);
- in-process: nothing waits. The practice clock moves forward by `seconds`; if the request's read
  timeout is shorter, the clock moves by that timeout instead and requests.ReadTimeout is raised.
Each fault is used up by the requests it answers, one per request, whatever the method; `clear()`
forgets those left.
"""
from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass

from helpers.practice_api.wsgi import HTTPError

ERRORS = {429: "rate_limited", 502: "bad_gateway", 503: "temporarily_unavailable", 504: "gateway_timeout"}
# Printable ASCII, at most 64, with no space at either end: never a line break into a header, and
# nothing the server's header writer would strip (a field value has no leading or trailing
# whitespace: RFC 9110 §5.5).
RETRY_AFTER_TEXT = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?")


@dataclass
class _Fault:
    times: int
    status: int = 0
    retry_after: str | None = None
    seconds: float = 0.0


class Faults:
    """The faults waiting for each path. Thread-safe: the loopback server answers from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: dict[str, _Fault] = {}
        self._slow: dict[str, _Fault] = {}

    def busy(self, path: str, *, times: int = 1, status: int = 429, retry_after: int | str | None = 1) -> None:
        """The next `times` requests to `path` get `status` (429, 502, 503 or 504) and Retry-After.

        `retry_after` is seconds (RFC 9110 §10.2.3), None for no header, or a text sent as it is
        (an HTTP-date, or something malformed, to see what a client makes of it).
        """
        if status not in ERRORS:
            raise ValueError(f"status is one of {sorted(ERRORS)}, the answers a client may retry")
        if isinstance(retry_after, bool) or not (retry_after is None or isinstance(retry_after, int) and
                                                 0 <= retry_after < 10 ** 64 or isinstance(retry_after, str)
                                                 and RETRY_AFTER_TEXT.fullmatch(retry_after)):
            raise ValueError("retry_after is seconds (an int >= 0 of at most 64 digits), None, or 1 to 64 "
                             "printable ASCII characters with no space at either end (a header value: RFC 9110 §5.5)")
        with self._lock:
            self._busy[path] = _Fault(_times(times), status, None if retry_after is None else str(retry_after))

    def slow(self, path: str, *, seconds: float, times: int = 1) -> None:
        """The next `times` answers on `path` come `seconds` late (at most 60: a demo, not a hang)."""
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and 0 < seconds <= 60):
            raise ValueError("seconds is a number above 0 and at most 60")
        with self._lock:
            self._slow[path] = _Fault(_times(times), seconds=float(seconds))

    def clear(self) -> None:
        with self._lock:
            self._busy.clear()
            self._slow.clear()

    def refusal(self, path: str) -> HTTPError | None:
        """The busy answer for this request, if one is waiting (the app calls it first)."""
        fault = self._take(self._busy, path)
        if fault is None:
            return None
        headers = [] if fault.retry_after is None else [("Retry-After", fault.retry_after)]
        said = f" Retry after the time in Retry-After." if headers else ""
        return HTTPError(fault.status, ERRORS[fault.status], f"The practice API is busy (a fault you asked "
                                                             f"for).{said}", headers)

    def delay(self, path: str) -> float:
        """Seconds this answer should come late (0 for none); the transport makes it so."""
        fault = self._take(self._slow, path)
        return 0.0 if fault is None else fault.seconds

    def _take(self, faults: dict[str, _Fault], path: str) -> _Fault | None:
        with self._lock:
            fault = faults.get(path)
            if fault is None:
                return None
            fault.times -= 1
            if fault.times == 0:
                del faults[path]
            return fault


def _times(times: int) -> int:
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 1000:
        raise ValueError("times is a whole number from 1 to 1000")
    return times
