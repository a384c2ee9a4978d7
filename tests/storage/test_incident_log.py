"""The incident log: filters, who may list and export it, what the governors' summary holds."""

from datetime import date, timedelta

import pytest

from flows.clock import ManualClock
from flows.concern import Category
from flows.handling import ActionAnswers, ActionKind
from flows.incident_log import FilterError, Filters, parse_filters
from storage import incident_log
from storage.concerns import acknowledge
from storage.db import Database
from storage.events import events_for
from storage.handling import close, record_action
from tests.storage.helpers import DEPUTY, DSL, HEAD, TEACHER, TEAM, report, set_up_school


def test_filters_parse_and_explain_mistakes() -> None:
    f = parse_filters("status:closed category:groom since:2026-09-01 until:2026-12-31")
    assert (f.status, f.category, f.since, f.until) == ("closed", Category.GROOMING, date(2026, 9, 1), date(2026, 12, 31))
    assert parse_filters("").statuses()[-1].value == "in_progress"
    assert parse_filters("category:Cyberbullying").category is Category.CYBERBULLYING
    for bad, says in (("status:lost", "'lost' is not a status"), ("since:yesterday", "not a date"),
                      ("hello", "didn't understand 'hello'"), ("category:sport", "no category called 'sport'")):
        with pytest.raises(FilterError, match=says):
            parse_filters(bad)


def _three(db: Database, clock: ManualClock) -> list[int]:
    set_up_school(db, clock.now())
    a = report(db, clock.now(), category="gaming")
    b = report(db, clock.advance(timedelta(days=1)), category="grooming", urgency="urgent")
    c = report(db, clock.advance(timedelta(days=1)), category="gaming", occurred_on="2026-11-20",
               late_reason="Away on a trip.")
    with db.session() as session:
        acknowledge(session, TEAM, a.id, DSL, clock.now())
        close(session, TEAM, a.id, DSL, "Resolved with parents.", clock.advance(timedelta(minutes=5)), date(2026, 11, 26))
    return [a.id, b.id, c.id]


def test_the_dsl_team_lists_concerns_by_filter_and_nobody_else_can(db: Database, clock: ManualClock) -> None:
    _three(db, clock)
    with db.session() as session:
        assert [c.reference for c in incident_log.list_concerns(session, TEAM, DEPUTY, Filters())] == [
            "OS-2026-0003", "OS-2026-0002"]
        gaming = incident_log.list_concerns(session, TEAM, DSL, parse_filters("status:all category:gaming"))
        assert [c.reference for c in gaming] == ["OS-2026-0003", "OS-2026-0001"]
        since = incident_log.list_concerns(session, TEAM, DSL, parse_filters("status:all since:2026-11-25"))
        assert len(since) == 2
        for outsider in (HEAD, TEACHER):
            assert incident_log.list_concerns(session, TEAM, outsider, Filters()) is None


def test_exporting_is_logged_on_every_concern_and_refused_to_others(db: Database, clock: ManualClock) -> None:
    ids = _three(db, clock)
    with db.session() as session:
        assert incident_log.export_incidents(session, TEAM, HEAD, Filters(status="all"), clock.now()) is None
        rows = list(incident_log.export_incidents(session, TEAM, DSL, Filters(status="all"), clock.now()))
        assert len(rows) == 3
    with db.session() as session:
        for concern_id in ids:
            assert [e.actor_id for e in events_for(session, TEAM, concern_id) if e.kind == "exported"] == [DSL]


def test_the_governors_summary_is_counts_only(db: Database, clock: ManualClock) -> None:
    _three(db, clock)
    with db.session() as session:
        assert incident_log.governors_summary(session, TEAM, TEACHER, Filters(status="all")) is None
        summary = incident_log.governors_summary(session, TEAM, HEAD, Filters(status="all"))
    assert summary.total == 3 and summary.recorded_late == 1
    assert summary.by_category == {"Gaming": 2, "Grooming": 1}
    assert summary.by_month == {"2026-11": 3}
    assert summary.by_status == {"Closed": 1, "New": 2}
    assert summary.minutes_to_acknowledge_median == 2880.0  # reported on the 24th, acknowledged on the 26th
    assert "Robin" not in repr(summary)


def test_the_governors_summary_counts_each_action_and_referral_by_kind(db: Database, clock: ManualClock) -> None:
    _, urgent, _ = _three(db, clock)
    with db.session() as session:
        acknowledge(session, TEAM, urgent, DSL, clock.now())
        for kind in (ActionKind.POLICE, ActionKind.PARENTS_INFORMED, ActionKind.POLICE, ActionKind.SOCIAL_CARE):
            record_action(session, TEAM, urgent, DEPUTY, ActionAnswers(action=kind, taken_on=clock.now().date(),
                                                                       note="Done."), clock.now())
        summary = incident_log.governors_summary(session, TEAM, HEAD, Filters(status="all"))
    assert summary.referrals == {"Reported to the police": 2, "Referred to children's social care": 1}
    assert summary.actions == {"Reported to the police": 2, "Referred to children's social care": 1,
                               "Parents / carers informed": 1}
