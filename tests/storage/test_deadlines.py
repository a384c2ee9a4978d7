"""Statutory clocks: the LADO's one working day and the ICO's 72 hours; reminders once each."""

from datetime import date, datetime, timedelta

from sqlalchemy import select

from flows.clock import ManualClock
from flows.deadlines import ico_deadline, next_working_day_same_time
from flows.handling import ACTION_FORM, ActionAnswers, ActionKind
from storage import deadlines
from storage.concerns import acknowledge
from storage.db import Database
from storage.handling import record_action
from storage.models import Deadline, OutboxMessage
from tests.conftest import LONDON, SCHOOL_MORNING
from tests.storage.helpers import HEAD, TEAM, report, set_up_school

STAFF_HARM = {"subject": "staff", "adult_name": "A. Teacher", "threshold": "harm"}


def test_one_working_day_skips_weekends_bank_holidays_and_closures() -> None:
    def due(*start: int, closed=frozenset()) -> datetime:  # type: ignore[no-untyped-def]
        return next_working_day_same_time(datetime(*start, tzinfo=LONDON), "Europe/London", closed).astimezone(LONDON)
    assert due(2026, 11, 24, 10, 0) == datetime(2026, 11, 25, 10, 0, tzinfo=LONDON)
    assert due(2026, 11, 27, 15, 0) == datetime(2026, 11, 30, 15, 0, tzinfo=LONDON)  # Friday to Monday
    assert due(2026, 12, 24, 10, 0) == datetime(2026, 12, 29, 10, 0, tzinfo=LONDON)  # Christmas and Boxing Day
    assert due(2027, 3, 25, 9, 0) == datetime(2027, 3, 30, 9, 0, tzinfo=LONDON)  # Good Friday, Easter Monday
    assert due(2026, 11, 24, 10, 0, closed=frozenset({date(2026, 11, 25)})) == datetime(2026, 11, 26, 10, 0, tzinfo=LONDON)
    assert ico_deadline(SCHOOL_MORNING) == SCHOOL_MORNING + timedelta(hours=72)


def test_deciding_not_to_tell_the_ico_needs_a_reason() -> None:
    base = {"action": "ico_not_reported", "taken_on": "2026-11-24"}
    assert "note" in ACTION_FORM.validate("action", base, SCHOOL_MORNING)


def _reminders(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "deadline_reminder")
                               .order_by(OutboxMessage.id))
        return [(r.recipient_id, f"{r.payload['clock']}:{r.payload['stage']}") for r in rows]


def test_the_lado_clock_reminds_before_and_when_overdue_once_each(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    report(db, clock.now(), **STAFF_HARM)
    with db.session() as session:
        assert deadlines.remind_due(session, clock.advance(timedelta(hours=20))) == 0
        assert deadlines.remind_due(session, clock.advance(timedelta(hours=1, minutes=1))) == 1  # 3 h before
        assert deadlines.remind_due(session, clock.now()) == 0
        assert deadlines.remind_due(session, clock.advance(timedelta(hours=3))) == 1  # overdue
        assert deadlines.remind_due(session, clock.advance(timedelta(days=2))) == 0
    assert _reminders(db) == [(HEAD, "lado:soon"), (HEAD, "lado:overdue")]


def test_recording_the_lado_referral_stops_the_clock(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now(), **STAFF_HARM)
    with db.session() as session:
        acknowledge(session, TEAM, concern.id, HEAD, clock.now())
        record_action(session, TEAM, concern.id, HEAD, ActionAnswers(action=ActionKind.LADO, taken_on=date(2026, 11, 24)),
                      clock.advance(timedelta(hours=2)))
    with db.session() as session:
        assert deadlines.remind_due(session, clock.advance(timedelta(days=3))) == 0
        assert session.scalars(select(Deadline.met_at)).one() == SCHOOL_MORNING + timedelta(hours=2)


def test_only_an_allegation_starts_the_lado_clock_and_a_breach_starts_the_icos(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    report(db, clock.now(), **{**STAFF_HARM, "threshold": "low_level"})
    report(db, clock.now(), subject="nobody", personal_data="yes")
    report(db, clock.now())  # about a pupil: no statutory clock
    with db.session() as session:
        assert [d.kind for d in session.scalars(select(Deadline))] == ["ico"]
        assert deadlines.remind_due(session, clock.advance(timedelta(hours=48))) == 1
    assert _reminders(db) == [(HEAD, "ico:soon")]


def test_the_schools_closure_days_count_for_escalation_and_the_lado(db: Database, clock: ManualClock) -> None:
    from storage.models import School
    set_up_school(db, clock.now())
    with db.session() as session:
        session.get_one(School, TEAM).closure_days = ["2026-11-25"]
    friday_like = report(db, clock.now(), **STAFF_HARM)  # reported Tuesday 10:00; Wednesday is closed
    pupil = report(db, datetime(2026, 11, 24, 16, 50, tzinfo=LONDON))
    with db.session() as session:
        assert session.scalars(select(Deadline.due_at)).one().astimezone(LONDON) == datetime(2026, 11, 26, 10, 0, tzinfo=LONDON)
    assert pupil.escalate_at.astimezone(LONDON) == datetime(2026, 11, 26, 8, 20, tzinfo=LONDON)
    assert friday_like.escalate_at is None  # a concern about an adult is not on the DSL team's ladder
