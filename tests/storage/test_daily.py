"""The school day's routine honours each school's own times."""

from datetime import datetime, time

from sqlalchemy import select

from flows.clock import ManualClock
from storage.daily import run_school_day
from storage.db import Database
from storage.drafts import save_answers, start_draft
from storage.models import OutboxMessage, School
from tests.conftest import LONDON
from tests.storage.helpers import TEACHER, TEAM, set_up_school


def test_a_school_that_nudges_at_two_oclock(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    with db.session() as session:
        school = session.get_one(School, TEAM)
        school.draft_nudge_at, school.day_ends = time(14, 0), time(15, 15)
        draft = start_draft(session, TEAM, TEACHER, "report", "concern", clock.now())
        save_answers(draft, {"category": "gaming"}, clock.now())
    for hour, minute, expected in ((13, 59, []), (14, 0, ["draft_nudge"]), (15, 15, ["draft_nudge", "draft_unsent"])):
        with db.session() as session:
            run_school_day(session, session.get_one(School, TEAM), datetime(2026, 11, 24, hour, minute, tzinfo=LONDON))
        with db.session() as session:
            assert sorted(session.scalars(select(OutboxMessage.kind))) == expected


def test_an_empty_draft_is_not_nagged_about(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    with db.session() as session:
        start_draft(session, TEAM, TEACHER, "report", "concern", clock.now())  # opened, nothing typed
        assert run_school_day(session, session.get_one(School, TEAM), datetime(2026, 11, 24, 17, 0, tzinfo=LONDON)) == 0
