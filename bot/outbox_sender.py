"""Sends the outbox: each row is rendered from the concern as it is now, sent, then marked sent.

Rows are claimed with a lease, so the listener's immediate drain and the scheduler's periodic one never
send the same row twice; a failure is logged (reference and error, never content) and retried later.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.render import messages
from flows.clock import Clock
from flows.concern import Category
from storage import access, daily
from storage.db import Database
from storage.events import EventKind, log_event
from storage.drafts import DraftStatus
from storage.models import Draft, Notification, School
from storage.outbox import OutboxItem, OutboxKind, claim_due, mark_failed, mark_sent
from storage.schools import get_school

log = logging.getLogger(__name__)
DSL_AUDIENCE = "dsl_channel"


class NotReady(Exception):
    """The row can't be sent yet (no DSL channel configured, or the post it updates isn't out yet)."""


@dataclass(frozen=True)
class DrainReport:
    sent: int
    failed: int


class OutboxSender:
    def __init__(self, db: Database, clock: Clock, client: WebClient, default_timezone: str) -> None:
        self._db = db
        self._clock = clock
        self._client = client
        self._default_timezone = default_timezone
        self._lock = threading.Lock()

    def drain(self, limit: int = 100) -> DrainReport:
        """Send everything due now. Safe to call from several threads and processes at once."""
        with self._lock:
            with self._db.session() as session:
                items = claim_due(session, self._clock.now(), limit)
            sent = failed = 0
            for item in items:
                if self._send_one(item):
                    sent += 1
                else:
                    failed += 1
            return DrainReport(sent, failed)

    def _send_one(self, item: OutboxItem) -> bool:
        try:
            with self._db.session() as session:
                self._send(session, item)
                mark_sent(session, item.id, self._clock.now())
            return True
        except (SlackApiError, SlackClientError, NotReady, OSError) as exc:
            error = _describe(exc)
            with self._db.session() as session:
                retry_at = mark_failed(session, item.id, item.attempts, self._clock.now(), error)
            log.warning("outbox %s #%s (concern id %s) not sent, attempt %s: %s; next try %s",
                        item.kind, item.id, item.concern_id, item.attempts, error, retry_at.isoformat())
            return False

    def _send(self, session: Session, item: OutboxItem) -> None:
        school = get_school(session, item.team_id)
        tz = school.timezone if school else self._default_timezone
        if item.kind is OutboxKind.IMMEDIATE_PAGE:
            self._direct_message(item.recipient_id, *messages.immediate_page(item.payload.get("reporter_id")))
            return
        if item.kind is OutboxKind.ASSIGNEE_MORNING:
            open_concerns = [access.summarise(c) for c in daily.open_assigned_to(session, item.team_id,
                                                                                  item.recipient_id or "")]
            if open_concerns:  # all closed since it was queued: nothing to say
                self._direct_message(item.recipient_id, *messages.assignee_morning(open_concerns))
            return
        if item.kind in (OutboxKind.DRAFT_NUDGE, OutboxKind.DRAFT_UNSENT):
            self._draft_notice(session, item, school, tz)
            return
        summary = access.summary(session, item.team_id, item.concern_id) if item.concern_id else None
        if summary is None:
            raise NotReady(f"concern {item.concern_id} not found in {item.team_id}")
        if item.kind is OutboxKind.DSL_ALERT:
            if school is None or not school.dsl_channel_id:
                raise NotReady("no DSL channel is configured: run `concernbot setup school.yml`")
            text, blocks = messages.dsl_alert(summary, tz)
            response = self._client.chat_postMessage(
                channel=school.dsl_channel_id, text=text, blocks=blocks,
                metadata={"event_type": "concern_alert", "event_payload": {"reference": summary.reference}},
            )
            session.add(Notification(team_id=item.team_id, concern_id=summary.id, audience=DSL_AUDIENCE,
                                     channel_id=response["channel"], message_ts=response["ts"]))
            log_event(session, item.team_id, summary.id, EventKind.NOTIFIED, None, self._clock.now(),
                      audience=DSL_AUDIENCE)
        elif item.kind is OutboxKind.DSL_ALERT_REFRESH:
            post = session.scalars(select(Notification).where(
                Notification.concern_id == summary.id, Notification.audience == DSL_AUDIENCE)).first()
            if post is None:
                raise NotReady("the DSL channel post has not been sent yet")
            text, blocks = messages.dsl_alert(summary, tz)
            self._client.chat_update(channel=post.channel_id, ts=post.message_ts, text=text, blocks=blocks)
        elif item.kind is OutboxKind.URGENT_PAGE:
            self._direct_message(item.recipient_id, *messages.urgent_page(summary))
        elif item.kind is OutboxKind.ESCALATION:
            self._direct_message(item.recipient_id, *messages.escalation(summary, int(item.payload["minutes"])))
        elif item.kind is OutboxKind.IMMEDIATE_REFERRAL_NOTICE:
            self._direct_message(item.recipient_id, *messages.immediate_referral_notice(summary))
        elif item.kind is OutboxKind.ASSIGNED_NOTICE:
            self._direct_message(item.recipient_id, *messages.assigned_notice(summary, item.payload.get("by")))
        else:
            render = {OutboxKind.REPORTER_RECEIPT: messages.reporter_receipt,
                      OutboxKind.REPORTER_ACKNOWLEDGED: messages.reporter_acknowledged,
                      OutboxKind.REPORTER_CLOSED: messages.reporter_closed}[item.kind]
            self._direct_message(item.recipient_id, *render(summary, tz))

    def _draft_notice(self, session: Session, item: OutboxItem, school: School | None, tz: str) -> None:
        draft = session.get(Draft, item.payload.get("draft_id"))
        if draft is None or draft.status != DraftStatus.OPEN:
            return  # sent or thrown away since: nothing to nudge about
        category = Category(draft.answers["category"]).label if draft.answers.get("category") in set(Category) \
            else None
        if item.kind is OutboxKind.DRAFT_NUDGE:
            self._direct_message(draft.reporter_id, *messages.draft_nudge(draft.created_at, tz))
            return
        if school is None or not school.dsl_channel_id:
            raise NotReady("no DSL channel is configured: run `concernbot setup school.yml`")
        text, blocks = messages.draft_unsent(draft.reporter_id, draft.created_at, category, tz)
        self._client.chat_postMessage(channel=school.dsl_channel_id, text=text, blocks=blocks)

    def _direct_message(self, user_id: str | None, text: str, blocks: list[dict[str, Any]]) -> None:
        if not user_id:
            raise NotReady("direct message has no recipient")
        channel = self._client.conversations_open(users=user_id)["channel"]["id"]
        self._client.chat_postMessage(channel=channel, text=text, blocks=blocks)


def _describe(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack answered {exc.response.status_code}: {exc.response.get('error', 'unknown error')}"
    return f"{type(exc).__name__}: {exc}"
