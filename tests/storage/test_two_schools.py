"""Two schools in one database (a trust's deployment, or an Enterprise Grid where one person belongs to
both): no query, list, count, reminder or job of one ever reaches into the other. The same Slack user
holds the DSL role in one school and no role in the other."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from storage.db import Database

from flows.aup import AupDocument, Reason
from flows.concern import Role
from flows.incident_log import Filters
from flows.school import Person
from storage import access, aup, incident_log
from storage.escalation import due as escalation_due
from storage.escalation import escalate
from storage.home import home_for
from storage.models import OutboxMessage, School
from storage.schools import apply_setup, roles_of
from storage.yearly import load_state
from tests.storage.helpers import DSL, HEAD, TEACHER, report, school_setup

A, B = "T0SCHOOLA", "T0SCHOOLB"
NOW = datetime(2026, 11, 24, 10, 0).astimezone()


def _two_schools(db) -> None:  # type: ignore[no-untyped-def]
    with db.session() as session:
        apply_setup(session, school_setup(A), NOW)
        apply_setup(session, school_setup(B, dsl_channel_id="C0OTHER", people=[
            (Role.DSL, Person(user_id="U0OTHERDSL", name="Other Lead")),
            (Role.HEADTEACHER, Person(user_id="U0OTHERHEAD", name="Other Head"))]), NOW)


def test_nothing_of_one_school_is_seen_from_the_other(db) -> None:  # type: ignore[no-untyped-def]
    _two_schools(db)
    mine = report(db, NOW, team=A)  # a pupil concern at school A, reported by the teacher
    theirs = report(db, NOW, team=B, reporter=TEACHER)  # the same teacher id at school B (a Grid user)
    with db.session() as session:
        # DSL at A holds no role at B: nothing of B's, from B's side or A's
        assert access.find(session, B, mine.id) is None and access.find(session, A, theirs.id) is None
        assert access.open_record(session, B, mine.id, DSL, NOW) is None
        assert [c.reference for c in incident_log.list_concerns(session, A, DSL, Filters())] == [mine.reference]
        assert incident_log.list_concerns(session, B, DSL, Filters()) is None
        assert incident_log.governors_summary(session, A, HEAD, Filters(status="all")).total == 1
        home_a = home_for(session, session.get_one(School, A), DSL, NOW)
        home_b = home_for(session, session.get_one(School, B), DSL, NOW)
        assert [c.reference for c in home_a.open_concerns] == [mine.reference]
        assert not home_b.handles and home_b.open_concerns == []
        assert [c.reference for c in home_for(session, session.get_one(School, B), TEACHER, NOW).reported] == \
            [theirs.reference]
        # outbox rows carry their own school
        teams = {(row.team_id, row.concern_id) for row in session.query(OutboxMessage)}
        assert all(team == A for team, cid in teams if cid == mine.id)
        assert all(team == B for team, cid in teams if cid == theirs.id)


def test_the_aup_and_the_yearly_cycle_stay_in_their_school(db) -> None:  # type: ignore[no-untyped-def]
    _two_schools(db)
    with db.session() as session:
        school_a = session.get_one(School, A)
        version, _ = aup.add_version(session, A, AupDocument(version="1", text="Rules."), None, NOW)
        aup.start_round(session, school_a, Reason.NEW_VERSION, "version:a", version, [TEACHER, DSL], NOW, NOW, NOW,
                        None)
    with db.session() as session:
        assert aup.status_of(session, B, TEACHER) is None  # asked at A, not at B
        assert aup.staff_status(session, B) == [] and aup.signing_rate(session, B) == (0, 0)
        assert aup.current_version(session, B) is None
        state_b = load_state(session, session.get_one(School, B))
        assert state_b.pending == () and state_b.current_version is None
        assert len(load_state(session, session.get_one(School, A)).pending) == 2
        request_id = aup.status_of(session, A, TEACHER)[0].id
        assert aup.sign(session, B, request_id, TEACHER, NOW).result is aup.SignResult.NOT_FOUND


def test_escalation_acts_on_each_concern_in_its_own_school(db) -> None:  # type: ignore[no-untyped-def]
    _two_schools(db)
    mine = report(db, NOW, team=A)
    theirs = report(db, NOW, team=B)
    later = NOW + timedelta(hours=2)
    with db.session() as session:
        assert sorted(escalation_due(session, later)) == sorted([mine.id, theirs.id])
    for concern_id in (mine.id, theirs.id):
        with db.session() as session:
            escalate(session, concern_id, later)
    with db.session() as session:
        pages = [(row.team_id, row.concern_id, row.recipient_id) for row in session.query(OutboxMessage)
                 if row.kind == "escalation"]
        assert pages, "each unacknowledged concern escalates"
        for team, concern_id, recipient in pages:
            assert team == (A if concern_id == mine.id else B)
            assert roles_of(session, team, recipient), f"{recipient} holds no role at {team}"
        assert {r for t, _, r in pages if t == B} <= {"U0OTHERDSL", "U0OTHERHEAD"}


def test_expired_install_links_are_purged_and_live_ones_kept(db: Database) -> None:
    from sqlalchemy import func, insert, select

    from storage.installs import purge_states, slack_oauth_states

    now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    with db.session() as session:
        session.execute(insert(slack_oauth_states), [
            {"state": "used-up", "expire_at": datetime(2026, 11, 24, 11, 50)},  # naive UTC, as slack-sdk writes
            {"state": "live", "expire_at": datetime(2026, 11, 24, 12, 5)}])
    with db.session() as session:
        assert purge_states(session, now) == 1
    with db.session() as session:
        assert session.scalars(select(slack_oauth_states.c.state)).all() == ["live"]
        assert session.scalar(select(func.count()).select_from(slack_oauth_states)) == 1
