"""The access policy (every read of a record goes through it), the outbox's leases, and set-up."""

from datetime import timedelta

from sqlalchemy import select

from flows.clock import ManualClock
from flows.concern import Role
from flows.school import Person
from storage import access
from storage.db import Database
from storage.events import events_for
from storage.outbox import claim_due, mark_failed, mark_sent, pending_count
from storage.schools import apply_setup, roles_column, roles_in, roles_of
from tests.storage.helpers import DEPUTY, DSL, HEAD, TEACHER, TEAM, report, school_setup, set_up_school


def test_the_dsl_team_may_open_a_record_and_each_view_is_logged(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    with db.session() as session:
        for viewer in (DSL, DEPUTY):
            record = access.open_record(session, TEAM, concern.id, viewer, clock.now())
            assert record.answers.children[0].name == "Robin Example"
            assert [h.to_status for h in record.history] == ["new"]
    with db.session() as session:
        kinds = [(e.kind, e.actor_id) for e in events_for(session, TEAM, concern.id)]
        assert kinds[1:] == [("record_viewed", DSL), ("record_viewed", DEPUTY)]


def test_everyone_else_is_refused_and_the_refusal_is_logged(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    with db.session() as session:
        for outsider in (HEAD, TEACHER, "U0STRANGER"):
            assert access.open_record(session, TEAM, concern.id, outsider, clock.now()) is None
        # Another school's DSL can't reach it, and learns nothing: no event is written there either.
        assert access.open_record(session, "T0OTHER", concern.id, DSL, clock.now()) is None
        assert access.open_record(session, TEAM, 999_999, DSL, clock.now()) is None
    with db.session() as session:
        refused = [e.actor_id for e in events_for(session, TEAM, concern.id) if e.kind == "record_view_refused"]
        assert refused == [HEAD, TEACHER, "U0STRANGER"]


def test_an_outbox_row_is_claimed_once_until_its_lease_runs_out(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    report(db, clock.now())
    with db.session() as session:
        first = claim_due(session, clock.now())
    with db.session() as session:
        assert len(first) == 2 and claim_due(session, clock.now()) == []
    clock.advance(timedelta(seconds=61))
    with db.session() as session:
        again = claim_due(session, clock.now())
        assert [i.id for i in again] == [i.id for i in first] and again[0].attempts == 2


def test_a_failed_row_waits_for_its_backoff_and_a_sent_row_never_returns(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    report(db, clock.now())
    with db.session() as session:
        alert, receipt = claim_due(session, clock.now())
        mark_sent(session, receipt.id, clock.now())
        due = mark_failed(session, alert.id, alert.attempts, clock.now(), "Slack answered 500")
    assert due == clock.now() + timedelta(seconds=2)
    with db.session() as session:
        assert claim_due(session, clock.now()) == []
        assert pending_count(session, TEAM) == 1
    clock.advance(timedelta(seconds=2))
    with db.session() as session:
        assert [i.id for i in claim_due(session, clock.now())] == [alert.id]


def test_setup_is_idempotent_and_reports_each_change(db: Database, clock: ManualClock) -> None:
    with db.session() as session:
        first = apply_setup(session, school_setup(), clock.now())
    assert first[0] == "school Test School (T0SCHOOL) added"
    assert "Designated Safeguarding Lead: Dee Lead added" in first
    with db.session() as session:
        assert apply_setup(session, school_setup(), clock.now()) == []
        assert roles_of(session, TEAM, DSL) == frozenset({Role.DSL})
    new_people = [(Role.DSL, Person(user_id=DSL, name="Dee Lead")),
                  (Role.DEPUTY_DSL, Person(user_id="U0NEWDEP", name="New Deputy")),
                  (Role.HEADTEACHER, Person(user_id=HEAD, name="Hed Teacher"))]
    with db.session() as session:
        changes = apply_setup(session, school_setup(people=new_people, lado_email=None), clock.now())
    assert sorted(changes) == sorted(["LADO email set to None", "Deputy DSL: New Deputy added",
                                      "Deputy DSL: Dep Uty removed",
                                      "Chair of governors: chair@example.org removed"])
    with db.session() as session:
        assert roles_of(session, TEAM, DEPUTY) == frozenset()


def test_a_persons_roles_read_as_a_column_of_another_statement_are_their_roles_in_that_school(
        db: Database, clock: ManualClock) -> None:
    both = [(Role.DSL, Person(user_id=DSL, name="Dee Lead")), (Role.HEADTEACHER, Person(user_id=DSL, name="Dee Lead"))]
    with db.session() as session:
        apply_setup(session, school_setup(people=both), clock.now())
        apply_setup(session, school_setup(team="T0OTHER", people=[(Role.DEPUTY_DSL, Person(user_id=DSL, name="D"))]),
                    clock.now())
    with db.session() as session:
        for team, user in ((TEAM, DSL), (TEAM, TEACHER), ("T0OTHER", DSL), ("T0NONE", DSL)):
            column = session.scalar(select(roles_column(team, user)))
            assert roles_in(column) == roles_of(session, team, user)
        assert roles_in(session.scalar(select(roles_column(TEAM, DSL)))) == frozenset({Role.DSL, Role.HEADTEACHER})
        assert roles_in(session.scalar(select(roles_column(TEAM, TEACHER)))) == frozenset()
