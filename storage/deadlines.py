"""Statutory clocks: started with the concern, stopped by the action that meets them, and reminders
sent once before they run out and once if they are missed (each a conditional update)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flows.concern import Role
from flows.deadlines import RULES, Clock, clock_met_by, ico_deadline, next_working_day_same_time
from flows.routing import BREACH_ROLES
from storage.models import Concern, Deadline, School
from storage.outbox import OutboxKind, enqueue_once
from storage.routing import email_only_case_manager
from storage.schools import closure_days, holders


def start_clocks(session: Session, concern: Concern, school: School, *, lado: bool, now: datetime) -> None:
    if lado:
        session.add(Deadline(team_id=concern.team_id, concern_id=concern.id, kind=Clock.LADO.value,
                             due_at=next_working_day_same_time(now, school.timezone, closure_days(school))))
    if concern.personal_data_breach:
        session.add(Deadline(team_id=concern.team_id, concern_id=concern.id, kind=Clock.ICO.value,
                             due_at=ico_deadline(now)))


def meet(session: Session, concern_id: int, action_kind: str, now: datetime) -> None:
    clock = clock_met_by(action_kind)
    if clock is not None:
        session.execute(update(Deadline).where(Deadline.concern_id == concern_id, Deadline.kind == clock.value,
                                               Deadline.met_at.is_(None)).values(met_at=now))


def for_concern(session: Session, concern_id: int) -> list[Deadline]:
    return list(session.scalars(select(Deadline).where(Deadline.concern_id == concern_id).order_by(Deadline.kind)))


def _reminded(session: Session, deadline: Deadline, column: str, now: datetime) -> bool:
    """Claim this reminder (true exactly once, however many sweepers race for it)."""
    col = getattr(Deadline, column)
    return bool(session.execute(update(Deadline).where(Deadline.id == deadline.id, col.is_(None))
                                .values({column: now})).rowcount)  # type: ignore[attr-defined]


def _recipients(session: Session, deadline: Deadline, concern: Concern) -> list[str]:
    roles = BREACH_ROLES if deadline.kind == Clock.ICO else frozenset(Role(r) for r in concern.case_roles or ())
    users = {h.user_id for h in holders(session, concern.team_id, roles) if h.user_id}
    users.discard(concern.subject_user_id or "")
    return sorted(users)


def remind_due(session: Session, now: datetime) -> int:
    """Queue the reminders that have fallen due; returns how many were queued."""
    queued = 0
    for deadline in session.scalars(select(Deadline).where(Deadline.met_at.is_(None)).order_by(Deadline.due_at)):
        rule = RULES[Clock(deadline.kind)]
        concern = session.get_one(Concern, deadline.concern_id)
        recipients = _recipients(session, deadline, concern)
        by_email = not recipients and deadline.kind == Clock.LADO and email_only_case_manager(session, concern)
        if not recipients and not by_email:
            continue  # nobody to tell yet (a role unfilled): keep the reminder for when someone is
        stage = None
        if now >= deadline.due_at and deadline.overdue_reminded_at is None:
            stage = "overdue" if _reminded(session, deadline, "overdue_reminded_at", now) else None
        elif now >= deadline.due_at - rule.remind_before and deadline.reminded_at is None and now < deadline.due_at:
            stage = "soon" if _reminded(session, deadline, "reminded_at", now) else None
        if stage is None:
            continue
        if by_email:  # the chair, outside the workspace, is the case manager: remind them by email
            queued += enqueue_once(session, concern.team_id, OutboxKind.EMAIL,
                                   f"{concern.id}:deadline:{deadline.kind}:{stage}:chair", now, concern_id=concern.id,
                                   payload={"to": "chair", "about": "deadline", "stage": stage,
                                            "due_at": deadline.due_at.isoformat()})
        for user_id in recipients:
            queued += enqueue_once(session, concern.team_id, OutboxKind.DEADLINE_REMINDER,
                                   f"{concern.id}:deadline:{deadline.kind}:{stage}:{user_id}", now,
                                   concern_id=concern.id, recipient_id=user_id,
                                   payload={"clock": deadline.kind, "stage": stage,
                                            "due_at": deadline.due_at.isoformat()})
    return queued
