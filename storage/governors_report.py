"""The termly monitoring report for governors: counts only, never a name, a reference or a word typed.

It is the governors' summary (storage/incident_log.py) for the term, so the same rules apply: concerns about
adults appear only as an anonymous count, only to the governance roles, never counting one about the reader.
To it are added the AUP signing rate and the policies overdue for review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from flows.concern import Role
from flows.governors_report import ReportPeriod
from flows.incident_log import ALL, Filters
from storage.aup import current_version, signing_rate
from storage.incident_log import Summary, governors_summary
from storage.models import School
from storage.policies import overdue
from storage.schools import holders

RECIPIENT_ROLES = frozenset({Role.ONLINE_SAFETY_GOVERNOR, Role.HEADTEACHER})


@dataclass(frozen=True)
class GovernorsReport:
    school: str
    period: ReportPeriod
    summary: Summary
    aup_version: str | None
    aup_signed: int
    aup_asked: int
    overdue_policies: tuple[tuple[str, date], ...]  # title and the date it was due


def recipients(session: Session, team_id: str) -> list[str]:
    return sorted({h.user_id for h in holders(session, team_id, RECIPIENT_ROLES) if h.user_id})


def build(session: Session, team_id: str, viewer_id: str, period: ReportPeriod,
          today: date) -> GovernorsReport | None:
    """The report for this reader, or None if they hold no role that receives it."""
    summary = governors_summary(session, team_id, viewer_id,
                                Filters(status=ALL, since=period.starts, until=period.ends))
    if summary is None:
        return None
    school = session.get_one(School, team_id)
    version = current_version(session, team_id)
    signed, asked = signing_rate(session, team_id)
    return GovernorsReport(
        school=school.name or "the school", period=period, summary=summary,
        aup_version=version.version if version else None, aup_signed=signed, aup_asked=asked,
        overdue_policies=tuple((p.title, p.next_review) for p in overdue(session, team_id, today)))
