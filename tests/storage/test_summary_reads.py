"""What a message is rendered from: a concern's summary read in one statement, without what was reported."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.exc import InvalidRequestError

from flows.clock import ManualClock
from storage import access
from storage.db import Database
from storage.models import InitialReview
from tests.storage.helpers import DSL, TEAM, report, set_up_school


def _statements(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_a_summary_and_its_concern_come_in_one_statement_without_the_details(db: Database,
                                                                             clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    seen = _statements(db)
    with db.session() as session:
        before = len(seen)
        found = access.concern_and_summary(session, TEAM, concern.id)
        assert len(seen) - before == 1
        assert found is not None
        row, summary = found
        assert (summary.id, summary.reference, summary.has_initial_review) == (concern.id, concern.reference, False)
        assert row.case_roles == concern.case_roles  # the routing is there for the access checks
        assert "details" not in seen[-1].split("FROM")[0]  # what was reported is not even read
        with pytest.raises(InvalidRequestError):
            row.details  # noqa: B018 - touching it must fail, not quietly load and open it


def test_the_summary_says_whether_the_concern_has_an_initial_review(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    reviewed, other = report(db, clock.now()), report(db, clock.now())
    with db.session() as session:
        session.add(InitialReview(team_id=TEAM, concern_id=reviewed.id, conditions=[], parents_told="yes",
                                  recorded_by=DSL, recorded_at=clock.now()))
    with db.session() as session:
        assert access.summary(session, TEAM, reviewed.id).has_initial_review is True  # type: ignore[union-attr]
        assert access.summary(session, TEAM, other.id).has_initial_review is False  # type: ignore[union-attr]


def test_another_schools_concern_is_not_found(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    with db.session() as session:
        assert access.concern_and_summary(session, "T0ELSEWHERE", concern.id) is None
        assert access.summary(session, "T0ELSEWHERE", concern.id) is None
