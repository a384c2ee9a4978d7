"""Escalating concerns nobody has acknowledged. The deadline lives in the concern's row, written with
the report, so no timer is lost to a crash; a conditional update means each rung fires exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flows.concern import Status
from flows.escalation import is_last, rung
from flows.school_time import add_school_minutes
from storage.events import EventKind, log_event
from storage.models import Concern, School
from storage.outbox import OutboxKind, enqueue
from storage.schools import holders, school_day


def due(session: Session, now: datetime, limit: int = 200) -> list[int]:
    return list(session.scalars(
        select(Concern.id)
        .where(Concern.status == Status.NEW.value, Concern.escalate_at.is_not(None), Concern.escalate_at <= now)
        .order_by(Concern.escalate_at)
        .limit(limit)
    ))


def escalate(session: Session, concern_id: int, now: datetime) -> int | None:
    """Climb one rung if it is due and still unacknowledged; returns the new level, or None."""
    concern = session.get(Concern, concern_id)
    if concern is None or concern.escalate_at is None:
        return None
    school = session.get_one(School, concern.team_id)
    level = concern.escalation_level + 1
    following = None if is_last(level) else add_school_minutes(
        concern.escalate_at, school.escalation_minutes, school_day(school), school.timezone)
    won = session.execute(
        update(Concern)
        .where(Concern.id == concern.id, Concern.status == Status.NEW.value,
               Concern.escalation_level == concern.escalation_level, Concern.escalate_at <= now)
        .values(escalation_level=level, escalate_at=following)
    ).rowcount  # type: ignore[attr-defined]
    if not won:
        return None
    recipients = sorted({h.user_id for h in holders(session, concern.team_id, rung(level).notify) if h.user_id})
    for user_id in recipients:
        enqueue(session, concern.team_id, OutboxKind.ESCALATION, f"{concern.id}:escalation:{level}:{user_id}", now,
                concern_id=concern.id, recipient_id=user_id,
                payload={"level": level, "minutes": school.escalation_minutes * level})
    log_event(session, concern.team_id, concern.id, EventKind.ESCALATED, None, now, level=level,
              notified=len(recipients))
    return level
