"""Building blocks for storage tests: a school with its roles, and a submitted concern."""

from __future__ import annotations

from datetime import date, datetime

from flows.concern import Role
from flows.report_form import ReportAnswers
from flows.school import Person, SchoolSetup
from storage.concerns import submit_report
from storage.db import Database
from storage.drafts import save_answers, start_draft
from storage.models import Concern, School
from storage.schools import apply_setup

TEAM = "T0SCHOOL"
DSL, DEPUTY, HEAD, TEACHER = "U0DSL", "U0DEPUTY", "U0HEAD", "U0TEACHER"
ANSWERS = {"category": "gaming", "urgency": "routine", "child_count": "1", "child_name_1": "Robin Example",
           "year_group_1": "year_5", "occurred_on": "2026-11-24", "occurred_time": "09:00",
           "why_concerned": "Robin said a stranger asked for photos.", "reporter_position": "Teacher"}


def school_setup(team: str = TEAM, **changes) -> SchoolSetup:  # type: ignore[no-untyped-def]
    values = dict(team_id=team, name="Test School", timezone="Europe/London", dsl_channel_id="C0DSL",
                  dsl_channel_name="dsl-team", lado_email="lado@example.org",
                  people=[(Role.DSL, Person(user_id=DSL, name="Dee Lead")),
                          (Role.DEPUTY_DSL, Person(user_id=DEPUTY, name="Dep Uty")),
                          (Role.HEADTEACHER, Person(user_id=HEAD, name="Hed Teacher")),
                          (Role.CHAIR_OF_GOVERNORS, Person(email="chair@example.org"))],
                  policies=[])
    return SchoolSetup(**{**values, **changes})


def set_up_school(db: Database, now: datetime, team: str = TEAM) -> None:
    with db.session() as session:
        apply_setup(session, school_setup(team), now)


def report(db: Database, now: datetime, team: str = TEAM, reporter: str = TEACHER, **answers: str) -> Concern:
    with db.session() as session:
        draft = start_draft(session, team, reporter, "report", "child", now)
        save_answers(draft, {**ANSWERS, **answers}, now)
        answers = ReportAnswers.from_answers(draft.answers, now.date())
        return submit_report(session, draft, answers, session.get_one(School, team), now)


def occurred(day: str) -> date:
    return date.fromisoformat(day)
