"""The practice API's clock.

Lockouts, token expiry and nonce lifetimes all depend on time. Waiting for real
minutes in a notebook is no fun, so the API reads time from this clock, which
follows the real clock plus an offset that notebooks and tests can move forward.
"""
from __future__ import annotations

import math
import time

# The largest integer a JSON parser may be expected to hold exactly (RFC 8259 §6, RFC 7493 §2.2).
MAX_EXACT_INTEGER = 2 ** 53


class Clock:
    """Wall-clock time (seconds since the epoch) that can be moved forward.

    >>> clock = Clock()
    >>> before = clock.now()
    >>> clock.advance(60)          # "wait" a minute without sleeping
    >>> clock.now() - before >= 60
    True
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the practice API sees them."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward. Time never runs backwards, so negative values are refused, and
        NaN or infinity too: after them no time comparison means anything (nothing would expire)."""
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError(f"advance() takes a finite number of seconds >= 0, not {seconds!r}")
        self.offset += seconds

    def __repr__(self) -> str:
        return f"<Clock {self.offset:+.0f} s from real time>"


def is_numeric_date(value: object) -> bool:
    """Whether a JWT claim is a NumericDate (RFC 7519 §2): a number of seconds since the epoch.

    An int within +-2**53 (what any JSON parser holds exactly, RFC 7493 §2.2) or a finite float;
    never a bool, a string of digits, NaN or infinity (NaN would never expire). Python's JSON gives
    huge integers such as 10**400 as ints, and `math.isfinite` raises OverflowError on them, so
    ints are bounded instead. The one check the server uses for every JWT time (access tokens,
    client assertions, DPoP proofs).
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < MAX_EXACT_INTEGER
    return isinstance(value, float) and math.isfinite(value)
