"""The access policy: who may see or act on a concern, decided here and nowhere else.

Two kinds of read exist. A `ConcernSummary` carries nothing sensitive (reference, category, urgency,
status, who handled it, times) and is what messages are rendered from. A `ConcernRecord` carries the
child's details and the narrative; it is only ever produced by `open_record`, which checks the routing
table for the viewer's roles and writes the view, or the refusal, to the concern's event log.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, defer

from flows.concern import Category, Role, Status, SubjectKind, Urgency
from flows.report_form import ReportAnswers
from flows.routing import may_open
from storage.children import child_keys
from storage.events import EventKind, events_for, log_event
from storage.models import (
    Concern, ConcernAction, ConcernChild, ConcernEvent, Deadline, InitialReview, StatusChange,
)
from storage.schools import roles_of


@dataclass(frozen=True)
class ConcernSummary:
    id: int
    team_id: str
    reference: str
    subject_kind: SubjectKind
    category: Category
    urgency: Urgency
    status: Status
    reporter_id: str
    reported_at: datetime
    occurred_on: date
    reported_late: bool
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    assigned_to: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    immediate_referral: bool = False
    has_initial_review: bool = False
    meets_harm_threshold: bool = False
    personal_data_breach: bool = False


@dataclass(frozen=True)
class ConcernRecord:
    summary: ConcernSummary
    answers: ReportAnswers
    history: list[StatusChange]
    events: list[ConcernEvent]
    actions: list[ConcernAction] = field(default_factory=list)
    initial_review: InitialReview | None = None
    # For each child in this concern (in order), their other concerns this viewer may open, newest first.
    chronology: list[list[ConcernSummary]] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)


def summarise(concern: Concern, has_initial_review: bool = False) -> ConcernSummary:
    return ConcernSummary(
        id=concern.id, team_id=concern.team_id, reference=concern.reference,
        subject_kind=SubjectKind(concern.subject_kind), category=Category(concern.category),
        urgency=Urgency(concern.urgency), status=Status(concern.status), reporter_id=concern.reporter_id,
        reported_at=concern.reported_at, occurred_on=concern.occurred_on, reported_late=concern.reported_late,
        acknowledged_by=concern.acknowledged_by, acknowledged_at=concern.acknowledged_at,
        assigned_to=concern.assigned_to, closed_by=concern.closed_by, closed_at=concern.closed_at,
        immediate_referral=concern.immediate_referral, has_initial_review=has_initial_review,
        meets_harm_threshold=concern.meets_harm_threshold, personal_data_breach=concern.personal_data_breach,
    )


# Most reads need the routing and the status, never what was reported (sealed, and most of the row): with this
# option the details are neither read nor opened, and touching them raises rather than quietly loading them.
UNREAD_DETAILS = defer(Concern.details, raiseload=True)


def find(session: Session, team_id: str, concern_id: int) -> Concern | None:
    return session.scalars(select(Concern).where(Concern.id == concern_id, Concern.team_id == team_id)).first()


def concern_and_summary(session: Session, team_id: str, concern_id: int) -> tuple[Concern, ConcernSummary] | None:
    """The concern without its details, and its summary, in one statement (messages are rendered from these)."""
    reviewed = exists().where(InitialReview.concern_id == Concern.id)
    row = session.execute(select(Concern, reviewed).where(Concern.id == concern_id, Concern.team_id == team_id)
                          .options(UNREAD_DETAILS)).first()
    return None if row is None else (row[0], summarise(row[0], has_initial_review=bool(row[1])))


def summary(session: Session, team_id: str, concern_id: int) -> ConcernSummary | None:
    both = concern_and_summary(session, team_id, concern_id)
    return None if both is None else both[1]


def case_roles(concern: Concern) -> frozenset[Role]:
    return roles_of_case(tuple(concern.case_roles or ()))


@functools.lru_cache(maxsize=256)
def roles_of_case(case: tuple[str, ...]) -> frozenset[Role]:
    """A routing's case roles, as stored, made Roles once: a school's concerns share a handful of routings,
    and exports and counts read thousands of them."""
    return frozenset(Role(r) for r in case)


def may_handle(session: Session, concern: Concern, user_id: str) -> bool:
    """May this person open and act on this concern? Its routing decision and their roles decide;
    the person it is about never may, whatever roles they hold."""
    return may_handle_as(concern, roles_of(session, concern.team_id, user_id), user_id)


def may_handle_as(concern: Concern, roles: frozenset[Role], user_id: str) -> bool:
    """`may_handle`, with the person's roles in this school already read (`roles_of`, `roles_in`)."""
    return may_open(case_roles(concern), roles, concern.escalation_level, viewer_id=user_id,
                    subject_user_id=concern.subject_user_id)


def handler_check(session: Session, team_id: str, user_id: str) -> Callable[[Concern], bool]:
    """`may_handle` for many concerns of one school at once: the viewer's roles are read once, not per row, and
    each routing (case roles, escalation level, subject) is decided once, however many concerns share it."""
    roles = roles_of(session, team_id, user_id)

    @functools.cache
    def decided(case: tuple[str, ...], level: int, subject: str | None) -> bool:
        return may_open(roles_of_case(case), roles, level, viewer_id=user_id, subject_user_id=subject)

    return lambda concern: concern.team_id == team_id and decided(
        tuple(concern.case_roles or ()), concern.escalation_level, concern.subject_user_id)


def open_record(session: Session, team_id: str, concern_id: int, viewer_id: str,
                now: datetime) -> ConcernRecord | None:
    """The full record for an entitled viewer, else None. Both outcomes are logged on the concern.

    None is also the answer for a concern that does not exist in this school, so a refusal reveals
    nothing about whether a record is there.
    """
    concern = session.scalars(
        select(Concern).where(Concern.id == concern_id, Concern.team_id == team_id)
    ).first()
    if concern is None:
        return None
    if not may_handle(session, concern, viewer_id):
        log_event(session, team_id, concern.id, EventKind.RECORD_VIEW_REFUSED, viewer_id, now)
        return None
    log_event(session, team_id, concern.id, EventKind.RECORD_VIEWED, viewer_id, now)
    session.flush()
    history = list(session.scalars(
        select(StatusChange).where(StatusChange.concern_id == concern.id).order_by(StatusChange.id)
    ))
    actions = list(session.scalars(
        select(ConcernAction).where(ConcernAction.concern_id == concern.id).order_by(ConcernAction.id)
    ))
    review = session.scalars(select(InitialReview).where(InitialReview.concern_id == concern.id)).first()
    answers = ReportAnswers.model_validate(concern.details)
    # Each child's keys under every key held, so a chronology spans records not yet re-keyed by a rotation.
    chronology = [_chronology(session, concern, child_keys(session, child.name), viewer_id)
                  for child in answers.children]
    return ConcernRecord(
        summary=summarise(concern, has_initial_review=review is not None),
        answers=answers,
        history=history,
        events=events_for(session, team_id, concern.id),
        actions=actions,
        initial_review=review,
        chronology=chronology,
        deadlines=list(session.scalars(select(Deadline).where(Deadline.concern_id == concern.id)
                                       .order_by(Deadline.kind))),
    )


CHRONOLOGY_LIMIT = 20


def _chronology(session: Session, concern: Concern, keys: list[str], viewer_id: str) -> list[ConcernSummary]:
    """The same child's other concerns in this school, newest first, only those the viewer may open."""
    others = session.scalars(
        select(Concern)
        .join(ConcernChild, ConcernChild.concern_id == Concern.id)
        .where(ConcernChild.team_id == concern.team_id, ConcernChild.name_key.in_(keys), Concern.id != concern.id)
        .order_by(Concern.reported_at.desc())
        .limit(CHRONOLOGY_LIMIT)
    ).unique()
    allowed = handler_check(session, concern.team_id, viewer_id)
    return [summarise(other) for other in others if allowed(other)]
