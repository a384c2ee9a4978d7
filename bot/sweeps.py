"""Scheduled sweeps: each finds what has fallen due by the injected clock and acts on it once.

The scheduler runs them on an interval; tests call `run()` after moving the clock, which is the same
code the scheduler runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flows.clock import Clock

from storage import daily, deadlines, escalation
from storage.db import Database
from storage.installs import purge_states
from storage.seen_events import prune_seen_events
from storage.schools import active_team_ids
from storage.models import School

log = logging.getLogger(__name__)


class EscalationSweep:
    def __init__(self, db: Database, clock: Clock, kick_outbox: Callable[[], None]) -> None:
        self._db, self._clock, self._kick = db, clock, kick_outbox

    def run(self) -> int:
        """Escalate every unacknowledged concern whose deadline has passed; returns how many climbed."""
        now = self._clock.now()
        with self._db.session() as session:
            due = escalation.due(session, now)
        climbed = 0
        for concern_id in due:
            with self._db.session() as session:
                level = escalation.escalate(session, concern_id, now)
            if level is not None:
                climbed += 1
                log.info("concern id %s escalated to level %s", concern_id, level)
        if climbed:
            self._kick()
        return climbed


class SchoolDaySweep:
    """Draft nudges, end-of-day notices of unsent drafts, assignees' morning reminders, and reminders of
    the LADO's and the ICO's deadlines."""

    def __init__(self, db: Database, clock: Clock, kick_outbox: Callable[[], None]) -> None:
        self._db, self._clock, self._kick = db, clock, kick_outbox

    def run(self) -> int:
        now = self._clock.now()
        queued = 0
        with self._db.session() as session:
            team_ids = active_team_ids(session)
        for team_id in team_ids:
            with self._db.session() as session:
                queued += daily.run_school_day(session, session.get_one(School, team_id), now)
        with self._db.session() as session:
            queued += deadlines.remind_due(session, now)  # statutory clocks run on calendar time, every day
        with self._db.session() as session:  # housekeeping: install links that expired unused
            purge_states(session, now)
        with self._db.session() as session:  # ... and Slack event ids past any retry (kept a day)
            prune_seen_events(session, now)
        if queued:
            self._kick()
        return queued
