"""Sharing nudes and semi-nudes (seed 001, from the UKCIS advice): the DSL's initial review meeting.

Any of the five conditions means an immediate referral to the police and/or children's social care;
otherwise the DSL may handle it in school and must record why.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from flows.forms import Answers, Choice, Form, Kind, Question, Step


class ReferralCondition(StrEnum):
    ADULT_INVOLVED = "adult_involved"
    COERCION = "coercion"
    UNUSUAL_ACTS = "unusual_acts"
    UNDER_13_SEXUAL = "under_13_sexual"
    IMMEDIATE_RISK = "immediate_risk"


CONDITION_LABELS: dict[ReferralCondition, str] = {
    ReferralCondition.ADULT_INVOLVED: "An adult is involved",
    ReferralCondition.COERCION: "Coercion, blackmail, grooming, or doubt about capacity to consent",
    ReferralCondition.UNUSUAL_ACTS: "Acts unusual for the child's development, or violent acts",
    ReferralCondition.UNDER_13_SEXUAL: "Sexual acts, and a child in the imagery is under 13",
    ReferralCondition.IMMEDIATE_RISK: "A young person is at immediate risk of harm because of the sharing",
}
PARENTS = (Choice("yes", "Yes, parents / carers will be told"), Choice("no", "No (say why below)"),
           Choice("not_yet", "Not yet decided"))
IN_SCHOOL_REASON = "No condition is ticked, so please record why this can be handled in school."
QUESTIONS_INTRO = (
    "Record what the meeting established: why it was shared; coercion; who shared it and where; adults "
    "involved; the impact; additional vulnerabilities; understanding of consent; previous incidents; how "
    "widely it was shared; whether it must be deleted or removed; whether to contact another school. "
    "Viewing the imagery is rarely necessary: if it was viewed, say why."
)


def _reason_needed(answers: Answers, now_local: datetime) -> dict[str, str]:
    if not answers.get("conditions") and len(str(answers.get("in_school_reason") or "").strip()) < 10:
        return {"in_school_reason": IN_SCHOOL_REASON}
    return {}


INITIAL_REVIEW_FORM = Form(id="initial_review", title="Initial review", submit_label="Record review", steps=(
    Step(id="initial_review", title="Initial review meeting", intro=QUESTIONS_INTRO, check=_reason_needed,
         questions=(
             Question("conditions", "Immediate referral to police / children's social care if any apply",
                      Kind.CHECKBOXES, required=False,
                      choices=tuple(Choice(c.value, label) for c, label in CONDITION_LABELS.items())),
             Question("established", "What the meeting established", Kind.LONG_TEXT, required=False),
             Question("parents_told", "Will parents / carers be told?", Kind.RADIO, choices=PARENTS),
             Question("in_school_reason", "If handled in school: why", Kind.LONG_TEXT, required=False),
         )),
))


class InitialReview(BaseModel):
    model_config = ConfigDict(frozen=True)

    conditions: list[ReferralCondition] = []
    established: str | None = None
    parents_told: str
    in_school_reason: str | None = None

    @classmethod
    def from_answers(cls, answers: Answers) -> InitialReview:
        return cls.model_validate({k: v for k, v in answers.items() if v not in (None, "", [])})

    @property
    def immediate_referral(self) -> bool:
        return bool(self.conditions)
