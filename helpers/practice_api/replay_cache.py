"""A replay cache: ids seen recently, each kept until a given time and then forgotten.

Client assertions (RFC 7523 §3 item 7) and DPoP proofs (RFC 9449 §11.1) carry a `jti` that may be
used once. The server must remember each id for as long as the JWT carrying it could still be
accepted, future clock skew included; after that the JWT is refused for its times anyway, and the
id can go. Forgetting is amortised O(log n): ids wait in a heap ordered by when they may go, so a
server flooded with valid proofs (anyone can make DPoP keys) does not slow down quadratically.

This cache lives in the memory of one process, which is enough for the practice API. A real server
must keep it where every instance sees it and a restart does not empty it (a shared store such as
Redis or a database table with an expiry): after a restart, or at another instance behind the same
load balancer, an empty cache accepts a captured assertion or proof again for as long as its times
allow (RFC 7523 §3 item 7, RFC 9449 §11.1). Size it too: an attacker can fill it with valid ids.
"""
from __future__ import annotations

import heapq
import threading
from typing import Hashable

from helpers.practice_api.clock import Clock


class ReplayCache:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._until: dict[Hashable, float] = {}
        self._queue: list[tuple[float, int, Hashable]] = []  # (until, tie-breaker, id)
        self._count = 0
        self._lock = threading.Lock()

    def first_use(self, key: Hashable, until: float) -> bool:
        """Record `key` until `until` and return True; False if it was already recorded and not yet forgotten."""
        with self._lock:
            self._forget(self.clock.now())
            if key in self._until:
                return False
            self._until[key] = until
            self._count += 1
            heapq.heappush(self._queue, (until, self._count, key))
            return True

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            self._forget(self.clock.now())
            return key in self._until

    def __len__(self) -> int:
        with self._lock:
            self._forget(self.clock.now())
            return len(self._until)

    def _forget(self, now: float) -> None:
        """Drop every id whose time is over. Call with the lock held."""
        while self._queue and self._queue[0][0] < now:
            _, _, key = heapq.heappop(self._queue)
            del self._until[key]
