"""The append-only event log of a concern. Data never carries the child's name or the narrative."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ConcernEvent


class EventKind(StrEnum):
    REPORTED = "reported"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    ACKNOWLEDGE_REFUSED = "acknowledge_refused"
    RECORD_VIEWED = "record_viewed"
    RECORD_VIEW_REFUSED = "record_view_refused"
    ACTION_RECORDED = "action_recorded"
    ASSIGNED = "assigned"
    CLOSED = "closed"
    HANDLING_REFUSED = "handling_refused"
    ESCALATED = "escalated"
    INITIAL_REVIEW = "initial_review"
    EXPORTED = "exported"
    EMAILED = "emailed"
    REROUTED = "rerouted"


def log_event(session: Session, team_id: str, concern_id: int, kind: EventKind, actor_id: str | None,
              at: datetime, **data: Any) -> ConcernEvent:
    event = ConcernEvent(team_id=team_id, concern_id=concern_id, kind=kind.value, actor_id=actor_id,
                         at=at, data=data)
    session.add(event)
    return event


def events_for(session: Session, team_id: str, concern_id: int) -> list[ConcernEvent]:
    return list(session.scalars(
        select(ConcernEvent)
        .where(ConcernEvent.team_id == team_id, ConcernEvent.concern_id == concern_id)
        .order_by(ConcernEvent.id)
    ))
