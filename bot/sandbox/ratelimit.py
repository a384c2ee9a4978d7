"""The sandbox's rate limit: one token bucket a set of Web API methods share, as Slack limits a workspace."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

NEVER_LIMITED = frozenset({"auth.test"})  # what `methods=None` leaves out


class TokenBucket:
    """`per_second` tokens a second, holding at most one second's worth (and never less than one)."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive (None turns the limit off)")
        self.rate = float(per_second)
        self.capacity = max(1.0, self.rate)
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0.0 when a token was taken; otherwise the seconds until the next one is free (none taken)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


def retry_after_seconds(wait: float) -> int:
    """Slack's Retry-After: whole seconds, rounded up, at least one."""
    return max(1, math.ceil(wait))


class RateLimit:
    """A bucket and the methods drawing on it (`None`: every method but those never limited)."""

    def __init__(self, per_second: float, methods: frozenset[str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bucket = TokenBucket(per_second, clock)
        self.methods = methods

    def applies_to(self, method: str) -> bool:
        return method not in NEVER_LIMITED if self.methods is None else method in self.methods

    def admit(self, method: str) -> int | None:
        """None when the call may go ahead; otherwise the Retry-After, in seconds, to answer with."""
        if not self.applies_to(method):
            return None
        wait = self.bucket.take()
        return None if wait == 0.0 else retry_after_seconds(wait)
