"""How a serving process waits to be told to stop (SIGINT or SIGTERM)."""

from __future__ import annotations

import signal
import time
from typing import Any

STOP_POLL_SECONDS = 0.2  # how soon a stop asked for is noticed, at the latest


class StopRequest:
    """Set by SIGINT or SIGTERM; `wait` returns once either came.

    Python runs a signal's handler in the main thread, when that thread next runs Python code or a blocking
    call of its own is interrupted; the kernel may deliver a process's signal to any of its threads. `serve`
    used to sleep in `Event.wait()` with no timeout, and under load a SIGINT was lost: the process had taken
    it (nothing pending, our handler installed) yet sat in that wait until a second SIGINT (seen twice on
    2026-12-07, in test_cli and test_kill_9). So the main thread sleeps in short steps, and the handler only
    records the signal: `Event.set` in a handler can deadlock against the same Event's `wait`, whose lock the
    interrupted main thread may hold."""

    def __init__(self) -> None:
        self.signals: list[int] = []

    def __call__(self, signum: int, _frame: Any) -> None:
        self.signals.append(signum)

    def wait(self, step: float = STOP_POLL_SECONDS) -> int:
        while not self.signals:
            time.sleep(step)
        return self.signals[0]


def stop_on_signals() -> StopRequest:
    stop = StopRequest()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    return stop
