"""The incident log: listing and exporting concerns, only for those entitled, always logged.

The DSL team may list and export the incident log (each export is an event on every concern in it);
the anonymised governors' summary carries counts only, and is open to the governance roles too.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import case, select
from sqlalchemy.orm import Session, defer

from flows.concern import DSL_TEAM, Category, Role, Status, SubjectKind
from flows.handling import ActionKind
from flows.incident_log import Filters
from flows.routing import handles
from storage.access import ConcernSummary, case_roles, handler_check, summarise
from storage.events import EventKind, log_events, one_of
from storage.models import Concern, ConcernAction, ConcernChild, School
from storage.schools import roles_of

SUMMARY_ROLES: frozenset[Role] = DSL_TEAM | {Role.HEADTEACHER, Role.CHAIR_OF_GOVERNORS,
                                             Role.ONLINE_SAFETY_GOVERNOR}


def may_see_log(session: Session, team_id: str, user_id: str) -> bool:
    return handles(DSL_TEAM, roles_of(session, team_id, user_id))


def may_see_summary(session: Session, team_id: str, user_id: str) -> bool:
    return bool(roles_of(session, team_id, user_id) & SUMMARY_ROLES)


def _query(session: Session, team_id: str, filters: Filters):  # type: ignore[no-untyped-def]
    school = session.get_one(School, team_id)
    zone = ZoneInfo(school.timezone)
    query = select(Concern).where(Concern.team_id == team_id,
                                  Concern.status.in_([s.value for s in filters.statuses()]))
    if filters.category:
        query = query.where(Concern.category == filters.category.value)
    if filters.since:
        query = query.where(Concern.reported_at >= datetime.combine(filters.since, time(0), zone))
    if filters.until:
        query = query.where(Concern.reported_at < datetime.combine(filters.until + timedelta(days=1), time(0), zone))
    return query.order_by(Concern.reported_at.desc())


EXPORT_CHUNK = 1000
# Lists and counts never read what was reported (need to know, and it is most of a row): not even loaded.
WITHOUT_DETAILS = defer(Concern.details, raiseload=True)


class Counted(NamedTuple):
    """What the governors' summary counts by: columns, not whole records (a school may hold thousands), as a
    plain tuple (see ExportedConcern)."""

    id: int
    case_roles: list[str] | None
    category: str
    status: str
    reported_at: datetime
    acknowledged_at: datetime | None
    reported_late: bool
    subject_user_id: str | None
    subject_kind: str


COUNTED = tuple(getattr(Concern, name) for name in Counted._fields)


def _labelled(counts: Counter[str], label: Callable[[str], str]) -> Counter[str]:
    """Counts by stored value, relabelled: each label looked up once, not once per concern."""
    out: Counter[str] = Counter()
    for value, n in counts.items():
        out[label(value)] += n
    return out


def list_concerns(session: Session, team_id: str, viewer_id: str, filters: Filters,
                  limit: int = 40) -> list[ConcernSummary] | None:
    """Concerns matching the filters that this viewer may open; None if they may not see the log."""
    if not may_see_log(session, team_id, viewer_id):
        return None
    rows = session.scalars(_query(session, team_id, filters).options(WITHOUT_DETAILS).limit(limit * 2))
    allowed = handler_check(session, team_id, viewer_id)
    return [summarise(c) for c in rows if allowed(c)][:limit]


class ExportedConcern(NamedTuple):
    """What the incident-log CSV shows of a concern, plus what the access check reads (storage.access.
    handler_check): columns, not whole records, as a plain tuple (reading a field of an SQLAlchemy Row by name
    costs ten times as much, and an export reads eighteen of each of thousands). Not `details`: the children's
    names and year groups come from their own rows (ConcernChild), so the export never opens what was said."""

    id: int
    team_id: str
    reference: str
    case_roles: list[str] | None
    escalation_level: int
    subject_user_id: str | None
    category: str
    urgency: str
    status: str
    occurred_on: date
    reported_late: bool
    reported_at: datetime
    reporter_id: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    assigned_to: str | None
    immediate_referral: bool
    closed_at: datetime | None


EXPORTED = tuple(getattr(Concern, name) for name in ExportedConcern._fields)  # the query's columns, in order
# Of each action, its kind; its note (sealed) only for an outcome, the one note the export shows.
OUTCOME_NOTE = case((ConcernAction.kind == "outcome", ConcernAction.note), else_=None).label("note")


# Plain tuples, not frozen dataclasses: an export makes thousands of each, and a tuple is made several times faster.
class ActionRow(NamedTuple):
    kind: str
    note: str | None  # an outcome's note; None for every other kind


class ChildRow(NamedTuple):
    name: str  # opened (sealed at rest)
    year_group: str  # the form's value (year_7)


class IncidentRow(NamedTuple):
    concern: ExportedConcern
    actions: list[ActionRow]  # in the order recorded
    children: list[ChildRow]  # in the report's order


def export_incidents(session: Session, team_id: str, viewer_id: str, filters: Filters,
                     now: datetime) -> Iterator[IncidentRow] | None:
    """Every matching concern with its actions, logging the export on each; None if not entitled."""
    if not may_see_log(session, team_id, viewer_id):
        return None

    allowed = handler_check(session, team_id, viewer_id)

    def rows() -> Iterator[IncidentRow]:
        # A chunk at a time: its actions and children in a query each, its export events in one insert, then let
        # go of it, so memory stays bounded however large the log (a trust's school may hold thousands).
        # Concerns reported in the same instant come out in the order they were recorded, export after export.
        query = (_query(session, team_id, filters).with_only_columns(*EXPORTED).order_by(Concern.id.desc())
                 .execution_options(yield_per=EXPORT_CHUNK))
        for chunk in session.execute(query).partitions():
            mine = [concern for concern in map(ExportedConcern._make, chunk) if allowed(concern)]
            if not mine:
                continue
            ids = [c.id for c in mine]
            actions: dict[int, list[ActionRow]] = defaultdict(list)
            for concern_id, kind, note in session.execute(
                    select(ConcernAction.concern_id, ConcernAction.kind, OUTCOME_NOTE)
                    .where(one_of(session, ConcernAction.concern_id, ids)).order_by(ConcernAction.id)):
                actions[concern_id].append(ActionRow(kind, note))
            children: dict[int, list[ChildRow]] = defaultdict(list)
            for concern_id, name, year_group in session.execute(
                    select(ConcernChild.concern_id, ConcernChild.name, ConcernChild.year_group)
                    .where(one_of(session, ConcernChild.concern_id, ids)).order_by(ConcernChild.position)):
                if name is not None:  # (a row 0020 found no child for: none to show)
                    children[concern_id].append(ChildRow(name, year_group or ""))
            # The export is on record on each concern: one UPDATE, one SELECT, one batched INSERT for the chunk.
            log_events(session, team_id, ids, EventKind.EXPORTED, viewer_id, now)
            for concern in mine:
                yield IncidentRow(concern, actions[concern.id], children[concern.id])

    return rows()


@dataclass(frozen=True)
class Summary:
    total: int
    by_category: Counter[str]
    by_month: Counter[str]
    by_status: Counter[str]
    referrals: Counter[str]
    minutes_to_acknowledge_median: float | None
    minutes_to_acknowledge_mean: float | None
    recorded_late: int
    about_adults: int = 0  # concerns about adults appear only as this anonymous count
    counts_adults: bool = False  # whether this reader is given that count at all (governance roles only)
    actions: Counter[str] = field(default_factory=Counter)  # every Record of Action entry, by kind


def governors_summary(session: Session, team_id: str, viewer_id: str, filters: Filters) -> Summary | None:
    """Counts only: no names, no references, no text. None if the viewer may not see it."""
    if not may_see_summary(session, team_id, viewer_id):
        return None
    school = session.get_one(School, team_id)
    zone = ZoneInfo(school.timezone)
    every = [Counted._make(row) for row in session.execute(_query(session, team_id, filters)
                                                            .with_only_columns(*COUNTED))]
    concerns = [c for c in every if DSL_TEAM & case_roles(c)]
    viewer_roles = roles_of(session, team_id, viewer_id)
    # Concerns about adults: an anonymous count for the governance roles only (ROUTING.md: the DSL team
    # never sees them, not even as a number), never counting one about the viewer.
    counts_adults = bool(viewer_roles & {Role.HEADTEACHER, Role.CHAIR_OF_GOVERNORS, Role.ONLINE_SAFETY_GOVERNOR})
    about_adults = [c for c in every if counts_adults and not DSL_TEAM & case_roles(c)
                    and c.subject_user_id != viewer_id
                    and not (c.subject_kind == SubjectKind.HEADTEACHER and Role.HEADTEACHER in viewer_roles)]
    waits = [(c.acknowledged_at - c.reported_at).total_seconds() / 60 for c in concerns if c.acknowledged_at]
    known = {a.value for a in ActionKind}
    kinds = Counter(k for k in session.scalars(select(ConcernAction.kind).where(
        one_of(session, ConcernAction.concern_id, [c.id for c in concerns]))) if k in known)
    return Summary(
        total=len(concerns),
        by_category=_labelled(Counter(c.category for c in concerns), lambda v: Category(v).label),
        by_month=Counter(c.reported_at.astimezone(zone).isoformat()[:7] for c in concerns),  # YYYY-MM, local
        by_status=_labelled(Counter(c.status for c in concerns), lambda v: Status(v).label),
        referrals=_labelled(Counter({k: n for k, n in kinds.items() if ActionKind(k).is_referral}),
                            lambda v: ActionKind(v).label),
        actions=_labelled(kinds, lambda v: ActionKind(v).label),
        minutes_to_acknowledge_median=round(statistics.median(waits), 1) if waits else None,
        minutes_to_acknowledge_mean=round(statistics.fmean(waits), 1) if waits else None,
        recorded_late=sum(1 for c in concerns if c.reported_late),
        about_adults=len(about_adults),
        counts_adults=counts_adults,
    )
