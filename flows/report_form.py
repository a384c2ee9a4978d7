"""The staff member's Record of Concern (seed 002), as a guided form, and its typed answers."""

from __future__ import annotations

from datetime import date, datetime, time

from pydantic import BaseModel, ConfigDict

from flows.concern import Category, Urgency
from flows.forms import Answers, Choice, Form, Guidance, Kind, Question, Step, answer_is

YEAR_GROUPS: tuple[Choice, ...] = (
    Choice("nursery", "Nursery"),
    Choice("reception", "Reception"),
    *(Choice(f"year_{n}", f"Year {n}") for n in range(1, 14)),
    Choice("unknown", "Not known"),
)

IMMEDIATE_RISK_GUIDANCE = (
    "*If a child is at immediate risk of harm, act now:* call 999 if they are in danger, and find the "
    "DSL in person. Then finish this record; it takes a minute."
)
NUDES_GUIDANCE = (
    "*Do not view, copy, forward, print or save the image, and do not ask the child to send it.* "
    "Describe what you were told; the DSL will decide what happens next."
)
DISCLOSURE_GUIDANCE = (
    "Write what the child said *in their own words*. To clarify, use only *Tell, Explain, Describe, "
    "Outline*, and ask no further questions. Include who, what, where and when."
)


def _not_later_than_now(answers: Answers, now_local: datetime) -> dict[str, str]:
    """An incident can't have happened later today than the time it is now."""
    day, at = answers.get("occurred_on"), answers.get("occurred_time")
    if day and at and date.fromisoformat(day) == now_local.date():
        if time.fromisoformat(at) > now_local.time().replace(tzinfo=None):
            return {"occurred_time": "That time hasn't happened yet today."}
    return {}


REPORT_FORM = Form(
    id="report",
    title="Report a concern",
    submit_label="Send to DSL team",
    steps=(
        Step(
            id="child",
            title="The child",
            intro="Who is the concern about? Only the safeguarding team will see these details.",
            questions=(
                Question("child_name", "Child's name", Kind.SHORT_TEXT, max_length=150,
                         placeholder="First name and surname"),
                Question("year_group", "Year group", Kind.SELECT, choices=YEAR_GROUPS),
            ),
        ),
        Step(
            id="concern",
            title="What kind of concern",
            questions=(
                Question("category", "Which category fits best?", Kind.SELECT,
                         choices=tuple(Choice(c.value, c.label) for c in Category)),
                Question("urgency", "How urgent is it?", Kind.RADIO,
                         choices=tuple(Choice(u.value, u.label) for u in Urgency)),
            ),
        ),
        Step(
            id="when",
            title="When it happened",
            guidance=(
                Guidance(IMMEDIATE_RISK_GUIDANCE, answer_is("urgency", Urgency.IMMEDIATE), warning=True),
                Guidance(NUDES_GUIDANCE, answer_is("category", Category.NUDES), warning=True),
            ),
            questions=(
                Question("occurred_on", "Date of the incident or disclosure", Kind.DATE),
                Question("occurred_time", "Time", Kind.TIME, required=False),
            ),
            check=_not_later_than_now,
        ),
        Step(
            id="account",
            title="What you saw or were told",
            guidance=(Guidance(DISCLOSURE_GUIDANCE),),
            questions=(
                Question("account", "What did you see, hear or get told?", Kind.LONG_TEXT,
                         hint="Facts, not opinions. Write it as it was said."),
            ),
        ),
        Step(id="review", title="Check and send",
             intro="Check your answers, then send them to the safeguarding team."),
    ),
)


class ReportAnswers(BaseModel):
    """A completed report, typed: what `storage` keeps and the record modal shows."""

    model_config = ConfigDict(frozen=True)

    child_name: str
    year_group: str
    category: Category
    urgency: Urgency
    occurred_on: date
    occurred_time: time | None = None
    account: str

    @classmethod
    def from_answers(cls, answers: Answers) -> ReportAnswers:
        fields = {k: v for k, v in answers.items() if k in cls.model_fields and v not in (None, "")}
        return cls.model_validate(fields)

    @property
    def year_group_label(self) -> str:
        return REPORT_FORM.step("child").questions[1].choice_label(self.year_group) or self.year_group
