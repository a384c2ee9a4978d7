"""The yearly cycle, run each school morning: the annual AUP round, reminders, policy reviews, the termly
report. And publishing a new AUP version, which asks every member of staff to sign it.

Who is a member of staff comes from Slack (`users.list`), so a round is planned here: the staff list is
fetched first, then the round is written in one transaction (storage/aup.py) and sent from the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient

from bot.roster import staff_roster
from bot.workspaces import Workspaces
from flows.aup import AupDocument, Reason
from flows.clock import Clock
from flows.yearly import Due, DueKind, due_on
from storage import aup
from storage.db import Database
from storage.models import School
from storage.schools import active_team_ids, lock_school, school_day
from storage.yearly import load_state, queue

log = logging.getLogger(__name__)


def publish_aup(client: WebClient, db: Database, team_id: str, doc: AupDocument, by: str | None,
                now: datetime) -> list[str]:
    """Put a version in force; if its words are new, every member of staff is asked to sign it (from the next
    school opening). Returns what changed, for the person who asked."""
    with db.session() as session:
        school = session.get(School, team_id)
        if school is None:
            return ["no school is set up yet: run `concernbot setup school.yml` first"]
        latest = aup.current_version(session, team_id)
        if latest is not None and latest.content_hash == doc.content_hash:
            return []
        rules = aup.rules_of(school)
    # Listed as of `now`, before anything is stored: if Slack fails, nothing is half-done.
    roster = staff_roster(client, team_id, rules)
    with db.session() as session:
        lock_school(session, team_id)  # two publishes at once: the second sees the first's version
        school = session.get_one(School, team_id)
        version, new = aup.add_version(session, team_id, doc, by, now)
        if not new:
            return []
        starts = school_day(school).next_opening(now, school.timezone)
        campaign = aup.start_round(session, school, Reason.NEW_VERSION, f"version:{version.id}", version, roster,
                                   now, now, starts, by)
        asked = campaign.recipients if campaign else 0
    log.info("AUP version published for %s: a round for %s members of staff", team_id, asked)
    return [f"AUP version {doc.version} is in force: {asked} members of staff will be asked to sign it"]


class YearlyCycle:
    """One school's morning run; the calendar job calls `run_school`, tests call it after moving the clock."""

    def __init__(self, db: Database, clock: Clock, workspaces: Workspaces, kick_outbox: Callable[[], None]) -> None:
        self._db, self._clock, self._workspaces, self._kick = db, clock, workspaces, kick_outbox

    def run(self) -> int:
        with self._db.session() as session:
            teams = active_team_ids(session)
        return sum(self.run_school(team) for team in teams)

    def due_now(self, team_id: str) -> list[Due]:
        """What is due for this school now; nothing outside its school hours."""
        now = self._clock.now()
        with self._db.session() as session:
            school = session.get(School, team_id)
            if school is None or school.uninstalled_at is not None or \
                    not school_day(school).is_in_hours(now, school.timezone):
                return []
            return due_on(load_state(session, school), aup.local_date(school, now))

    def run_school(self, team_id: str) -> int:
        """Do what is due; returns how many messages were queued. Safe to run twice, or in two processes."""
        now = self._clock.now()
        queued = 0
        for due in self.due_now(team_id):
            try:
                queued += self._annual_round(team_id, due, now) if due.kind is DueKind.ANNUAL_ROUND \
                    else self._queue(team_id, due, now)
            except Exception as exc:  # noqa: BLE001 - one failing item must not stop the rest of the morning
                log.error("yearly cycle for %s: %s failed (%s); it will be tried again", team_id, due.kind,
                          type(exc).__name__)
        if queued:
            log.info("yearly cycle for %s: %s messages queued", team_id, queued)
            self._kick()
        return queued

    def _queue(self, team_id: str, due: Due, now: datetime) -> int:
        with self._db.session() as session:
            return queue(session, session.get_one(School, team_id), due, now)

    def _annual_round(self, team_id: str, due: Due, now: datetime) -> int:
        with self._db.session() as session:
            rules = aup.rules_of(session.get_one(School, team_id))
        roster = staff_roster(self._workspaces.client(team_id), team_id, rules)
        with self._db.session() as session:
            school = session.get_one(School, team_id)
            version = aup.current_version(session, team_id)
            if version is None:
                return 0
            campaign = aup.start_round(session, school, Reason.ANNUAL, due.key, version, roster, now, now, now, None)
        if campaign is not None:
            log.info("annual AUP round %s started for %s: %s members of staff", due.key, team_id, len(roster))
        return campaign.recipients if campaign else 0
