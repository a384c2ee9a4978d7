"""The fallback email: when a concern's alert has still not reached Slack after a while, one email goes to the
school's fallback address, so a person knows to look.

How long is NOTIFY_FALLBACK_AFTER_MINUTES (15 by default). The address is the school's own (`fallback_email`
under `contacts` in its set-up file, or in the settings form in Slack), else FALLBACK_EMAIL. The email gives
the reference only, never what the concern is about, and says what to do: look in Slack, and check the bot.
It is queued in the outbox under the key `<concern id>:fallback`, so it goes once per concern however many
times the alert is retried, and it is retried itself until the mail relay takes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.email import Emailer, EmailNotConfigured
from bot.render.blocks import local_time
from flows.concern import SubjectKind
from storage import access
from storage.db import Database
from storage.events import EventKind, log_event
from storage.models import Concern, School
from storage.schools import holders
from storage.outbox import OutboxItem, OutboxKind, enqueue_once, overdue_announcements, unsent_announcements

log = logging.getLogger(__name__)
DEFAULT_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class FallbackPolicy:
    after: timedelta = DEFAULT_AFTER
    default_address: str | None = None  # FALLBACK_EMAIL: for a school that gives none of its own

    @property
    def minutes(self) -> int:
        return int(self.after.total_seconds() // 60)

    def address_for(self, school: School | None) -> str | None:
        return (school.fallback_email if school is not None else None) or self.default_address


def queue_fallbacks(db: Database, policy: FallbackPolicy, now: datetime) -> int:
    """Queue the fallback email for each concern whose alert is overdue and has none yet; returns how many."""
    with db.session() as session:
        overdue = overdue_announcements(session, now - policy.after)
        queued = sum(enqueue_once(session, team_id, OutboxKind.FALLBACK_EMAIL, f"{concern_id}:fallback", now,
                                  concern_id=concern_id, payload={"minutes": policy.minutes})
                     for team_id, concern_id in overdue)
    return queued


class NoFallbackAddress(Exception):
    """Nobody to email yet: the row waits (and is retried) until an address is set."""


def fallback_email(reference: str, school_name: str, recorded_at: datetime, minutes: int,
                   timezone: str, *, about_adult: bool = False) -> tuple[str, str]:
    """Subject and body: the reference and what to do, nothing about the concern itself. A concern about an
    adult goes to its case manager (the head, or the chair), so its email says nothing of a team."""
    whom = "its case manager" if about_adult else "the safeguarding team"
    where = ("in your direct messages from concernbot, or with /concerns" if about_adult
             else "in the DSL team's channel, or with /concerns")
    subject = f"{school_name}: concern {reference} has not reached {whom} in Slack"
    body = (
        f"Concern {reference} was recorded in concernbot at {school_name} on {local_time(recorded_at, timezone)}, "
        f"but after {minutes} minutes its alert has still not been delivered in Slack, so {whom} "
        "may not know of it yet. concernbot keeps trying, and delivers it as soon as Slack answers.\n\n"
        "What to do now:\n\n"
        f"1. Look in Slack for {reference} ({where}). If Slack cannot be reached, act on it by the school's "
        "usual route, giving the reference only.\n\n"
        "2. Check the bot's health: its /healthz page, its log (a line saying 'not sent' gives the reason), "
        "`concernbot doctor`, and whether Slack itself is having problems (https://slack-status.com).\n\n"
        "This email deliberately contains no names and no details: they are kept in the school's safeguarding "
        "record.\n"
    )
    return subject, body


def _addresses(session: Session, concern: Concern, school: School | None, policy: FallbackPolicy) -> list[str]:
    """Who to email. A concern about an adult goes only to the emails of its own case managers (never the
    school's general fallback address, which may be the office's or the head's own, and never the subject);
    any other concern to the school's fallback address."""
    if SubjectKind(concern.subject_kind).is_adult:
        return sorted({h.email for h in holders(session, concern.team_id, access.case_roles(concern))
                       if h.email and (h.user_id is None or h.user_id != concern.subject_user_id)})
    address = policy.address_for(school)
    return [address] if address else []


def send_fallback(session: Session, item: OutboxItem, emailer: Emailer | None, policy: FallbackPolicy,
                  default_timezone: str, now: datetime) -> None:
    """Send one concern's fallback email (raising what the relay raises, so the row is retried)."""
    school = session.get(School, item.team_id)
    concern = access.find(session, item.team_id, item.concern_id) if item.concern_id else None
    if concern is None:
        return  # the concern is gone (deleted under the retention rules): nothing to say
    summary = access.summarise(concern)
    if not unsent_announcements(session, summary.id):
        log.info("concern %s reached Slack after all: no fallback email", summary.reference)
        return
    addresses = _addresses(session, concern, school, policy)
    about_adult = SubjectKind(concern.subject_kind).is_adult
    if not addresses:
        log.warning("concern %s has not reached Slack after %s minutes, and there is no email address to tell: "
                    "%s", summary.reference, item.payload.get("minutes", policy.minutes),
                    "give the case manager's role an email in the school's set-up file" if about_adult else
                    "set FALLBACK_EMAIL, or contacts.fallback_email in the school's set-up file")
        raise NoFallbackAddress("no fallback email address: it waits until one is set")
    if emailer is None:
        raise EmailNotConfigured("email is not configured: set SMTP_HOST and SMTP_FROM")
    tz = school.timezone if school is not None else default_timezone
    name = (school.name if school is not None else "") or "the school"
    subject, body = fallback_email(summary.reference, name, summary.reported_at,
                                   int(item.payload.get("minutes", policy.minutes)), tz, about_adult=about_adult)
    for address in addresses:
        emailer.send(address, subject, body)
    log_event(session, summary.team_id, summary.id, EventKind.EMAILED, None, now, to="fallback")
    log.warning("concern %s has not reached Slack after %s minutes: %s emailed", summary.reference,
                item.payload.get("minutes", policy.minutes),
                "its case manager was" if about_adult else "the fallback address was")


def schools_without_fallback(session: Session, policy: FallbackPolicy) -> list[str]:
    """The team ids of set-up schools with no fallback address at all (their own, or FALLBACK_EMAIL)."""
    if policy.default_address:
        return []
    return list(session.scalars(select(School.team_id).where(
        School.uninstalled_at.is_(None), School.dsl_channel_id.is_not(None),
        (School.fallback_email.is_(None)) | (School.fallback_email == "")).order_by(School.team_id)))
