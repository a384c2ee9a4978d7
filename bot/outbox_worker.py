"""The fast path for notifications: a listener kicks, this thread drains the outbox at once.

The scheduler's periodic sweep is the safety net for retries; both claim rows, so they never collide.
"""

from __future__ import annotations

import logging
import threading

from bot.outbox_sender import OutboxSender

log = logging.getLogger(__name__)


class OutboxWorker:
    def __init__(self, sender: OutboxSender) -> None:
        self._sender = sender
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-worker", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._sender.drain_all()  # keeps going while there is work; failures wait for their backoff
            except Exception:  # never let the worker die; the sweep will retry
                log.exception("outbox drain failed")
