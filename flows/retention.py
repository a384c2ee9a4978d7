"""How long a record is kept (DOMAIN.md, Records): the rules as data, and small pure functions.

- A concern about a child (child protection, and every other concern about a pupil): until the child's 25th
  birthday; with several children, the latest of their 25th birthdays.
- An allegation about an adult who works with children (staff, the headteacher, a volunteer or supply
  teacher, a governor): until normal retirement age or 10 years after the concern, whichever is longer. We
  know the adult's date of birth only when the reporter gave it: then until their `retirement_age` (67)
  birthday or `staff_years` after the concern (10 unless the school says), whichever is later; else the years.
- Anything else: `other_years` after the concern (7 unless the school says).

Where a child's date of birth is not known, the latest date they could have been born is worked out from
their year group and the academic year of the report, so the record is kept longer, never shorter. A record
is kept through its `retain_until` day and falls due the day after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from flows.concern import SubjectKind


class RetentionKind(StrEnum):
    CHILD = "child"
    STAFF = "staff"
    OTHER = "other"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    RetentionKind.CHILD: "about a child",
    RetentionKind.STAFF: "allegation about staff",
    RetentionKind.OTHER: "other",
}

# Allegations about adults who work with children: the staff rule. (The reporter's choice "member of staff",
# refined by routing to the DSL team member or the headteacher, and the other adults KCSIE Part 4 covers.)
STAFF_SUBJECTS = frozenset({SubjectKind.STAFF, SubjectKind.DSL_MEMBER, SubjectKind.HEADTEACHER,
                            SubjectKind.VOLUNTEER, SubjectKind.GOVERNOR, SubjectKind.CHAIR})
CHILD_SUBJECTS = frozenset({SubjectKind.PUPIL})

ACADEMIC_YEAR_STARTS = 9  # 1 September: a school year's cohort is born 1 September to 31 August
RECEPTION_AGE = 4  # age on 1 September of the reception year
NURSERY_YOUNGEST = 2  # a school nursery may take two-year-olds


@dataclass(frozen=True)
class RetentionPolicy:
    """A school's retention periods, in years."""

    child_age: int = 25
    staff_years: int = 10
    other_years: int = 7
    retirement_age: int = 67  # "normal retirement age": the State Pension age for most staff now working


DEFAULT_POLICY = RetentionPolicy()


@dataclass(frozen=True)
class ChildFacts:
    year_group: str | None = None  # as the report form stores it: nursery, reception, year_1 .. year_13, unknown
    date_of_birth: date | None = None


@dataclass(frozen=True)
class RecordFacts:
    """What retention needs to know of a concern: nothing more."""

    subject_kind: str
    reported_on: date  # the day it was reported, in the school's time zone
    children: tuple[ChildFacts, ...] = ()
    adult_born: date | None = None  # an allegation's subject's date of birth, when the reporter knew it


def facts_from(subject_kind: str, details: Any, reported_on: date) -> RecordFacts:
    """The facts from a stored report (`Concern.details`, the report's answers as JSON). A year group or date
    of birth that cannot be read counts as not known, which keeps the record longer."""
    children = details.get("children") if isinstance(details, dict) else None
    return RecordFacts(subject_kind, reported_on, tuple(
        ChildFacts(_text(c.get("year_group")), _day(c.get("date_of_birth")))
        for c in (children if isinstance(children, list) else []) if isinstance(c, dict)),
        adult_born=_day(details.get("adult_date_of_birth")) if isinstance(details, dict) else None)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def add_years(day: date, years: int) -> date:
    """The same day `years` later (or earlier); 29 February becomes 1 March in a year without one, the
    later of the two possible days, so a record is never kept a day too little."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, into a common year
        return date(day.year + years, 3, 1)


def academic_year(day: date) -> int:
    """The calendar year the academic year containing `day` began in (2026 for 2026/27)."""
    return day.year if day.month >= ACADEMIC_YEAR_STARTS else day.year - 1


def year_number(year_group: str | None) -> int | None:
    """Reception is 0, Year 1 is 1 ... Year 13 is 13; anything else (nursery, not known) None."""
    if year_group == "reception":
        return 0
    if year_group and year_group.startswith("year_") and year_group[5:].isdigit():
        number = int(year_group[5:])
        return number if 1 <= number <= 13 else None
    return None


def latest_birth_date(year_group: str | None, on: date) -> date:
    """The latest a child in this year group, on this day, can have been born.

    A year group is a cohort born 1 September to 31 August, so the last day of it. In nursery a child may
    be as young as two; if the year group is not known at all, as young as can be: born that very day.
    """
    number = year_number(year_group)
    if number is not None:
        start = academic_year(on)
        return date(start - RECEPTION_AGE - number, 8, 31)
    if year_group == "nursery":
        return add_years(on, -NURSERY_YOUNGEST)
    return on


def birth_date(child: ChildFacts, on: date) -> date:
    """Their date of birth if the reporter gave it, else the latest it could be."""
    return child.date_of_birth or latest_birth_date(child.year_group, on)


def birthday(born: date, age: int) -> date:
    return add_years(born, age)


def retention_kind(subject_kind: str) -> RetentionKind:
    if subject_kind in CHILD_SUBJECTS:
        return RetentionKind.CHILD
    if subject_kind in STAFF_SUBJECTS:
        return RetentionKind.STAFF
    return RetentionKind.OTHER


def retain_until(facts: RecordFacts, policy: RetentionPolicy = DEFAULT_POLICY) -> date:
    """The last day the record must be kept."""
    kind = retention_kind(facts.subject_kind)
    if kind is RetentionKind.CHILD:
        # A concern about a pupil always names one; were none recorded, the youngest child there could be.
        children = facts.children or (ChildFacts(),)
        return max(birthday(birth_date(c, facts.reported_on), policy.child_age) for c in children)
    if kind is RetentionKind.STAFF:  # until normal retirement age or the years given, whichever is longer
        years = add_years(facts.reported_on, policy.staff_years)
        return max(years, birthday(facts.adult_born, policy.retirement_age)) if facts.adult_born else years
    return add_years(facts.reported_on, policy.other_years)


def is_due(kept_until: date | None, today: date) -> bool:
    """Due for deletion: past its last day. A record with no date is never due (it is kept)."""
    return kept_until is not None and today > kept_until
