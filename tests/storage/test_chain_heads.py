"""Each chain's head lives in `concern_chains` (storage.models_chain): appending moves it on without touching
the concern row, a concern's first event begins it (even two at once), and migration 0019 moves the heads out
of the concerns and back again."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from alembic import command
from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from flows.clock import ManualClock
from storage.audit import Problem, verify
from storage.concerns import acknowledge
from storage.db import Database
from storage.events import GENESIS, EventKind, events_for, log_event, log_events
from storage.migrate import alembic_config
from storage.outcomes import Result
from storage.models import Concern, ConcernChain
from tests.e2e.test_backup import empty_database
from tests.storage.helpers import DEPUTY, DSL, TEAM, report, set_up_school


T = TypeVar("T")


def _heads(db: Database) -> dict[int, tuple[int, str]]:
    with db.session() as session:
        return {c.concern_id: (c.seq, c.head) for c in session.scalars(select(ConcernChain))}


def _chainless(db: Database, clock: ManualClock) -> Concern:
    """A concern as it is between being stored and its first event: no events, no chain."""
    concern = report(db, clock.now())
    with db.engine.begin() as connection:
        for table in ("concern_events", "concern_chains"):
            connection.execute(text(f"DELETE FROM {table} WHERE concern_id = :id"), {"id": concern.id})
    return concern


def _second_waits(db: Database, first: Callable[[Session], T], second: Callable[[], object]) -> tuple[T, object]:
    """`first` in a unit of work; meanwhile `second` on another thread, which must still be waiting half a second
    later (held up until the first commits), and then finishes. What each returned."""
    done: list[object] = []
    with db.session() as session:
        held = first(session)
        waiting = threading.Thread(target=lambda: done.append(second()))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and done == []  # held up until the first commits
    waiting.join(10)
    assert len(done) == 1, "the second never finished"
    return held, done[0]


WRITE = re.compile(r"(?<!DO )\b(INSERT INTO|UPDATE|DELETE FROM) (\w+)")  # not an upsert's DO UPDATE


@contextmanager
def _writes(db: Database) -> Iterator[list[tuple[str, str]]]:
    """Each write run meanwhile, as (verb, table), in order; a statement that writes twice (PostgreSQL's
    `WITH ... INSERT ... UPDATE`) gives both."""
    seen: list[tuple[str, str]] = []

    def note(conn, cursor, statement, parameters, context, many) -> None:  # type: ignore[no-untyped-def]
        seen.extend((verb.split()[0], table) for verb, table in WRITE.findall(statement))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_appending_moves_the_chains_head_on_and_never_rewrites_the_concern(db: Database,
                                                                           clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    first, second = report(db, clock.now()), report(db, clock.now())
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with _writes(db) as writes, db.session() as session:
        log_events(session, TEAM, [second.id, first.id, second.id], EventKind.EXPORTED, DSL, clock.now())
        many = len(statements)
        log_event(session, TEAM, first.id, EventKind.RECORD_VIEWED, DSL, clock.now())
        single = len(statements) - many
    one = [("UPDATE", "concern_chains"), ("INSERT", "concern_events"), ("UPDATE", "concern_chains")]
    if db.dialect == "postgresql":  # many concerns at once (an export's chunk): held and read, then written once
        assert writes == [("INSERT", "concern_events"), ("UPDATE", "concern_chains"),
                          # one concern: its place claimed, then its event added and its head moved together
                          ("UPDATE", "concern_chains"), ("UPDATE", "concern_chains"), ("INSERT", "concern_events")]
        assert "FOR NO KEY UPDATE" in statements[0] and many == 2 and single == 2
    else:
        assert writes == one * 2 and many == 3 and single == 3
    with db.session() as session:
        for concern, count in ((first, 3), (second, 2)):
            events = events_for(session, TEAM, concern.id)
            assert [e.seq for e in events] == list(range(1, count + 1))
            assert _heads(db)[concern.id] == (count, events[-1].hash)
        assert verify(session) == []


def test_a_concerns_first_event_begins_its_chain_in_the_same_statement(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = _chainless(db, clock)
    with _writes(db) as writes, db.session() as session:
        event_ = log_event(session, TEAM, concern.id, EventKind.REPORTED, DSL, clock.now())
    assert writes == [("UPDATE", "concern_chains"), ("INSERT", "concern_chains"), ("INSERT", "concern_events")]
    assert (event_.seq, event_.prev_hash) == (1, GENESIS) and _heads(db)[concern.id] == (1, event_.hash)


def test_an_export_chunk_may_hold_a_concern_with_no_chain_yet(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    chained, chainless = report(db, clock.now()), _chainless(db, clock)
    with db.session() as session:
        log_events(session, TEAM, [chained.id, chainless.id], EventKind.EXPORTED, DSL, clock.now())
    with db.session() as session:
        assert [e.seq for e in events_for(session, TEAM, chained.id)] == [1, 2]
        assert [e.seq for e in events_for(session, TEAM, chainless.id)] == [1]
        assert verify(session) == []


def test_an_acknowledgement_claims_its_place_with_its_other_writes(db: Database, clock: ManualClock) -> None:
    """PostgreSQL: the acknowledgement, its status change, its messages and its chain's next place in one
    statement, then its event with the head moved on; SQLite: one statement each. Either way the chain verifies."""
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with _writes(db) as writes, db.session() as session:
            assert acknowledge(session, TEAM, concern.id, DSL, clock.now()).result is Result.DONE
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    if db.dialect == "postgresql":  # the concern and roles read, the WITH, the event
        assert writes == [("UPDATE", "concerns"), ("INSERT", "status_changes"), ("INSERT", "outbox"),
                          ("UPDATE", "concern_chains"), ("UPDATE", "concern_chains"), ("INSERT", "concern_events")]
        assert len(statements) == 3
    else:
        assert writes == [("UPDATE", "concerns"), ("INSERT", "status_changes"), ("UPDATE", "concern_chains"),
                          ("INSERT", "concern_events"), ("UPDATE", "concern_chains"), ("INSERT", "outbox")]
    with db.session() as session:
        events = events_for(session, TEAM, concern.id)
        assert [(e.seq, e.kind) for e in events] == [(1, "reported"), (2, "acknowledged")]
        assert _heads(db)[concern.id] == (2, events[-1].hash) and verify(session) == []


def test_an_acknowledgement_waits_for_an_appender_holding_the_chain_and_follows_it(db: Database,
                                                                                  clock: ManualClock) -> None:
    """Its place is claimed inside its own statement (PostgreSQL), after the concern's row: a view being logged
    on the same concern holds the chain, so the acknowledgement waits, then takes the place after that view."""
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    def press() -> Result:
        with db.session() as session:
            return acknowledge(session, TEAM, concern.id, DEPUTY, clock.now()).result

    viewed, pressed = _second_waits(
        db, lambda session: log_event(session, TEAM, concern.id, EventKind.RECORD_VIEWED, DSL, clock.now()), press)
    assert pressed is Result.DONE
    with db.session() as session:
        events = events_for(session, TEAM, concern.id)
        assert [(e.seq, e.kind) for e in events] == [(1, "reported"), (2, "record_viewed"), (3, "acknowledged")]
        assert events[-1].prev_hash == viewed.hash and _heads(db)[concern.id] == (3, events[-1].hash)
        assert verify(session) == []


def test_an_acknowledgement_of_a_concern_with_no_chain_begins_it(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = _chainless(db, clock)
    with db.session() as session:
        assert acknowledge(session, TEAM, concern.id, DSL, clock.now()).result is Result.DONE
    with db.session() as session:
        events = events_for(session, TEAM, concern.id)
        assert [(e.seq, e.kind, e.prev_hash) for e in events] == [(1, "acknowledged", GENESIS)]
        assert _heads(db)[concern.id] == (1, events[0].hash) and verify(session) == []


def test_an_event_for_no_concern_is_refused_and_nothing_is_written(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    before = _heads(db)
    with pytest.raises(LookupError, match="no concern with id 999999"), db.session() as session:
        log_event(session, TEAM, 999999, EventKind.EXPORTED, DSL, clock.now())
    with pytest.raises(LookupError, match="no concern with id 999999"), db.session() as session:
        log_events(session, TEAM, [concern.id, 999999], EventKind.EXPORTED, DSL, clock.now())
    with db.session() as session:
        assert _heads(db) == before and len(events_for(session, TEAM, concern.id)) == 1


@pytest.mark.parametrize("first_event", [True, False], ids=["begun", "moved-on"])
def test_a_second_appender_waits_for_the_first_and_follows_it(db: Database, clock: ManualClock,
                                                              first_event: bool) -> None:
    """Two appenders at once: the first holds the chain (PostgreSQL: its row, or the primary key of the one it
    began; SQLite: the write lock) until it commits, and the other waits, then takes the next place after the
    head the first committed, rather than the head it would have read before (or begin a second chain)."""
    set_up_school(db, clock.now())
    concern = _chainless(db, clock) if first_event else report(db, clock.now())
    start = 0 if first_event else 1
    def append() -> int:
        with db.session() as session:
            return log_event(session, TEAM, concern.id, EventKind.EXPORTED, DEPUTY, clock.now()).seq

    first, second = _second_waits(
        db, lambda session: log_event(session, TEAM, concern.id, EventKind.EXPORTED, DSL, clock.now()), append)
    assert (first.seq, second) == (start + 1, start + 2)
    with db.session() as session:
        assert [e.prev_hash for e in events_for(session, TEAM, concern.id)][-1] == first.hash
        assert _heads(db)[concern.id][0] == start + 2
        assert verify(session) == []


@pytest.mark.parametrize("export_first", [True, False], ids=["export-first", "view-first"])
def test_an_export_chunk_and_a_single_append_queue_on_a_chain(db: Database, clock: ManualClock,
                                                             export_first: bool) -> None:
    """An export's chunk holds its chains as a single append does (PostgreSQL: FOR NO KEY UPDATE, then one
    write of count and head), so whichever comes second waits, then follows the head the first committed."""
    set_up_school(db, clock.now())
    other, shared = report(db, clock.now()), report(db, clock.now())

    def export(session: Session) -> None:
        log_events(session, TEAM, [other.id, shared.id], EventKind.EXPORTED, DSL, clock.now())

    def view(session: Session) -> None:
        log_event(session, TEAM, shared.id, EventKind.RECORD_VIEWED, DEPUTY, clock.now())

    first, then = (export, view) if export_first else (view, export)

    def second() -> bool:
        with db.session() as session:
            then(session)
        return True

    assert _second_waits(db, first, second)[1] is True
    with db.session() as session:
        events = events_for(session, TEAM, shared.id)
        assert [e.kind for e in events] == ["reported"] + (["exported", "record_viewed"] if export_first
                                                           else ["record_viewed", "exported"])
        assert [e.seq for e in events] == [1, 2, 3] and _heads(db)[shared.id] == (3, events[-1].hash)
        assert verify(session) == []


def test_0019_moves_the_heads_out_of_the_concerns_and_back(clock: ManualClock, tmp_path: Path,
                                                          migrated_url: str) -> None:
    with empty_database(migrated_url, tmp_path) as database:
        database.upgrade()
        set_up_school(database, clock.now())
        cut, emptied, kept = (report(database, clock.now()) for _ in range(3))
        with database.session() as session:
            for concern in (cut, kept):
                acknowledge(session, TEAM, concern.id, DSL, clock.now())
        before = _heads(database)
        command.downgrade(alembic_config(database.engine), "0018")
        with database.engine.begin() as connection:
            assert not inspect(connection).has_table("concern_chains")
            assert dict(connection.execute(text("SELECT id, event_seq FROM concerns")).all()) == {
                cid: seq for cid, (seq, _) in before.items()} == {cut.id: 2, emptied.id: 1, kept.id: 2}
            # What a database at 0018 may also hold: a concern with no events, and one whose last event went.
            connection.execute(text("DELETE FROM concern_events WHERE concern_id = :id"), {"id": emptied.id})
            connection.execute(text("UPDATE concerns SET event_seq = 0 WHERE id = :id"), {"id": emptied.id})
            connection.execute(text("DELETE FROM concern_events WHERE concern_id = :id AND seq = 2"), {"id": cut.id})
        database.upgrade()
        with database.engine.connect() as connection:
            assert "event_seq" not in {c["name"] for c in inspect(connection).get_columns("concerns")}
        assert _heads(database) == {kept.id: before[kept.id], emptied.id: (0, GENESIS), cut.id: (2, GENESIS)}
        with database.session() as session:
            assert [(b.reference, b.seq, b.problem) for b in verify(session)] == [(cut.reference, 2, Problem.MISSING)]
            log_event(session, TEAM, kept.id, EventKind.EXPORTED, DSL, clock.now())  # and the chains go on
            log_event(session, TEAM, emptied.id, EventKind.EXPORTED, DSL, clock.now())
        with database.session() as session:
            assert [e.seq for e in events_for(session, TEAM, kept.id)] == [1, 2, 3]
            assert [e.seq for e in events_for(session, TEAM, emptied.id)] == [1]
            assert [b.reference for b in verify(session)] == [cut.reference]
