"""Writers on one SQLite file take turns in the order they came, within a process (storage.sqlite_writer)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.db import INTERACTIVE_WAIT_MS, Database
from storage.sqlite_writer import FairLock


def test_the_lock_goes_to_its_waiters_in_the_order_they_asked() -> None:
    lock, order = FairLock(), []
    assert lock.acquire(timeout=1)
    threads = []
    for n in range(5):
        def wait(n: int = n) -> None:
            assert lock.acquire(timeout=5)
            order.append(n)
            lock.release()
        threads.append(threading.Thread(target=wait))
        threads[-1].start()
        time.sleep(0.05)  # each is queued before the next asks
    lock.release()
    for thread in threads:
        thread.join()
    assert order == [0, 1, 2, 3, 4]
    assert lock.acquire(timeout=0.1)  # and it is free again once they are done


def test_a_waiter_that_gives_up_leaves_the_queue() -> None:
    lock = FairLock()
    assert lock.acquire(timeout=1)
    started = time.monotonic()
    assert not lock.acquire(timeout=0.2)
    assert 0.15 < time.monotonic() - started < 1
    lock.release()
    assert lock.acquire(timeout=0.1)  # nobody is left queued to hand it to


@contextmanager
def writing(database: Database) -> Iterator[threading.Event]:
    """A unit of work on another thread that has written and holds its turn until the event is set."""
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES (0)"))
            holding.set()
            done.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(5)
    try:
        yield done
    finally:
        done.set()
        thread.join()


def test_units_of_work_write_in_the_order_they_asked_to(sqlite_file: Path) -> None:
    """SQLite's own busy wait retries in growing sleeps, so whoever asks next may well write first; queued
    here, the writers behind a slow one are served in the order they came."""
    database = Database(f"sqlite:///{sqlite_file}")

    def writer(n: int) -> None:
        with database.session(interactive=True) as session:
            session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})

    threads = []
    with writing(database) as done:
        for n in range(1, 9):
            threads.append(threading.Thread(target=writer, args=(n,)))
            threads[-1].start()
            time.sleep(0.03)
        done.set()
        for thread in threads:
            thread.join()
    with database.session() as session:
        assert session.execute(text("SELECT x FROM t ORDER BY rowid")).scalars().all() == list(range(9))
    database.dispose()


def test_a_writer_someone_waits_on_still_gives_up_in_time(sqlite_file: Path) -> None:
    """Behind a write that does not end, a person's unit of work fails after the interactive wait, with
    SQLite's own words, and its turn is not kept: the next one writes at once when the lock is free."""
    database = Database(f"sqlite:///{sqlite_file}")
    with writing(database):
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            with database.session(interactive=True) as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
        assert INTERACTIVE_WAIT_MS / 1000 - 0.1 <= time.monotonic() - started < 2.9
    started = time.monotonic()
    with database.session(interactive=True) as session:
        session.execute(text("INSERT INTO t VALUES (2)"))
    assert time.monotonic() - started < 0.5
    with database.session() as session:
        assert session.execute(text("SELECT x FROM t ORDER BY rowid")).scalars().all() == [0, 2]
    database.dispose()
