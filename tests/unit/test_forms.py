"""The form engine and the Record of Concern form, tested without Slack or a database."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flows.forms import Choice, Form, Kind, Question, Step, answer_is
from flows.report_form import (
    DISCLOSURE_GUIDANCE, IMMEDIATE_RISK_GUIDANCE, NUDES_GUIDANCE, REPORT_FORM, ReportAnswers,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/London"))
COMPLETE = {
    "child_name": "Robin Example", "year_group": "year_4", "category": "cyberbullying",
    "urgency": "routine", "occurred_on": "2026-11-24", "occurred_time": "09:15",
    "account": "Robin said: 'they keep posting about me'.",
}


def test_steps_run_in_order_with_positions() -> None:
    ids = [s.id for s in REPORT_FORM.path(COMPLETE)]
    assert ids == ["child", "concern", "when", "account", "review"]
    assert str(REPORT_FORM.position("concern", COMPLETE)) == "Step 2 of 5"
    assert REPORT_FORM.next_step("child", COMPLETE).id == "concern"
    assert REPORT_FORM.next_step("review", COMPLETE) is None
    assert REPORT_FORM.previous_step("child", COMPLETE) is None
    assert REPORT_FORM.previous_step("when", COMPLETE).id == "concern"


def test_a_complete_report_validates_and_types() -> None:
    assert REPORT_FORM.missing(COMPLETE, NOW) == []
    answers = ReportAnswers.from_answers(COMPLETE)
    assert answers.category.value == "cyberbullying"
    assert answers.year_group_label == "Year 4"
    assert answers.occurred_time.hour == 9


@pytest.mark.parametrize(("step", "values", "field", "message"), [
    ("child", {"child_name": "", "year_group": "year_4"}, "child_name", "Please answer this question."),
    ("child", {"child_name": "   ", "year_group": "year_4"}, "child_name", "Please answer this question."),
    ("child", {"child_name": "A" * 151, "year_group": "year_4"}, "child_name", "under 150 characters"),
    ("child", {"child_name": "Robin", "year_group": "year_99"}, "year_group", "choose one of the options"),
    ("when", {"occurred_on": "2026-11-25"}, "occurred_on", "can't be in the future"),
    ("when", {"occurred_on": "24/11/2026"}, "occurred_on", "pick a date"),
    ("when", {"occurred_on": "2026-11-24", "occurred_time": "10:30"}, "occurred_time", "hasn't happened yet"),
    ("when", {"occurred_on": "2026-11-24", "occurred_time": "25:99"}, "occurred_time", "pick a time"),
    ("account", {"account": "x" * 3001}, "account", "under 3000 characters"),
])
def test_validation_names_the_field_and_says_what_to_do(step: str, values: dict, field: str, message: str) -> None:
    errors = REPORT_FORM.validate(step, values, NOW)
    assert set(errors) == {field}
    assert message in errors[field]


def test_earlier_day_any_time_and_optional_time_are_fine() -> None:
    assert REPORT_FORM.validate("when", {"occurred_on": "2026-11-23", "occurred_time": "23:59"}, NOW) == {}
    assert REPORT_FORM.validate("when", {"occurred_on": "2026-11-24", "occurred_time": None}, NOW) == {}


def test_guidance_appears_when_the_answers_call_for_it() -> None:
    when = REPORT_FORM.step("when")
    assert when.guidance_for({"category": "gaming", "urgency": "routine"}) == []
    shown = [g.text for g in when.guidance_for({"category": "nudes", "urgency": "immediate"})]
    assert shown == [IMMEDIATE_RISK_GUIDANCE, NUDES_GUIDANCE]
    assert "do not ask the child to send it" in NUDES_GUIDANCE
    assert [g.text for g in REPORT_FORM.step("account").guidance_for({})] == [DISCLOSURE_GUIDANCE]


def test_missing_lists_steps_with_unacceptable_answers() -> None:
    incomplete = {**COMPLETE, "account": ""}
    assert [s.id for s in REPORT_FORM.missing(incomplete, NOW)] == ["account"]


def test_branching_skips_steps_that_do_not_apply() -> None:
    form = Form("f", "F", steps=(
        Step("a", "A", questions=(Question("kind", "Kind", Kind.RADIO, choices=(Choice("x", "X"), Choice("y", "Y"))),)),
        Step("only_x", "Only X", questions=(Question("more", "More", Kind.SHORT_TEXT),), applies=answer_is("kind", "x")),
        Step("end", "End"),
    ))
    assert form.next_step("a", {"kind": "y"}).id == "end"
    assert form.next_step("a", {"kind": "x"}).id == "only_x"
    assert str(form.position("end", {"kind": "y"})) == "Step 2 of 2"


def test_a_form_refuses_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="two steps"):
        Form("f", "F", steps=(Step("a", "A"), Step("a", "B")))
    question = Question("q", "Q", Kind.SHORT_TEXT)
    with pytest.raises(ValueError, match="two questions"):
        Form("f", "F", steps=(Step("a", "A", questions=(question,)), Step("b", "B", questions=(question,))))
