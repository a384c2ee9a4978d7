"""Drafts, references, submitting and acknowledging: each rule, and the races, on both databases."""

import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql

from flows.clock import ManualClock
from tests.concurrency import together
from storage.audit import verify
from storage.concerns import (
    ACKNOWLEDGED_STATEMENT, acknowledge, acknowledged_messages, acknowledgement_parameters, next_reference,
)
from storage.outcomes import Result
from storage.db import Database
from storage.drafts import (
    DraftStatus, discard, open_form, owned_draft, owned_draft_at, save_answers, start_draft,
)
from storage.events import events_for
from storage.models import Concern, Draft, OutboxMessage, School, StatusChange
from storage.models_chain import ConcernChain
from tests.conftest import LONDON
from tests.storage.helpers import DEPUTY, DSL, HEAD, TEACHER, TEAM, report, set_up_school


def test_a_draft_belongs_to_its_reporter_in_its_school(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    with db.session() as session:
        draft = start_draft(session, TEAM, TEACHER, "report", "child", clock.now())
        save_answers(draft, {"child_name": "Robin"}, clock.now())
        save_answers(draft, {"year_group": "year_5"}, clock.now(), step_id="concern")
        draft_id = draft.id
    with db.session() as session:
        mine = owned_draft(session, TEAM, TEACHER, draft_id)
        assert mine.answers == {"child_name": "Robin", "year_group": "year_5"} and mine.step_id == "concern"
        assert owned_draft(session, TEAM, "U0SOMEONE", draft_id) is None
        assert owned_draft(session, "T0OTHER", TEACHER, draft_id) is None
        opening = open_form(session, TEAM, TEACHER, "report", "child", "UTC", clock.now())
        assert (opening.draft.id, opening.draft.step_id, opening.started) == (draft_id, "concern", False)
        assert opening.draft.answers == {"child_name": "Robin", "year_group": "year_5"}
        held = owned_draft_at(session, TEAM, TEACHER, draft_id)
        assert held is not None and held[0].id == draft_id and held[1].team_id == TEAM
        assert owned_draft_at(session, TEAM, "U0SOMEONE", draft_id) is None
        assert owned_draft_at(session, "T0OTHER", TEACHER, draft_id) is None


def test_the_form_opens_on_the_latest_unsent_draft_of_this_person_in_this_school(db: Database,
                                                                                 clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    set_up_school(db, clock.now(), team="T0OTHER")
    with db.session() as session:
        older = start_draft(session, TEAM, TEACHER, "report", "child", clock.now())
        start_draft(session, TEAM, "U0SOMEONE", "report", "child", clock.now() + timedelta(minutes=2))
        start_draft(session, "T0OTHER", TEACHER, "report", "child", clock.now() + timedelta(minutes=2))
        start_draft(session, TEAM, TEACHER, "other_form", "child", clock.now() + timedelta(minutes=2))
        thrown = start_draft(session, TEAM, TEACHER, "report", "child", clock.now() + timedelta(minutes=3))
        discard(thrown, clock.now() + timedelta(minutes=3))
        latest = start_draft(session, TEAM, TEACHER, "report", "child", clock.now() + timedelta(minutes=1))
    with db.session() as session:
        opening = open_form(session, TEAM, TEACHER, "report", "child", "UTC", clock.now())
        assert (opening.timezone, opening.draft.id, opening.started) == ("Europe/London", latest.id, False)
        assert older.id != latest.id
        assert session.scalar(select(func.count()).select_from(Draft)) == 6  # the six above: none started


def test_the_form_opened_with_no_unsent_draft_starts_one_at_the_first_step(db: Database,
                                                                           clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    with db.session() as session:
        done = start_draft(session, TEAM, TEACHER, "report", "child", clock.now())
        done.status = DraftStatus.SUBMITTED
    with db.session() as session:
        opening = open_form(session, TEAM, TEACHER, "report", "child", "UTC", clock.now())
        assert opening.started and opening.timezone == "Europe/London" and opening.draft.id != done.id
    with db.session() as session:
        started = owned_draft(session, TEAM, TEACHER, opening.draft.id)
        assert started is not None and (started.step_id, started.answers, started.status) == ("child", {}, "open")
        assert started.created_at == started.updated_at and started.form_id == "report"
        again = open_form(session, TEAM, TEACHER, "report", "child", "UTC", clock.now())
        assert (again.draft.id, again.started) == (opening.draft.id, False)  # the same empty draft, not another


def test_the_form_opened_in_a_school_not_set_up_yet_makes_its_row(db: Database, clock: ManualClock) -> None:
    with db.session() as session:
        opening = open_form(session, "T0NEW", TEACHER, "report", "child", "Europe/Paris", clock.now())
        assert (opening.timezone, opening.started) == ("Europe/Paris", True)
    with db.session() as session:
        assert session.get_one(School, "T0NEW").timezone == "Europe/Paris"
        assert open_form(session, "T0NEW", TEACHER, "report", "child", "UTC", clock.now()).timezone == "Europe/Paris"


def test_references_count_per_school_and_year(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    set_up_school(db, clock.now(), team="T0OTHER")
    assert [report(db, clock.now()).reference for _ in range(3)] == ["OS-2026-0001", "OS-2026-0002", "OS-2026-0003"]
    assert report(db, clock.now(), team="T0OTHER").reference == "OS-2026-0001"
    new_year = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)
    assert report(db, new_year).reference == "OS-2027-0001"


def test_the_year_is_the_schools_not_utcs(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    # 00:30 on 1 July 2027 in London is still 30 June in UTC.
    assert report(db, datetime(2027, 7, 1, 0, 30, tzinfo=LONDON)).reference == "OS-2027-0001"


def test_concurrent_reports_get_distinct_references(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    references: list[str] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            references.append(report(db, clock.now()).reference)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(references) == [f"OS-2026-{n:04d}" for n in range(1, 9)]


def test_submitting_records_history_event_and_notifications_together(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    with db.session() as session:
        assert concern.status == "new" and concern.details["children"][0]["name"] == "Robin Example"
        assert [(c.from_status, c.to_status) for c in session.scalars(select(StatusChange))] == [(None, "new")]
        assert [e.kind for e in events_for(session, TEAM, concern.id)] == ["reported"]
        assert "Robin" not in repr([e.data for e in events_for(session, TEAM, concern.id)])
        kinds = sorted(o.kind for o in session.scalars(select(OutboxMessage)))
        assert kinds == ["dsl_alert", "reporter_receipt"]


def test_submitting_the_same_draft_twice_makes_one_concern(db: Database, clock: ManualClock) -> None:
    from flows.report_form import ReportAnswers
    from storage.concerns import submit_report
    from tests.storage.helpers import ANSWERS

    set_up_school(db, clock.now())
    with db.session() as session:
        school = session.get_one(School, TEAM)
        draft = start_draft(session, TEAM, TEACHER, "report", "review", clock.now())
        save_answers(draft, ANSWERS, clock.now())
        first = submit_report(session, draft, ReportAnswers.from_answers(ANSWERS, clock.now().date()), school, clock.now())
        second = submit_report(session, draft, ReportAnswers.from_answers(ANSWERS, clock.now().date()), school, clock.now())
        assert first.id == second.id and draft.status == DraftStatus.SUBMITTED
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 1


def test_acknowledge_is_first_wins_and_refuses_outsiders(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    with db.session() as session:
        assert acknowledge(session, TEAM, concern.id, HEAD, clock.now()).result is Result.REFUSED
        assert acknowledge(session, TEAM, concern.id, TEACHER, clock.now()).result is Result.REFUSED
        assert acknowledge(session, "T0OTHER", concern.id, DSL, clock.now()).result is Result.NOT_FOUND
    later = clock.advance(timedelta(minutes=4))
    with db.session() as session:
        won = acknowledge(session, TEAM, concern.id, DEPUTY, later)
        assert won.result is Result.DONE and won.summary.acknowledged_by == DEPUTY
    with db.session() as session:  # the status change went with it (PostgreSQL: in the same statement)
        change = session.scalars(select(StatusChange).where(StatusChange.concern_id == concern.id)
                                 .order_by(StatusChange.id.desc())).first()
        assert (change.team_id, change.from_status, change.to_status, change.actor_id, change.at) == (
            TEAM, "new", "acknowledged", DEPUTY, later)
        stored = session.get_one(Concern, concern.id)
        assert (stored.status, stored.acknowledged_by, stored.acknowledged_at, stored.escalate_at) == (
            "acknowledged", DEPUTY, later, None)
        # Its two messages (PostgreSQL: queued in the same statement), as `enqueue` would have queued them.
        queued = session.scalars(select(OutboxMessage).where(OutboxMessage.concern_id == concern.id,
                                                             OutboxMessage.created_at == later)
                                 .order_by(OutboxMessage.id)).all()
        assert not [m for m in queued if session.scalar(select(OutboxMessage.payload.is_(None))
                                                        .where(OutboxMessage.id == m.id))]  # JSON null, as enqueue's
        assert [(m.team_id, m.kind, m.recipient_id, m.dedupe_key, m.payload, m.due_at, m.attempts, m.priority,
                 m.sent_at, m.locked_until) for m in queued] == [
            (TEAM, "alert_refresh", None, f"{concern.id}:refresh:acknowledged", None, later, 0, 0, None, None),
            (TEAM, "reporter_acknowledged", concern.reporter_id, f"{concern.id}:reporter:acknowledged", None, later,
             0, 0, None, None)]
    with db.session() as session:
        lost = acknowledge(session, TEAM, concern.id, DSL, clock.advance(timedelta(minutes=1)))
        assert lost.result is Result.ALREADY
        assert (lost.summary.acknowledged_by, lost.summary.acknowledged_at) == (DEPUTY, later)
        events = events_for(session, TEAM, concern.id)
        assert [e.kind for e in events] == ["reported", "acknowledge_refused", "acknowledge_refused", "acknowledged"]
        # The press that lost claimed no place on the chain: its count is still the events'.
        assert session.get_one(ConcernChain, concern.id).seq == len(events) and verify(session) == []


def test_the_acknowledgement_statement_sets_only_its_own_columns() -> None:
    """A parameter named after a column of a table an UPDATE in the WITH writes would be set on it too
    (SQLAlchemy adds it to the SET): compiled with every key the press gives, the statement is unchanged."""
    messages = acknowledged_messages(TEAM, 1, TEACHER, datetime(2026, 12, 7, 9, 0))
    keys = list(acknowledgement_parameters(TEAM, 1, DSL, datetime(2026, 12, 7, 9, 0), messages))
    plain = ACKNOWLEDGED_STATEMENT.compile(dialect=postgresql.dialect()).string
    assert ACKNOWLEDGED_STATEMENT.compile(dialect=postgresql.dialect(), column_keys=keys).string == plain
    # (and the check can see the fault it guards against)
    assert ACKNOWLEDGED_STATEMENT.compile(dialect=postgresql.dialect(), column_keys=["concern_id"]).string != plain


def test_two_people_acknowledging_at_once_give_one_acknowledgement(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    def press(user: str) -> Result:
        with db.session() as session:
            return acknowledge(session, TEAM, concern.id, user, clock.now()).result

    results = together(lambda: press(DSL), lambda: press(DEPUTY))
    assert sorted(results) == [Result.ALREADY, Result.DONE]
    with db.session() as session:
        changes = session.scalars(select(StatusChange.to_status).where(StatusChange.concern_id == concern.id))
        assert list(changes) == ["new", "acknowledged"]
        refreshes = session.scalar(select(func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.kind == "alert_refresh"))
        assert refreshes == 1
        events = events_for(session, TEAM, concern.id)
        assert [e.kind for e in events] == ["reported", "acknowledged"]
        assert session.get_one(ConcernChain, concern.id).seq == 2 and verify(session) == []


def test_next_reference_creates_its_counter(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    with db.session() as session:
        assert next_reference(session, TEAM, 2030) == "OS-2030-0001"
        assert next_reference(session, TEAM, 2030) == "OS-2030-0002"
