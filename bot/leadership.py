"""Leadership: run something (the scheduler) in exactly one of several processes sharing a database.

A daemon thread tries the leader lock (storage.leader) every `retry_seconds` while another process
leads. When it wins it calls `on_elected()`; while leading it checks every `check_seconds` that the lock
is still really held and, if not, calls `on_deposed()` and goes back to trying. Every `on_elected()`,
even one that raised, is followed by exactly one `on_deposed()`, so a half-started scheduler is always
told to stop. A leader whose `on_elected()` fails lets the lock go, so a healthy process can lead.

With the defaults a waiting process takes over within about 15 s of the leader's death (kill -9
included; the lock's own timeouts bound the case of a vanished host), well inside a minute.

Nothing here knows about the bot: it takes the lock and two callbacks. Failures of either are logged
in one line (the exception's type only, never its message or any payload) and never end the thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from storage.leader import LeaderLock

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, lock: LeaderLock, on_elected: Callable[[], object], on_deposed: Callable[[], object], *,
                 retry_seconds: float = 15.0, check_seconds: float = 10.0, label: str = "scheduler") -> None:
        if retry_seconds <= 0 or check_seconds <= 0:
            raise ValueError("retry_seconds and check_seconds must be positive")
        self._lock = lock
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._retry_seconds = retry_seconds
        self._check_seconds = check_seconds
        self._label = label
        self._leading = False
        self._announced: str | None = None  # "leader" or "standby": what the log last said
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        """True between a successful election and the matching deposition."""
        return self._leading

    def start(self) -> Leadership:
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"leadership-{self._label}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop trying; if leading, call on_deposed and release the lock. Safe to call more than once."""
        self._stopping.set()
        thread = self._thread
        if thread is threading.current_thread():
            return  # called from a callback: the thread steps down as it leaves its loop
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("%s: leadership thread still busy after %ss; it steps down when it returns",
                            self._label, timeout)
                return
        if self._leading:  # only if the thread never ran its cleanup
            self._step_down()
        self._quietly("releasing the lock", self._lock.release)

    # The thread.

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                if self._leading:
                    if self._lock_still_held():
                        self._stopping.wait(self._check_seconds)
                        continue
                    log.warning("%s: leadership lost; this process no longer leads", self._label)
                    self._announced = None
                    self._step_down()
                    continue  # try again at once: the lock may be free
                won = self._quietly("acquiring the lock", self._lock.try_acquire)
                if won is True:
                    if self._stopping.is_set():
                        break
                    self._take_office()
                    continue
                if won is False and self._announced != "standby":
                    log.info("%s: standing by; another process leads", self._label)
                    self._announced = "standby"
                self._stopping.wait(self._retry_seconds)
        finally:
            if self._leading:
                self._step_down()
            self._quietly("releasing the lock", self._lock.release)

    def _take_office(self) -> None:
        self._leading = True
        try:
            self._on_elected()
        except Exception as error:
            log.warning("%s: could not start as leader (%s); stepping down", self._label, type(error).__name__)
            self._announced = None
            self._step_down()
            self._stopping.wait(self._retry_seconds)
            return
        log.info("%s: this process leads", self._label)
        self._announced = "leader"

    def _step_down(self) -> None:
        self._leading = False
        self._quietly("stepping down", self._on_deposed)
        self._quietly("releasing the lock", self._lock.release)

    def _lock_still_held(self) -> bool:
        held = self._quietly("checking the lock", self._lock.still_held)
        return held is True  # a check that failed counts as lost: two leaders is worse than a gap

    def _quietly(self, doing: str, call: Callable[[], object]) -> object:
        try:
            return call()
        except Exception as error:
            log.warning("%s: %s failed (%s)", self._label, doing, type(error).__name__)
            return None
