"""The safeguarding team's forms: the Record of Action (seed 002), assigning, and closing with an outcome.

Status moves New → Acknowledged → In progress → Closed. Recording an action on an acknowledged concern
puts it in progress; closing needs an outcome; a decision not to refer needs a written reason.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from flows.concern import Status
from flows.forms import Answers, Choice, Form, Kind, Question, Step


class ActionKind(StrEnum):
    PARENTS_INFORMED = "parents_informed"
    SOCIAL_CARE = "social_care"
    POLICE = "police"
    CEOP = "ceop"
    IWF = "iwf"
    LOCAL_AUTHORITY = "local_authority"
    LADO = "lado"
    TECHNICAL_STAFF = "technical_staff"
    SANCTION = "sanction"
    HANDED_TO = "handed_to"
    ICO_REPORTED = "ico_reported"
    ICO_NOT_REPORTED = "ico_not_reported"
    OTHER = "other"
    NOT_REFERRED = "not_referred"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]

    @property
    def is_referral(self) -> bool:
        return self in REFERRALS


ACTION_LABELS: dict[ActionKind, str] = {
    ActionKind.PARENTS_INFORMED: "Parents / carers informed",
    ActionKind.SOCIAL_CARE: "Referred to children's social care",
    ActionKind.POLICE: "Reported to the police",
    ActionKind.CEOP: "Reported to CEOP",
    ActionKind.IWF: "Reported to the Internet Watch Foundation",
    ActionKind.LOCAL_AUTHORITY: "Referred to the local authority",
    ActionKind.LADO: "Referred to the LADO",
    ActionKind.TECHNICAL_STAFF: "Passed to technical staff (filtering)",
    ActionKind.SANCTION: "Sanction under the behaviour policy",
    ActionKind.HANDED_TO: "Handed to another member of staff",
    ActionKind.ICO_REPORTED: "Personal-data breach reported to the ICO",
    ActionKind.ICO_NOT_REPORTED: "Decided the ICO need not be told (no risk to people)",
    ActionKind.OTHER: "Other action",
    ActionKind.NOT_REFERRED: "Decided not to refer",
}
REFERRALS = frozenset({ActionKind.SOCIAL_CARE, ActionKind.POLICE, ActionKind.CEOP, ActionKind.IWF,
                       ActionKind.LOCAL_AUTHORITY, ActionKind.LADO})
NOT_REFERRED_REASON = "Please write why you decided not to refer: the record must show the reason."
REASON_REQUIRED = frozenset({ActionKind.NOT_REFERRED, ActionKind.ICO_NOT_REPORTED})


def _reason_for_not_referring(answers: Answers, now_local: datetime) -> dict[str, str]:
    errors: dict[str, str] = {}
    if answers.get("action") in REASON_REQUIRED and len(str(answers.get("note") or "").strip()) < 10:
        errors["note"] = NOT_REFERRED_REASON
    day, at = answers.get("taken_on"), answers.get("taken_time")
    if isinstance(day, str) and isinstance(at, str) and date.fromisoformat(day) == now_local.date():
        if time.fromisoformat(at) > now_local.time().replace(tzinfo=None):
            errors["taken_time"] = "That time hasn't happened yet today."
    return errors


ACTION_FORM = Form(id="action", title="Record of action", submit_label="Record it", steps=(
    Step(id="action", title="Record of action", check=_reason_for_not_referring, questions=(
        Question("action", "What was done?", Kind.SELECT, choices=tuple(Choice(k.value, k.label) for k in ActionKind)),
        Question("taken_on", "Date", Kind.DATE),
        Question("taken_time", "Time", Kind.TIME, required=False),
        Question("note", "Details: to whom, what was agreed, what happens next", Kind.LONG_TEXT, required=False,
                 hint="If you decided not to refer, write why."),
    )),
))
ASSIGN_FORM = Form(id="assign", title="Assign", submit_label="Assign", steps=(
    Step(id="assign", title="Assign", questions=(
        Question("assignee", "Who will look after this concern?", Kind.PERSON),
    )),
))
CLOSE_FORM = Form(id="close", title="Close the concern", submit_label="Close it", steps=(
    Step(id="close", title="Close", intro="Closing needs an outcome: what happened, and why no more is needed.",
         questions=(Question("outcome", "Outcome", Kind.LONG_TEXT),)),
))


class ActionAnswers(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: ActionKind
    taken_on: date
    taken_time: time | None = None
    note: str | None = None

    @classmethod
    def from_answers(cls, answers: Answers) -> ActionAnswers:
        return cls.model_validate({k: v for k, v in answers.items() if v not in (None, "")})


def status_after_action(current: Status) -> Status:
    """Recording an action on an acknowledged concern puts it in progress; otherwise status stands."""
    return Status.IN_PROGRESS if current is Status.ACKNOWLEDGED else current


def may_act(status: Status) -> bool:
    """Actions, assignment and closing need an acknowledged, open concern."""
    return status in (Status.ACKNOWLEDGED, Status.IN_PROGRESS)
