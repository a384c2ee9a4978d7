"""What each person's App Home shows, read through the same access rules as everything else.

Everyone: their own reports (reference, status, who acknowledged; never the handling) and their AUP status.
Whoever handles concerns (the DSL team; the head, the chair, the DPO for what is routed to them): the open
concerns they may open, which are waiting for acknowledgement or past their escalation time, and reports
started today and not yet sent that would come to them. Nobody sees a concern about themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.concern import DSL_TEAM, Category, Role, Status
from storage import aup
from storage.access import ConcernSummary, may_handle, summarise
from storage.admin import may_administer
from storage.daily import unsent_today
from storage.incident_log import may_see_summary
from storage.models import AupRequest, AupVersion, Concern, Draft, School
from storage.routing import decide
from storage.schools import roles_of

HANDLERS: frozenset[Role] = DSL_TEAM | {Role.HEADTEACHER, Role.CHAIR_OF_GOVERNORS, Role.DPO}
MOST = 10  # per list: App Home shows the first few, /concerns the rest


@dataclass(frozen=True)
class UnsentDraft:
    reporter_id: str
    started_at: datetime
    category: str | None


@dataclass(frozen=True)
class HomeData:
    reported: list[ConcernSummary]
    own_aup: tuple[AupRequest, AupVersion] | None
    handles: bool = False
    open_concerns: list[ConcernSummary] = field(default_factory=list)
    overdue: frozenset[int] = frozenset()  # of open_concerns: unacknowledged past their escalation time
    more_open: int = 0
    drafts: list[UnsentDraft] = field(default_factory=list)
    governors_report: bool = False
    administers: bool = False  # may change the school's settings
    configured: bool = True  # the school has been set up (a DSL channel, people in roles)


def _drafts_for(session: Session, school: School, viewer: str, viewer_roles: frozenset[Role],
                now: datetime) -> list[UnsentDraft]:
    drafts: list[Draft] = unsent_today(session, school, now.astimezone(ZoneInfo(school.timezone)))
    shown = []
    for draft in drafts:
        if draft.reporter_id == viewer:
            continue
        decision = decide(session, school.team_id, draft.answers)
        if decision.subject_user_id == viewer:
            continue
        if (decision.channel and viewer_roles & DSL_TEAM) or viewer in decision.dm:
            raw = draft.answers.get("category")
            shown.append(UnsentDraft(draft.reporter_id, draft.created_at,
                                     Category(raw).label if raw in set(Category) else None))
    return shown


def home_for(session: Session, school: School, viewer: str, now: datetime, workspace_admin: bool = False) -> HomeData:
    data = _home_for(session, school, viewer, now)
    return replace(data, administers=may_administer(session, school.team_id, viewer, workspace_admin),
                   configured=school.dsl_channel_id is not None)


def _home_for(session: Session, school: School, viewer: str, now: datetime) -> HomeData:
    team = school.team_id
    reported = [summarise(c) for c in session.scalars(
        select(Concern).where(Concern.team_id == team, Concern.reporter_id == viewer)
        .order_by(Concern.reported_at.desc()).limit(MOST))]
    own_aup = aup.status_of(session, team, viewer)
    roles = roles_of(session, team, viewer)
    governors = may_see_summary(session, team, viewer)
    if not roles & HANDLERS:
        return HomeData(reported, own_aup, governors_report=governors)
    mine = [c for c in session.scalars(
        select(Concern).where(Concern.team_id == team, Concern.status != Status.CLOSED.value)
        .order_by(Concern.reported_at.desc())) if may_handle(session, c, viewer)]
    overdue = frozenset(c.id for c in mine if c.status == Status.NEW.value and c.escalate_at and c.escalate_at < now)
    first = sorted(mine, key=lambda c: (c.id not in overdue, c.status != Status.NEW.value))[:MOST]
    return HomeData(reported, own_aup, handles=True, open_concerns=[summarise(c) for c in first], overdue=overdue,
                    more_open=max(0, len(mine) - MOST), drafts=_drafts_for(session, school, viewer, roles, now),
                    governors_report=governors)
