"""Reading the outbox and Slack's side while Slack is failing: what is queued, tried, and delivered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from bot.demo import demo_school_file
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator
from bot.sandbox.workspace import SandboxUser
from bot.school_setup import apply_school_file
from storage.models import Concern, OutboxMessage

CHAIR = "U0CHAIR"  # a chair of governors who is in the workspace (the demo school's is email-only)
FALLBACK = "it-support@oakfield.example"
URGENT_STEPS_CATEGORY = {"category": "grooming", "urgency": "urgent"}


@dataclass(frozen=True)
class Row:
    id: int
    kind: str
    recipient_id: str | None
    concern_id: int | None
    attempts: int
    due_at: datetime
    sent_at: datetime | None
    last_error: str | None


def rows(bot: Runtime) -> list[Row]:
    with bot.db.session() as session:
        return [Row(r.id, r.kind, r.recipient_id, r.concern_id, r.attempts, r.due_at, r.sent_at, r.last_error)
                for r in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def unsent(bot: Runtime) -> list[Row]:
    return [r for r in rows(bot) if r.sent_at is None]


def references(bot: Runtime) -> list[str]:
    with bot.db.session() as session:
        return list(session.scalars(select(Concern.reference).order_by(Concern.id)))


def saying(slack: SlackSimulator, user: str, words: str) -> list[str]:
    return [m.text for m in slack.ws.dms_to(user) if words in m.text]


def set_up_school(bot: Runtime, slack: SlackSimulator, tmp_path: Path, *, chair_in_workspace: bool = False,
                  fallback: str | None = None) -> None:
    """The demo school, with its chair in the workspace and a fallback address if asked."""
    text = demo_school_file().read_text()
    if chair_in_workspace:
        slack.ws.add_user(SandboxUser(CHAIR, "cath.chair", "Cath Chair", email="cath.chair@oakfield.example"))
        text = text.replace("chair.of.governors@oakfield-governors.example", "cath.chair@oakfield.example")
    if fallback:
        text = text.replace("  lado_email: lado@county-council.example",
                            f"  lado_email: lado@county-council.example\n  fallback_email: {fallback}")
    school = tmp_path / "school.yml"
    school.write_text(text)
    apply_school_file(bot.client, slack.ws.team_id, bot.db, school, bot.clock.now())
