"""Actions, assignment and closing: status moves, history, events, refusals."""

from datetime import date, timedelta

from sqlalchemy import select

from flows.clock import ManualClock
from tests.concurrency import together
from flows.handling import ACTION_FORM, NOT_REFERRED_REASON, ActionAnswers, ActionKind
from storage import access
from storage.concerns import acknowledge
from storage.db import Database
from storage.events import events_for
from storage.handling import assign, close, record_action
from storage.outcomes import Result
from storage.models import ConcernAction, OutboxMessage, StatusChange
from tests.conftest import SCHOOL_MORNING
from tests.storage.helpers import DEPUTY, DSL, HEAD, TEACHER, TEAM, report, set_up_school

POLICE = ActionAnswers(action=ActionKind.POLICE, taken_on=date(2026, 11, 24), note="PC Example, ref 123")


def _acknowledged(db: Database, clock: ManualClock) -> int:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    with db.session() as session:
        acknowledge(session, TEAM, concern.id, DSL, clock.now())
    return concern.id


def test_an_action_puts_an_acknowledged_concern_in_progress(db: Database, clock: ManualClock) -> None:
    concern_id = _acknowledged(db, clock)
    with db.session() as session:
        assert record_action(session, TEAM, concern_id, DEPUTY, POLICE, clock.now()).result is Result.DONE
        second = ActionAnswers(action=ActionKind.PARENTS_INFORMED, taken_on=date(2026, 11, 24))
        assert record_action(session, TEAM, concern_id, DSL, second, clock.now()).summary.status.value == "in_progress"
    with db.session() as session:
        record = access.open_record(session, TEAM, concern_id, DSL, clock.now())
        assert [(a.kind, a.note) for a in record.actions] == [("police", "PC Example, ref 123"), ("parents_informed", None)]
        assert [c.to_status for c in record.history] == ["new", "acknowledged", "in_progress"]
        events = [e for e in record.events if e.kind == "action_recorded"]
        assert [e.data for e in events] == [{"action": "police"}, {"action": "parents_informed"}]
        assert "PC Example" not in repr([e.data for e in record.events])


def test_nothing_can_be_done_before_acknowledgement_or_by_outsiders(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    with db.session() as session:
        assert record_action(session, TEAM, concern.id, DSL, POLICE, clock.now()).result is Result.NOT_OPEN
        acknowledge(session, TEAM, concern.id, DSL, clock.now())
        for outsider in (HEAD, TEACHER):
            assert record_action(session, TEAM, concern.id, outsider, POLICE, clock.now()).result is Result.REFUSED
            closing = close(session, TEAM, concern.id, outsider, "done", clock.now(), date(2026, 11, 24))
            assert closing.result is Result.REFUSED
        assert assign(session, "T0OTHER", concern.id, DSL, DEPUTY, clock.now()).result is Result.NOT_FOUND
    with db.session() as session:
        refused = [(e.actor_id, e.data) for e in events_for(session, TEAM, concern.id) if e.kind == "handling_refused"]
        assert refused == [(HEAD, {"attempted": "record_action"}), (HEAD, {"attempted": "close"}),
                           (TEACHER, {"attempted": "record_action"}), (TEACHER, {"attempted": "close"})]


def test_only_the_dsl_team_can_be_assigned_and_the_assignee_is_told(db: Database, clock: ManualClock) -> None:
    concern_id = _acknowledged(db, clock)
    with db.session() as session:
        assert assign(session, TEAM, concern_id, DSL, HEAD, clock.now()).result is Result.INVALID_ASSIGNEE
        done = assign(session, TEAM, concern_id, DSL, DEPUTY, clock.now())
        assert done.result is Result.DONE and done.summary.assigned_to == DEPUTY
        notices = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "assigned_notice")).all()
        assert [(n.recipient_id, n.payload) for n in notices] == [(DEPUTY, {"by": DSL})]


def test_closing_records_the_outcome_and_tells_the_reporter(db: Database, clock: ManualClock) -> None:
    concern_id = _acknowledged(db, clock)
    later = clock.advance(timedelta(days=2))
    with db.session() as session:
        closed = close(session, TEAM, concern_id, DEPUTY, "Parents met; filtering fixed.", later, date(2026, 11, 26))
        assert closed.result is Result.DONE and closed.summary.closed_at == later
        assert record_action(session, TEAM, concern_id, DSL, POLICE, later).result is Result.NOT_OPEN
    with db.session() as session:
        record = access.open_record(session, TEAM, concern_id, DSL, later)
        assert [(a.kind, a.taken_on, a.note) for a in record.actions] == [
            ("outcome", date(2026, 11, 26), "Parents met; filtering fixed.")]
        assert list(session.scalars(select(StatusChange.to_status))) == ["new", "acknowledged", "closed"]
        kinds = sorted(o.kind for o in session.scalars(select(OutboxMessage)))
        assert kinds.count("reporter_closed") == 1


def test_deciding_not_to_refer_needs_a_written_reason() -> None:
    base = {"action": "not_referred", "taken_on": "2026-11-24"}
    assert ACTION_FORM.validate("action", {**base, "note": ""}, SCHOOL_MORNING) == {"note": NOT_REFERRED_REASON}
    assert ACTION_FORM.validate("action", {**base, "note": "ok"}, SCHOOL_MORNING) == {"note": NOT_REFERRED_REASON}
    assert ACTION_FORM.validate("action", {**base, "note": "Low risk; handled in school with parents."}, SCHOOL_MORNING) == {}
    assert ACTION_FORM.validate("action", {"action": "police", "taken_on": "2026-11-24"}, SCHOOL_MORNING) == {}
    assert ACTION_FORM.validate("action", {"action": "police", "taken_on": "2026-11-25"}, SCHOOL_MORNING) == {
        "taken_on": "The date can't be in the future."}


def test_two_people_closing_at_once_give_one_outcome(db: Database, clock: ManualClock) -> None:
    concern_id = _acknowledged(db, clock)

    def press(user: str) -> Result:
        with db.session() as session:
            return close(session, TEAM, concern_id, user, f"Outcome by {user}", clock.now(), date(2026, 11, 24)).result

    results = together(lambda: press(DSL), lambda: press(DEPUTY))
    assert sorted(results) == [Result.DONE, Result.NOT_OPEN]
    with db.session() as session:
        assert len([a for a in session.scalars(select(ConcernAction)) if a.kind == "outcome"]) == 1
        assert list(session.scalars(select(StatusChange.to_status))) == ["new", "acknowledged", "closed"]
        assert len([o for o in session.scalars(select(OutboxMessage)) if o.kind == "reporter_closed"]) == 1
