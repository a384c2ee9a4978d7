"""Broadcast throughput: an AUP round to thousands of staff against the sandbox with its workspace-wide rate
limit on (429 and Retry-After past it). The floor is recipients ÷ rate: Slack will not take them faster.

Run twice: straight through, and killed (SIGKILL) at a random point and started again, counting who was
missed (must be nobody) and who got two (only messages in flight at the kill)."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select

from bot.demo import demo_school_file
from bot.roster import staff_roster
from bot.sandbox.demo_workspace import TEAM_ID, demo_workspace
from bot.sandbox.webapi import SandboxServer
from bot.school_setup import apply_school_file
from bot.slack_client import web_client
from flows.aup import AupDocument, AupRules, Reason
from storage import aup
from storage.db import Database
from storage.models import OutboxMessage, School
from tests.bench.processes import BotProcess

STAFF, RATE = 5000, 100  # recipients; messages a second the sandbox takes before answering 429
SECRET = "bench-signing-secret"


@dataclass(frozen=True)
class Run:
    database: str
    staff: int
    rate: float
    killed_after: int | None  # messages delivered when the first process was killed
    seconds: float  # from the first process answering /healthz to the last message recorded as sent
    reached: int
    missed: int
    repeats: int
    in_flight: int  # sent to Slack but not recorded as sent at the kill: the only repeats allowed
    rate_limited: int  # 429s the sandbox answered

    @property
    def floor(self) -> float:
        return self.staff / self.rate

    @property
    def passes(self) -> bool:
        exact = self.missed == 0 and self.repeats == self.in_flight
        return exact and (self.killed_after is not None or self.seconds <= 1.15 * self.floor)


def _delivered(sandbox: SandboxServer) -> list[tuple[str, int]]:
    ws = sandbox.workspace
    with ws.lock:
        return [(ws.channels[m.channel].im_user or "", int(m.metadata["event_payload"]["outbox_id"]))
                for m in ws.messages if (m.metadata or {}).get("event_type") == "aup_request"]


def _sent(db: Database) -> set[int]:
    with db.session() as session:
        return set(session.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == "aup_request",
                                                                  OutboxMessage.sent_at.is_not(None))))


def _plan(db: Database, sandbox: SandboxServer) -> list[str]:
    """The school set up and a round to everyone planned, due now (as the bot plans it)."""
    db.upgrade()
    client = web_client(sandbox.workspace.bot_token, sandbox.api_url)
    now = datetime.now(timezone.utc)
    apply_school_file(client, TEAM_ID, db, demo_school_file(), now)
    roster = staff_roster(client, TEAM_ID, AupRules())
    with db.session() as session:
        version, _ = aup.add_version(session, TEAM_ID, AupDocument(version="bench", text="Be safe online."), None, now)
        aup.start_round(session, session.get_one(School, TEAM_ID), Reason.NEW_VERSION, f"version:{version.id}",
                        version, roster, listed_at=now, now=now, due_at=now, started_by=None)
    return roster


def run(database: str, database_url: str, staff: int = STAFF, rate: float = RATE, kill: bool = False) -> Run:
    ws = demo_workspace()
    ws.add_staff(staff)
    sandbox = SandboxServer(ws).start()
    db = Database(database_url)
    try:
        roster = _plan(db, sandbox)
        ws.set_rate_limit(rate, frozenset({"chat.postMessage"}))
        env = {"SLACK_BOT_TOKEN": str(ws.bot_token), "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": sandbox.api_url,
               "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "OUTBOX_LEASE_SECONDS": "5",
               "SLACK_BROADCAST_RATE": str(rate)}
        bot = BotProcess(env, ["serve", "--host", "127.0.0.1"]).start()
        started = time.perf_counter()  # from the bot answering its health check
        killed_after = in_flight = None
        if kill:
            target = random.randint(len(roster) // 5, 4 * len(roster) // 5)
            while len(_delivered(sandbox)) < target:
                time.sleep(0.01)
            bot.process.kill()  # type: ignore[union-attr]
            bot.process.wait()  # type: ignore[union-attr]
            time.sleep(0.2)  # a request the dead process had on the wire lands, or never does
            delivered = _delivered(sandbox)
            killed_after, in_flight = len(delivered), len({row for _, row in delivered} - _sent(db))
            bot.stop()
            bot = BotProcess(env, ["serve", "--host", "127.0.0.1"]).start()
        while len(_sent(db)) < len(roster):
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        bot.stop()
        received = Counter(user for user, _ in _delivered(sandbox))
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.kind == "aup_request", OutboxMessage.sent_at.is_(None))) == 0
        limited = sum(1 for method, error in ws.calls if (method, error) == ("chat.postMessage", "ratelimited"))
        return Run(database, len(roster), rate, killed_after, seconds, len(received),
                   len(set(roster) - set(received)), sum(n - 1 for n in received.values() if n > 1), in_flight or 0,
                   limited)
    finally:
        db.dispose()
        sandbox.stop()
