"""`concernbot setup --export`: the school's configuration as it is now, as a set-up file.

People are written by Slack user id (outside contacts by email), the DSL channel by id, policies with their
next review dates as they stand (after any *Mark reviewed*), and the AUP in force. Loading the file again
with `concernbot setup` changes nothing.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select

from flows.concern import Role
from flows.school import SchoolFile
from storage import aup
from storage.db import Database
from storage.models import Policy, RoleAssignment, School

HEADER = ("# concernbot set-up file, exported from the database. Load it with `concernbot setup FILE`;\n"
          "# people are Slack user ids (outside contacts by email), the DSL channel a channel id.\n")


def _ref(holder: RoleAssignment) -> str:
    return holder.user_id or holder.email or ""


def current_setup(db: Database, team_id: str) -> SchoolFile:
    with db.session() as session:
        school = session.get_one(School, team_id)
        holders: dict[Role, list[str]] = {}
        for row in session.scalars(select(RoleAssignment).where(RoleAssignment.team_id == team_id)
                                   .order_by(RoleAssignment.id)):
            holders.setdefault(Role(row.role), []).append(_ref(row))
        policies = list(session.scalars(select(Policy).where(Policy.team_id == team_id).order_by(Policy.id)))
        version = aup.current_version(session, team_id)
        people: dict[str, Any] = {"dsl": holders[Role.DSL][0], "deputy_dsls": holders.get(Role.DEPUTY_DSL, []),
                                  "headteacher": holders[Role.HEADTEACHER][0]}
        for role in (Role.CHAIR_OF_GOVERNORS, Role.ONLINE_SAFETY_GOVERNOR, Role.DPO):
            if holders.get(role):
                people[role.value] = holders[role][0]
        document = None
        if version is not None:
            document = {"version": version.version, "title": version.title, "text": version.text, "url": version.url,
                        "changes": version.changes}
        raw = {
            "school": {"name": school.name, "team_id": team_id, "timezone": school.timezone,
                       "escalation_minutes": school.escalation_minutes, "day_starts": school.day_starts,
                       "day_ends": school.day_ends, "draft_nudge_at": school.draft_nudge_at,
                       "closure_days": list(school.closure_days or []),
                       "governors_report_dates": list(school.report_dates or []),
                       "admins": list(school.admin_user_ids or [])},
            "dsl_channel": school.dsl_channel_id,
            "people": people,
            "contacts": {"lado_email": school.lado_email, "office": school.office_contact,
                         "fallback_email": school.fallback_email},
            "policies": [{"key": p.key, "title": p.title, "owner": p.owner_user_id, "cadence": p.cadence,
                          "next_review": p.next_review} for p in policies],
            "aup": {"annual_on": school.aup_annual_on, "reminder_limit": school.aup_reminder_limit,
                    "include_guests": school.aup_include_guests, "report_to": list(school.aup_report_to or []),
                    "document": {k: v for k, v in (document or {}).items() if v is not None} or None},
        }
    if not raw["school"]["governors_report_dates"]:
        del raw["school"]["governors_report_dates"]
    return SchoolFile.model_validate(raw)


def export_yaml(db: Database, team_id: str) -> str:
    data = current_setup(db, team_id).model_dump(mode="json", exclude_none=True)
    return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
