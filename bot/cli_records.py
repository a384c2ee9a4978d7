"""`concernbot audit verify` and `concernbot retention`: checking and keeping the records.

`audit verify` walks every concern's hash-chained event log (storage.audit) and prints one line per broken
chain. `retention --dry-run` lists the records past their retention date; `retention` deletes those not
under a legal hold (storage.retention), each in its own transaction with its line in the retention log.
Nothing here runs on a schedule: a person runs it. Every line names a reference, never what is in a record.
"""

from __future__ import annotations

import argparse
import re
import sys
import uuid
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import ConfigError, Settings
from flows.clock import Clock, SystemClock
from flows.retention import RetentionKind
from storage import audit, retention
from storage.db import Database
from storage.models import Concern, School

USER = re.compile(r"^[UW][A-Z0-9]{2,31}$")
MAX_REASON = 500
STAFF_YEARS, OTHER_YEARS = range(10, 61), range(1, 101)


def add_commands(commands: Any) -> None:
    check = commands.add_parser("audit", help="check that no concern's event log was changed behind the bot's back")
    check_do = check.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = check_do.add_parser("verify", help="check every concern's hash-chained event log; exit 1 if any broke")
    verify.add_argument("--team", help="only this school's records (its Slack team id)")
    keep = commands.add_parser("retention", help="delete the records past their retention date (a person runs "
                               "it; --dry-run first), and legal holds")
    keep.add_argument("--dry-run", action="store_true", help="list what is due, and whether held; change nothing")
    keep.add_argument("--team", help="only this school's records (its Slack team id)")
    keep_do = keep.add_subparsers(dest="retention_command", metavar="ACTION")
    hold = keep_do.add_parser("hold", help="put a record under a legal hold: it is never deleted until released")
    hold.add_argument("reference", metavar="REF", help="the concern's reference, e.g. OS-2026-0001")
    hold.add_argument("--reason", required=True, help="why (the matter, e.g. a claim or an inquiry; not the child)")
    hold.add_argument("--by", required=True, metavar="USER", help="the Slack user id of who decided it")
    release = keep_do.add_parser("release", help="lift a record's legal hold")
    release.add_argument("reference", metavar="REF", help="the concern's reference")
    release.add_argument("--by", required=True, metavar="USER", help="the Slack user id of who decided it")
    policy = keep_do.add_parser("policy", help="show or set the school's retention periods, in years")
    policy.add_argument("--staff-years", type=int, help="allegations about staff (at least 10; default 10)")
    policy.add_argument("--other-years", type=int, help="records about neither a child nor staff (default 7)")
    for sub in (hold, release, policy):
        sub.add_argument("--team", dest="sub_team", help="the school (its Slack team id), when the database holds "
                         "several")


def run(settings: Settings, args: argparse.Namespace) -> int | None:
    if args.command == "audit":
        from bot.cli import _existing_database

        return verify_chains(_existing_database(settings), args.team, sys.stdout)
    if args.command != "retention":
        return None
    from bot.runtime import open_database

    db, clock, team = open_database(settings), SystemClock(), getattr(args, "sub_team", None) or args.team
    command = args.retention_command
    if command and args.dry_run:
        raise ConfigError(f"--dry-run is for the retention pass itself, not for `retention {command}`.")
    if command == "hold":
        return set_hold(db, clock, args.reference, team, args.by, args.reason, sys.stdout)
    if command == "release":
        return release_hold(db, clock, args.reference, team, args.by, sys.stdout)
    if command == "policy":
        return set_policy(db, clock, team, args.staff_years, args.other_years, sys.stdout)
    return retention_pass(db, clock, team, args.dry_run, sys.stdout)


def _team(db: Database, team: str | None) -> str | None:
    """The school named, checked; None (every school) when none is named."""
    if team is None:
        return None
    with db.session() as session:
        if session.get(School, team) is None:
            raise ConfigError(f"there is no school {team} in this database: check --team.")
    return team


# -- audit verify --------------------------------------------------------------------------------------------

def verify_chains(db: Database, team: str | None, out: TextIO) -> int:
    team = _team(db, team)
    with db.session() as session:
        broken = audit.verify(session, team)
        chains, events = audit.counts(session, team)
    for (team_id, reference, _), breaks in audit.by_chain(broken):
        out.write(f"{reference} ({team_id}): chain broken: " + "; ".join(b.line() for b in breaks) + "\n")
    if not broken:
        out.write(f"all {chains} chains intact ({events} events)\n")
    return 1 if broken else 0


# -- retention -----------------------------------------------------------------------------------------------

def retention_pass(db: Database, clock: Clock, team: str | None, dry_run: bool, out: TextIO) -> int:
    """List (dry run) or delete the records past their date; held ones are listed and kept."""
    team, now = _team(db, team), clock.now()
    with db.session() as session:
        due = retention.due_records(session, now, team)
    if dry_run:
        out.write("a dry run: nothing is deleted\n")
    if not due:
        out.write("no record is past its retention date\n")
        return 0
    run_id = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    deleted, held, failed = 0, 0, 0
    for record in due:
        what = f"{record.reference} ({record.team_id}, {record.kind.label}, kept until {record.retain_until})"
        if record.held:
            held += 1
            out.write(f"kept {what}: under a legal hold\n")
            continue
        if dry_run:
            out.write(f"due {what}\n")
            continue
        try:
            with db.session() as session:
                gone = retention.delete_record(session, record.concern_id, run_id, now)
        except SQLAlchemyError as exc:
            failed += 1
            out.write(f"could not delete {what} ({type(exc.orig or exc).__name__}); nothing of it was deleted\n")
            continue
        if gone is None:  # held, or its date moved, since the list was read
            held += 1
            out.write(f"kept {what}: no longer due, or held since this run began\n")
        else:
            deleted += 1
            out.write(f"deleted {what}\n")
    if dry_run:
        out.write(f"{len(due) - held} would be deleted, {held} kept under a legal hold\n")
    else:
        out.write(f"run {run_id}: {deleted} deleted, {held} kept" + (f", {failed} failed" if failed else "") + "\n")
    return 1 if failed else 0


def _concern(db: Database, reference: str, team: str | None) -> tuple[int, str]:
    with db.session() as session:
        found = retention.find_by_reference(session, reference.strip().upper(), team)
        if not found:
            raise ConfigError(f"there is no concern {reference}" + (f" in {team}" if team else "") +
                              ": check the reference.")
        if len(found) > 1:
            raise ConfigError(f"{reference} is a reference in {len(found)} schools: name one with --team.")
        return found[0].id, found[0].team_id


def _person(by: str) -> str:
    if not USER.match(by.strip()):
        raise ConfigError(f"--by {by!r} is not a Slack user id: give the id of who decided it, like U012AB3CD.")
    return by.strip()


def set_hold(db: Database, clock: Clock, reference: str, team: str | None, by: str, reason: str,
             out: TextIO) -> int:
    by, reason = _person(by), " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:
        raise ConfigError(f"--reason must say why, in at most {MAX_REASON} characters.")
    concern_id, team_id = _concern(db, reference, _team(db, team))
    with db.session() as session:
        concern = session.get_one(Concern, concern_id)
        if retention.hold(session, concern, by, reason, clock.now()):
            out.write(f"{concern.reference} ({team_id}) is under a legal hold, set by {by}: it will not be deleted "
                      "until the hold is released\n")
        else:
            out.write(f"{concern.reference} ({team_id}) was already under a legal hold, set by "
                      f"{concern.legal_hold_by} on {_day(concern.legal_hold_at)}: nothing changed\n")
    return 0


def release_hold(db: Database, clock: Clock, reference: str, team: str | None, by: str, out: TextIO) -> int:
    by = _person(by)
    concern_id, team_id = _concern(db, reference, _team(db, team))
    with db.session() as session:
        concern = session.get_one(Concern, concern_id)
        if retention.release(session, concern, by, clock.now()):
            out.write(f"{concern.reference} ({team_id}): legal hold released by {by}; it is kept until "
                      f"{concern.retain_until}, as before\n")
        else:
            out.write(f"{concern.reference} ({team_id}) is not under a legal hold: nothing changed\n")
    return 0


def set_policy(db: Database, clock: Clock, team: str | None, staff_years: int | None, other_years: int | None,
               out: TextIO) -> int:
    if staff_years is not None and staff_years not in STAFF_YEARS:
        raise ConfigError("--staff-years must be from 10 to 60: allegations about staff are kept at least 10 years.")
    if other_years is not None and other_years not in OTHER_YEARS:
        raise ConfigError("--other-years must be a number of years from 1 to 100.")
    with db.session() as session:
        teams = [team] if _team(db, team) else list(session.scalars(select(School.team_id).order_by(School.team_id)))
        if staff_years is None and other_years is None:
            for team_id in teams:
                policy = retention.policy_for(session, team_id)
                out.write(f"{team_id}: about a child until their {policy.child_age}th birthday; "
                          f"{RetentionKind.STAFF.label}: {policy.staff_years} years; "
                          f"other: {policy.other_years} years\n")
            return 0
        if len(teams) != 1:
            raise ConfigError(f"this database holds {len(teams)} schools: name one with --team.")
        changes = retention.set_policy(session, teams[0], staff_years=staff_years, other_years=other_years,
                                       now=clock.now())
    out.write(f"{teams[0]}: " + ("; ".join(changes) if changes else "no changes") + "\n")
    return 0


def _day(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d}" if at else "an unknown day"
