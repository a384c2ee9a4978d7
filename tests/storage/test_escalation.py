"""Escalation deadlines: counted in school time, each rung once, stopped by acknowledgement."""

from datetime import datetime, timedelta

from sqlalchemy import select

from flows.clock import ManualClock
from tests.concurrency import together
from storage import escalation
from storage.access import may_handle
from storage.concerns import acknowledge
from storage.db import Database
from storage.models import Concern, OutboxMessage
from tests.conftest import LONDON
from tests.storage.helpers import DEPUTY, DSL, HEAD, TEAM, report, set_up_school


def _pages(db: Database, kind: str) -> list[str]:
    with db.session() as session:
        return sorted(session.scalars(select(OutboxMessage.recipient_id).where(OutboxMessage.kind == kind)))


def test_the_ladder_climbs_once_per_rung_on_school_time(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    assert concern.escalate_at.astimezone(LONDON) == datetime(2026, 11, 24, 10, 30, tzinfo=LONDON)
    with db.session() as session:
        assert escalation.due(session, clock.advance(timedelta(minutes=29))) == []
    now = clock.advance(timedelta(minutes=1))
    with db.session() as session:
        assert escalation.due(session, now) == [concern.id]
        assert escalation.escalate(session, concern.id, now) == 1
        assert escalation.escalate(session, concern.id, now) is None  # not twice
    assert _pages(db, "escalation") == [DEPUTY]
    now = clock.advance(timedelta(minutes=30))
    with db.session() as session:
        assert escalation.escalate(session, concern.id, now) == 2
        assert escalation.due(session, clock.advance(timedelta(days=3))) == []  # the ladder has ended
        stored = session.get_one(Concern, concern.id)
        assert (stored.escalation_level, stored.escalate_at) == (2, None)
        assert may_handle(session, stored, HEAD)  # the head may now open it
    assert _pages(db, "escalation") == [DEPUTY, HEAD]


def test_two_sweepers_racing_escalate_once(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    now = clock.advance(timedelta(minutes=30))
    def sweep() -> int | None:
        with db.session() as session:
            return escalation.escalate(session, concern.id, now)

    results = together(sweep, sweep)
    assert sorted(results, key=str) == [1, None]
    assert _pages(db, "escalation") == [DEPUTY]


def test_acknowledging_stops_the_ladder(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    with db.session() as session:
        acknowledge(session, TEAM, concern.id, DSL, clock.advance(timedelta(minutes=10)))
    with db.session() as session:
        assert escalation.due(session, clock.advance(timedelta(hours=5))) == []
        assert escalation.escalate(session, concern.id, clock.now()) is None
    assert _pages(db, "escalation") == []


def test_an_urgent_concern_pages_everyone_at_once(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now(), urgency="urgent")
    assert _pages(db, "urgent_page") == sorted([DSL, DEPUTY, HEAD])
    with db.session() as session:
        stored = session.get_one(Concern, concern.id)
        assert stored.escalate_at is None and may_handle(session, stored, HEAD)


def test_friday_afternoon_escalates_on_monday_morning(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, datetime(2026, 11, 27, 16, 45, tzinfo=LONDON))
    assert concern.escalate_at.astimezone(LONDON) == datetime(2026, 11, 30, 8, 15, tzinfo=LONDON)
