"""Retention in storage: the date set when a concern is stored, what falls due, deletion with every
dependent row, legal holds, the retention log, and the upgrade that dates the records already there."""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import func, select, text

from flows.clock import ManualClock
from flows.handling import ActionAnswers, ActionKind
from flows.nudes import InitialReview as ReviewAnswers
from flows.nudes import ReferralCondition
from flows.retention import RetentionKind
from storage.access import open_record
from storage.audit import verify
from storage.concerns import acknowledge
from storage.db import Database
from storage.events import EventKind, events_for, log_event
from storage.handling import record_action, record_initial_review
from storage.migrate import alembic_config
from storage.models import Concern, Deadline, Draft
from storage.retention import (
    RetentionLog, date_for, delete_record, deleted, dependent_tables, due_records, hold, policy_for, release,
    set_policy,
)
from tests.conftest import LONDON
from tests.e2e.test_backup import empty_database
from tests.storage.helpers import DSL, TEAM, report, set_up_school

STAFF_ALLEGATION = dict(subject="staff", adult_name="Mr Reed", adult_role="Teacher", threshold="harm",
                        category="social_networking", urgency="urgent")
NOBODY = dict(subject="nobody", personal_data="no", category="filtering_failure")


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=LONDON)


def _rows_about(db: Database, concern_id: int, draft_id: str) -> dict[str, int]:
    """How many rows of each table still hang on this concern (every table with a foreign key to it)."""
    counts = {}
    with db.engine.connect() as connection:
        for table in dependent_tables():
            for fk in table.foreign_keys:
                if fk.column.table is Concern.__table__:
                    counts[table.name] = connection.scalar(
                        select(func.count()).select_from(table).where(fk.parent == concern_id))
        counts["concerns"] = connection.scalar(select(func.count()).select_from(Concern).where(Concern.id == concern_id))
        counts["drafts by id"] = connection.scalar(select(func.count()).select_from(Draft).where(Draft.id == draft_id))
    return counts


def _worked_on(db: Database, clock: ManualClock) -> Concern:
    """A concern about sharing nudes with a full history: acknowledged, reviewed, acted on, viewed."""
    concern = report(db, clock.now(), category="nudes", child_name_1="Robin Example", date_of_birth_1="2016-03-14")
    with db.session() as session:
        acknowledge(session, TEAM, concern.id, DSL, clock.now())
        record_initial_review(session, TEAM, concern.id, DSL, ReviewAnswers(
            conditions=[ReferralCondition.ADULT_INVOLVED], parents_told="yes"), clock.now())
        record_action(session, TEAM, concern.id, DSL, ActionAnswers(
            action=ActionKind.PARENTS_INFORMED, taken_on=clock.now().date(), note="Spoke to Robin's mother."),
            clock.now())
        open_record(session, TEAM, concern.id, DSL, clock.now())
    return concern


def test_each_concern_is_dated_by_its_rule_when_stored(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())  # Tuesday 24 November 2026
    pupil = report(db, clock.now())  # Year 5, no date of birth: born by 31 August 2017
    two = report(db, clock.now(), child_count="2", child_name_2="Sam Example", year_group_2="reception")
    staff = report(db, clock.now(), **STAFF_ALLEGATION)
    other = report(db, clock.now(), **NOBODY)
    assert pupil.retain_until == date(2042, 8, 31)
    assert two.retain_until == date(2047, 8, 31)  # the younger child's 25th birthday
    assert (staff.subject_kind, staff.retain_until) == ("staff", date(2036, 11, 24))
    assert (other.subject_kind, other.retain_until) == ("nobody", date(2033, 11, 24))


def test_a_due_record_is_deleted_with_everything_that_hangs_on_it_and_logged(db: Database,
                                                                               clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    child, staff = _worked_on(db, clock), report(db, clock.now(), **STAFF_ALLEGATION)
    kept = report(db, clock.now(), year_group_1="reception")  # until 31 August 2047
    assert (child.retain_until, staff.retain_until) == (date(2041, 3, 14), date(2036, 11, 24))
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Deadline).where(Deadline.concern_id == staff.id)) == 1
    before = _rows_about(db, child.id, child.draft_id)
    assert all(before[t] for t in ("concern_events", "concern_chains", "status_changes", "concern_children",
                                   "concern_actions", "initial_reviews", "outbox", "drafts", "concerns"))
    clock.set(_at(date(2041, 3, 15)))  # the day after the child's record's last day
    with db.session() as session:
        due = due_records(session, clock.now())
    assert [(d.reference, d.kind, d.retain_until, d.held) for d in due] == [
        (staff.reference, RetentionKind.STAFF, date(2036, 11, 24), False),
        (child.reference, RetentionKind.CHILD, date(2041, 3, 14), False)]
    for record in due:
        with db.session() as session:
            assert delete_record(session, record.concern_id, "run-1", clock.now()) is not None
    assert set(_rows_about(db, child.id, child.draft_id).values()) == {0}
    assert set(_rows_about(db, staff.id, staff.draft_id).values()) == {0}
    with db.session() as session:
        log = deleted(session)
        assert [(e.run_id, e.team_id, e.reference, e.kind, e.retain_until, e.deleted_at) for e in log] == [
            ("run-1", TEAM, staff.reference, "staff", date(2036, 11, 24), clock.now()),
            ("run-1", TEAM, child.reference, "child", date(2041, 3, 14), clock.now())]
        assert session.get(Concern, kept.id) is not None and events_for(session, TEAM, kept.id)  # untouched
        assert verify(session) == []  # a deleted concern's chain is simply gone: nothing is broken
        assert due_records(session, clock.now()) == []


def test_a_record_is_kept_through_its_last_day(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now(), **NOBODY)
    clock.set(_at(date(2033, 11, 24)))
    with db.session() as session:
        assert due_records(session, clock.now()) == []
        assert delete_record(session, concern.id, "run-1", clock.now()) is None  # checked again, not trusted
    with db.session() as session:
        assert session.get(Concern, concern.id) is not None and deleted(session) == []


def test_deleting_waits_for_an_event_being_appended_and_deletes_it_too(db: Database, clock: ManualClock) -> None:
    """An append in flight holds the chain's head: the deletion waits for it to commit, then finds its event
    (rather than miss it, and fail on deleting the concern it still points to)."""
    set_up_school(db, clock.now())
    concern = report(db, clock.now(), **NOBODY)  # kept until 24 November 2033
    done: list[RetentionLog | None] = []

    def delete() -> None:
        with db.session() as session:
            done.append(delete_record(session, concern.id, "run-1", _at(date(2033, 11, 25))))

    with db.session() as session:
        log_event(session, TEAM, concern.id, EventKind.EXPORTED, DSL, clock.now())
        deleting = threading.Thread(target=delete)
        deleting.start()
        deleting.join(0.5)
        assert deleting.is_alive() and done == []  # waiting for the append's transaction
    deleting.join(10)
    assert done and done[0] is not None
    assert set(_rows_about(db, concern.id, concern.draft_id).values()) == {0}
    with db.session() as session:
        assert verify(session) == []


def test_a_held_record_is_never_deleted_and_the_hold_is_on_its_log(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern, set_at = report(db, clock.now(), **NOBODY), clock.now()
    with db.session() as session:
        assert hold(session, session.get_one(Concern, concern.id), DSL, "Insurance claim 2031/44", set_at)
        assert not hold(session, session.get_one(Concern, concern.id), DSL, "again", clock.now())  # already
    clock.set(_at(date(2040, 1, 1)))
    with db.session() as session:
        assert [(d.reference, d.held) for d in due_records(session, clock.now())] == [(concern.reference, True)]
        assert delete_record(session, concern.id, "run-1", clock.now()) is None
    with db.session() as session:
        held = session.get_one(Concern, concern.id)
        assert (held.legal_hold, held.legal_hold_by, held.legal_hold_at) == (True, DSL, set_at)
        assert held.legal_hold_reason == "Insurance claim 2031/44"
        assert release(session, held, DSL, clock.now())
        assert not release(session, held, DSL, clock.now())
    with db.session() as session:
        assert [e.kind for e in events_for(session, TEAM, concern.id)][-2:] == ["legal_hold", "legal_hold_released"]
        assert delete_record(session, concern.id, "run-2", clock.now()) is not None  # released: it may go
    with db.session() as session:
        assert session.get(Concern, concern.id) is None and verify(session) == []


def test_the_hold_reason_is_sealed_at_rest(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now(), **NOBODY)
    with db.session() as session:
        hold(session, session.get_one(Concern, concern.id), DSL, "Claim by the Quillfeather family", clock.now())
    with db.engine.connect() as connection:
        stored = connection.scalar(text("SELECT legal_hold_reason FROM concerns"))
    assert "Quillfeather" not in stored


def test_a_school_may_set_its_own_periods_and_its_records_are_dated_again(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    staff, pupil = report(db, clock.now(), **STAFF_ALLEGATION), report(db, clock.now())
    with db.session() as session:
        changes = set_policy(session, TEAM, staff_years=40, other_years=None, now=clock.now())
    assert changes == ["retention for allegations about staff: 10 years -> 40 years", "1 record dated again"]
    later = report(db, clock.now(), **STAFF_ALLEGATION)
    with db.session() as session:
        assert policy_for(session, TEAM).staff_years == 40
        assert session.get_one(Concern, staff.id).retain_until == date(2066, 11, 24)
        assert session.get_one(Concern, pupil.id).retain_until == date(2042, 8, 31)  # not about staff
        assert session.get_one(Concern, later.id).retain_until == date(2066, 11, 24)
        assert set_policy(session, TEAM, staff_years=40, other_years=7, now=clock.now()) == []


def test_the_upgrade_dates_the_records_already_there_by_the_same_rules(clock: ManualClock, tmp_path: Path,
                                                                       migrated_url: str) -> None:
    with empty_database(migrated_url, tmp_path) as database:
        database.upgrade()
        set_up_school(database, clock.now())
        made = [report(database, clock.now()), report(database, clock.now(), date_of_birth_1="2016-02-29"),
                report(database, clock.now(), **STAFF_ALLEGATION), report(database, clock.now(), **NOBODY)]
        command.downgrade(alembic_config(database.engine), "0017")  # as records were before retention
        database.upgrade()
        with database.session() as session:
            dates = [session.get_one(Concern, c.id).retain_until for c in made]
            assert dates == [c.retain_until for c in made] == [
                date(2042, 8, 31), date(2041, 3, 1), date(2036, 11, 24), date(2033, 11, 24)]
            assert [date_for(session.get_one(Concern, c.id), "Europe/London", policy_for(session, TEAM))
                    for c in made] == dates
            assert not any(session.get_one(Concern, c.id).legal_hold for c in made)
            assert session.scalar(select(func.count()).select_from(RetentionLog)) == 0


def test_retention_finds_every_table_that_hangs_on_a_concern() -> None:
    assert {t.name for t in dependent_tables()} >= {
        "drafts", "concern_children", "concern_actions", "initial_reviews", "status_changes", "deadlines",
        "notifications", "outbox", "concern_events", "concern_chains"}
    assert "retention_log" not in {t.name for t in dependent_tables()}  # it outlives the records
