"""Failed-attempt limiting: how the practice API slows down password guessing.

Each user name gets a sliding window. After `limit` failures inside `window`
seconds, the server answers 429 Too Many Requests with a `Retry-After` header
(RFC 6585 §4) and does not check the password at all until the oldest failure
leaves the window. A correct login clears the user's failures.
"""
from __future__ import annotations

import math
import threading
from collections import deque

from helpers.practice_api.clock import Clock


class FailedAttempts:
    """Counts failed logins per user name, on the practice API's clock."""

    def __init__(self, clock: Clock, *, limit: int = 5, window: float = 60.0) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._last_sweep = clock.now()
        self._lock = threading.Lock()  # the loopback server handles requests in threads

    def retry_after(self, username: str) -> int:
        """Seconds until `username` may try again, or 0 when not locked out."""
        with self._lock:
            failures = self._recent(username)
            if len(failures) < self.limit:
                return 0
            return max(1, math.ceil(failures[0] + self.window - self.clock.now()))

    def record_failure(self, username: str) -> None:
        with self._lock:
            self._forget_old()
            self._failures[username] = self._recent(username)
            self._failures[username].append(self.clock.now())

    def _forget_old(self) -> None:
        """Once per window, drop every user whose last failure has left it: names tried once, never again,
        would otherwise be kept forever (a client sending random names would fill the memory)."""
        now = self.clock.now()
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        self._failures = {name: failures for name, failures in self._failures.items()
                          if failures and failures[-1] > now - self.window}

    def clear(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)

    def _recent(self, username: str) -> deque[float]:
        """The user's failures still inside the window, oldest first. Forgets users with none."""
        failures = self._failures.pop(username, deque())
        while failures and failures[0] <= self.clock.now() - self.window:
            failures.popleft()
        if failures:
            self._failures[username] = failures
        return failures


class RateLimiter:
    """A fixed window per client: `limit` requests per `window` seconds, then 429.

    Real APIs count per API key or per account, and say when to come back with
    `Retry-After` (RFC 6585 §4, RFC 9110 §10.2.3). The client's job is to honour it.
    """

    def __init__(self, clock: Clock, *, limit: int = 3, window: float = 10.0) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._windows: dict[str, tuple[float, int]] = {}  # client -> (window start, requests in it)
        self._lock = threading.Lock()

    def wait_for(self, client: str) -> float:
        """Count one request from `client`; return 0 if allowed, else the seconds until the window resets."""
        now = self.clock.now()
        with self._lock:
            start, count = self._windows.get(client, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                return start + self.window - now
            self._windows[client] = (start, count + 1)
            return 0.0
