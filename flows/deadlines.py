"""Statutory clocks on a concern, and when to remind.

- The LADO must be told of an allegation about an adult within one working day (KCSIE Part 4): by the
  same time on the next working day, skipping weekends, England and Wales bank holidays and the school's
  closure days. The clock stops when the case manager records the referral to the LADO.
- A personal-data breach must be reported to the ICO within 72 hours where there is a risk to people
  (UK GDPR art. 33): calendar hours. The clock stops when the decision is recorded either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from zoneinfo import ZoneInfo

from flows.handling import ActionKind
from flows.school_time import bank_holidays_in


class Clock(StrEnum):
    LADO = "lado"
    ICO = "ico"


@dataclass(frozen=True)
class ClockRule:
    remind_before: timedelta
    met_by: frozenset[ActionKind]


RULES: dict[Clock, ClockRule] = {
    Clock.LADO: ClockRule(timedelta(hours=3), frozenset({ActionKind.LADO})),
    Clock.ICO: ClockRule(timedelta(hours=24), frozenset({ActionKind.ICO_REPORTED, ActionKind.ICO_NOT_REPORTED})),
}


def bank_holidays(years: range) -> set[date]:
    """England and Wales share their bank holidays."""
    return set().union(*(bank_holidays_in(year) for year in years))


def next_working_day_same_time(start: datetime, tz: str, closed: frozenset[date] = frozenset()) -> datetime:
    """The LADO deadline: the same local time on the next working day."""
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    off = bank_holidays(range(local.year, local.year + 2)) | set(closed)
    day = local.date() + timedelta(days=1)
    while day.weekday() >= 5 or day in off:
        day += timedelta(days=1)
    return datetime.combine(day, local.time().replace(tzinfo=None), zone).astimezone(timezone.utc)


def ico_deadline(start: datetime) -> datetime:
    return start + timedelta(hours=72)


def clock_met_by(kind: str) -> Clock | None:
    return next((c for c, rule in RULES.items() if kind in {k.value for k in rule.met_by}), None)
