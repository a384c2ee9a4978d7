"""Each concern's events are a hash chain: written by the bot's own flows, checked by storage.audit, and
caught when a row is edited, removed, moved or slipped in behind the bot's back (raw SQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text

from flows.clock import ManualClock
from flows.incident_log import parse_filters
from storage.access import open_record
from storage.audit import Problem, verify
from storage.concerns import acknowledge
from storage.db import Database
from storage.events import GENESIS, EventKind, chain_hash, events_for, log_event
from storage.incident_log import export_incidents
from storage.migrate import alembic_config
from storage.models import Concern, ConcernChain, ConcernEvent
from tests.concurrency import together
from tests.e2e.test_backup import empty_database
from tests.storage.helpers import DEPUTY, DSL, TEACHER, TEAM, report, set_up_school


def _two_concerns(db: Database, clock: ManualClock) -> tuple[Concern, Concern]:
    """Two concerns with some history: reported, acknowledged, opened (and refused to a teacher)."""
    set_up_school(db, clock.now())
    first = report(db, clock.now())
    clock.advance(timedelta(minutes=5))
    second = report(db, clock.now(), child_name_1="Sam Example")
    with db.session() as session:
        acknowledge(session, TEAM, first.id, DSL, clock.now())
        open_record(session, TEAM, first.id, DSL, clock.now())
        open_record(session, TEAM, first.id, TEACHER, clock.now())  # refused, and logged
        open_record(session, TEAM, second.id, DEPUTY, clock.now())
    return first, second


def _sql(db: Database, statement: str, **params: object) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(statement), params)


def _event_id(db: Database, concern_id: int, seq: int) -> int:
    with db.session() as session:
        return session.scalars(select(ConcernEvent.id).where(
            ConcernEvent.concern_id == concern_id, ConcernEvent.seq == seq)).one()


def test_the_bot_chains_each_concerns_events_and_an_untouched_database_verifies(db: Database,
                                                                               clock: ManualClock) -> None:
    first, second = _two_concerns(db, clock)
    with db.session() as session:
        events = events_for(session, TEAM, first.id)
        assert [e.kind for e in events] == ["reported", "acknowledged", "record_viewed", "record_view_refused"]
        assert [e.seq for e in events] == [1, 2, 3, 4]
        assert events[0].prev_hash == GENESIS
        assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))
        assert events[0].hash == chain_hash(GENESIS, TEAM, first.id, 1, "reported", TEACHER, events[0].at,
                                            events[0].data)
        assert [e.seq for e in events_for(session, TEAM, second.id)] == [1, 2]  # a chain of its own
        head = session.get_one(ConcernChain, first.id)
        assert (head.seq, head.head) == (4, events[-1].hash)
        assert verify(session) == [] and verify(session, TEAM) == []


@pytest.mark.parametrize(("column", "value"), [
    ("kind", "'closed'"),
    ("at", "'2026-11-24 09:00:00'"),
    ("data", """'{"reference": "OS-2026-9999", "category": "gaming", "urgency": "routine", "subject": "pupil"}'"""),
    ("actor_id", "'U0SOMEONE'"),
])
def test_an_event_edited_behind_the_bots_back_is_caught(db: Database, clock: ManualClock, column: str,
                                                        value: str) -> None:
    first, second = _two_concerns(db, clock)
    seq = 1 if column == "data" else 2
    _sql(db, f"UPDATE concern_events SET {column} = {value} WHERE id = :id", id=_event_id(db, first.id, seq))
    with db.session() as session:
        broken = verify(session)
    assert [(b.reference, b.seq, b.problem) for b in broken] == [(first.reference, seq, Problem.EDITED)]
    assert broken[0].concern_id == first.id and broken[0].team_id == TEAM


def test_an_event_deleted_from_the_middle_is_caught(db: Database, clock: ManualClock) -> None:
    first, _ = _two_concerns(db, clock)
    _sql(db, "DELETE FROM concern_events WHERE id = :id", id=_event_id(db, first.id, 2))
    with db.session() as session:
        broken = verify(session)
    assert [(b.reference, b.seq, b.problem) for b in broken] == [(first.reference, 2, Problem.MISSING)]
    assert "event 2 gone" in broken[0].line()


def test_the_last_event_deleted_is_caught_by_the_chains_count(db: Database, clock: ManualClock) -> None:
    first, _ = _two_concerns(db, clock)
    _sql(db, "DELETE FROM concern_events WHERE id = :id", id=_event_id(db, first.id, 4))
    with db.session() as session:
        broken = verify(session)
    assert [(b.reference, b.seq, b.problem) for b in broken] == [(first.reference, 4, Problem.MISSING)]


def test_events_moved_about_are_caught(db: Database, clock: ManualClock) -> None:
    first, _ = _two_concerns(db, clock)
    two, three = _event_id(db, first.id, 2), _event_id(db, first.id, 3)
    _sql(db, "UPDATE concern_events SET seq = 99 WHERE id = :id", id=two)  # swap places 2 and 3
    _sql(db, "UPDATE concern_events SET seq = 2 WHERE id = :id", id=three)
    _sql(db, "UPDATE concern_events SET seq = 3 WHERE id = :id", id=two)
    with db.session() as session:
        problems = {b.problem for b in verify(session)}
    assert Problem.REORDERED in problems


def test_an_event_slipped_in_is_caught_even_with_a_well_made_hash(db: Database, clock: ManualClock) -> None:
    """Someone who knows the recipe appends a forged event, correctly hashed: the chain's count gives it away."""
    first, _ = _two_concerns(db, clock)
    with db.session() as session:
        last = events_for(session, TEAM, first.id)[-1]
    at = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    forged = chain_hash(last.hash, TEAM, first.id, 5, "closed", DSL, at, {})
    with db.session() as session:
        session.add(ConcernEvent(team_id=TEAM, concern_id=first.id, kind="closed", actor_id=DSL, at=at, data={},
                                 seq=5, prev_hash=last.hash, hash=forged))
    with db.session() as session:
        broken = verify(session)
    assert [(b.reference, b.seq, b.problem) for b in broken] == [(first.reference, 5, Problem.INSERTED)]


def test_the_last_event_replaced_with_a_well_made_hash_is_caught_by_the_chains_head(db: Database,
                                                                                  clock: ManualClock) -> None:
    """The last event swapped for a forgery that fits the chain (right place, right prev_hash, its own hash
    well made): the chain's head still holds the hash of the event the bot wrote."""
    first, _ = _two_concerns(db, clock)
    with db.session() as session:
        *_, before, last = events_for(session, TEAM, first.id)
    forged = chain_hash(before.hash, TEAM, first.id, 4, "record_viewed", DSL, last.at, {})
    _sql(db, "UPDATE concern_events SET kind = 'record_viewed', actor_id = :dsl, hash = :forged WHERE id = :id",
         dsl=DSL, forged=forged, id=last.id)
    with db.session() as session:
        broken = verify(session)
    assert [(b.reference, b.seq, b.problem) for b in broken] == [(first.reference, 4, Problem.EDITED)]
    assert "the chain's head holds another hash" in broken[0].line()


def test_a_chains_head_deleted_behind_the_bots_back_is_caught(db: Database, clock: ManualClock) -> None:
    first, _ = _two_concerns(db, clock)
    _sql(db, "DELETE FROM concern_chains WHERE concern_id = :id", id=first.id)
    with db.session() as session:
        broken = verify(session)
    assert [(b.reference, b.seq, b.problem) for b in broken] == [(first.reference, 1, Problem.INSERTED)]
    assert broken[0].line() == "event 1 inserted: more events than the 0 the bot wrote"


def test_two_writers_appending_to_one_concern_at_once_keep_the_chain_whole(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())

    def append(who: str) -> int:
        with db.session() as session:
            open_record(session, TEAM, concern.id, who, clock.now())  # a read, then the append
            return log_event(session, TEAM, concern.id, EventKind.EXPORTED, who, clock.now()).seq

    seqs = []
    for _ in range(8):
        seqs += together(lambda: append(DSL), lambda: append(DEPUTY))
    with db.session() as session:
        events = events_for(session, TEAM, concern.id)
        assert [e.seq for e in events] == list(range(1, 34))  # reported, then 16 views and 16 exports
        assert sorted(seqs) == sorted(e.seq for e in events if e.kind == "exported")
        assert verify(session) == []


def test_an_export_chains_its_event_on_every_concern_in_one_go(db: Database, clock: ManualClock) -> None:
    first, second = _two_concerns(db, clock)
    with db.session() as session:
        rows = export_incidents(session, TEAM, DSL, parse_filters("status:all"), clock.now())
        assert rows is not None and len(list(rows)) == 2
    with db.session() as session:
        assert [e.kind for e in events_for(session, TEAM, first.id)][-1] == "exported"
        assert [e.seq for e in events_for(session, TEAM, second.id)] == [1, 2, 3]
        assert verify(session) == []


def test_the_upgrade_chains_the_events_already_there_as_the_bot_would(clock: ManualClock, tmp_path: Path,
                                                                      migrated_url: str) -> None:
    with empty_database(migrated_url, tmp_path) as database:
        database.upgrade()
        first, _ = _two_concerns(database, clock)
        with database.session() as session:
            before = [(e.id, e.seq, e.prev_hash, e.hash) for e in session.scalars(
                select(ConcernEvent).order_by(ConcernEvent.id))]
        command.downgrade(alembic_config(database.engine), "0016")  # as events were before the chain
        database.upgrade()
        with database.session() as session:
            after = [(e.id, e.seq, e.prev_hash, e.hash) for e in session.scalars(
                select(ConcernEvent).order_by(ConcernEvent.id))]
            assert after == before and len(after) == 6
            head = session.get_one(ConcernChain, first.id)  # 0019 took it from the count and the last event
            assert (head.seq, head.head) == (4, events_for(session, TEAM, first.id)[-1].hash)
            assert verify(session) == []
            log_event(session, TEAM, first.id, EventKind.EXPORTED, DSL, clock.now())  # and the chain goes on
        with database.session() as session:
            assert [e.seq for e in events_for(session, TEAM, first.id)][-1] == 5 and verify(session) == []


def test_a_whole_record_deleted_behind_the_bots_back_is_caught_by_its_reference(db: Database,
                                                                                clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    report(db, clock.now())
    gone = report(db, clock.now())
    report(db, clock.now())
    with db.engine.begin() as connection:  # everything of the second concern, as a careful intruder would
        for table in ("concern_events", "concern_children", "status_changes", "outbox"):
            connection.execute(text(f"DELETE FROM {table} WHERE concern_id = :id"), {"id": gone.id})
        connection.execute(text("UPDATE drafts SET concern_id = NULL WHERE concern_id = :id"), {"id": gone.id})
        connection.execute(text("DELETE FROM concerns WHERE id = :id"), {"id": gone.id})
    with db.session() as session:
        broken = verify(session)
    assert [(b.reference, b.problem, b.line()) for b in broken] == [
        (gone.reference, Problem.MISSING, "record missing: this reference was given to a concern that is no longer "
                                          "stored, and retention did not delete it")]
