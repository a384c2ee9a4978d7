"""Acting out the yearly cycle through the sandbox: publishing the AUP, moving the clock, reading DMs."""

from __future__ import annotations

from datetime import datetime

from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, HELEN, OWEN, PRIYA, TEAM_ID, TOM
from bot.sandbox.workspace import Message
from bot.yearly import publish_aup
from flows.aup import AupDocument
from flows.clock import ManualClock
from storage.outbox import pending_count

STAFF = (AMY, DAN, PRIYA, HELEN, OWEN, TOM)
AUP = AupDocument(version="2026-11", text="1. I use school devices for school work.\n2. I report concerns the same "
                                          "day with /report-concern.", changes="A new rule about reporting.")


def aup_messages(slack: SlackSimulator, user: str) -> list[Message]:
    return [m for m in slack.ws.dms_to(user) if (m.metadata or {}).get("event_type") == "aup_request"]


def dms_saying(slack: SlackSimulator, user: str, words: str) -> list[Message]:
    return [m for m in slack.ws.dms_to(user) if words in m.text]


def settle(bot: Runtime) -> None:
    """Send everything due now, and wait until nothing due is left unsent."""
    bot.sender.drain_all()
    wait_for(lambda: bot.sender.drain_all() == 0 and _nothing_due(bot), what="the outbox to empty")


def _nothing_due(bot: Runtime) -> bool:
    from sqlalchemy import func, select

    from storage.models import OutboxMessage

    with bot.db.session() as session:
        return not session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.sent_at.is_(None), OutboxMessage.due_at <= bot.clock.now()))


def publish(bot: Runtime, doc: AupDocument = AUP, by: str | None = HELEN) -> list[str]:
    changes = publish_aup(bot.client, bot.db, TEAM_ID, doc, by, bot.clock.now())
    settle(bot)
    return changes


def run_day(bot: Runtime, clock: ManualClock, at: datetime) -> int:
    """The morning's calendar job at `at`, then the outbox."""
    clock.set(at)
    queued = bot.yearly.run_school(TEAM_ID)
    settle(bot)
    return queued


def unsent(bot: Runtime) -> int:
    with bot.db.session() as session:
        return pending_count(session, TEAM_ID)
