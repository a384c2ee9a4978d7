"""Sends the yearly cycle's outbox rows: AUP requests and reminders, round notices, the weekly list of who
has not signed, policy review reminders and the governors' termly report.

Each is rendered from the database as it is when sent: a request already signed, or replaced by a newer
one, is not sent at all. An AUP message carries its request and outbox row in Slack's message metadata, so
the one message that may be repeated after a crash (sent, but not yet recorded as sent) can be told apart.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.pacing import Pacer
from bot.render import aup as aup_render
from bot.render.reviews import governors_report, policy_reminder
from flows.clock import Clock
from flows.governors_report import DEFAULT_REPORT_DATES, period_for
from storage import aup, governors_report as report_data, policies
from storage.models import AupCampaign, AupRequest, AupVersion, School
from storage.outbox import OutboxItem, OutboxKind, Priority, enqueue_once
from storage.schools import school_day

log = logging.getLogger(__name__)
PROGRESS_EVERY = 100
GONE = frozenset({"user_not_found", "user_disabled", "account_inactive", "cannot_dm_bot"})
KINDS = frozenset({OutboxKind.AUP_REQUEST, OutboxKind.AUP_REMINDER, OutboxKind.AUP_WEEKLY_LIST,
                   OutboxKind.AUP_ROUND_NOTICE, OutboxKind.POLICY_REMINDER, OutboxKind.GOVERNORS_REPORT})
# Reminders are sent in school hours only: one that is late (after an outage, say) waits for the next opening.
# A round's requests were timed for the school's opening when it was planned, and finish going out even if
# an outage makes them late.
SCHOOL_HOURS_ONLY = frozenset({OutboxKind.AUP_REMINDER, OutboxKind.AUP_WEEKLY_LIST, OutboxKind.POLICY_REMINDER,
                               OutboxKind.GOVERNORS_REPORT})


class Deferred(Exception):
    """Not now: send it at `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"deferred until {until.isoformat()}")
        self.until = until


class YearlySender:
    def __init__(self, clock: Clock, pacer: Pacer | None = None) -> None:
        self._clock, self._pacer = clock, pacer or Pacer(0)

    def send(self, client: WebClient, session: Session, item: OutboxItem, school: School) -> None:
        now = self._clock.now()
        hours = school_day(school)
        if item.kind in SCHOOL_HOURS_ONLY and not hours.is_in_hours(now, school.timezone):
            raise Deferred(hours.next_opening(now, school.timezone))
        today = aup.local_date(school, now)
        if item.kind in (OutboxKind.AUP_REQUEST, OutboxKind.AUP_REMINDER):
            self._request(client, session, item, school)
        elif item.kind is OutboxKind.AUP_WEEKLY_LIST:
            signed, asked = aup.signing_rate(session, school.team_id)
            if asked > signed:  # everyone signed since it was queued: nothing to say
                version = aup.current_version(session, school.team_id)
                self._dm(client, item.recipient_id, *aup_render.weekly_list(asked - signed, asked,
                                                                      version.version if version else None))
        elif item.kind is OutboxKind.AUP_ROUND_NOTICE:
            campaign = session.get_one(AupCampaign, item.payload["campaign_id"])
            version = session.get_one(AupVersion, campaign.version_id)
            self._dm(client, item.recipient_id, *aup_render.round_notice(str(item.payload["stage"]), version,
                                                                 campaign.recipients))
        elif item.kind is OutboxKind.POLICY_REMINDER:
            policy = policies.find(session, school.team_id, int(item.payload["policy_id"]))
            if policy is not None and policy.next_review.isoformat() == item.payload.get("next_review"):
                # (else it was removed from the register, or marked reviewed, since: nothing to remind)
                self._dm(client, item.recipient_id, *policy_reminder(policy, today))
        elif item.kind is OutboxKind.GOVERNORS_REPORT:
            period = period_for(date.fromisoformat(item.payload["due_on"]),
                                tuple(school.report_dates or DEFAULT_REPORT_DATES))
            report = report_data.build(session, school.team_id, item.recipient_id or "", period, today)
            if report is not None:  # the reader no longer holds a role that receives it
                self._dm(client, item.recipient_id, *governors_report(report))

    def _request(self, client: WebClient, session: Session, item: OutboxItem, school: School) -> None:
        found = aup.request_and_version(session, school.team_id, int(item.payload["request_id"]))
        if found is None:
            return
        request, version = found
        if request.signed_at is not None or request.superseded_at is not None:
            if item.kind is OutboxKind.AUP_REQUEST:  # signed (from /aup), or replaced, before it went
                self._done(session, request, school)
            return
        if item.kind is OutboxKind.AUP_REMINDER:
            text, blocks = aup_render.reminder_message(version, request, int(item.payload["number"]),
                                                       school.aup_reminder_limit)
        else:
            text, blocks = aup_render.request_message(version, request)
        metadata = {"event_type": "aup_request", "event_payload": {"request_id": request.id, "outbox_id": item.id}}
        self._pacer.wait(school.team_id)  # a round goes out at the rate Slack takes, not in bursts and 429s
        try:
            client.chat_postMessage(channel=request.user_id, text=text, blocks=blocks, metadata=metadata)
        except SlackApiError as exc:
            if exc.response.get("error") not in GONE:
                raise
            log.info("AUP request %s not sent: the member has left the workspace", request.id)
            aup.left_the_school(session, request.id, self._clock.now())
        if item.kind is OutboxKind.AUP_REQUEST:
            self._done(session, request, school)

    def _done(self, session: Session, request: AupRequest, school: School) -> None:
        now = self._clock.now()
        finished = aup.mark_done(session, request.id, now)
        if request.campaign_id is None:
            return
        # Counting a round is work in proportion to its size: done every hundredth request and at the end,
        # never for each message (which made a round's cost grow with the square of the staff).
        if request.id % PROGRESS_EVERY == 0 or finished is not None:
            delivered, asked = aup.round_progress(session, request.campaign_id)
            log.info("AUP round %s for %s: %s of %s sent", request.campaign_id, school.team_id, delivered, asked)
        if finished is not None:
            for user in aup.notice_recipients(session, school, finished.started_by):
                enqueue_once(session, school.team_id, OutboxKind.AUP_ROUND_NOTICE,
                             f"{school.team_id}:{finished.key}:finished:{user}", now, recipient_id=user,
                             payload={"campaign_id": finished.id, "stage": "finished"}, priority=Priority.ROUTINE)

    @staticmethod
    def _dm(client: WebClient, user_id: str | None, text: str, blocks: list[dict[str, Any]]) -> None:
        if not user_id:
            raise ValueError("direct message has no recipient")
        client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
