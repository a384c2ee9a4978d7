"""Pacing a staff-wide round to a rate Slack accepts, rather than running into its limit and waiting out
each 429's whole-second Retry-After (which idles the sender while the workspace's allowance refills)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """At most `per_second` calls a second for each school, evenly spaced; `per_second` 0: no pacing."""

    def __init__(self, per_second: float, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._sleep, self._monotonic = sleep, monotonic
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Wait for this school's next turn; returns how long that took."""
        if not self.per_second:
            return 0.0
        with self._lock:
            now = self._monotonic()
            turn = max(now, self._next.get(key, now))
            self._next[key] = turn + 1.0 / self.per_second
        delay = turn - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)
