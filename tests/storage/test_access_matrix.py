"""The access matrix: every role × every kind of concern × every entry point, through storage, where
every entry point (buttons, modals, /concerns, exports, the governors' summary) gets its answer.

A refusal reveals nothing: open_record answers None for a concern refused exactly as for one that does
not exist, lists and exports simply leave it out, and the summary counts it at most anonymously."""

from datetime import date

import pytest

from flows.clock import ManualClock
from flows.concern import Role
from flows.handling import ActionAnswers, ActionKind
from flows.incident_log import Filters
from flows.school import Person
from storage import access, incident_log
from storage.concerns import acknowledge
from storage.db import Database
from storage.handling import record_action
from storage.outcomes import Result
from storage.schools import apply_setup
from tests.storage.helpers import report, school_setup

TEAM = "T0SCHOOL"
REPORTER, DSL, DEPUTY, HEAD, CHAIR, GOVERNOR, STAFF, SUBJECT = (
    "U0REPORTER", "U0DSL", "U0DEPUTY", "U0HEAD", "U0CHAIR", "U0GOV", "U0STAFF", "U0SUBJECT")
PEOPLE = {"reporter": REPORTER, "dsl": DSL, "deputy": DEPUTY, "head": HEAD, "chair": CHAIR,
          "online_safety_governor": GOVERNOR, "staff": STAFF, "subject": SUBJECT}
KINDS = {  # the report's answers for each kind of concern, and who it is about
    "pupil": {"subject": "pupil"},
    "staff": {"subject": "staff", "adult_user": SUBJECT, "threshold": "harm"},
    "dsl_member": {"subject": "staff", "adult_user": DEPUTY, "threshold": "harm"},
    "head": {"subject": "headteacher", "threshold": "harm"},
    "data_breach": {"subject": "nobody", "personal_data": "yes", "child_count": None},
}
# Who may open (and act on) each kind. Everyone else is refused at every entry point.
MAY_OPEN = {
    "pupil": {"dsl", "deputy"},
    "staff": {"head"},
    "dsl_member": {"head"},
    "head": {"chair"},
    "data_breach": {"dsl", "deputy", "head"},
}
# Who finds it in /concerns and the CSV export (the DSL team's log), when they may open it.
IN_LOG = {"pupil": {"dsl", "deputy"}, "staff": set(), "dsl_member": set(), "head": set(),
          "data_breach": {"dsl", "deputy"}}


def _school(db: Database, clock: ManualClock) -> None:
    people = [(Role.DSL, Person(user_id=DSL)), (Role.DEPUTY_DSL, Person(user_id=DEPUTY)),
              (Role.HEADTEACHER, Person(user_id=HEAD)), (Role.CHAIR_OF_GOVERNORS, Person(user_id=CHAIR)),
              (Role.ONLINE_SAFETY_GOVERNOR, Person(user_id=GOVERNOR))]
    with db.session() as session:
        apply_setup(session, school_setup(TEAM, people=people), clock.now())


def _concern(db: Database, clock: ManualClock, kind: str) -> int:
    _school(db, clock)
    answers = {**KINDS[kind]}
    if kind == "data_breach":
        answers.pop("child_count")
    return report(db, clock.now(), reporter=REPORTER, **answers).id


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("kind", list(KINDS))
def test_open_record(db: Database, clock: ManualClock, kind: str, person: str) -> None:
    concern_id = _concern(db, clock, kind)
    with db.session() as session:
        record = access.open_record(session, TEAM, concern_id, PEOPLE[person], clock.now())
        missing = access.open_record(session, TEAM, 987_654, PEOPLE[person], clock.now())
    assert (record is not None) is (person in MAY_OPEN[kind])
    assert missing is None


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("kind", list(KINDS))
def test_acknowledge_and_act(db: Database, clock: ManualClock, kind: str, person: str) -> None:
    concern_id = _concern(db, clock, kind)
    with db.session() as session:
        acked = acknowledge(session, TEAM, concern_id, PEOPLE[person], clock.now())
        assert (acked.result is Result.DONE) is (person in MAY_OPEN[kind])
        if acked.result is not Result.DONE:
            assert acked.result is Result.REFUSED and acked.summary is None  # nothing about it is revealed
            entitled = PEOPLE[sorted(MAY_OPEN[kind])[0]]
            assert acknowledge(session, TEAM, concern_id, entitled, clock.now()).result is Result.DONE
        action = ActionAnswers(action=ActionKind.OTHER, taken_on=date(2026, 11, 24))
        acted = record_action(session, TEAM, concern_id, PEOPLE[person], action, clock.now())
        assert (acted.result is Result.DONE) is (person in MAY_OPEN[kind])


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("kind", list(KINDS))
def test_concerns_list_and_export(db: Database, clock: ManualClock, kind: str, person: str) -> None:
    concern_id = _concern(db, clock, kind)
    with db.session() as session:
        listed = incident_log.list_concerns(session, TEAM, PEOPLE[person], Filters(status="all"))
        exported = incident_log.export_incidents(session, TEAM, PEOPLE[person], Filters(status="all"), clock.now())
        exported_ids = [row.concern.id for row in exported] if exported is not None else None
    expected = person in IN_LOG[kind]
    assert (listed is not None and concern_id in [c.id for c in listed]) is expected
    assert (exported_ids is not None and concern_id in exported_ids) is expected
    if person not in ("dsl", "deputy"):
        assert listed is None and exported_ids is None  # the log itself is the DSL team's


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("kind", list(KINDS))
def test_governors_summary(db: Database, clock: ManualClock, kind: str, person: str) -> None:
    _concern(db, clock, kind)
    with db.session() as session:
        summary = incident_log.governors_summary(session, TEAM, PEOPLE[person], Filters(status="all"))
    if person not in ("dsl", "deputy", "head", "chair", "online_safety_governor"):
        assert summary is None
        return
    adult = kind in ("staff", "dsl_member", "head")
    assert summary.total == (0 if adult else 1)  # adults never in the detailed counts
    # Only the governance roles get even a count, and never of a concern about themselves.
    counted = person in ("head", "chair", "online_safety_governor") and not (kind == "head" and person == "head")
    assert summary.about_adults == (1 if adult and counted else 0)


def test_a_nudes_concern_about_the_head_never_reaches_the_head(db: Database, clock: ManualClock) -> None:
    from flows.nudes import InitialReview, ReferralCondition
    from storage.handling import record_initial_review
    from storage.models import OutboxMessage
    from sqlalchemy import select

    _school(db, clock)
    concern = report(db, clock.now(), reporter=REPORTER, subject="headteacher", threshold="harm", category="nudes")
    with db.session() as session:
        acknowledge(session, TEAM, concern.id, CHAIR, clock.now())
        review = InitialReview(conditions=[ReferralCondition.ADULT_INVOLVED], parents_told="yes")
        assert record_initial_review(session, TEAM, concern.id, CHAIR, review, clock.now()).result is Result.NOT_OPEN
    with db.session() as session:
        assert [o.recipient_id for o in session.scalars(select(OutboxMessage))].count(HEAD) == 0


def test_a_typed_name_of_the_head_is_routed_as_about_the_head(db: Database, clock: ManualClock) -> None:
    from storage.schools import apply_setup as setup
    people = [(Role.DSL, Person(user_id=DSL, name="Dee Lead")), (Role.HEADTEACHER, Person(user_id=HEAD, name="Hed Teacher")),
              (Role.CHAIR_OF_GOVERNORS, Person(user_id=CHAIR, name="Char Man"))]
    with db.session() as session:
        setup(session, school_setup(TEAM, people=people), clock.now())
    typed = report(db, clock.now(), reporter=REPORTER, subject="staff", adult_name="  hed  TEACHER ", threshold="harm")
    assert (typed.subject_kind, typed.subject_user_id, typed.case_roles) == ("headteacher", HEAD, ["chair_of_governors"])
    chair = report(db, clock.now(), reporter=REPORTER, subject="chair_of_governors", threshold="low_level")
    assert (chair.subject_kind, chair.subject_user_id, chair.case_roles) == ("chair_of_governors", CHAIR, ["headteacher"])
    with db.session() as session:
        assert access.open_record(session, TEAM, typed.id, HEAD, clock.now()) is None
        assert access.open_record(session, TEAM, chair.id, CHAIR, clock.now()) is None


def test_when_roles_change_an_open_concern_about_an_adult_follows_the_chain(db: Database, clock: ManualClock) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from storage import deadlines
    from storage.models import OutboxMessage
    from storage.routing import reroute_open
    from storage.schools import apply_setup as setup

    _school(db, clock)
    concern = report(db, clock.now(), reporter=REPORTER, subject="staff", adult_user=DEPUTY, threshold="harm")
    assert concern.case_roles == ["headteacher"]
    with db.session() as session:  # the deputy becomes head; the old head leaves
        setup(session, school_setup(TEAM, people=[(Role.DSL, Person(user_id=DSL)), (Role.HEADTEACHER, Person(user_id=DEPUTY)),
                                                  (Role.CHAIR_OF_GOVERNORS, Person(user_id=CHAIR))]), clock.now())
        session.flush()
        assert reroute_open(session, TEAM, clock.now()) == [f"{concern.reference} now goes to chair_of_governors"]
    with db.session() as session:
        assert access.open_record(session, TEAM, concern.id, CHAIR, clock.now()) is not None
        assert access.open_record(session, TEAM, concern.id, DEPUTY, clock.now()) is None  # still the subject
        alerts = session.scalars(select(OutboxMessage.recipient_id).where(OutboxMessage.kind == "case_alert")).all()
        assert sorted(alerts) == [CHAIR, HEAD]
        assert deadlines.remind_due(session, clock.advance(timedelta(hours=22))) == 1  # the chair is reminded
