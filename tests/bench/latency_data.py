"""What the latency run's database holds besides the demo school's own concerns.

- Growth (`scale`): a trust's worth of other schools' records (tests/bench/trust.py) in the same database,
  1/16, 4/16 or 16/16 of its 100,000 concerns, so the same requests are timed against more data. Those
  schools have no Slack workspace: nothing of theirs is left due (no escalation pending), so the bot's
  scheduled work stays the demo school's.
- Reminders: REMINDERS of the demo school's concerns fall due for escalation while requests are being
  timed, a few every second, so a run with several worker processes shows whether any reminder goes out
  twice (exactly one process may run the scheduler).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text, update

from bot.sandbox.workspace import Workspace
from storage.db import Database
from storage.models import Concern
from tests.bench import trust

REMINDERS = 200
REMINDERS_FROM, REMINDERS_OVER = timedelta(seconds=20), timedelta(seconds=40)  # due 20 to 60 s after start
ESCALATION_TEXT = "has not been acknowledged after"


def add_trust(db: Database, scale: int) -> int:
    """Other schools' records, `scale` sixteenths of a 100,000-concern trust; returns how many concerns."""
    concerns = trust.FULL * scale // trust.SCALES[-1]
    trust.generate(db, concerns)
    with db.session() as session:
        session.execute(update(Concern).where(Concern.team_id.like("T0TRUST%")).values(escalate_at=None))
        if db.dialect == "postgresql":  # the generator gives ids itself: the sequence carries on after them
            session.execute(text("SELECT setval(pg_get_serial_sequence('concerns', 'id'), "
                                 "(SELECT max(id) FROM concerns))"))
    return concerns


def fall_due_during_run(db: Database, concern_ids: list[int], start: datetime) -> None:
    """These concerns' escalations fall due one after another from REMINDERS_FROM after `start`."""
    step = REMINDERS_OVER / max(1, len(concern_ids))
    with db.session() as session:
        for n, concern_id in enumerate(concern_ids):
            session.execute(update(Concern).where(Concern.id == concern_id)
                            .values(escalate_at=start + REMINDERS_FROM + n * step))


@dataclass(frozen=True)
class Reminders:
    due: int
    escalated: int  # concerns whose reminder went out
    messages: int
    repeats: int  # a reminder for the same concern to the same person more than once

    @property
    def passes(self) -> bool:
        return self.escalated == self.due and self.repeats == 0


def reminders(ws: Workspace, references: list[str]) -> Reminders:
    """What the sandbox received: the escalation messages for these concerns, per person."""
    wanted = set(references)
    with ws.lock:
        sent = Counter((m.channel, m.text.split()[2]) for m in ws.messages
                       if ESCALATION_TEXT in m.text and len(m.text.split()) > 2 and m.text.split()[2] in wanted)
    return Reminders(due=len(references), escalated=len({reference for _, reference in sent}),
                     messages=sum(sent.values()), repeats=sum(n - 1 for n in sent.values()))
