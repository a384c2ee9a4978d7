"""Deadlines counted in school time: hours, weekends, closures, and the clocks changing."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from flows.school_time import SchoolDay, add_school_minutes

LONDON = ZoneInfo("Europe/London")
DAY = SchoolDay()


def due(*start: int, minutes: int = 30, day: SchoolDay = DAY) -> datetime:
    return add_school_minutes(datetime(*start, tzinfo=LONDON), minutes, day, "Europe/London").astimezone(LONDON)


def test_within_the_school_day() -> None:
    assert due(2026, 11, 24, 10, 0) == datetime(2026, 11, 24, 10, 30, tzinfo=LONDON)


def test_carried_over_the_end_of_the_day_and_the_weekend() -> None:
    assert due(2026, 11, 24, 16, 50) == datetime(2026, 11, 25, 8, 20, tzinfo=LONDON)
    assert due(2026, 11, 27, 16, 50) == datetime(2026, 11, 30, 8, 20, tzinfo=LONDON)  # Friday to Monday


def test_reported_out_of_hours_counts_from_the_next_opening() -> None:
    assert due(2026, 11, 24, 6, 15) == datetime(2026, 11, 24, 8, 30, tzinfo=LONDON)
    assert due(2026, 11, 28, 12, 0) == datetime(2026, 11, 30, 8, 30, tzinfo=LONDON)  # a Saturday


def test_closure_days_are_skipped() -> None:
    closed = SchoolDay(closed=frozenset({date(2026, 11, 25)}))
    assert due(2026, 11, 24, 16, 50, day=closed) == datetime(2026, 11, 26, 8, 20, tzinfo=LONDON)


def test_across_the_clocks_going_back() -> None:
    # Friday 23 Oct 2026 16:45 BST; the clocks go back on Sunday 25 Oct; 08:15 GMT on Monday.
    result = due(2026, 10, 23, 16, 45)
    assert result == datetime(2026, 10, 26, 8, 15, tzinfo=LONDON) and result.utcoffset().total_seconds() == 0


def test_a_school_day_must_make_sense() -> None:
    with pytest.raises(ValueError, match="end after it starts"):
        SchoolDay(starts=time(17, 0), ends=time(8, 0))
    with pytest.raises(ValueError, match="no school day"):
        due(2026, 11, 24, 10, 0, day=SchoolDay(weekdays=frozenset()))
