"""A subject access or transfer export as a document: every concern, in words a person reads.

`document()` turns what storage gathered into plain data (dicts and lists of strings, dates, times and
`Person`s), labelled from the form definitions in `flows` rather than with raw ids, and with every instant
in the school's timezone. The JSON file is this data; the PDF is drawn from the same data, so the two
always hold the same record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flows.concern import Status, SubjectKind
from flows.deadlines import Clock
from flows.forms import Kind, Question
from flows.handling import ACTION_FORM, CLOSE_FORM, ActionKind
from flows.nudes import INITIAL_REVIEW_FORM
from flows.report_form import REPORT_FORM, SUBJECT_CHOICES, ReportAnswers
from storage.access import ConcernRecord
from storage.events import EventKind
from storage.subject_access import ExportKind, SubjectRecords

SUBJECT_LABELS = {SubjectKind(c.value): c.label for c in SUBJECT_CHOICES} | {
    SubjectKind.DSL_MEMBER: "A member of the DSL team"}
# Every question of the report that is asked once (the children's questions are asked once per child).
REPORT_QUESTIONS = [q for step in REPORT_FORM.steps if step.repeat is None for q in step.questions
                    if q.id in ReportAnswers.model_fields]
CHILD_QUESTIONS = {q.id: q for step in REPORT_FORM.steps if step.repeat is not None for q in step.questions}
ACTION_QUESTIONS = {q.id: q for step in ACTION_FORM.steps for q in step.questions}
OUTCOME_LABEL = CLOSE_FORM.steps[0].questions[0].label
REVIEW_QUESTIONS = [q for step in INITIAL_REVIEW_FORM.steps for q in step.questions]
DEADLINE_LABELS = {Clock.LADO: "Tell the LADO (within one working day)",
                   Clock.ICO: "Tell the ICO of a personal-data breach (within 72 hours)"}
EVENT_LABELS = {
    EventKind.REPORTED: "Reported", EventKind.NOTIFIED: "Safeguarding team notified",
    EventKind.ACKNOWLEDGED: "Acknowledged", EventKind.ACKNOWLEDGE_REFUSED: "Tried to acknowledge it (refused)",
    EventKind.RECORD_VIEWED: "Opened the record", EventKind.RECORD_VIEW_REFUSED: "Tried to open the record (refused)",
    EventKind.ACTION_RECORDED: "Recorded an action", EventKind.ASSIGNED: "Assigned it", EventKind.CLOSED: "Closed it",
    EventKind.HANDLING_REFUSED: "Tried to act on it (refused)",
    EventKind.ESCALATED: "Escalated (not acknowledged in time)",
    EventKind.INITIAL_REVIEW: "Recorded the initial review",
    EventKind.EXPORTED: "Exported it", EventKind.EMAILED: "Emailed the case's outside contact (no names, no details)",
    EventKind.REROUTED: "Sent to whoever now handles it (roles changed)",
    "legal_hold": "Placed under a legal hold (kept past its retention date)",
    "legal_hold_released": "Legal hold lifted",
}
EXPORT_WORDS = {ExportKind.CHILD: "a child's record", ExportKind.STAFF: "concerns about a member of staff"}
CONFIDENTIAL = (
    "Confidential: safeguarding information, including special category personal data. Before disclosing any of "
    "it under a subject access request, review it for information about other people (other children, the staff "
    "who reported or acted) and for the exemptions that apply, and record what was withheld and why."
)


@dataclass(frozen=True)
class Person:
    """Someone in the workspace: their Slack user id, and their name where the school's records hold it."""

    slack_user_id: str
    name: str | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.slack_user_id})" if self.name else self.slack_user_id


def document(gathered: SubjectRecords, names: Mapping[str, str]) -> dict[str, Any]:
    zone = ZoneInfo(gathered.timezone)
    people = {**names, **gathered.people}

    def person(user_id: str | None) -> Person | None:
        return Person(user_id, people.get(user_id)) if user_id else None

    def local(instant: datetime | None) -> datetime | None:
        return instant.astimezone(zone) if instant else None

    subject: str | Person | None = gathered.subject
    if gathered.kind is ExportKind.STAFF:
        subject = person(gathered.subject)
    return {
        "export": {
            "kind": EXPORT_WORDS[gathered.kind],
            "subject": subject,
            "school": gathered.school_name,
            "slack_team_id": gathered.team_id,
            "timezone": gathered.timezone,
            "exported_at": local(gathered.exported_at),
            "exported_by": person(gathered.viewer_id),
            "concerns": len(gathered.records),
            "references": [r.summary.reference for r in gathered.records],
            "note": CONFIDENTIAL,
        },
        "concerns": [_concern(record, person, local) for record in gathered.records],
    }


def _concern(record: ConcernRecord, person, local) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    s, answers = record.summary, record.answers
    outcome = next((a for a in reversed(record.actions) if a.kind == "outcome"), None)  # the closing one
    return {
        "reference": s.reference,
        "summary": {
            "About": SUBJECT_LABELS.get(s.subject_kind, s.subject_kind.value),
            "Category": s.category.label,
            "Urgency": s.urgency.label,
            "Status": s.status.label,
            "Reported by": person(s.reporter_id),
            "Reported at": local(s.reported_at),
            "Happened on": s.occurred_on,
            "Recorded late": "Yes" if s.reported_late else "No",
            "Acknowledged by": person(s.acknowledged_by),
            "Acknowledged at": local(s.acknowledged_at),
            "Looked after by": person(s.assigned_to),
            "Immediate referral required": "Yes" if s.immediate_referral else "No",
            "Closed by": person(s.closed_by),
            "Closed at": local(s.closed_at),
        },
        "children": [{CHILD_QUESTIONS["child_name"].label: child.name,
                      CHILD_QUESTIONS["year_group"].label: child.year_group_label,
                      "Date of birth": child.date_of_birth} for child in answers.children],
        "report": [{"question": q.label, "answer": _answer(q, getattr(answers, q.id), person)}
                   for q in REPORT_QUESTIONS if getattr(answers, q.id) not in (None, "", [])],
        "initial_review": _review(record, person, local),
        "actions": [_action(a, person, local) for a in record.actions if a is not outcome],
        "outcome": None if outcome is None else {"Outcome": outcome.note, "Recorded by": person(outcome.recorded_by),
                                                 "Recorded at": local(outcome.recorded_at)},
        "deadlines": [{"Deadline": DEADLINE_LABELS.get(d.kind, d.kind), "Due by": local(d.due_at),
                       "Done at": local(d.met_at)} for d in record.deadlines],
        "status_history": [{"At": local(c.at), "From": Status(c.from_status).label if c.from_status else None,
                            "To": Status(c.to_status).label, "By": person(c.actor_id)} for c in record.history],
        "events": [{"At": local(e.at), "What": _event(e.kind, e.data), "By": person(e.actor_id)}
                   for e in record.events],
    }


def _answer(question: Question, value: Any, person) -> Any:  # type: ignore[no-untyped-def]
    if question.kind is Kind.PERSON:
        return person(str(value))
    if question.kind is Kind.CHECKBOXES:
        return [question.choice_label(str(v)) or str(v) for v in value]
    if question.choices:
        return question.choice_label(str(value)) or str(value)
    return value


def _review(record: ConcernRecord, person, local) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    review = record.initial_review
    if review is None:
        return None
    answers = [{"question": q.label, "answer": _answer(q, getattr(review, q.id), person)}
               for q in REVIEW_QUESTIONS if getattr(review, q.id) not in (None, "", [])]
    return {"answers": answers, "Recorded by": person(review.recorded_by), "Recorded at": local(review.recorded_at)}


def _action(action, person, local) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    kind = OUTCOME_LABEL if action.kind == "outcome" else (
        ACTION_QUESTIONS["action"].choice_label(action.kind) or ActionKind(action.kind).label)
    return {"Action": kind, ACTION_QUESTIONS["taken_on"].label: action.taken_on,
            ACTION_QUESTIONS["taken_time"].label: action.taken_time, "Details": action.note,
            "Recorded by": person(action.recorded_by), "Recorded at": local(action.recorded_at)}


def _event(kind: str, data: dict[str, Any]) -> str:
    words = EVENT_LABELS.get(kind, kind)  # type: ignore[call-overload]
    if kind == EventKind.EXPORTED and data.get("export") in EXPORT_WORDS:
        return f"{words} ({EXPORT_WORDS[data['export']]})"
    if kind == EventKind.EXPORTED:
        return f"{words} (in the incident log)"
    if kind == EventKind.EMAILED:
        return words + (" to the LADO" if data.get("to") == "lado" else " to the chair of governors")
    if kind == EventKind.ESCALATED and data.get("level"):
        return f"{words}, level {data['level']}"
    return words


def plain(value: Any) -> str:
    """One value as a person reads it: dates and times in words, people by name and id, lists joined."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%-d %b %Y, %H:%M")
    if isinstance(value, date):
        return value.strftime("%-d %b %Y")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, list):
        return "; ".join(plain(v) for v in value)
    return str(value)


def as_json(value: Any) -> Any:
    """For json.dumps(default=...): instants and dates in ISO 8601 (with the school's offset), people as objects."""
    if isinstance(value, (datetime, time)):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Person):
        return {"slack_user_id": value.slack_user_id, "name": value.name}
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
