"""Sends the outbox: each row is rendered from the concern as it is now, sent, then marked sent.

Rows are claimed with a lease, so the listener's immediate drain and the scheduler's periodic one never
send the same row twice; a failure is logged (reference and error, never content) and retried later, with
a backoff capped at five minutes (or Slack's Retry-After, if longer). Nothing is ever given up on: an email
that keeps failing goes on being retried, and the case manager is told; a concern's alert that has not
reached Slack after NOTIFY_FALLBACK_AFTER_MINUTES brings one email to the school's fallback address.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.email import Emailer, EmailNotConfigured
from bot.fallback import FallbackPolicy, NoFallbackAddress, queue_fallbacks, send_fallback
from bot.metrics import Metrics
from bot.render import messages
from bot.render.email import case_email, chair_notice
from bot.pacing import Pacer
from bot.roster import workspace_admins
from bot.workspaces import NotInstalled, Workspaces
from bot.yearly_sender import KINDS as YEARLY_KINDS, Deferred, YearlySender
from flows.clock import Clock
from flows.concern import Category, Role
from storage import access, daily
from storage.concerns import email_failed
from storage.db import Database
from storage.drafts import DraftStatus
from storage.events import EventKind, log_event
from storage.installs import installer_of, reach_of
from storage.models import Concern, Draft, Notification, RoleAssignment, School
from storage.outbox import (
    LEASE, OutboxItem, OutboxKind, claim_due, defer, lease_is_fresh, mark_failed, mark_sent, renew_lease,
)
from storage.routing import decide
from storage.schools import get_school

log = logging.getLogger(__name__)
DSL_AUDIENCE = "dsl_channel"
EMAIL_FAILURES_BEFORE_TELLING = 3
BATCH = 20  # rows claimed at a time: each batch must go out within the lease, rate limits and all
GIVE_WAY_SECONDS, GIVE_WAY_POLL = 1.0, 0.005  # the longest a message waits for people's requests (_give_way)


class NotReady(Exception):
    """The row can't be sent yet (no DSL channel configured, or the post it updates isn't out yet)."""


@dataclass(frozen=True)
class DrainReport:
    sent: int
    failed: int


class OutboxSender:
    def __init__(self, db: Database, clock: Clock, workspaces: Workspaces, default_timezone: str,
                 emailer: Emailer | None = None, lease: timedelta = LEASE, metrics: Metrics | None = None,
                 broadcast_rate: float = 0, fallback: FallbackPolicy | None = None,
                 people_waiting: Callable[[], bool] | None = None) -> None:
        """`people_waiting`: whether requests from Slack are being handled in this process just now; each
        message then waits for them, up to GIVE_WAY_SECONDS (see `_give_way`)."""
        self._db = db
        self._people_waiting = people_waiting
        self._fallback = fallback or FallbackPolicy()
        self._metrics = metrics
        self._lease = lease
        self._yearly = YearlySender(clock, Pacer(broadcast_rate))
        self._clock = clock
        self._workspaces = workspaces
        self._default_timezone = default_timezone
        self._emailer = emailer
        self._lock = threading.Lock()

    def drain(self, limit: int = BATCH) -> DrainReport:
        """Send a batch of what is due now. Safe to call from several threads and processes at once."""
        with self._lock:
            with self._db.session() as session:
                items = claim_due(session, self._clock.now(), limit, self._lease)
            sent = failed = 0
            for item in items:
                self._give_way()
                if self._send_one(item):
                    sent += 1
                else:
                    failed += 1
            return DrainReport(sent, failed)

    def _give_way(self) -> None:
        """People pressing buttons in Slack go first. A message is sent seconds or minutes after its cause
        anyway (it is durable, retried, paced to Slack's limits), while a person's click has 3 seconds: a
        burst of clicks (twenty DSLs at once, in the latency benchmark) would otherwise share the interpreter
        with the messages those clicks queued, and every answer would wait on them. So before each message
        the sender waits while requests are being handled, but never more than GIVE_WAY_SECONDS: the queue
        always moves, and empties at full speed as soon as the burst is over."""
        if self._people_waiting is None:
            return
        deadline = time.monotonic() + GIVE_WAY_SECONDS
        while self._people_waiting() and time.monotonic() < deadline:
            time.sleep(GIVE_WAY_POLL)

    def drain_all(self) -> int:
        """Send batches while they go; stops at a batch that sends nothing (its rows wait for their backoff).
        First, a concern whose alert is overdue gets its fallback email queued."""
        try:
            queue_fallbacks(self._db, self._fallback, self._clock.now())
        except Exception as exc:  # noqa: BLE001 - the sending below must go on whatever happens here
            log.warning("could not look for concerns whose alerts are overdue (%s); will look again at the next "
                        "drain", type(exc).__name__)
        total = 0
        while (report := self.drain()).sent:
            total += report.sent
        return total

    def _send_one(self, item: OutboxItem) -> bool:
        try:
            renewed: OutboxItem | None = item
            if not lease_is_fresh(item, self._clock.now(), self._lease):
                with self._db.session() as session:
                    renewed = renew_lease(session, item, self._clock.now(), self._lease)
            if renewed is None:
                log.info("outbox %s #%s skipped: its lease ran out and another sender has it", item.kind, item.id)
                return True
            with self._db.session() as session:
                self._send(session, renewed)
                mark_sent(session, item.id, self._clock.now())
            if self._metrics is not None:
                self._metrics.sent.labels(kind=item.kind.value).inc()
            return True
        except Deferred as later:
            with self._db.session() as session:
                defer(session, item.id, later.until)
            return True
        except Exception as exc:  # noqa: BLE001 - one bad row must never hold up the rows behind it
            error = _describe(exc)
            if self._metrics is not None:
                self._metrics.send_failures.labels(kind=item.kind.value).inc()
            with self._db.session() as session:
                retry_at = mark_failed(session, item.id, item.attempts, self._clock.now(), error,
                                       not_before=_retry_after(exc, self._clock.now()))
                if item.kind is OutboxKind.EMAIL and item.attempts >= EMAIL_FAILURES_BEFORE_TELLING and item.concern_id:
                    email_failed(session, item.team_id, item.concern_id, str(item.payload.get("to")), self._clock.now())
            log.warning("outbox %s #%s (concern id %s) not sent, attempt %s: %s; next try %s",
                        item.kind, item.id, item.concern_id, item.attempts, error, retry_at.isoformat())
            return False

    def _slack(self, team_id: str) -> WebClient:
        """The school's own client: a row can only ever go out with its own school's token."""
        try:
            return self._workspaces.client(team_id)
        except NotInstalled as exc:
            raise NotReady(str(exc)) from None

    def _send(self, session: Session, item: OutboxItem) -> None:
        school = get_school(session, item.team_id)
        tz = school.timezone if school else self._default_timezone
        if item.kind is OutboxKind.FALLBACK_EMAIL:
            send_fallback(session, item, self._emailer, self._fallback, self._default_timezone, self._clock.now())
            return
        if item.kind is OutboxKind.EMAIL:
            concern, summary = self._concern(session, item)
            self._email(session, item, concern, summary, school, tz)
            return
        client = self._slack(item.team_id)
        if item.kind in YEARLY_KINDS:
            if school is None:
                raise NotReady(f"school {item.team_id} is not set up")
            self._yearly.send(client, session, item, school)
            return
        if item.kind is OutboxKind.SETUP_NEEDED:
            if school is None or not school.dsl_channel_id:  # set up since: the team has been told already
                for user_id in self._setup_recipients(session, client, item.team_id):
                    self._direct_message(client, user_id, *messages.setup_needed(school.name if school else None))
            return
        if item.kind is OutboxKind.IMMEDIATE_PAGE:
            self._direct_message(client, item.recipient_id, *messages.immediate_page(item.payload.get("reporter_id")))
            return
        if item.kind is OutboxKind.ASSIGNEE_MORNING:
            open_concerns = [access.summarise(c) for c in daily.open_assigned_to(session, item.team_id,
                                                                                  item.recipient_id or "")]
            if open_concerns:  # all closed since it was queued: nothing to say
                self._direct_message(client, item.recipient_id, *messages.assignee_morning(open_concerns))
            return
        if item.kind in (OutboxKind.DRAFT_NUDGE, OutboxKind.DRAFT_UNSENT):
            self._draft_notice(client, session, item, school, tz)
            return
        concern, summary = self._concern(session, item)
        if item.kind is OutboxKind.DSL_ALERT:
            if school is None or not school.dsl_channel_id:
                raise NotReady("no DSL channel is configured: run `concernbot setup school.yml`")
            self._announce(client, session, summary, DSL_AUDIENCE, school.dsl_channel_id, *messages.dsl_alert(summary, tz))
        elif item.kind is OutboxKind.CASE_ALERT:
            channel = self._im(client, item.recipient_id)
            self._announce(client, session, summary, f"dm:{item.recipient_id}", channel, *messages.case_alert(summary, tz))
        elif item.kind is OutboxKind.ALERT_REFRESH:
            self._refresh(client, session, concern, summary, tz)
        else:
            self._direct_message(client, item.recipient_id, *self._render_dm(item, summary, tz))

    @staticmethod
    def _concern(session: Session, item: OutboxItem) -> tuple[Concern, access.ConcernSummary]:
        both = access.concern_and_summary(session, item.team_id, item.concern_id) if item.concern_id else None
        if both is None:
            raise NotReady(f"concern {item.concern_id} not found in {item.team_id}")
        return both

    @staticmethod
    def _render_dm(item: OutboxItem, summary: access.ConcernSummary, tz: str) -> tuple[str, list[dict[str, Any]]]:
        if item.kind is OutboxKind.URGENT_PAGE:
            return messages.urgent_page(summary)
        if item.kind is OutboxKind.ESCALATION:
            return messages.escalation(summary, int(item.payload["minutes"]))
        if item.kind is OutboxKind.IMMEDIATE_REFERRAL_NOTICE:
            return messages.immediate_referral_notice(summary)
        if item.kind is OutboxKind.ASSIGNED_NOTICE:
            return messages.assigned_notice(summary, item.payload.get("by"))
        if item.kind is OutboxKind.EMAIL_FAILED:
            return messages.email_failed(summary, str(item.payload.get("to")))
        if item.kind is OutboxKind.DEADLINE_REMINDER:
            due = datetime.fromisoformat(str(item.payload["due_at"]))
            return messages.deadline_reminder(summary, str(item.payload["clock"]), str(item.payload["stage"]), due, tz)
        render = {OutboxKind.REPORTER_RECEIPT: messages.reporter_receipt,
                  OutboxKind.REPORTER_ACKNOWLEDGED: messages.reporter_acknowledged,
                  OutboxKind.REPORTER_CLOSED: messages.reporter_closed}[item.kind]
        return render(summary, tz)

    def _announce(self, client: WebClient, session: Session, summary: access.ConcernSummary, audience: str, channel: str,
                  text: str, blocks: list[dict[str, Any]]) -> None:
        """Post a concern's announcement and remember where, so later changes update the same message."""
        response = client.chat_postMessage(
            channel=channel, text=text, blocks=blocks,
            metadata={"event_type": "concern_alert", "event_payload": {"reference": summary.reference}})
        session.add(Notification(team_id=summary.team_id, concern_id=summary.id, audience=audience,
                                 channel_id=response["channel"], message_ts=response["ts"]))
        log_event(session, summary.team_id, summary.id, EventKind.NOTIFIED, None, self._clock.now(), audience=audience)

    def _refresh(self, client: WebClient, session: Session, concern: Concern, summary: access.ConcernSummary,
                 tz: str) -> None:
        posts = list(session.scalars(select(Notification).where(Notification.concern_id == summary.id)))
        if not posts:
            raise NotReady("the concern's announcement has not been sent yet")
        for post in posts:
            if post.audience.startswith("dm:") and not access.may_handle(session, concern, post.audience[3:]):
                continue  # a former case manager's copy is left as it was: they no longer see changes
            render = messages.dsl_alert if post.audience == DSL_AUDIENCE else messages.case_alert
            text, blocks = render(summary, tz)
            client.chat_update(channel=post.channel_id, ts=post.message_ts, text=text, blocks=blocks)

    def _email(self, session: Session, item: OutboxItem, concern: Concern, summary: access.ConcernSummary,
               school: School | None, tz: str) -> None:
        if self._emailer is None or school is None:
            raise EmailNotConfigured("email is not configured: set SMTP_HOST and SMTP_FROM")
        to = str(item.payload.get("to"))
        if to == "lado":
            address = school.lado_email
        else:
            address = session.scalars(select(RoleAssignment.email).where(
                RoleAssignment.team_id == school.team_id, RoleAssignment.role == Role.CHAIR_OF_GOVERNORS.value,
                RoleAssignment.email.is_not(None))).first()
        if not address:
            raise NotReady(f"no email address for the {'LADO' if to == 'lado' else 'chair of governors'}: "
                           "add it to the school's set-up file")
        about = item.payload.get("about")
        if about:
            due = datetime.fromisoformat(str(item.payload["due_at"])) if item.payload.get("due_at") else None
            subject, body = chair_notice(summary, school.name or "the school", str(about),
                                         item.payload.get("stage"), due, tz)
        else:
            subject, body = case_email(summary, school.name or "the school", to, access.case_roles(concern),
                                       school.office_contact, tz)
        self._emailer.send(address, subject, body)
        log_event(session, summary.team_id, summary.id, EventKind.EMAILED, None, self._clock.now(), to=to)

    def _draft_notice(self, client: WebClient, session: Session, item: OutboxItem, school: School | None, tz: str) -> None:
        draft = session.get(Draft, item.payload.get("draft_id"))
        if draft is None or draft.status != DraftStatus.OPEN:
            return  # sent or thrown away since: nothing to nudge about
        raw = draft.answers.get("category")
        category = Category(raw).label if raw in set(Category) else None
        if item.kind is OutboxKind.DRAFT_NUDGE:
            self._direct_message(client, draft.reporter_id, *messages.draft_nudge(draft.created_at, tz))
            return
        text, blocks = messages.draft_unsent(draft.reporter_id, draft.created_at, category, tz)
        decision = decide(session, item.team_id, draft.answers)
        if not decision.channel:  # an unsent report about an adult: only its case manager may hear of it
            for user_id in decision.dm:
                self._direct_message(client, user_id, text, blocks)
            return
        if school is None or not school.dsl_channel_id:
            raise NotReady("no DSL channel is configured: run `concernbot setup school.yml`")
        client.chat_postMessage(channel=school.dsl_channel_id, text=text, blocks=blocks)

    @staticmethod
    def _setup_recipients(session: Session, client: WebClient, team_id: str) -> list[str]:
        """Who can set a school up: whoever installed it there; for an organisation-wide install (an org
        admin, who may not be in this workspace), the workspace's own admins too; with one bot token, the
        workspace's admins."""
        installer, reach = installer_of(session, team_id), reach_of(session, team_id)
        if installer and not (reach and reach.org_install):
            return [installer]
        admins = workspace_admins(client, team_id)
        return ([installer] if installer and installer not in admins else []) + admins

    @staticmethod
    def _im(client: WebClient, user_id: str | None) -> str:
        if not user_id:
            raise NotReady("direct message has no recipient")
        return str(client.conversations_open(users=user_id)["channel"]["id"])

    def _direct_message(self, client: WebClient, user_id: str | None, text: str,
                        blocks: list[dict[str, Any]]) -> None:
        client.chat_postMessage(channel=self._im(client, user_id), text=text, blocks=blocks)


EXPECTED = (SlackApiError, SlackClientError, NotReady, EmailNotConfigured, NoFallbackAddress, smtplib.SMTPException,
            OSError)


def _retry_after(exc: Exception, now: datetime) -> datetime | None:
    """When Slack said to come back (a 429's Retry-After), if it said."""
    if not isinstance(exc, SlackApiError) or exc.response.status_code != 429:
        return None
    headers = {str(k).lower(): v for k, v in (exc.response.headers or {}).items()}
    raw = headers.get("retry-after")
    raw = raw[0] if isinstance(raw, (list, tuple)) and raw else raw
    try:
        return now + timedelta(seconds=max(0, int(str(raw))))
    except (TypeError, ValueError):
        return None


def _describe(exc: Exception) -> str:
    """What went wrong, fit for a log line: an unexpected error gives only its type (its text could hold data)."""
    if isinstance(exc, SlackApiError):
        return f"Slack answered {exc.response.status_code}: {exc.response.get('error', 'unknown error')}"
    if isinstance(exc, EXPECTED):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__} (unexpected; see the code path for this kind)"
