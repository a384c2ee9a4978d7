"""The yearly cycle from the command line: `concernbot aup publish|status` and `concernbot reminders --dry-run`."""

from __future__ import annotations

import csv
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from slack_sdk import WebClient
from sqlalchemy import select

from bot.settings import ConfigError
from bot.yearly import publish_aup
from flows.aup import AupDocument
from flows.clock import Clock
from flows.yearly import Due, DueKind, assume_done, due_on
from storage import aup
from storage.db import Database
from storage.models import RoleAssignment, School
from storage.yearly import load_state, recipients

STATUS_COLUMNS = ["user_id", "version", "reason", "asked_at", "signed_at"]


def read_document(version: str, title: str | None, text_file: Path | None, url: str | None,
                  changes: str | None) -> AupDocument:
    """The AUP from a text file or a link, or one sentence saying what is wrong."""
    text = None
    if text_file is not None:
        try:
            text = text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise ConfigError(f"{text_file}: cannot be read as a UTF-8 text file; pass the AUP's text file.") \
                from None
    fields = {"version": version, "text": text, "url": url, "changes": changes}
    if title:
        fields["title"] = title
    try:
        return AupDocument(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the AUP"
        raise ConfigError(f"{where}: {str(first['msg']).removeprefix('Value error, ')}.") from None


def publish(client: WebClient, db: Database, team_id: str, doc: AupDocument, by: str | None, now: datetime) -> str:
    changes = publish_aup(client, db, team_id, doc, by, now)
    return "; ".join(changes) if changes else f"AUP version {doc.version} is already in force: nothing to send"


def export_status(db: Database, team_id: str, out: Path | None, stream: TextIO) -> int:
    """Everyone's latest request and signature, as CSV (a file readable by its owner only, or stdout)."""
    with db.session() as session:
        statuses = aup.staff_status(session, team_id)
    rows = [[s.user_id, s.version, s.reason.value, s.requested_at.isoformat(),
             s.signed_at.isoformat() if s.signed_at else ""] for s in statuses]
    if out is None:
        _write(stream, rows)
    else:
        with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", newline="",
                       encoding="utf-8") as handle:
            _write(handle, rows)
    return sum(1 for r in rows if not r[4])


def _write(handle: TextIO, rows: list[list[str]]) -> None:
    writer = csv.writer(handle)
    writer.writerow(STATUS_COLUMNS)
    writer.writerows(rows)


def _describe(due: Due) -> str:
    if due.kind is DueKind.ANNUAL_ROUND:
        return f"AUP annual round {due.year}/{(due.year or 0) % 100 + 1:02d}: every member of staff asked to sign"
    if due.kind is DueKind.AUP_REMINDER:
        return f"AUP reminder {due.number}"
    if due.kind is DueKind.AUP_WEEKLY_LIST:
        return f"AUP weekly list: {due.unsigned} not yet signed"
    if due.kind is DueKind.POLICY_REMINDER and due.policy and due.stage:
        return f"policy review reminder ({due.stage.key.replace('_', ' ')}): {due.policy.title}"
    return f"governors' report, {due.period.term}" if due.period else str(due.kind)


def dry_run(db: Database, clock: Clock, team_id: str, days: int, out: TextIO) -> int:
    """Print who would get what and when over the next `days` days, if nobody signed or reviewed meanwhile."""
    now = clock.now()
    with db.session() as session:
        school = session.get_one(School, team_id)
        state = load_state(session, school)
        staff = tuple(s.user_id for s in aup.staff_status(session, team_id))  # who an annual round would ask
        names = {r.user_id: r.display_name for r in session.scalars(
            select(RoleAssignment).where(RoleAssignment.team_id == team_id)) if r.user_id and r.display_name}
        zone = ZoneInfo(school.timezone)
        local = now.astimezone(zone)
        print(f"{school.name or team_id}: the yearly cycle over the next {days} days, from {local:%a %-d %b %Y}, "
              "if nobody signs or reviews meanwhile (a dry run: nothing is sent).", file=out)
        count = 0
        for offset in range(days):
            day = local.date() + timedelta(days=offset)
            at = max(local, datetime.combine(day, school.day_starts, zone)) if offset == 0 else \
                datetime.combine(day, school.day_starts, zone)
            if offset == 0 and local.time() >= school.day_ends:
                continue  # today's run has been
            dues = due_on(state, day)
            for due in dues:
                people = recipients(session, school, due)
                who = ", ".join(f"{names.get(u, u)}" for u in people) or \
                    ("every member of staff" if due.kind is DueKind.ANNUAL_ROUND else "nobody yet (role not set)")
                print(f"  {at:%a %-d %b %Y %H:%M}  {_describe(due)} -> {who}", file=out)
                count += 1
            state = assume_done(state, dues, day, staff)
        if not count:
            print("  nothing is due.", file=out)
    return count

