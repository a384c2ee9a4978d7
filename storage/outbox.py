"""The durable outbox: notifications are rows written with the change they announce, then sent.

A sender claims a row with a short lease (so two senders never send the same row at once), sends it,
and marks it sent; a failure records the error and schedules the next attempt with backoff. A row is never
given up on or marked dead: however many attempts fail, the next comes at most MAX_BACKOFF later (or when
Slack's Retry-After says, if that is later still), and a concern's alert still undelivered after a while
brings one email to the school's fallback address (FALLBACK_EMAIL).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from storage.models import OutboxMessage, School

LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=5)
MAX_RETRY_AFTER = timedelta(minutes=10)  # the longest Slack's Retry-After may hold a row back


class OutboxKind(StrEnum):
    DSL_ALERT = "dsl_alert"
    ALERT_REFRESH = "alert_refresh"  # brings every announcement of a concern (channel post, DMs) up to date
    CASE_ALERT = "case_alert"  # a concern about an adult, to its case manager by DM
    EMAIL = "email"  # to the LADO, or a chair outside the workspace: reference, school, date; no names
    EMAIL_FAILED = "email_failed"  # the email keeps failing: the case manager is told, and it is still retried
    DEADLINE_REMINDER = "deadline_reminder"  # the LADO's working day or the ICO's 72 hours running out
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
    # The yearly cycle (bot/yearly_sender.py)
    AUP_REQUEST = "aup_request"  # please read and sign the AUP
    AUP_REMINDER = "aup_reminder"
    AUP_WEEKLY_LIST = "aup_weekly_list"  # to the head: how many have not signed, and a button to see who
    AUP_ROUND_NOTICE = "aup_round_notice"  # to whoever started a round: it started, and when all were asked
    POLICY_REMINDER = "policy_reminder"
    GOVERNORS_REPORT = "governors_report"
    SETUP_NEEDED = "setup_needed"  # a concern recorded where nobody is set up yet: the workspace's admins are told
    FALLBACK_EMAIL = "fallback_email"  # a concern's alert still not through to Slack: one email, reference only


# A concern's own messages in Slack: while one of these is undelivered, the team may not know of the concern.
ANNOUNCEMENTS = frozenset({OutboxKind.DSL_ALERT, OutboxKind.CASE_ALERT, OutboxKind.URGENT_PAGE,
                           OutboxKind.ESCALATION, OutboxKind.REPORTER_RECEIPT})


class Priority:
    """Lower is sent first. A concern's alerts and pages never wait behind a staff-wide broadcast."""

    CONCERN = 0
    ROUTINE = 5
    BROADCAST = 10


@dataclass(frozen=True)
class OutboxItem:
    id: int
    team_id: str
    kind: OutboxKind
    concern_id: int | None
    recipient_id: str | None
    attempts: int
    payload: dict[str, Any] = field(default_factory=dict)
    locked_until: datetime | None = None  # this claim's lease: whoever holds this value holds the row


_ADD = insert(OutboxMessage.__table__)
# (RETURNING says whether it inserted: psycopg gives no rowcount for this statement.)
_ADD_ONCE = {name: dialect.insert(OutboxMessage.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"])
             .returning(OutboxMessage.id) for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


def outbox_row(team_id: str, kind: OutboxKind, dedupe_key: str, now: datetime, *, concern_id: int | None = None,
               recipient_id: str | None = None, payload: dict[str, Any] | None = None,
               due_at: datetime | None = None, priority: int = Priority.CONCERN) -> dict[str, Any]:
    """One row's values, for `enqueue` or for a bulk insert of a broadcast."""
    return dict(team_id=team_id, kind=kind.value, concern_id=concern_id, recipient_id=recipient_id, payload=payload,
                dedupe_key=dedupe_key, created_at=now, due_at=due_at or now, attempts=0, priority=priority)


def enqueue(session: Session, team_id: str, kind: OutboxKind, dedupe_key: str, now: datetime, *,
            concern_id: int | None = None, recipient_id: str | None = None,
            payload: dict[str, Any] | None = None, due_at: datetime | None = None,
            priority: int = Priority.CONCERN) -> None:
    """Queue a message, written at once (in the caller's transaction) by the table's insert: a queued row is
    never changed by the code that queues it, so it needs none of the unit of work's bookkeeping."""
    session.execute(_ADD, outbox_row(team_id, kind, dedupe_key, now, concern_id=concern_id,
                                     recipient_id=recipient_id, payload=payload, due_at=due_at, priority=priority))


def enqueue_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Queue several messages (`outbox_row`s) in one statement (one round trip on PostgreSQL)."""
    if rows:
        session.execute(_ADD, rows)


def enqueue_once(session: Session, team_id: str, kind: OutboxKind, dedupe_key: str, now: datetime, *,
                 concern_id: int | None = None, recipient_id: str | None = None,
                 payload: dict[str, Any] | None = None, due_at: datetime | None = None,
                 priority: int = Priority.CONCERN) -> bool:
    """Queue a message unless one with this key was ever queued (by this or another process): one INSERT ... ON
    CONFLICT DO NOTHING on the key's unique index, so a second queuer at the same moment waits for the first's
    transaction and then adds nothing."""
    row = outbox_row(team_id, kind, dedupe_key, now, concern_id=concern_id, recipient_id=recipient_id,
                     payload=payload, due_at=due_at, priority=priority)
    return session.execute(_ADD_ONCE[session.get_bind().dialect.name], row).first() is not None


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    removed = select(School.team_id).where(School.uninstalled_at.is_not(None))
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.due_at <= now,
        or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
        OutboxMessage.team_id.not_in(removed),  # the app was removed there: kept, never sent
    )


def claim_due(session: Session, now: datetime, limit: int = 50, lease: timedelta = LEASE) -> list[OutboxItem]:
    """Claim up to `limit` due rows, most urgent then oldest first. A row someone else claimed is skipped.
    One UPDATE claims the batch and returns it (the claimable condition is checked again in it)."""
    ids = list(session.scalars(
        select(OutboxMessage.id).where(*_claimable(now))
        .order_by(OutboxMessage.priority, OutboxMessage.id).limit(limit)
    ))
    if not ids:
        return []
    claimed = session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids), *_claimable(now))
        .values(locked_until=now + lease, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id, OutboxMessage.team_id, OutboxMessage.kind, OutboxMessage.concern_id,
                   OutboxMessage.recipient_id, OutboxMessage.attempts, OutboxMessage.payload,
                   OutboxMessage.locked_until)
        .execution_options(synchronize_session=False)
    ).all()
    order = {row_id: n for n, row_id in enumerate(ids)}
    return [OutboxItem(row.id, row.team_id, OutboxKind(row.kind), row.concern_id, row.recipient_id, row.attempts,
                       row.payload or {}, row.locked_until)
            for row in sorted(claimed, key=lambda row: order[row.id])]


def lease_is_fresh(item: OutboxItem, now: datetime, lease: timedelta = LEASE) -> bool:
    """More than half the lease is left: nobody else can claim the row before it is sent, so the sender
    need not renew it first (a database round trip per message saved in a staff-wide round)."""
    return item.locked_until is not None and item.locked_until - now > lease / 2


def renew_lease(session: Session, item: OutboxItem, now: datetime, lease: timedelta = LEASE) -> OutboxItem | None:
    """Extend this claim's lease just before sending; None if the row is no longer ours (our lease ran out
    while earlier rows of the batch were sent, and another sender claimed it), so it must not be sent."""
    until = now + lease
    moved = session.execute(update(OutboxMessage).where(
        OutboxMessage.id == item.id, OutboxMessage.sent_at.is_(None), OutboxMessage.locked_until == item.locked_until)
        .values(locked_until=until)).rowcount  # type: ignore[attr-defined]
    if not moved:
        return None
    row = session.get_one(OutboxMessage, item.id)
    session.refresh(row)
    return replace(item, locked_until=row.locked_until)


def defer(session: Session, item_id: int, until: datetime) -> None:
    """Not now (a reminder outside school hours): due again at `until`, and the attempt does not count."""
    session.execute(update(OutboxMessage).where(OutboxMessage.id == item_id)
                    .values(due_at=until, locked_until=None, attempts=OutboxMessage.attempts - 1))


def mark_sent(session: Session, item_id: int, now: datetime) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.id == item_id)
                    .values(sent_at=now, locked_until=None, last_error=None))


def backoff(attempts: int) -> timedelta:
    """How long after a failed attempt the next is: doubling from 2 seconds, never more than MAX_BACKOFF."""
    return min(timedelta(seconds=2 ** min(max(attempts, 1), 12)), MAX_BACKOFF)


def mark_failed(session: Session, item_id: int, attempts: int, now: datetime, error: str,
                not_before: datetime | None = None) -> datetime:
    """Record a failed attempt; the row becomes due again after the backoff, or at `not_before` (Slack's
    Retry-After, up to MAX_RETRY_AFTER) if that is later. It stays in the outbox however many attempts fail."""
    due = max(now + backoff(attempts), min(not_before or now, now + MAX_RETRY_AFTER))
    session.execute(update(OutboxMessage).where(OutboxMessage.id == item_id)
                    .values(due_at=due, locked_until=None, last_error=error[:2000]))
    return due


def overdue_announcements(session: Session, older_than: datetime, limit: int = 100) -> list[tuple[str, int]]:
    """(team id, concern id) of each concern with an announcement still unsent that was queued before
    `older_than`, and no fallback email queued for it yet. Not where the app was removed: nothing is sent there."""
    removed = select(School.team_id).where(School.uninstalled_at.is_not(None))
    fallback = aliased(OutboxMessage)
    emailed = select(fallback.id).where(fallback.kind == OutboxKind.FALLBACK_EMAIL.value,
                                        fallback.concern_id == OutboxMessage.concern_id)
    rows = session.execute(
        select(OutboxMessage.team_id, OutboxMessage.concern_id).distinct()
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.concern_id.is_not(None),
               OutboxMessage.created_at <= older_than, OutboxMessage.kind.in_([k.value for k in ANNOUNCEMENTS]),
               ~emailed.exists(), OutboxMessage.team_id.not_in(removed))
        .order_by(OutboxMessage.concern_id).limit(limit))
    return [(str(team_id), int(concern_id)) for team_id, concern_id in rows]


def unsent_announcements(session: Session, concern_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.concern_id == concern_id, OutboxMessage.sent_at.is_(None),
        OutboxMessage.kind.in_([k.value for k in ANNOUNCEMENTS]))) or 0)


def pending_count(session: Session, team_id: str | None = None) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    if team_id:
        query = query.where(OutboxMessage.team_id == team_id)
    return int(session.scalar(query) or 0)
