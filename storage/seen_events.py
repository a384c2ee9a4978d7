"""Slack events already handled, by `event_id`: Slack delivers an event again when it thinks the first
delivery failed (X-Slack-Retry-Num), and a duplicate must change nothing.

Claiming an id is one INSERT, so two deliveries arriving at once (two processes, or two threads) can never
both win. Ids are kept a day, far past Slack's last retry (about an hour), then pruned by the sweeps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import TEAM_ID, Base

KEPT_FOR = timedelta(days=1)


class SeenEvent(Base):
    __tablename__ = "seen_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(TEAM_ID)
    seen_at: Mapped[datetime] = mapped_column(index=True)


SEEN = SeenEvent.__table__
# Each dialect's INSERT ... ON CONFLICT DO NOTHING, built once: a claim is one statement (no savepoint), and
# a second claimant of the same id waits for the first's transaction, then inserts nothing.
# (RETURNING says whether it inserted: psycopg gives no rowcount for this statement.)
_CLAIM = {name: dialect.insert(SEEN).on_conflict_do_nothing(index_elements=[SEEN.c.event_id])
          .returning(SEEN.c.event_id) for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


def claim_event(session: Session, event_id: str, team_id: str | None, now: datetime) -> bool:
    """True the first time this event id is claimed; False if it was handled (or is being handled) already."""
    claim = _CLAIM[session.get_bind().dialect.name]
    return session.execute(claim, {"event_id": event_id[:64], "team_id": team_id, "seen_at": now}).first() is not None


def prune_seen_events(session: Session, now: datetime, kept_for: timedelta = KEPT_FOR) -> int:
    """Forget ids seen more than `kept_for` ago; returns how many."""
    return int(session.execute(delete(SeenEvent).where(SeenEvent.seen_at < now - kept_for))
               .rowcount or 0)  # type: ignore[attr-defined]
