"""Subject access and transfer: which concerns a child's or a member of staff's export holds, and who may have it."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from flows.clock import ManualClock
from flows.concern import Role
from flows.school import Person
from storage.db import Database
from storage.models import Concern, ConcernEvent
from storage.schools import apply_setup
from storage.subject_access import ExportKind, NotEntitled, child_records, log_export, staff_records
from tests.storage.helpers import DEPUTY, DSL, HEAD, TEACHER, TEAM, report, school_setup

OTHER_TEAM = "T0OTHER"
CHAIR, GOVERNOR, COLLEAGUE = "U0CHAIR", "U0GOVERNOR", "U0COLLEAGUE"
CHILD = "Zephyrine Quillfeather"


def _schools(db: Database, clock: ManualClock) -> None:
    people = [(Role.DSL, Person(user_id=DSL, name="Dee Lead")),
              (Role.DEPUTY_DSL, Person(user_id=DEPUTY, name="Dep Uty")),
              (Role.HEADTEACHER, Person(user_id=HEAD, name="Hed Teacher")),
              (Role.CHAIR_OF_GOVERNORS, Person(user_id=CHAIR, name="Cha Ir")),
              (Role.ONLINE_SAFETY_GOVERNOR, Person(user_id=GOVERNOR, name="Gov Ernor"))]
    with db.session() as session:
        apply_setup(session, school_setup(people=people), clock.now())
        apply_setup(session, school_setup(OTHER_TEAM, people=people), clock.now())


def _child(db: Database, clock: ManualClock, name: str, team: str = TEAM, **answers: str) -> int:
    return report(db, clock.advance(timedelta(minutes=5)), team=team, child_name_1=name, **answers).id


def _about(db: Database, clock: ManualClock, adult: str, subject: str = "staff") -> int:
    return report(db, clock.advance(timedelta(minutes=5)), subject=subject, adult_user=adult, threshold="harm",
                  category="social_networking").id


def test_a_childs_export_holds_every_concern_about_them_and_no_one_elses(db: Database, clock: ManualClock) -> None:
    _schools(db, clock)
    first = _child(db, clock, CHILD)
    _child(db, clock, "Zephyrina Quillfeather")  # a similar name: another child
    _child(db, clock, CHILD, team=OTHER_TEAM)  # the same name in another school: another child
    second = _child(db, clock, "  zéphyrine   QUILLFEATHER ", why_concerned="A second worry about the kraken.")
    _child(db, clock, "Robin Example")
    with db.session() as session:
        gathered = child_records(session, TEAM, DEPUTY, CHILD, clock.now())
    assert gathered.kind is ExportKind.CHILD and gathered.subject == CHILD
    assert [r.summary.id for r in gathered.records] == [first, second]
    assert gathered.records[1].answers.why_concerned == "A second worry about the kraken."
    assert gathered.records[0].history[0].to_status == "new" and gathered.records[0].events[0].kind == "reported"
    assert gathered.people[DSL] == "Dee Lead" and gathered.timezone == "Europe/London"
    with db.session() as session:  # gathering reads only; the export is logged when it is written
        assert not session.scalars(select(ConcernEvent).where(ConcernEvent.kind == "exported")).all()
        log_export(session, gathered, ["pdf", "json"], clock.now())
    with db.session() as session:
        logged = session.scalars(select(ConcernEvent).where(ConcernEvent.kind == "exported")).all()
    assert sorted(e.concern_id for e in logged) == [first, second]
    assert {(e.actor_id, e.at) for e in logged} == {(DEPUTY, clock.now())}
    assert all(e.data == {"export": "child", "formats": ["pdf", "json"]} for e in logged)


def test_only_the_dsl_team_and_the_head_may_export_a_child_and_the_head_only_what_reached_them(
        db: Database, clock: ManualClock) -> None:
    _schools(db, clock)
    first = _child(db, clock, CHILD)
    escalated = _child(db, clock, CHILD)
    with db.session() as session:
        for refused in (TEACHER, GOVERNOR, CHAIR):
            with pytest.raises(NotEntitled, match="is not the DSL, a deputy DSL or the headteacher"):
                child_records(session, TEAM, refused, CHILD, clock.now())
        with pytest.raises(NotEntitled, match="no concern you may open names a child of that name"):
            child_records(session, TEAM, HEAD, CHILD, clock.now())
        with pytest.raises(NotEntitled, match="no concern you may open names a child of that name"):
            child_records(session, TEAM, DSL, "Nobody Atall", clock.now())
        session.get_one(Concern, escalated).escalation_level = 2  # not acknowledged: escalated to the head
    with db.session() as session:
        assert [r.summary.id for r in child_records(session, TEAM, HEAD, CHILD, clock.now()).records] == [escalated]
        everything = child_records(session, TEAM, DSL, CHILD, clock.now()).records
        assert [r.summary.id for r in everything] == [first, escalated]


def test_concerns_about_staff_go_to_the_head_and_about_the_head_to_the_chair(db: Database, clock: ManualClock) -> None:
    _schools(db, clock)
    about_colleague = _about(db, clock, COLLEAGUE)
    _about(db, clock, TEACHER)  # someone else
    _child(db, clock, CHILD)
    about_head = report(db, clock.advance(timedelta(minutes=5)), subject="headteacher", threshold="harm",
                        category="social_networking").id
    with db.session() as session:
        gathered = staff_records(session, TEAM, HEAD, COLLEAGUE, clock.now())
        assert gathered.kind is ExportKind.STAFF and [r.summary.id for r in gathered.records] == [about_colleague]
        for refused in (DSL, DEPUTY, CHAIR, TEACHER):
            with pytest.raises(NotEntitled, match="is not the headteacher, who alone may export"):
                staff_records(session, TEAM, refused, COLLEAGUE, clock.now())
        with pytest.raises(NotEntitled, match="nobody may export the concerns about themselves"):
            staff_records(session, TEAM, HEAD, HEAD, clock.now())
        for refused in (DSL, COLLEAGUE):
            with pytest.raises(NotEntitled, match="is not the chair of governors, who alone may export"):
                staff_records(session, TEAM, refused, HEAD, clock.now())
        assert [r.summary.id for r in staff_records(session, TEAM, CHAIR, HEAD, clock.now()).records] == [about_head]
        with pytest.raises(NotEntitled, match="no concern you may open is about that member of staff"):
            staff_records(session, OTHER_TEAM, HEAD, COLLEAGUE, clock.now())
