"""How `serve` waits for SIGINT or SIGTERM (bot.stopping)."""

import os
import signal
import threading
import time

from bot.stopping import StopRequest, stop_on_signals


def test_a_sigterm_to_the_process_ends_the_wait_with_that_signal() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop = stop_on_signals()
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        assert stop.wait() == signal.SIGTERM
        assert time.monotonic() - started < 2
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def test_a_signal_taken_by_another_thread_still_ends_the_wait_within_a_step() -> None:
    # What the kernel may do: the handler's work is done, yet nothing interrupts the main thread's sleep.
    stop = StopRequest()
    threading.Timer(0.1, stop, (signal.SIGINT, None)).start()
    started = time.monotonic()
    assert stop.wait(step=0.05) == signal.SIGINT
    assert time.monotonic() - started < 1
