"""School time: the hours and days the school is open, and deadlines counted only in them.

An escalation after "30 minutes in the school day" reported at 16:50 on a Friday falls due at 08:20 on
Monday. Closure days (and, later, bank holidays) are passed in as dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class SchoolDay:
    starts: time = time(8, 0)
    ends: time = time(17, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday to Friday
    closed: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.ends <= self.starts:
            raise ValueError("the school day must end after it starts")

    def is_open_on(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.closed


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
