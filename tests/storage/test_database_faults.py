"""The database handle under faults: a unit of work someone is waiting on gives up on a lock in time, and
a SQLite connection that cannot write is replaced rather than kept."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.db import BUSY_WAIT_MS, INTERACTIVE_WAIT_MS, Database
from tests.e2e.db_faults import write_locked


def _busy_timeout(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one())


def test_a_unit_of_work_someone_waits_on_gives_up_on_a_lock_in_time(sqlite_file: Path) -> None:
    database = Database(f"sqlite:///{sqlite_file}")
    with write_locked(sqlite_file):
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"):
            with database.session(interactive=True) as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
        waited = time.monotonic() - started
    assert INTERACTIVE_WAIT_MS / 1000 - 0.1 <= waited < 2.9  # inside Slack's 3 seconds
    assert _busy_timeout(database) == BUSY_WAIT_MS  # the pooled connection is patient again for background work
    with database.session(interactive=True) as session:  # and once the lock is gone, it writes
        session.execute(text("INSERT INTO t VALUES (2)"))
    with database.session() as session:
        assert session.execute(text("SELECT x FROM t")).scalars().all() == [2]
    database.dispose()


def test_a_connection_that_cannot_write_is_replaced_not_kept(sqlite_file: Path) -> None:
    """Opened while the file could not be written (here: opened read-only), a SQLite connection stays
    read-only for good. Its failed write discards it, so the next unit of work gets a fresh connection."""
    database = Database(f"sqlite:///file:{sqlite_file}?mode=ro&uri=true")
    with database.session() as session:
        first = session.connection().connection.dbapi_connection
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    with pytest.raises(OperationalError, match="readonly") as failed:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
    assert failed.value.connection_invalidated
    with database.session() as session:
        assert session.connection().connection.dbapi_connection is not first
    database.dispose()


def _backend(database: Database) -> int:
    with database.session() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _ended_by_the_server(db: Database, pid: int) -> None:
    """The server ends a connection (as a restart or an idle timeout would) while it sits in the pool."""
    with Database(db.url).engine.connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()


def test_a_connection_that_sat_idle_is_pinged_and_replaced_if_the_server_dropped_it(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if db.dialect != "postgresql":
        pytest.skip("a SQLite file has no server to drop a connection")
    monkeypatch.setattr("storage.db.PING_AFTER_IDLE_SECONDS", 0.2)
    first = _backend(db)
    _ended_by_the_server(db, first)
    time.sleep(0.3)  # idle for longer than the ping's threshold: the pool pings, finds it gone, connects again
    assert _backend(db) != first  # and the unit of work never saw the dead connection


def test_a_connection_back_from_work_moments_ago_is_used_without_a_ping(db: Database) -> None:
    """No ping under load (that was a round trip in every unit of work): a connection the server dropped within
    the idle window fails the one unit of work that meets it, with what was being done rolled back, and
    SQLAlchemy renews the pool so the next one works."""
    if db.dialect != "postgresql":
        pytest.skip("a SQLite file has no server to drop a connection")
    first = _backend(db)
    _ended_by_the_server(db, first)
    with pytest.raises(OperationalError) as failed:
        _backend(db)
    assert failed.value.connection_invalidated
    assert _backend(db) != first
