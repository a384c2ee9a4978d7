"""Faults the sandbox can inject into the Web API, for some methods or all, a number of times or until cleared.

Four ways Slack (or the network in between) lets a bot down:

- `server_error`: an HTTP 5xx answer (500 and 503 slack-sdk retries itself; 502 and 504 it does not);
- `rate_limited`: HTTP 429 with a Retry-After of so many seconds;
- `timeout`: no answer at all; the request is held (the method is never carried out) until the client gives up,
  then the connection is dropped;
- `refused`: the connection is cut at once, before any answer. That is as near as a server that has accepted
  the connection can come to refusing it; `SandboxServer.offline()` refuses every connection outright.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    REFUSED = "refused"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 500
    error: str = "internal_error"
    retry_after: int = 1  # seconds, for rate_limited
    hold: float = 15.0  # seconds a timed-out request is held before its connection is dropped

    @classmethod
    def server_error(cls, status: int = 500, error: str = "internal_error") -> Fault:
        if not 500 <= status <= 599:
            raise ValueError("a server error is an HTTP status from 500 to 599")
        return cls(FaultKind.SERVER_ERROR, status=status, error=error)

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> Fault:
        return cls(FaultKind.RATE_LIMITED, status=429, error="ratelimited", retry_after=max(0, retry_after))

    @classmethod
    def timeout(cls, hold: float = 15.0) -> Fault:
        """Held for `hold` seconds (longer than the client waits), or until the faults are cleared."""
        return cls(FaultKind.TIMEOUT, status=0, error="timeout", hold=hold)

    @classmethod
    def refused(cls) -> Fault:
        return cls(FaultKind.REFUSED, status=0, error="refused")


@dataclass
class _Rule:
    fault: Fault
    methods: frozenset[str] | None  # None: every method
    remaining: int | None  # None: until cleared


class Faults:
    """The faults injected into one workspace's Web API. Thread-safe: calls arrive on many threads."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self.released = threading.Event()  # set by `clear`: held (timed-out) requests are let go at once

    def inject(self, fault: Fault, methods: Iterable[str] | str | None = None, times: int | None = None) -> None:
        """From now on, `times` calls (None: every call until `clear`) of `methods` (None: any method) fail so."""
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (None: until cleared)")
        chosen = frozenset([methods] if isinstance(methods, str) else methods) if methods is not None else None
        with self._lock:
            self._rules.append(_Rule(fault, chosen, times))
            self.released.clear()

    def clear(self) -> None:
        """Slack is well again: no more faults, and any request being held is dropped now."""
        with self._lock:
            self._rules.clear()
            self.released.set()

    @property
    def active(self) -> bool:
        with self._lock:
            return bool(self._rules)

    def take(self, method: str) -> Fault | None:
        """The fault this call of `method` meets, if any (the earliest injected that applies)."""
        with self._lock:
            for rule in self._rules:
                if rule.methods is None or method in rule.methods:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            self._rules.remove(rule)
                    return rule.fault
            return None
