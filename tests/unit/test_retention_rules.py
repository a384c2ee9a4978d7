"""The retention rules (flows.retention): each rule, each boundary, and leap days."""

from datetime import date

import pytest

from flows.concern import SubjectKind
from flows.retention import (
    ChildFacts, RecordFacts, RetentionKind, RetentionPolicy, academic_year, add_years, facts_from, is_due,
    latest_birth_date, retain_until, retention_kind,
)

# Tuesday 24 November 2026: academic year 2026/27.
AUTUMN = date(2026, 11, 24)


def about_children(*children: ChildFacts, on: date = AUTUMN) -> date:
    return retain_until(RecordFacts(SubjectKind.PUPIL, on, children))


def test_a_child_with_a_date_of_birth_is_kept_until_their_25th_birthday() -> None:
    assert about_children(ChildFacts("year_5", date(2016, 3, 14))) == date(2041, 3, 14)


def test_without_a_date_of_birth_the_latest_birth_in_the_year_group_is_used() -> None:
    # Year 5 in 2026/27 were born 1 September 2016 to 31 August 2017: the youngest turn 25 on 31 August 2042.
    assert latest_birth_date("year_5", AUTUMN) == date(2017, 8, 31)
    assert about_children(ChildFacts("year_5")) == date(2042, 8, 31)
    assert latest_birth_date("reception", AUTUMN) == date(2022, 8, 31)
    assert latest_birth_date("year_1", AUTUMN) == date(2021, 8, 31)
    assert latest_birth_date("year_13", AUTUMN) == date(2009, 8, 31)


@pytest.mark.parametrize(("on", "start"), [
    (date(2026, 8, 31), 2025),  # the last day of 2025/26
    (date(2026, 9, 1), 2026),  # the first day of 2026/27
    (date(2027, 1, 5), 2026),
    (date(2027, 7, 20), 2026),
])
def test_the_academic_year_turns_on_1_september(on: date, start: int) -> None:
    assert academic_year(on) == start


def test_a_report_on_either_side_of_1_september_moves_the_year_group_on_a_cohort() -> None:
    # Year 5 reported on 31 August 2026 is the 2015/16 cohort; on 1 September, the 2016/17 cohort.
    assert about_children(ChildFacts("year_5"), on=date(2026, 8, 31)) == date(2041, 8, 31)
    assert about_children(ChildFacts("year_5"), on=date(2026, 9, 1)) == date(2042, 8, 31)


def test_nursery_and_an_unknown_year_group_assume_the_youngest_child_possible() -> None:
    assert latest_birth_date("nursery", AUTUMN) == date(2024, 11, 24)  # a school nursery takes two-year-olds
    assert about_children(ChildFacts("nursery")) == date(2049, 11, 24)
    assert about_children(ChildFacts("unknown")) == date(2051, 11, 24)  # as if born the day it was reported
    assert about_children(ChildFacts(None)) == date(2051, 11, 24)
    assert about_children(ChildFacts("year_14")) == date(2051, 11, 24)  # not a year group: not known


def test_the_latest_25th_birthday_of_several_children_is_kept_to() -> None:
    older, younger = ChildFacts("year_6", date(2015, 10, 1)), ChildFacts("year_2")  # born by 31 Aug 2020
    assert about_children(older, younger) == date(2045, 8, 31)
    assert about_children(younger, older) == date(2045, 8, 31)


def test_a_concern_about_a_pupil_with_no_child_recorded_is_kept_as_long_as_can_be() -> None:
    assert about_children() == date(2051, 11, 24)


def test_a_child_born_on_29_february_turns_25_on_1_march() -> None:
    assert about_children(ChildFacts("year_10", date(2012, 2, 29))) == date(2037, 3, 1)  # 2037 is no leap year
    assert add_years(date(2012, 2, 29), 24) == date(2036, 2, 29)  # 2036 is


@pytest.mark.parametrize("kind", [SubjectKind.STAFF, SubjectKind.HEADTEACHER, SubjectKind.DSL_MEMBER,
                                  SubjectKind.VOLUNTEER, SubjectKind.GOVERNOR, SubjectKind.CHAIR])
def test_an_allegation_about_staff_is_kept_10_years(kind: SubjectKind) -> None:
    assert retention_kind(kind) is RetentionKind.STAFF
    assert retain_until(RecordFacts(kind, AUTUMN)) == date(2036, 11, 24)


def test_a_school_may_keep_allegations_about_staff_longer() -> None:
    policy = RetentionPolicy(staff_years=40)  # to normal retirement age, say
    assert retain_until(RecordFacts(SubjectKind.STAFF, AUTUMN), policy) == date(2066, 11, 24)


def test_a_staff_allegation_reported_on_29_february_is_kept_to_1_march() -> None:
    assert retain_until(RecordFacts(SubjectKind.STAFF, date(2028, 2, 29))) == date(2038, 3, 1)


@pytest.mark.parametrize("kind", [SubjectKind.PARENT_VISITOR, SubjectKind.NOBODY])
def test_other_records_are_kept_for_the_default_period(kind: SubjectKind) -> None:
    assert retention_kind(kind) is RetentionKind.OTHER
    assert retain_until(RecordFacts(kind, AUTUMN)) == date(2033, 11, 24)
    assert retain_until(RecordFacts(kind, AUTUMN), RetentionPolicy(other_years=3)) == date(2029, 11, 24)


def test_a_record_falls_due_the_day_after_its_last_day() -> None:
    assert not is_due(date(2033, 11, 24), date(2033, 11, 23))
    assert not is_due(date(2033, 11, 24), date(2033, 11, 24))  # kept through its last day
    assert is_due(date(2033, 11, 24), date(2033, 11, 25))
    assert not is_due(None, date(2999, 1, 1))  # no date: kept


def test_the_facts_come_from_the_stored_report_and_anything_unreadable_counts_as_unknown() -> None:
    details = {"children": [{"name": "A", "year_group": "year_3", "date_of_birth": "2018-05-02"},
                            {"name": "B", "year_group": "year_4", "date_of_birth": None},
                            {"name": "C", "year_group": 7, "date_of_birth": "not a date"}, "nonsense"]}
    facts = facts_from("pupil", details, AUTUMN)
    assert facts.children == (ChildFacts("year_3", date(2018, 5, 2)), ChildFacts("year_4", None),
                               ChildFacts(None, None))
    assert facts_from("pupil", None, AUTUMN).children == ()
    assert retain_until(facts) == date(2051, 11, 24)  # child C could be as young as can be


def test_with_the_adults_date_of_birth_an_allegation_is_kept_to_retirement_age_or_10_years_whichever_is_longer() -> None:
    young = RecordFacts(SubjectKind.STAFF, AUTUMN, adult_born=date(1996, 3, 2))  # 30: retirement is further off
    assert retain_until(young) == date(2063, 3, 2)  # their 67th birthday
    near = RecordFacts(SubjectKind.HEADTEACHER, AUTUMN, adult_born=date(1962, 6, 1))  # 64: ten years is longer
    assert retain_until(near) == date(2036, 11, 24)
    assert retain_until(young, RetentionPolicy(retirement_age=68)) == date(2064, 3, 2)


def test_the_adults_date_of_birth_is_read_from_the_report() -> None:
    facts = facts_from(SubjectKind.STAFF, {"adult_date_of_birth": "1996-03-02", "children": []}, AUTUMN)
    assert facts.adult_born == date(1996, 3, 2)
    assert facts_from(SubjectKind.STAFF, {"adult_date_of_birth": "not a date"}, AUTUMN).adult_born is None
