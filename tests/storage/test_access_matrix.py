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
