"""The school day's routine: nudge unsent drafts, tell the DSL team about them at the end of the day,
and remind assignees of their open concerns each morning. Each message goes once per day at most."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.concern import Status
from storage.access import may_handle
from storage.drafts import DraftStatus
from storage.models import Concern, Draft, School
from storage.outbox import OutboxKind, enqueue_once
from storage.schools import school_day


def unsent_today(session: Session, school: School, local_now: datetime) -> list[Draft]:
    zone = ZoneInfo(school.timezone)
    start = datetime.combine(local_now.date(), time(0, 0), zone)
    drafts = session.scalars(
        select(Draft).where(Draft.team_id == school.team_id, Draft.status == DraftStatus.OPEN,
                            Draft.created_at >= start, Draft.created_at < start + timedelta(days=1))
        .order_by(Draft.created_at)
    )
    return [d for d in drafts if any(v not in (None, "", []) for v in d.answers.values())]


def run_school_day(session: Session, school: School, now: datetime) -> int:
    """Queue what is due for this school now; returns how many messages were newly queued."""
    local = now.astimezone(ZoneInfo(school.timezone))
    day = local.date()
    if not school_day(school).is_open_on(day):
        return 0
    queued = 0
    if local.time() >= school.day_starts:
        assignees = session.scalars(
            select(Concern.assigned_to).where(Concern.team_id == school.team_id, Concern.assigned_to.is_not(None),
                                              Concern.status != Status.CLOSED.value).distinct())
        for user_id in sorted(u for u in assignees if u):
            if not open_assigned_to(session, school.team_id, user_id):
                continue  # nothing they may still see
            queued += enqueue_once(session, school.team_id, OutboxKind.ASSIGNEE_MORNING,
                                   f"morning:{school.team_id}:{user_id}:{day}", now, recipient_id=user_id)
    drafts = unsent_today(session, school, local) if local.time() >= school.draft_nudge_at else []
    for draft in drafts:
        queued += enqueue_once(session, school.team_id, OutboxKind.DRAFT_NUDGE, f"draft:{draft.id}:nudge:{day}",
                               now, recipient_id=draft.reporter_id, payload={"draft_id": draft.id})
        if local.time() >= school.day_ends:
            queued += enqueue_once(session, school.team_id, OutboxKind.DRAFT_UNSENT,
                                   f"draft:{draft.id}:unsent:{day}", now, payload={"draft_id": draft.id})
    return queued


def open_assigned_to(session: Session, team_id: str, user_id: str) -> list[Concern]:
    """Open concerns assigned to this person that they may still handle (roles change)."""
    concerns = session.scalars(
        select(Concern).where(Concern.team_id == team_id, Concern.assigned_to == user_id,
                              Concern.status != Status.CLOSED.value).order_by(Concern.reported_at))
    return [c for c in concerns if may_handle(session, c, user_id)]
