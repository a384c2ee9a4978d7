"""School time: the hours and days the school is open, and deadlines counted only in them.

An escalation after "30 minutes in the school day" reported at 16:50 on a Friday falls due at 08:20 on
Monday. Closure days are passed in as dates; a school day built for a real school also skips England and
Wales bank holidays (the `holidays` package), on which schools are shut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


@lru_cache(maxsize=64)
def bank_holidays_in(year: int) -> frozenset[date]:
    """England and Wales share their bank holidays."""
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=[year]).keys())


@dataclass(frozen=True)
class SchoolDay:
    starts: time = time(8, 0)
    ends: time = time(17, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday to Friday
    closed: frozenset[date] = field(default_factory=frozenset)
    bank_holidays: bool = False  # shut on England and Wales bank holidays too

    def __post_init__(self) -> None:
        if self.ends <= self.starts:
            raise ValueError("the school day must end after it starts")

    def is_open_on(self, day: date) -> bool:
        if day.weekday() not in self.weekdays or day in self.closed:
            return False
        return not (self.bank_holidays and day in bank_holidays_in(day.year))

    def first_open_day(self, day: date) -> date:
        """`day` itself if the school is open then, else the next day it is."""
        for _ in range(3660):
            if self.is_open_on(day):
                return day
            day += timedelta(days=1)
        raise ValueError("no school day found within ten years; check the school's days and closures")

    def is_in_hours(self, instant: datetime, tz: str) -> bool:
        local = instant.astimezone(ZoneInfo(tz))
        return self.is_open_on(local.date()) and self.starts <= local.time().replace(tzinfo=None) < self.ends

    def next_opening(self, instant: datetime, tz: str) -> datetime:
        """`instant` if the school is open then, else when it next opens (UTC): when a polite message goes."""
        if self.is_in_hours(instant, tz):
            return instant
        zone = ZoneInfo(tz)
        local = instant.astimezone(zone)
        day = local.date() if local.time().replace(tzinfo=None) < self.starts else local.date() + timedelta(days=1)
        return datetime.combine(self.first_open_day(day), self.starts, zone).astimezone(timezone.utc)


def add_school_minutes(start: datetime, minutes: int, school_day: SchoolDay, tz: str) -> datetime:
    """The instant (UTC) at which `minutes` of school time have passed since `start`."""
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    remaining = timedelta(minutes=minutes)
    day = local.date()
    for _ in range(3660):  # ten years of days: a guard, never reached with a sane calendar
        if school_day.is_open_on(day):
            opens = datetime.combine(day, school_day.starts, zone)
            closes = datetime.combine(day, school_day.ends, zone)
            begin = max(local, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(timezone.utc)
                remaining -= available
        day += timedelta(days=1)
        local = datetime.combine(day, time(0, 0), zone)
    raise ValueError("no school day found within ten years; check the school's days and closures")
