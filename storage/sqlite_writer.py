"""One writer at a time on a SQLite file, queued in order, within this process.

SQLite lets one connection write at a time. A connection that finds the file locked sleeps and tries again
(its busy timeout), in growing steps, so under load one unlucky unit of work can keep missing its turn
while others take it: a person pressing *Acknowledge* among twenty others was seen to give up after the
full interactive wait (storage.db) although no write lasted more than a few milliseconds. Here each
connection takes a first-come, first-served lock before its transaction's first write and gives it back
when its unit of work returns the connection, so the threads of one process queue instead of racing, and the wait is only as
long as the writes ahead of it. Other processes on the same file (the CLI, a second worker) still meet at
SQLite's own lock, with its busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from typing import Any

from sqlalchemy import Engine, event

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_HOLDS = "concernbot_writer_lock"
_LOCKS: dict[str, FairLock] = {}
_LOCKS_GUARD = threading.Lock()


class FairLock:
    """A lock handed to its waiters in the order they asked for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._queue: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._queue.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # release() handed it to us
        with self._guard:
            if turn in self._queue:
                self._queue.remove(turn)
                return False
        return True  # handed over just as the wait ran out: it is ours

    def release(self) -> None:
        with self._guard:
            if self._queue:
                self._queue.popleft().release()  # still held: now by the next in the queue
            else:
                self._held = False


def lock_for(path: str) -> FairLock:
    """The process's one lock for this file (every engine on it shares it)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, FairLock())


def serialise_writes(engine: Engine, path: str, wait_seconds: Any) -> None:
    """Take `path`'s lock before a transaction's first write on `engine`; give it back when it ends.
    `wait_seconds(connection_info)` says how long this connection may wait (as its busy timeout would)."""
    lock = lock_for(path)

    def before_write(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if conn.info.get(_HOLDS) or not statement.lstrip()[:7].upper().startswith(WRITES):
            return
        if not lock.acquire(timeout=wait_seconds(conn.info)):
            raise sqlite3.OperationalError("database is locked")  # what SQLite itself says when it gives up
        conn.info[_HOLDS] = True

    def let_go(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        # On its return to the pool, which follows the commit or rollback (SQLAlchemy's own commit event
        # comes before the commit is done); a unit of work returns its connection as it ends.
        if record is not None and record.info.pop(_HOLDS, False):
            lock.release()

    event.listen(engine, "before_cursor_execute", before_write)
    event.listen(engine.pool, "checkin", let_go)
    event.listen(engine.pool, "invalidate", let_go)
