"""The yearly cycle's rules, pure: the AUP, policy reviews, the governors' report, and the calendar."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from flows.aup import AupDocument, AupRules, Member, academic_year, annual_start, chaser_due, is_staff
from flows.governors_report import period_for, period_to_date, report_due
from flows.policy_reviews import ReviewStage, next_review_after, review_stage, when_due
from flows.school import Cadence
from flows.school_time import SchoolDay
from flows.yearly import DueKind, PendingSignature, PolicyState, YearlyState, assume_done, due_on

LONDON = ZoneInfo("Europe/London")
SCHOOL = SchoolDay(bank_holidays=True, closed=frozenset({date(2027, 1, 4)}))
DATES = ("12-10", "03-25", "07-15")


def test_an_aup_is_text_or_a_link_and_its_hash_is_its_words() -> None:
    with pytest.raises(ValidationError):
        AupDocument(version="1")
    with pytest.raises(ValidationError):
        AupDocument(version="1", text="Use school devices responsibly.", url="https://example.org/aup")
    a = AupDocument(version="2026-09", text="Use school devices responsibly.\n")
    assert a.content_hash == AupDocument(version="another label", text="Use school devices responsibly.  ").content_hash
    assert a.content_hash != AupDocument(version="2026-09", text="Use school devices carefully.").content_hash
    assert a.content_hash != AupDocument(version="2026-09", url="https://example.org/aup").content_hash


def test_who_is_staff() -> None:
    rules = AupRules()
    assert is_staff(Member(id="U1"), rules)
    assert not any(is_staff(m, rules) for m in (
        Member(id="U2", is_bot=True), Member(id="U3", deleted=True), Member(id="USLACKBOT"),
        Member(id="U4", is_restricted=True), Member(id="U5", is_ultra_restricted=True),
        Member(id="U6", is_app_user=True)))
    assert is_staff(Member(id="U4", is_restricted=True), AupRules(include_guests=True))


def test_the_annual_round_starts_on_the_first_school_day_on_or_after_its_date() -> None:
    assert annual_start(2026, "09-01", SCHOOL) == date(2026, 9, 1)  # a Tuesday
    assert annual_start(2027, "09-01", SCHOOL) == date(2027, 9, 1)  # a Wednesday
    assert annual_start(2026, "08-31", SCHOOL) == date(2026, 9, 1)  # 31 Aug 2026 is a bank holiday
    assert annual_start(2026, "09-05", SCHOOL) == date(2026, 9, 7)  # a Saturday: the Monday after
    assert academic_year(date(2026, 8, 31), "09-01") == 2025
    assert academic_year(date(2026, 9, 1), "09-01") == 2026
    with pytest.raises(ValidationError):
        AupRules(annual_on="09-31")


def test_reminders_come_a_week_after_the_last_message_up_to_the_limit() -> None:
    asked = date(2026, 9, 1)
    assert not chaser_due(asked, 0, asked + timedelta(days=6), 4)
    assert chaser_due(asked, 0, asked + timedelta(days=7), 4)
    assert not chaser_due(asked, 4, asked + timedelta(days=70), 4)
    assert not chaser_due(asked, 0, asked + timedelta(days=70), 0)


def test_policy_review_windows() -> None:
    due = date(2027, 7, 1)
    assert review_stage(due, date(2027, 5, 31)) is None
    assert review_stage(due, date(2027, 6, 1)).stage is ReviewStage.MONTH_BEFORE
    assert review_stage(due, date(2027, 6, 24)).stage is ReviewStage.WEEK_BEFORE
    assert review_stage(due, date(2027, 7, 1)).key == "due"
    assert review_stage(due, date(2027, 7, 7)).key == "due"
    assert review_stage(due, date(2027, 7, 8)).key == "overdue-1"
    assert review_stage(due, date(2027, 7, 22)).key == "overdue-3"
    assert when_due(due, date(2027, 6, 1)) == "in 30 days"
    assert when_due(due, date(2027, 7, 15)) == "2 weeks overdue"
    assert next_review_after(date(2026, 7, 1), Cadence.TRIENNIAL) == date(2029, 7, 1)
    assert next_review_after(date(2028, 2, 29), Cadence.ANNUAL) == date(2029, 2, 28)


def test_the_governors_report_comes_once_a_term_from_when_the_school_was_set_up() -> None:
    installed = date(2026, 10, 1)
    assert report_due(date(2026, 12, 9), DATES, SCHOOL, installed) is None
    period = report_due(date(2026, 12, 10), DATES, SCHOOL, installed)
    assert (period.key, period.starts, period.ends, period.term) == \
        ("2026-12-10", date(2026, 7, 15), date(2026, 12, 9), "autumn term 2026")
    assert report_due(date(2026, 12, 14), DATES, SCHOOL, installed).key == "2026-12-10"  # missed: goes late
    assert report_due(date(2026, 12, 12), DATES, SCHOOL, installed) is None  # a Saturday
    assert report_due(date(2026, 12, 10), DATES, SCHOOL, date(2026, 12, 11)) is None  # not set up yet
    assert period_for(date(2027, 3, 25), DATES).starts == date(2026, 12, 10)
    assert period_to_date(date(2027, 1, 20), DATES).starts == date(2026, 12, 10)


def test_the_school_opens_after_weekends_bank_holidays_and_across_the_clocks_changing() -> None:
    tz = "Europe/London"
    saturday_before_gmt = datetime(2026, 10, 24, 12, 0, tzinfo=LONDON)
    assert SCHOOL.next_opening(saturday_before_gmt, tz) == datetime(2026, 10, 26, 8, 0, tzinfo=timezone.utc)
    saturday_before_bst = datetime(2027, 3, 27, 12, 0, tzinfo=LONDON)  # clocks go forward on Easter Sunday
    assert SCHOOL.next_opening(saturday_before_bst, tz) == datetime(2027, 3, 30, 7, 0, tzinfo=timezone.utc)
    christmas_eve_evening = datetime(2026, 12, 24, 18, 0, tzinfo=LONDON)  # Christmas, Boxing Day (Monday 28th)
    assert SCHOOL.next_opening(christmas_eve_evening, tz) == datetime(2026, 12, 29, 8, 0, tzinfo=timezone.utc)
    in_hours = datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)
    assert SCHOOL.next_opening(in_hours, tz) == in_hours
    assert not SCHOOL.is_open_on(date(2027, 1, 4))  # a closure day


def _state(**changes) -> YearlyState:  # type: ignore[no-untyped-def]
    base = dict(school_day=SCHOOL, installed_on=date(2026, 7, 20), report_dates=DATES, current_version="2026-09")
    return YearlyState(**{**base, **changes})


def test_nothing_is_due_when_the_school_is_shut() -> None:
    state = _state(last_round_on=date(2026, 9, 1),
                   policies=(PolicyState(1, "Online Safety Policy", "U1", date(2026, 12, 26)),))
    assert due_on(state, date(2026, 11, 28)) == []  # Saturday
    assert due_on(state, date(2026, 12, 28)) == []  # Boxing Day's substitute bank holiday
    assert due_on(state, date(2027, 1, 4)) == []  # the school's closure day
    assert [d.key for d in due_on(state, date(2026, 11, 30))] == ["policy:1:2026-12-26:30_days"]


def test_the_annual_round_is_due_once_and_caught_up_after_downtime() -> None:
    state = _state()
    assert due_on(state, date(2026, 8, 28)) == []
    [due] = due_on(state, date(2026, 9, 1))
    assert (due.kind, due.key, due.year) == (DueKind.ANNUAL_ROUND, "aup-annual:2026", 2026)
    assert [d.key for d in due_on(state, date(2026, 9, 8))] == ["aup-annual:2026"]  # missed: caught up
    assert due_on(assume_done(state, [due], date(2026, 9, 1)), date(2026, 9, 2)) == []
    assert due_on(_state(current_version=None), date(2026, 9, 1)) == []  # no AUP loaded: nothing to sign
    # a new version's round since the school year began counts as this year's: nobody is asked twice
    assert due_on(_state(last_round_on=date(2026, 10, 1)), date(2026, 10, 2)) == []
    assert [d.key for d in due_on(_state(last_round_on=date(2026, 8, 20)), date(2026, 9, 1))] == ["aup-annual:2026"]
    assert due_on(_state(installed_on=date(2026, 10, 1)), date(2026, 10, 5)) == []  # set up after this year's


def test_a_dry_run_of_reminders_follows_the_rules_day_by_day() -> None:
    """Two who haven't signed, four reminders at most, over the half term: who gets what, and when."""
    asked = date(2026, 10, 13)
    state = _state(last_round_on=date(2026, 9, 1), pending=(
        PendingSignature(1, "U1", asked, asked, 0), PendingSignature(2, "U2", asked, date(2026, 10, 16), 1)))
    plan: list[tuple[date, str]] = []
    day = date(2026, 10, 14)
    while day < date(2026, 12, 1):
        dues = due_on(state, day)
        plan += [(day, d.key) for d in dues]
        state = assume_done(state, dues, day)
        day += timedelta(days=1)
    reminders = [(d, k) for d, k in plan if k.startswith("aup-reminder")]
    assert reminders == [
        (date(2026, 10, 20), "aup-reminder:1:1"), (date(2026, 10, 23), "aup-reminder:2:2"),
        (date(2026, 10, 27), "aup-reminder:1:2"), (date(2026, 10, 30), "aup-reminder:2:3"),
        (date(2026, 11, 3), "aup-reminder:1:3"), (date(2026, 11, 6), "aup-reminder:2:4"),
        (date(2026, 11, 10), "aup-reminder:1:4"),
    ]
    weekly = [d for d, k in plan if k.startswith("aup-weekly")]
    assert weekly[0] == date(2026, 10, 20) and all(d.weekday() == 0 for d in weekly[1:]) and len(weekly) == 7


def test_a_round_is_paced_evenly_per_school_and_not_at_all_when_off() -> None:
    from bot.pacing import Pacer

    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = Pacer(4, sleep=sleep, monotonic=lambda: now[0])
    assert [pacer.wait("T0A") for _ in range(3)] == [0.0, 0.25, 0.25]
    assert pacer.wait("T0B") == 0.0  # another school has its own allowance
    now[0] += 10  # a quiet spell earns no burst beyond the next turn
    assert [pacer.wait("T0A"), pacer.wait("T0A")] == [0.0, 0.25]
    assert slept == [0.25, 0.25, 0.25]
    assert Pacer(0, sleep=sleep).wait("T0A") == 0.0 and len(slept) == 3
