"""Everything the school holds about one child, or about one member of staff: for a subject access request,
or to send a child's record on to their next school.

Who may have it is decided here, and only through the access policy (`storage.access`): the export is
open to the roles below, and holds only the concerns the person exporting may open themselves.

- A child's record: the DSL or a deputy DSL (every concern about a pupil is theirs to open), or the
  headteacher, who gets only the concerns that reached them (escalated to them, unacknowledged or referred).
- Concerns about a member of staff (allegations): the headteacher; when that person is the headteacher,
  only the chair of governors. Nobody may export the concerns about themselves.

Gathering only reads. `log_export` then records the export as an `EXPORTED` event on every concern it holds,
in the transaction that writes the files, so the log never claims an export that was not written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.concern import DSL_TEAM, Role, SubjectKind
from flows.report_form import ReportAnswers
from storage.access import ConcernRecord, handler_check, summarise
from storage.children import child_keys
from storage.events import EventKind, events_for, log_event
from storage.models import (
    Concern, ConcernAction, ConcernChild, Deadline, InitialReview, RoleAssignment, School, StatusChange,
)
from storage.schools import roles_of


class NotEntitled(Exception):
    """This person may not have this export, or there is nothing in it they may open; one sentence."""


class ExportKind(StrEnum):
    CHILD = "child"  # a child's record: subject access, or transfer to the next school
    STAFF = "staff"  # concerns about a member of staff: their subject access request


# Who may ask at all; which concerns they then get is the access policy's answer for each.
CHILD_EXPORTERS: frozenset[Role] = DSL_TEAM | {Role.HEADTEACHER}
ADULT_SUBJECTS = frozenset(k for k in SubjectKind if k.is_adult)


@dataclass(frozen=True)
class SubjectRecords:
    kind: ExportKind
    team_id: str
    school_name: str
    timezone: str
    viewer_id: str
    exported_at: datetime
    subject: str  # the child's name as asked for, or the member of staff's Slack user id
    records: list[ConcernRecord]
    people: dict[str, str]  # Slack user id -> name, for the school's role holders (readable, not just ids)


def child_records(session: Session, team_id: str, viewer_id: str, name: str, now: datetime) -> SubjectRecords:
    """Every concern in this school about the child of this name that the viewer may open, each logged."""
    if not name.strip():
        raise NotEntitled("give the child's full name with --child.")
    if not roles_of(session, team_id, viewer_id) & CHILD_EXPORTERS:
        raise NotEntitled(f"{viewer_id} is not the DSL, a deputy DSL or the headteacher, so may not export a "
                          "child's record.")
    concerns = session.scalars(
        select(Concern)
        .join(ConcernChild, ConcernChild.concern_id == Concern.id)
        .where(ConcernChild.team_id == team_id, Concern.team_id == team_id,
               ConcernChild.name_key.in_(child_keys(session, name)))
        .order_by(Concern.reported_at, Concern.id)
    ).unique()
    allowed = handler_check(session, team_id, viewer_id)
    mine = list(dict.fromkeys(c for c in concerns if allowed(c)))
    if not mine:
        # The same answer whether there is no such child or none of theirs is this viewer's to open.
        raise NotEntitled("no concern you may open names a child of that name here: check the spelling "
                          "(capitals, spaces and accents do not matter).")
    return _gathered(session, ExportKind.CHILD, team_id, viewer_id, name.strip(), mine, now)


def staff_records(session: Session, team_id: str, viewer_id: str, staff_id: str, now: datetime) -> SubjectRecords:
    """Every concern in this school about this member of staff that the viewer may open, each logged."""
    if viewer_id == staff_id:
        raise NotEntitled("nobody may export the concerns about themselves: ask the headteacher, or for the "
                          "headteacher the chair of governors.")
    about_head = Role.HEADTEACHER in roles_of(session, team_id, staff_id)
    needed = Role.CHAIR_OF_GOVERNORS if about_head else Role.HEADTEACHER
    if needed not in roles_of(session, team_id, viewer_id):
        raise NotEntitled(f"{viewer_id} is not the " + (
            "chair of governors, who alone may export the concerns about the headteacher." if about_head else
            "headteacher, who alone may export the concerns about a member of staff."))
    concerns = session.scalars(
        select(Concern)
        .where(Concern.team_id == team_id, Concern.subject_user_id == staff_id,
               Concern.subject_kind.in_([k.value for k in ADULT_SUBJECTS]))
        .order_by(Concern.reported_at, Concern.id)
    )
    allowed = handler_check(session, team_id, viewer_id)
    mine = [c for c in concerns if allowed(c)]
    if not mine:
        raise NotEntitled("no concern you may open is about that member of staff here.")
    return _gathered(session, ExportKind.STAFF, team_id, viewer_id, staff_id, mine, now)


def _gathered(session: Session, kind: ExportKind, team_id: str, viewer_id: str, subject: str,
              concerns: list[Concern], now: datetime) -> SubjectRecords:
    school = session.get_one(School, team_id)
    records = [_record(session, concern) for concern in concerns]
    people = {row.user_id: row.display_name for row in session.scalars(
        select(RoleAssignment).where(RoleAssignment.team_id == team_id)) if row.user_id and row.display_name}
    return SubjectRecords(kind=kind, team_id=team_id, school_name=school.name or team_id, timezone=school.timezone,
                          viewer_id=viewer_id, exported_at=now, subject=subject, records=records, people=people)


def log_export(session: Session, gathered: SubjectRecords, formats: list[str], now: datetime) -> None:
    """The export, on every concern in it: who, when, and what kind (never whom it was about)."""
    for record in gathered.records:
        log_event(session, gathered.team_id, record.summary.id, EventKind.EXPORTED, gathered.viewer_id, now,
                  export=gathered.kind.value, formats=formats)


def _record(session: Session, concern: Concern) -> ConcernRecord:
    """The whole record of one concern: what was reported, and everything done and logged since."""
    def rows(model, order):  # type: ignore[no-untyped-def]
        return list(session.scalars(select(model).where(model.concern_id == concern.id).order_by(order)))

    review = session.scalars(select(InitialReview).where(InitialReview.concern_id == concern.id)).first()
    return ConcernRecord(
        summary=summarise(concern, has_initial_review=review is not None),
        answers=ReportAnswers.model_validate(concern.details),
        history=rows(StatusChange, StatusChange.id),
        events=events_for(session, concern.team_id, concern.id),
        actions=rows(ConcernAction, ConcernAction.id),
        initial_review=review,
        deadlines=rows(Deadline, Deadline.kind),
    )
