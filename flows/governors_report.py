"""When the termly monitoring report goes to governors, and which weeks it covers.

Seed 001: governors receive "regular monitoring reports … which will include anonymous details of online
safety incidents". The report goes once a term on the school's report dates (by default near the end of
each term), on the first school day on or after each, to the online-safety governor and the head. It covers
the time since the previous report date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flows.aup import on_month_day
from flows.school_time import SchoolDay

DEFAULT_REPORT_DATES: tuple[str, ...] = ("03-25", "07-15", "12-10")  # spring, summer and autumn terms


@dataclass(frozen=True)
class ReportPeriod:
    due_on: date  # the report date itself (its key)
    starts: date  # first day covered
    ends: date  # last day covered

    @property
    def key(self) -> str:
        return self.due_on.isoformat()

    @property
    def term(self) -> str:
        """'autumn term 2026' for a report due in December 2026."""
        month = self.due_on.month
        name = "autumn" if month >= 9 else ("spring" if month <= 4 else "summer")
        return f"{name} term {self.due_on.year}"


def _dates_around(year: int, report_dates: tuple[str, ...]) -> list[date]:
    return sorted(on_month_day(y, md) for y in (year - 1, year, year + 1) for md in report_dates)


def period_for(due_on: date, report_dates: tuple[str, ...]) -> ReportPeriod:
    """The period that the report due on `due_on` covers: from the previous report date to the day before."""
    earlier = [d for d in _dates_around(due_on.year, report_dates) if d < due_on]
    starts = earlier[-1] if earlier else due_on - timedelta(days=120)
    return ReportPeriod(due_on=due_on, starts=starts, ends=due_on - timedelta(days=1))


def report_due(today: date, report_dates: tuple[str, ...], school_day: SchoolDay,
               installed_on: date) -> ReportPeriod | None:
    """The report whose date has most recently come round (on a school day), if the school was set up by then.

    A report missed while the bot was down goes late, once, until the next report date takes over.
    """
    if not report_dates or not school_day.is_open_on(today):
        return None
    passed = [d for d in _dates_around(today.year, report_dates) if d <= today]
    if not passed:
        return None
    latest = passed[-1]
    if latest < installed_on or today < school_day.first_open_day(latest):
        return None
    return period_for(latest, report_dates)


def period_to_date(today: date, report_dates: tuple[str, ...]) -> ReportPeriod:
    """The report asked for on demand: from the last report date to today."""
    passed = [d for d in _dates_around(today.year, report_dates) if d < today]
    starts = passed[-1] if passed else today - timedelta(days=120)
    return ReportPeriod(due_on=today, starts=starts, ends=today)
