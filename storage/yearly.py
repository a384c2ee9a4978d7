"""The yearly cycle against the database: a school's state for `flows.yearly`, and queuing what is due.

Each due item is queued with its key (`enqueue_once`), and an AUP reminder is first claimed with a
conditional update, so a day's run done twice, or by two processes, sends each message once. The annual
round needs the staff list from Slack, so the bot starts it (bot/yearly.py) with `storage.aup.start_round`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.governors_report import DEFAULT_REPORT_DATES
from flows.yearly import Due, DueKind, YearlyState
from storage import aup, governors_report, policies
from storage.models import OutboxMessage, School
from storage.outbox import OutboxKind, Priority, enqueue_once
from storage.schools import school_day


def load_state(session: Session, school: School) -> YearlyState:
    version = aup.current_version(session, school.team_id)
    return YearlyState(
        school_day=school_day(school),
        installed_on=aup.local_date(school, school.created_at),
        rules=aup.rules_of(school),
        report_dates=tuple(school.report_dates or DEFAULT_REPORT_DATES),
        current_version=version.version if version else None,
        last_round_on=aup.last_round_on(session, school.team_id),
        pending=tuple(aup.pending(session, school.team_id)),
        policies=policies.states(session, school.team_id),
        done=_done(session, school.team_id),
    )


def _done(session: Session, team_id: str) -> frozenset[str]:
    """The keys of the weekly lists, policy reminders and reports already queued (`team:key:recipient`)."""
    keys = session.scalars(select(OutboxMessage.dedupe_key).where(
        OutboxMessage.team_id == team_id,
        OutboxMessage.kind.in_([OutboxKind.AUP_WEEKLY_LIST.value, OutboxKind.POLICY_REMINDER.value,
                                OutboxKind.GOVERNORS_REPORT.value])))
    return frozenset(key.split(":", 1)[1].rsplit(":", 1)[0] for key in keys)


def recipients(session: Session, school: School, due: Due) -> list[str]:
    """Who a due item goes to (the annual round: nobody yet; it asks every member of staff)."""
    if due.kind is DueKind.AUP_REMINDER and due.request is not None:
        return [due.request.user_id]
    if due.kind is DueKind.AUP_WEEKLY_LIST:
        return aup.notice_recipients(session, school)
    if due.kind is DueKind.POLICY_REMINDER and due.policy is not None:
        return policies.reminder_recipients(session, school.team_id, due.policy.owner_user_id)
    if due.kind is DueKind.GOVERNORS_REPORT:
        return governors_report.recipients(session, school.team_id)
    return []


def _payload(due: Due) -> dict[str, Any]:
    if due.kind is DueKind.AUP_REMINDER and due.request is not None:
        return {"request_id": due.request.request_id, "number": due.number}
    if due.kind is DueKind.POLICY_REMINDER and due.policy is not None and due.stage is not None:
        return {"policy_id": due.policy.id, "stage": due.stage.key, "next_review": due.policy.next_review.isoformat()}
    if due.kind is DueKind.GOVERNORS_REPORT and due.period is not None:
        return {"due_on": due.period.due_on.isoformat()}
    return {}


KIND = {DueKind.AUP_REMINDER: OutboxKind.AUP_REMINDER, DueKind.AUP_WEEKLY_LIST: OutboxKind.AUP_WEEKLY_LIST,
        DueKind.POLICY_REMINDER: OutboxKind.POLICY_REMINDER, DueKind.GOVERNORS_REPORT: OutboxKind.GOVERNORS_REPORT}


def queue(session: Session, school: School, due: Due, now: datetime) -> int:
    """Queue the messages for one due item (not the annual round); returns how many were newly queued."""
    if due.kind not in KIND:
        raise ValueError(f"{due.kind} is not queued here")
    if due.kind is DueKind.AUP_REMINDER and due.request is not None and \
            not aup.claim_reminder(session, due.request.request_id, due.number, aup.local_date(school, now)):
        return 0
    priority = Priority.BROADCAST if due.kind is DueKind.AUP_REMINDER else Priority.ROUTINE
    return sum(enqueue_once(session, school.team_id, KIND[due.kind], f"{school.team_id}:{due.key}:{user}", now,
                            recipient_id=user, payload=_payload(due), priority=priority)
               for user in recipients(session, school, due))
