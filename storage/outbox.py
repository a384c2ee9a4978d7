"""The durable outbox: notifications are rows written with the change they announce, then sent.

A sender claims a row with a short lease (so two senders never send the same row at once), sends it,
and marks it sent; a failure records the error and schedules the next attempt with backoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import OutboxMessage

LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=5)


class OutboxKind(StrEnum):
    DSL_ALERT = "dsl_alert"
    ALERT_REFRESH = "alert_refresh"  # brings every announcement of a concern (channel post, DMs) up to date
    CASE_ALERT = "case_alert"  # a concern about an adult, to its case manager by DM
    EMAIL = "email"
    EMAIL_FAILED = "email_failed"
    DEADLINE_REMINDER = "deadline_reminder"  # the LADO's working day or the ICO's 72 hours running out  # the email keeps failing: the case manager is told, and it is still retried  # to the LADO, or a chair outside the workspace: reference, school, date; no names
    REPORTER_RECEIPT = "reporter_receipt"
    REPORTER_ACKNOWLEDGED = "reporter_acknowledged"
    IMMEDIATE_PAGE = "immediate_page"
    ASSIGNED_NOTICE = "assigned_notice"
    URGENT_PAGE = "urgent_page"
    ESCALATION = "escalation"
    IMMEDIATE_REFERRAL_NOTICE = "immediate_referral_notice"
    DRAFT_NUDGE = "draft_nudge"
    DRAFT_UNSENT = "draft_unsent"
    ASSIGNEE_MORNING = "assignee_morning"
    REPORTER_CLOSED = "reporter_closed"


@dataclass(frozen=True)
class OutboxItem:
    id: int
    team_id: str
    kind: OutboxKind
    concern_id: int | None
    recipient_id: str | None
    attempts: int
    payload: dict[str, Any] = field(default_factory=dict)


def enqueue(session: Session, team_id: str, kind: OutboxKind, dedupe_key: str, now: datetime, *,
            concern_id: int | None = None, recipient_id: str | None = None,
            payload: dict[str, Any] | None = None) -> None:
    session.add(OutboxMessage(team_id=team_id, kind=kind.value, concern_id=concern_id,
                              recipient_id=recipient_id, payload=payload, dedupe_key=dedupe_key,
                              created_at=now, due_at=now, attempts=0))


def enqueue_once(session: Session, team_id: str, kind: OutboxKind, dedupe_key: str, now: datetime, *,
                 concern_id: int | None = None, recipient_id: str | None = None,
                 payload: dict[str, Any] | None = None) -> bool:
    """Queue a message unless one with this key was ever queued (by this or another process)."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is not None:
        return False
    try:
        with session.begin_nested():
            enqueue(session, team_id, kind, dedupe_key, now, concern_id=concern_id, recipient_id=recipient_id,
                    payload=payload)
            session.flush()
        return True
    except IntegrityError:
        return False


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.due_at <= now,
        or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
    )


def claim_due(session: Session, now: datetime, limit: int = 50) -> list[OutboxItem]:
    """Claim up to `limit` due rows, oldest first. A row someone else claimed first is skipped."""
    ids = list(session.scalars(
        select(OutboxMessage.id).where(*_claimable(now)).order_by(OutboxMessage.id).limit(limit)
    ))
    claimed: list[OutboxItem] = []
    for row_id in ids:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, *_claimable(now))
            .values(locked_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            row = session.get_one(OutboxMessage, row_id)
            session.refresh(row)
            claimed.append(OutboxItem(row.id, row.team_id, OutboxKind(row.kind), row.concern_id,
                                      row.recipient_id, row.attempts, row.payload or {}))
    return claimed


def mark_sent(session: Session, item_id: int, now: datetime) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.id == item_id)
                    .values(sent_at=now, locked_until=None, last_error=None))


def mark_failed(session: Session, item_id: int, attempts: int, now: datetime, error: str) -> datetime:
    """Record a failed attempt; the row becomes due again after an exponential backoff."""
    delay = min(timedelta(seconds=2 ** min(attempts, 12)), MAX_BACKOFF)
    due = now + delay
    session.execute(update(OutboxMessage).where(OutboxMessage.id == item_id)
                    .values(due_at=due, locked_until=None, last_error=error[:2000]))
    return due


def pending_count(session: Session, team_id: str | None = None) -> int:
    query = select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None))
    if team_id:
        query = query.where(OutboxMessage.team_id == team_id)
    return len(list(session.scalars(query)))
