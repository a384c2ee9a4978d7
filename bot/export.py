"""`concernbot export`: the incident log as CSV for the DSL, and the anonymised summary for governors.

The person it is for is named with --as (a Slack user id); storage decides whether they may have it,
and logs the export on every concern it contains. The CSV is written with owner-only permissions.
"""

from __future__ import annotations

import contextlib
import csv
import os
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select

from flows.clock import Clock
from flows.concern import Category, Urgency
from flows.handling import ActionKind
from flows.incident_log import Filters
from flows.report_form import YEAR_GROUP_LABELS
from storage import incident_log
from storage.db import Database
from storage.models import School

INCIDENT_COLUMNS = [
    "reference", "reported_at", "occurred_on", "recorded_late", "category", "urgency", "status", "children",
    "reporter", "acknowledged_by", "acknowledged_at", "minutes_to_acknowledge", "escalation_level",
    "assigned_to", "actions", "referrals", "immediate_referral", "closed_at", "outcome",
]


class ExportRefused(Exception):
    """The named person may not have this export; one sentence, revealing nothing else."""


def school_for(db: Database, team_id: str | None) -> str:
    with db.session() as session:
        teams = list(session.scalars(select(School.team_id)))
    if team_id:
        if team_id not in teams:
            raise ExportRefused(f"there is no school {team_id} in this database.")
        return team_id
    if len(teams) != 1:
        raise ExportRefused("this database holds " + (f"{len(teams)} schools: name one with --team." if teams
                                                     else "no school yet: run `concernbot setup` first."))
    return teams[0]


def export_incidents(db: Database, clock: Clock, team_id: str, viewer: str, filters: Filters, out: Path) -> int:
    """Write the CSV. If anything fails, the export's record included (the unit of work rolls back, the
    commit too), the file is removed: an incident log, names and all, is never left about unaccounted for."""
    opened = False
    try:
        with db.session() as session:
            zone = ZoneInfo(session.get_one(School, team_id).timezone)
            rows = incident_log.export_incidents(session, team_id, viewer, filters, clock.now())
            if rows is None:
                raise ExportRefused(f"{viewer} is not on the safeguarding team, so may not export the incident "
                                    "log.")
            descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            opened = True
            count = 0
            with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(INCIDENT_COLUMNS)
                for row in rows:
                    writer.writerow(_incident_row(row, zone))
                    count += 1
    except BaseException:
        if opened:
            with contextlib.suppress(OSError):  # the first failure is the one to tell
                out.unlink()
        raise
    return count


# Labels by stored value, looked up once per export's thousands of rows rather than built per row.
CATEGORY_LABELS = {c.value: c.label for c in Category}
URGENCY_LABELS = {u.value: u.label for u in Urgency}
ACTION_LABELS = {k.value: k.label for k in ActionKind}
REFERRAL_KINDS = frozenset(k.value for k in ActionKind if k.is_referral)


def _incident_row(row: incident_log.IncidentRow, zone: ZoneInfo) -> list[object]:
    c = row.concern
    kinds = [a.kind for a in row.actions if a.kind in ACTION_LABELS]
    outcome = next((a.note for a in reversed(row.actions) if a.kind == "outcome"), "")
    wait = round((c.acknowledged_at - c.reported_at).total_seconds() / 60, 1) if c.acknowledged_at else ""
    return [
        c.reference, _local(c.reported_at, zone), c.occurred_on.isoformat(), c.reported_late,
        CATEGORY_LABELS[c.category], URGENCY_LABELS[c.urgency], c.status, _children(row.children),
        c.reporter_id, c.acknowledged_by or "", _local(c.acknowledged_at, zone), wait, c.escalation_level,
        c.assigned_to or "", "; ".join(ACTION_LABELS[k] for k in kinds),
        "; ".join(ACTION_LABELS[k] for k in kinds if k in REFERRAL_KINDS),
        c.immediate_referral, _local(c.closed_at, zone), outcome or "",
    ]


def _local(at: datetime | None, zone: ZoneInfo) -> str:
    """The school's date and time of an instant, to the minute: "2026-11-24 10:07" (isoformat, as the same
    text by strftime took three times as long over an export's thousands)."""
    return at.astimezone(zone).isoformat(" ", "minutes")[:16] if at else ""


def _children(children: list[incident_log.ChildRow]) -> str:
    """Each child named in the report, with their year group."""
    return "; ".join(f"{child.name} ({YEAR_GROUP_LABELS.get(child.year_group, child.year_group)})"
                     for child in children)


def export_summary(db: Database, team_id: str, viewer: str, filters: Filters, out: TextIO) -> None:
    with db.session() as session:
        summary = incident_log.governors_summary(session, team_id, viewer, filters)
    if summary is None:
        raise ExportRefused(f"{viewer} holds no role that receives the governors' summary.")
    writer = csv.writer(out)
    writer.writerow(["measure", "group", "value"])
    writer.writerow(["concerns", "all", summary.total])
    writer.writerow(["recorded late", "all", summary.recorded_late])
    if summary.counts_adults:  # the DSL team is given no count of concerns about adults at all
        writer.writerow(["concerns about adults (count only)", "all", summary.about_adults])
    for group, counts in (("by category", summary.by_category), ("by month", summary.by_month),
                          ("by status", summary.by_status), ("referrals", summary.referrals)):
        for key, value in sorted(counts.items()):
            writer.writerow([group, key, value])
    for name, value in (("median", summary.minutes_to_acknowledge_median),
                        ("mean", summary.minutes_to_acknowledge_mean)):
        writer.writerow(["minutes to acknowledge", name, "" if value is None else value])  # 0.0 is a figure
