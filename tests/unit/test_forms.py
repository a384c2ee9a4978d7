"""The form engine and the Record of Concern form, tested without Slack or a database."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from flows.forms import Choice, Form, Kind, Question, Step, answer_is
from flows.report_form import (
    DISCLOSURE_GUIDANCE, ILLEGAL_MATERIAL_GUIDANCE, IMMEDIATE_RISK_GUIDANCE, NUDES_GUIDANCE, REPORT_FORM,
    UNSUITABLE_SITE_GUIDANCE, ReportAnswers, needs_immediate_page,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/London"))
TODAY = NOW.date()
COMPLETE = {
    "subject": "pupil", "category": "cyberbullying", "urgency": "routine", "involves": [], "child_count": "1",
    "child_name_1": "Robin Example", "year_group_1": "year_4", "date_of_birth_1": None,
    "occurred_on": "2026-11-24", "occurred_time": "09:15", "others_present": "",
    "disclosure": "they keep posting about me", "why_concerned": "Robin was crying.",
    "observed": "", "heard": "", "told": "Robin, at break", "online_details": "a group chat",
    "reporter_position": "Year 4 teacher",
}


def path(answers: dict) -> list[str]:
    return [s.id for s in REPORT_FORM.path(answers, TODAY)]


def test_the_usual_path_and_positions() -> None:
    assert path(COMPLETE) == ["about", "concern", "children", "when", "disclosure", "account", "online", "review"]
    assert str(REPORT_FORM.position("children", COMPLETE, TODAY)) == "Step 3 of 8"
    assert REPORT_FORM.next_step("concern", COMPLETE, TODAY).id == "children"
    assert REPORT_FORM.next_step("review", COMPLETE, TODAY) is None
    assert REPORT_FORM.previous_step("about", COMPLETE, TODAY) is None
    assert str(REPORT_FORM.position("about", {}, TODAY)) == "Step 1 of 8"  # a pupil is assumed until told


def test_an_earlier_incident_asks_why_it_is_late_and_flags_the_record() -> None:
    late = {**COMPLETE, "occurred_on": "2026-11-20", "late_reason": "I was off sick."}
    assert path(late)[:5] == ["about", "concern", "children", "when", "late"]
    assert REPORT_FORM.validate("late", {"late_reason": ""}, NOW) == {"late_reason": "Please answer this question."}
    answers = ReportAnswers.from_answers(late, TODAY)
    assert answers.reported_late and answers.late_reason == "I was off sick."
    # A reason left over from an earlier date is dropped when the date is corrected to today.
    assert not ReportAnswers.from_answers({**late, "occurred_on": "2026-11-24"}, TODAY).reported_late


def test_illegal_material_or_an_unsuitable_site_asks_about_the_device() -> None:
    for involves in (["illegal_material"], ["unsuitable_site"], ["illegal_material", "unsuitable_site"]):
        assert "device" in path({**COMPLETE, "involves": involves})
    assert "device" not in path(COMPLETE)


def test_several_children_are_asked_about_one_by_one() -> None:
    three = {**COMPLETE, "child_count": "3"}
    questions = [q.id for q in REPORT_FORM.step("children").questions_for(three)]
    assert questions[:4] == ["child_name_1", "year_group_1", "date_of_birth_1", "child_name_2"]
    assert len(questions) == 9
    labels = [q.label for q in REPORT_FORM.step("children").questions_for(three)]
    assert labels[3] == "Child 2: name"
    errors = REPORT_FORM.validate("children", {"child_name_1": "A", "year_group_1": "year_1"}, NOW, earlier=three)
    assert set(errors) == {"child_name_2", "year_group_2", "child_name_3", "year_group_3"}
    answers = ReportAnswers.from_answers({**three, "child_name_2": "B", "year_group_2": "year_2",
                                          "child_name_3": "C", "year_group_3": "unknown"}, TODAY)
    assert [c.name for c in answers.children] == ["Robin Example", "B", "C"]
    assert answers.children[2].year_group_label == "Not known"


def test_a_complete_report_validates_and_types() -> None:
    assert REPORT_FORM.missing(COMPLETE, NOW) == []
    answers = ReportAnswers.from_answers(COMPLETE, TODAY)
    assert answers.category.value == "cyberbullying" and answers.children[0].year_group_label == "Year 4"
    assert answers.occurred_time.hour == 9 and answers.observed is None


@pytest.mark.parametrize(("step", "values", "field", "message"), [
    ("children", {"child_name_1": "", "year_group_1": "year_4"}, "child_name_1", "Please answer this question."),
    ("children", {"child_name_1": "   ", "year_group_1": "year_4"}, "child_name_1", "Please answer this question."),
    ("children", {"child_name_1": "A" * 151, "year_group_1": "year_4"}, "child_name_1", "under 150 characters"),
    ("children", {"child_name_1": "Robin", "year_group_1": "year_99"}, "year_group_1", "choose one of the options"),
    ("children", {"child_name_1": "Robin", "year_group_1": "year_4", "date_of_birth_1": "2026-01-01"},
     "date_of_birth_1", "makes the child 0"),
    ("concern", {"category": "gaming", "urgency": "routine", "child_count": "1", "involves": ["bogus"]},
     "involves", "choose from the options"),
    ("concern", {"category": "gaming", "urgency": "soon", "child_count": "1"}, "urgency", "choose one"),
    ("when", {"occurred_on": "2026-11-25"}, "occurred_on", "can't be in the future"),
    ("when", {"occurred_on": "24/11/2026"}, "occurred_on", "pick a date"),
    ("when", {"occurred_on": "2026-11-24", "occurred_time": "10:30"}, "occurred_time", "hasn't happened yet"),
    ("when", {"occurred_on": "2026-11-24", "occurred_time": "25:99"}, "occurred_time", "pick a time"),
    ("account", {"why_concerned": "x" * 3001, "reporter_position": "TA"}, "why_concerned", "under 3000 characters"),
    ("account", {"why_concerned": "", "reporter_position": "TA"}, "why_concerned", "Please answer this question."),
    ("account", {"why_concerned": "Upset", "reporter_position": ""}, "reporter_position", "Please answer"),
])
def test_validation_names_the_field_and_says_what_to_do(step: str, values: dict, field: str, message: str) -> None:
    errors = REPORT_FORM.validate(step, values, NOW, earlier=COMPLETE)
    assert set(errors) == {field}
    assert message in errors[field]


def test_earlier_day_any_time_and_optional_time_are_fine() -> None:
    assert REPORT_FORM.validate("when", {"occurred_on": "2026-11-23", "occurred_time": "23:59"}, NOW) == {}
    assert REPORT_FORM.validate("when", {"occurred_on": "2026-11-24", "occurred_time": None}, NOW) == {}


@pytest.mark.parametrize(("answers", "expected"), [
    ({"category": "gaming", "urgency": "routine", "involves": []}, []),
    ({"category": "nudes", "urgency": "immediate", "involves": []}, [IMMEDIATE_RISK_GUIDANCE, NUDES_GUIDANCE]),
    ({"category": "harmful_content", "urgency": "urgent", "involves": ["illegal_material"]}, [ILLEGAL_MATERIAL_GUIDANCE]),
    ({"category": "filtering_failure", "urgency": "routine", "involves": ["unsuitable_site"]}, [UNSUITABLE_SITE_GUIDANCE]),
])
def test_guidance_appears_as_soon_as_the_answers_call_for_it(answers: dict, expected: list[str]) -> None:
    assert [g.text for g in REPORT_FORM.step("children").guidance_for(answers, TODAY)] == expected


def test_the_guidance_says_what_the_policies_say() -> None:
    assert "do not ask the child to send it" in NUDES_GUIDANCE and "no pictures or files" in NUDES_GUIDANCE
    assert "Switch the screen off" in ILLEGAL_MATERIAL_GUIDANCE and "Internet Watch Foundation" in ILLEGAL_MATERIAL_GUIDANCE
    assert "note the device and the username" in UNSUITABLE_SITE_GUIDANCE
    assert "call 999" in IMMEDIATE_RISK_GUIDANCE.lower() or "Call 999" in IMMEDIATE_RISK_GUIDANCE
    assert [g.text for g in REPORT_FORM.step("disclosure").guidance_for({}, TODAY)] == [DISCLOSURE_GUIDANCE]
    assert needs_immediate_page({"urgency": "immediate"}) and not needs_immediate_page({"urgency": "urgent"})


def test_missing_lists_steps_with_unacceptable_answers() -> None:
    assert [s.id for s in REPORT_FORM.missing({**COMPLETE, "why_concerned": ""}, NOW)] == ["account"]


def test_branching_skips_steps_that_do_not_apply() -> None:
    form = Form("f", "F", steps=(
        Step("a", "A", questions=(Question("kind", "Kind", Kind.RADIO, choices=(Choice("x", "X"), Choice("y", "Y"))),)),
        Step("only_x", "Only X", questions=(Question("more", "More", Kind.SHORT_TEXT),), applies=answer_is("kind", "x")),
        Step("end", "End"),
    ))
    assert form.next_step("a", {"kind": "y"}, TODAY).id == "end"
    assert form.next_step("a", {"kind": "x"}, TODAY).id == "only_x"
    assert str(form.position("end", {"kind": "y"}, TODAY)) == "Step 2 of 2"
    assert form.previous_step("end", {"kind": "y"}, date(2026, 1, 1)).id == "a"


def test_a_form_refuses_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="two steps"):
        Form("f", "F", steps=(Step("a", "A"), Step("a", "B")))
    question = Question("q", "Q", Kind.SHORT_TEXT)
    with pytest.raises(ValueError, match="two questions"):
        Form("f", "F", steps=(Step("a", "A", questions=(question,)), Step("b", "B", questions=(question,))))


def test_an_adult_must_be_chosen_or_named_unless_it_is_the_head() -> None:
    staff = {"subject": "staff"}
    assert REPORT_FORM.validate("adult", {"threshold": "harm"}, NOW, earlier=staff) == {
        "adult_name": "Please choose them above or write their name."}
    assert REPORT_FORM.validate("adult", {"threshold": "harm", "adult_user": "U0TOM"}, NOW, earlier=staff) == {}
    assert REPORT_FORM.validate("adult", {"threshold": "low_level"}, NOW, earlier={"subject": "headteacher"}) == {}
    assert REPORT_FORM.validate("about", {"subject": "pupil"}, NOW) == {
        "child_count": "Please say how many children it is about."}
    assert [s.id for s in REPORT_FORM.path({"subject": "headteacher"}, TODAY)][:3] == ["about", "adult", "concern"]
