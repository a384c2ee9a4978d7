"""The append-only event log of a concern. Data never carries the child's name or the narrative.

Each concern's events form a hash chain: event `seq` n holds the hash of event n-1 (`prev_hash`, the fixed
GENESIS for the first) and its own `hash` over that and its content, so an event edited, removed, or slipped
in behind the bot's back no longer fits (storage.audit finds it). The concern row counts its events
(`Concern.event_seq`): appending raises that count first, which takes the row's write lock, so two
transactions appending to one concern at once queue up rather than both claim the same place; the unique
(concern_id, seq) is the backstop.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.orm import Session

from storage.models import Concern, ConcernEvent

GENESIS = "0" * 64  # the prev_hash of each concern's first event


class EventKind(StrEnum):
    REPORTED = "reported"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    ACKNOWLEDGE_REFUSED = "acknowledge_refused"
    RECORD_VIEWED = "record_viewed"
    RECORD_VIEW_REFUSED = "record_view_refused"
    ACTION_RECORDED = "action_recorded"
    ASSIGNED = "assigned"
    CLOSED = "closed"
    HANDLING_REFUSED = "handling_refused"
    ESCALATED = "escalated"
    INITIAL_REVIEW = "initial_review"
    EXPORTED = "exported"
    EMAILED = "emailed"
    REROUTED = "rerouted"
    LEGAL_HOLD = "legal_hold"
    LEGAL_HOLD_RELEASED = "legal_hold_released"


def utc_iso(at: datetime) -> str:
    """An instant as ISO 8601 in UTC (a naive value, as SQLite hands back, is taken to be UTC)."""
    return (at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)).isoformat()


def chain_hash(prev_hash: str, team_id: str, concern_id: int, seq: int, kind: str, actor_id: str | None,
               at: datetime, data: Any) -> str:
    """sha256 of the previous hash and the canonical JSON of the event's content."""
    body = json.dumps([team_id, concern_id, seq, kind, actor_id, utc_iso(at), data], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def hash_of(event: ConcernEvent) -> str:
    """What an event's hash should be, from its stored content and its stored prev_hash."""
    return chain_hash(event.prev_hash, event.team_id, event.concern_id, event.seq, event.kind, event.actor_id,
                      event.at, event.data)


def log_event(session: Session, team_id: str, concern_id: int, kind: EventKind, actor_id: str | None,
              at: datetime, **data: Any) -> ConcernEvent:
    """Append an event to the concern's chain (flushed, so it has its id)."""
    (seq, prev_hash), = _claim(session, [concern_id]).values()
    data = _as_stored(data)
    event = ConcernEvent(team_id=team_id, concern_id=concern_id, kind=kind.value, actor_id=actor_id, at=at,
                         data=data, seq=seq, prev_hash=prev_hash,
                         hash=chain_hash(prev_hash, team_id, concern_id, seq, kind.value, actor_id, at, data))
    session.add(event)
    session.flush()
    return event


def log_events(session: Session, team_id: str, concern_ids: Sequence[int], kind: EventKind,
               actor_id: str | None, at: datetime, **data: Any) -> None:
    """The same event on many concerns (an export's chunk), each on its own chain, in one insert."""
    if not concern_ids:
        return
    data = _as_stored(data)
    claimed = _claim(session, sorted(set(concern_ids)))
    session.execute(insert(ConcernEvent), [
        dict(team_id=team_id, concern_id=cid, kind=kind.value, actor_id=actor_id, at=at, data=data, seq=seq,
             prev_hash=prev, hash=chain_hash(prev, team_id, cid, seq, kind.value, actor_id, at, data))
        for cid, (seq, prev) in claimed.items()])


def _claim(session: Session, concern_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """The next place on each concern's chain, with the hash it follows. Raising the count is an UPDATE,
    which holds the concern row (PostgreSQL) or the database (SQLite) until this transaction ends."""
    table = Concern.__table__
    rows = session.execute(update(table).where(table.c.id.in_(concern_ids))
                           .values(event_seq=table.c.event_seq + 1)
                           .returning(table.c.id, table.c.event_seq)).all()
    seqs = {cid: seq for cid, seq in rows}
    if len(seqs) != len(set(concern_ids)):
        missing = sorted(set(concern_ids) - set(seqs))
        raise LookupError(f"no concern with id {missing[0]}: an event needs its concern")
    previous = {(cid, seq - 1) for cid, seq in seqs.items() if seq > 1}
    hashes: dict[int, str] = {}
    if previous:
        hashes = {cid: h for cid, h in session.execute(
            select(ConcernEvent.concern_id, ConcernEvent.hash)
            .where(tuple_(ConcernEvent.concern_id, ConcernEvent.seq).in_(sorted(previous))))}
    return {cid: (seq, hashes.get(cid, GENESIS) if seq > 1 else GENESIS) for cid, seq in seqs.items()}


def _as_stored(data: dict[str, Any]) -> Any:
    """The data as it will come back from the JSON column (tuples as lists, enums as strings), so the hash
    taken now is the hash a verify takes later."""
    return json.loads(json.dumps(data))


def events_for(session: Session, team_id: str, concern_id: int) -> list[ConcernEvent]:
    return list(session.scalars(
        select(ConcernEvent)
        .where(ConcernEvent.team_id == team_id, ConcernEvent.concern_id == concern_id)
        .order_by(ConcernEvent.seq, ConcernEvent.id)
    ))
