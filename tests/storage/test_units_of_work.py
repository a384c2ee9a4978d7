"""On PostgreSQL, units of work take turns (storage.db.UNITS_AT_ONCE), and an interactive unit's short lock wait
is a setting its pooled connection keeps, put right when a unit rolls back. (SQLite's writers take turns in
storage.sqlite_writer: test_sqlite_writer.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from storage.db import INTERACTIVE_WAIT_MS, UNITS_AT_ONCE, Database


@contextmanager
def all_turns_taken(db: Database) -> Iterator[threading.Event]:
    """UNITS_AT_ONCE units in other threads, each inside its unit until the event is set."""
    done, inside = threading.Event(), threading.Semaphore(0)

    def hold() -> None:
        with db.session():
            inside.release()
            done.wait(10)

    holders = [threading.Thread(target=hold) for _ in range(UNITS_AT_ONCE)]
    for holder in holders:
        holder.start()
    for _ in holders:
        assert inside.acquire(timeout=5)
    try:
        yield done
    finally:
        done.set()
        for holder in holders:
            holder.join(5)


def _enter_in_a_thread(db: Database) -> tuple[threading.Thread, threading.Event]:
    entered = threading.Event()

    def unit() -> None:
        with db.session():
            entered.set()

    thread = threading.Thread(target=unit)
    thread.start()
    return thread, entered


@pytest.fixture
def server_db(db: Database) -> Iterator[Database]:
    """A Database of its own (its own turns and connections) on the run's PostgreSQL database."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only (SQLite's writers take their turns in storage.sqlite_writer)")
    database = Database(db.url)
    yield database
    database.dispose()


def test_a_unit_waits_its_turn_and_goes_as_soon_as_one_ends(server_db: Database,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storage.db.TURN_WAIT_SECONDS", 10.0)
    with all_turns_taken(server_db) as done:
        thread, entered = _enter_in_a_thread(server_db)
        assert not entered.wait(0.3)  # every turn is taken
        started = time.monotonic()
        done.set()
        assert entered.wait(5)
        assert time.monotonic() - started < 2  # when a turn came free, not when its wait ran out
    thread.join(5)


def test_with_every_turn_held_a_unit_goes_ahead_after_its_wait_and_no_turn_is_lost(
        server_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storage.db.TURN_WAIT_SECONDS", 0.3)
    with all_turns_taken(server_db):
        started = time.monotonic()
        thread, entered = _enter_in_a_thread(server_db)
        assert entered.wait(5)
        assert 0.25 <= time.monotonic() - started < 4
        thread.join(5)
    # All the turns are free again (the unit that went ahead gave none back it did not take): as many units as
    # there are turns run at once, none of them waiting.
    monkeypatch.setattr("storage.db.TURN_WAIT_SECONDS", 10.0)
    started = time.monotonic()
    with all_turns_taken(server_db):
        assert time.monotonic() - started < 4


def test_a_unit_inside_a_unit_takes_no_second_turn(server_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storage.db.TURN_WAIT_SECONDS", 10.0)
    entered, go_on = threading.Event(), threading.Event()
    nested_in = []

    def outer() -> None:
        with server_db.session():
            entered.set()
            go_on.wait(10)
            started = time.monotonic()
            with server_db.session():
                nested_in.append(time.monotonic() - started)

    thread = threading.Thread(target=outer)
    thread.start()
    assert entered.wait(5)
    # The other turns taken meanwhile: the outer unit's own is the only one left in use by it.
    done, inside = threading.Event(), threading.Semaphore(0)

    def hold() -> None:
        with server_db.session():
            inside.release()
            done.wait(10)

    others = [threading.Thread(target=hold) for _ in range(UNITS_AT_ONCE - 1)]
    for other in others:
        other.start()
    for _ in others:
        assert inside.acquire(timeout=5)
    go_on.set()
    thread.join(5)
    done.set()
    for other in others:
        other.join(5)
    assert nested_in and nested_in[0] < 2


def _lock_timeout(session) -> str:  # type: ignore[no-untyped-def]
    return str(session.execute(text("SHOW lock_timeout")).scalar_one())


def test_on_postgresql_only_interactive_units_wait_briefly_and_the_setting_stays_with_the_connection(
        db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("a PostgreSQL setting (SQLite's busy timeout: test_database_faults)")
    default = Database(db.url)
    with default.session() as session:
        servers_default = _lock_timeout(session)
    default.dispose()
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: statements.append(statement))
    with db.session(interactive=True) as session:
        assert _lock_timeout(session) == f"{INTERACTIVE_WAIT_MS}ms"
    statements.clear()
    with db.session(interactive=True) as session:  # the same pooled connection: already set, nothing sent for it
        assert _lock_timeout(session) == f"{INTERACTIVE_WAIT_MS}ms"
    assert [s for s in statements if "lock_timeout" in s and not s.startswith("SHOW")] == []
    with db.session() as session:  # background work waits as long as the server lets it
        assert _lock_timeout(session) == servers_default
    with db.session(interactive=True) as session:
        assert _lock_timeout(session) == f"{INTERACTIVE_WAIT_MS}ms"


def _set_short(db: Database) -> tuple[str, str]:
    """PostgreSQL only: (the short lock wait, the server's default), the pooled connection left set short."""
    if db.dialect != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with db.session() as session:
        servers_default = _lock_timeout(session)
    with db.session(interactive=True) as session:
        assert _lock_timeout(session) == f"{INTERACTIVE_WAIT_MS}ms"
    return f"{INTERACTIVE_WAIT_MS}ms", servers_default


def test_on_postgresql_a_rolled_back_unit_undoes_its_setting_and_the_next_unit_sets_it_again(db: Database) -> None:
    short, servers_default = _set_short(db)
    with pytest.raises(ZeroDivisionError):
        with db.session() as session:  # back to the default, then rolled back: the server undoes that SET
            assert _lock_timeout(session) == servers_default
            raise ZeroDivisionError
    with db.session() as session:  # so it is set back to the default again
        assert _lock_timeout(session) == servers_default
    with pytest.raises(ZeroDivisionError):
        with db.session(interactive=True) as session:  # set short, then rolled back
            assert _lock_timeout(session) == short
            raise ZeroDivisionError
    with db.session(interactive=True) as session:  # so it is set short again
        assert _lock_timeout(session) == short


def _table(db: Database, name: str, *rows: int) -> None:
    with db.session() as session:
        session.execute(text(f"CREATE TABLE IF NOT EXISTS {name} (x integer primary key)"))
        session.execute(text(f"DELETE FROM {name}"))
        for row in rows:
            session.execute(text(f"INSERT INTO {name} VALUES ({row})"))


def test_on_postgresql_an_interactive_unit_gives_up_on_a_held_row_in_time(db: Database, server_db: Database) -> None:
    _table(db, "held", 1)
    with server_db.engine.connect() as holder:
        holder.execute(text("SELECT x FROM held WHERE x = 1 FOR UPDATE"))
        for _ in range(2):  # the second time on a connection already set for it
            started = time.monotonic()
            with pytest.raises(OperationalError, match="lock timeout"):
                with db.session(interactive=True) as session:
                    # Should the short wait be missing, fail after 5 s (another message) rather than hang.
                    session.execute(text("SET LOCAL statement_timeout = 5000"))
                    session.execute(text("UPDATE held SET x = 1 WHERE x = 1"))
            assert INTERACTIVE_WAIT_MS / 1000 - 0.1 <= time.monotonic() - started < 2.9
        holder.rollback()


def test_on_postgresql_an_autocommit_unit_commits_each_statement_as_it_runs_and_only_that_unit(
        db: Database, server_db: Database) -> None:
    _table(db, "seen")

    def others_see() -> list[int]:
        with server_db.session() as session:
            return list(session.execute(text("SELECT x FROM seen ORDER BY x")).scalars())

    with db.session(interactive=True, autocommit=True) as session:
        assert _lock_timeout(session) == f"{INTERACTIVE_WAIT_MS}ms"
        session.execute(text("INSERT INTO seen VALUES (1)"))
        assert others_see() == [1]  # committed as it ran
    with pytest.raises(ZeroDivisionError):
        with db.session(interactive=True) as session:  # the same pooled connection, in a transaction again
            session.execute(text("INSERT INTO seen VALUES (2)"))
            assert others_see() == [1]
            raise ZeroDivisionError
    assert others_see() == [1]
    with db.session(interactive=True) as session:  # its short lock wait is still the connection's
        assert _lock_timeout(session) == f"{INTERACTIVE_WAIT_MS}ms"


def test_on_postgresql_a_rollback_in_a_units_body_puts_the_note_back_too(db: Database) -> None:
    """As `admin.preview` does: the unit rolls back what it did, and ends without raising."""
    short, servers_default = _set_short(db)
    with db.session() as session:  # back to the default, undone by its own rollback
        assert _lock_timeout(session) == servers_default
        session.rollback()
    with db.session() as session:
        assert _lock_timeout(session) == servers_default
    with db.session(interactive=True) as session:  # set short, undone by its own rollback
        session.rollback()
    with db.session() as session:  # (nothing to reset: the server undid it)
        assert _lock_timeout(session) == servers_default
    with db.session(interactive=True) as session:
        assert _lock_timeout(session) == short
        session.commit()  # kept by the commit: a later rollback in the unit undoes nothing of it
        session.rollback()
    with db.session(interactive=True) as session:
        assert _lock_timeout(session) == short
