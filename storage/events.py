"""The append-only event log of a concern. Data never carries the child's name or the narrative.

Each concern's events form a hash chain: event `seq` n holds the hash of event n-1 (`prev_hash`, the fixed
GENESIS for the first) and its own `hash` over that and its content, so an event edited, removed, or slipped
in behind the bot's back no longer fits (storage.audit finds it). Each chain's head (storage.models_chain:
its count and its last event's hash) is a narrow row of its own: appending raises the count first, which
takes that row's write lock, so two transactions appending to one concern at once queue up rather than both
claim the same place, and hands back the hash to follow, with no lookup of the event before; the unique
(concern_id, seq) is the backstop. The wide concern row is never rewritten by an append.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, Integer, String, any_, bindparam, insert, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Concern, ConcernEvent
from storage.models_chain import ConcernChain

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


def chain_hasher(team_id: str, kind: str, actor_id: str | None, at: datetime,
                 data: Any) -> Callable[[str, int, int], str]:
    """`chain_hash` for events that differ only in concern and place (an export's thousands): the same digest,
    with the parts they share serialized once. The body is the same JSON text, joined by hand: in compact JSON a
    list is its items' own encodings between "[", "," and "]", and an int is its decimal digits."""
    def encode(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    head = f"[{encode(team_id)},"
    tail = f",{encode(kind)},{encode(actor_id)},{encode(utc_iso(at))},{encode(data)}]"

    def digest(prev_hash: str, concern_id: int, seq: int) -> str:
        return hashlib.sha256(f"{prev_hash}{head}{int(concern_id)},{int(seq)}{tail}".encode("utf-8")).hexdigest()

    return digest


def hash_of(event: ConcernEvent) -> str:
    """What an event's hash should be, from its stored content and its stored prev_hash."""
    return chain_hash(event.prev_hash, event.team_id, event.concern_id, event.seq, event.kind, event.actor_id,
                      event.at, event.data)


def log_event(session: Session, team_id: str, concern_id: int, kind: EventKind, actor_id: str | None,
              at: datetime, **data: Any) -> ConcernEvent:
    """Append an event to the concern's chain (written now, so it has its id)."""
    rows, moved = _append(session, team_id, [concern_id], kind, actor_id, at, _as_stored(data))
    # The table, not the unit of work: an event is written once and never changed, so it needs none of the
    # ORM's bookkeeping (its flush was the largest part of log_event in a profile of Acknowledge). Returned,
    # not added to the session, for its id.
    if moved and session.get_bind().dialect.name == "postgresql":
        event_id = session.execute(_ADD_AND_MOVE_ONE, rows[0]).scalar_one()  # one round trip, not two
    else:
        event_id = session.execute(_ADD_ONE, rows[0]).scalar_one()
        _move_heads(session, moved)
    return ConcernEvent(id=event_id, **rows[0])


def claim_place(concern_id: Any) -> Any:
    """The UPDATE that claims the next place on a concern's chain (`_append` says how it holds the chain),
    returning (concern_id, seq, head), for a caller to run inside a statement of its own (PostgreSQL: a
    data-modifying WITH, `concern_id` an expression on another part of it); then `log_event_at`."""
    return update(CHAINS).where(CHAINS.c.concern_id == concern_id).values(seq=CHAINS.c.seq + 1) \
        .returning(CHAINS.c.concern_id, CHAINS.c.seq, CHAINS.c.head)


def log_event_at(session: Session, team_id: str, concern_id: int, place: tuple[int, str], kind: EventKind,
                 actor_id: str | None, at: datetime, **data: Any) -> ConcernEvent:
    """`log_event` at a place on the chain the caller's own statement claimed (`claim_place`): `place` is what
    it returned, (seq, head). PostgreSQL: the event added and the head moved on in one statement."""
    (seq, prev), stored, kind_value = place, _as_stored(data), kind.value
    digest = chain_hash(prev, team_id, concern_id, seq, kind_value, actor_id, at, stored)
    row = dict(team_id=team_id, concern_id=concern_id, kind=kind_value, actor_id=actor_id, at=at, data=stored,
               seq=seq, prev_hash=prev, hash=digest)
    return ConcernEvent(id=session.execute(_ADD_AND_MOVE_ONE, row).scalar_one(), **row)


def log_events(session: Session, team_id: str, concern_ids: Sequence[int], kind: EventKind,
               actor_id: str | None, at: datetime, **data: Any) -> None:
    """The same event on many concerns (an export's chunk), each on its own chain. PostgreSQL: one statement
    holds and reads the chains, one adds the events and writes each chain's count and head. SQLite: one to
    claim their places, one insert, one to move their heads on."""
    if not concern_ids:
        return
    on_postgresql = session.get_bind().dialect.name == "postgresql"
    rows, moved = _append(session, team_id, sorted(set(concern_ids)), kind, actor_id, at, _as_stored(data),
                          hold_only=on_postgresql)
    if on_postgresql:
        _add_and_move_pg(session, rows)
        return
    session.execute(insert(ConcernEvent.__table__), rows)  # the table, not the ORM: no per-row bookkeeping
    _move_heads(session, moved)


EVENTS = ConcernEvent.__table__
# PostgreSQL: a chunk's events, and its chains' counts and heads, in one statement (each chain row is written
# once). The events share their team, kind, actor, time and data; what differs per concern goes as arrays.
# (An executemany sent 500 INSERTs, and each chain row was written twice: its count, then its head.)
# Each array goes as one array literal, cast by the server: its items are ints and hex digests, which need no
# quoting, and the driver's list dumper handled them one by one.
_ADD_AND_MOVE = text(
    "WITH v AS (SELECT * FROM unnest(CAST(:ids AS integer[]), CAST(:seqs AS integer[]), CAST(:prevs AS text[]), "
    "CAST(:hashes AS text[])) AS v(concern_id, seq, prev_hash, hash)), "
    "added AS (INSERT INTO concern_events (team_id, concern_id, kind, actor_id, at, data, seq, prev_hash, hash) "
    "SELECT :team_id, v.concern_id, :kind, :actor_id, :at, :data, v.seq, v.prev_hash, v.hash FROM v) "
    "UPDATE concern_chains AS c SET seq = v.seq, head = v.hash FROM v WHERE c.concern_id = v.concern_id"
).bindparams(bindparam("at", type_=EVENTS.c.at.type), bindparam("data", type_=EVENTS.c.data.type))


def _array_literal(items: list[Any]) -> str:
    """`{1,2,3}`: for ints and hex digests only, which need no quoting (checked: anything else is refused)."""
    joined = ",".join(map(str, items))
    if not _BARE.fullmatch(joined) or joined.count(",") != len(items) - 1 or ",," in f",{joined},":
        raise ValueError("an array literal here holds only integers and hex digests")
    return "{" + joined + "}"


_BARE = re.compile(r"[0-9a-f,-]+")


def _add_and_move_pg(session: Session, rows: list[dict[str, Any]]) -> None:
    first = rows[0]
    session.execute(_ADD_AND_MOVE, {
        "team_id": first["team_id"], "kind": first["kind"], "actor_id": first["actor_id"], "at": first["at"],
        "data": first["data"], **{name: _array_literal([r[key] for r in rows]) for name, key in (
            ("ids", "concern_id"), ("seqs", "seq"), ("prevs", "prev_hash"), ("hashes", "hash"))}})


CHAINS = ConcernChain.__table__
# One concern's event (nearly every event there is), its statements built once: building them cost more of the
# interpreter's time than running them (storage.drafts).
_CLAIM_ONE = claim_place(bindparam("chain"))
_ADD_ONE = insert(EVENTS).returning(EVENTS.c.id)
_MOVE_ONE = update(CHAINS).where(CHAINS.c.concern_id == bindparam("chain")).values(head=bindparam("new_head"))
# PostgreSQL: the event added and its chain's head moved on to it in one statement (a data-modifying WITH runs
# once whether or not it is read), its id returned.
_ADD_AND_MOVE_ONE = text(
    "WITH moved AS (UPDATE concern_chains SET head = :hash WHERE concern_id = :concern_id) "
    "INSERT INTO concern_events (team_id, concern_id, kind, actor_id, at, data, seq, prev_hash, hash) "
    "VALUES (:team_id, :concern_id, :kind, :actor_id, :at, :data, :seq, :prev_hash, :hash) RETURNING id"
).bindparams(bindparam("at", type_=EVENTS.c.at.type), bindparam("data", type_=EVENTS.c.data.type))


def _append(session: Session, team_id: str, concern_ids: Sequence[int], kind: EventKind, actor_id: str | None,
            at: datetime, data: Any, hold_only: bool = False) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The events to insert, each in its place on its chain and hashed, and the heads still to move on to them.

    The places are claimed by one UPDATE raising each chain's count (`RETURNING` the head it leaves alone: the
    hash the new event follows). It holds the chain's row (PostgreSQL) or the database (SQLite) until this
    transaction ends, so a second appender waits, and then gets the place and the head the first committed
    (READ COMMITTED updates, and returns, the row as it is once the lock is free); the concern row itself is not
    touched. Pending changes to the concern are flushed before it (Session.execute autoflushes), so a flow
    takes its concern's row before its chain's, as flows that update the concern first do.

    `hold_only` (PostgreSQL, for many chains at once): the chains are locked and read (SELECT ... FOR NO KEY
    UPDATE, in id order) rather than counted on here, and the caller writes each one's count and head together.
    """
    kind_value = kind.value  # once: an enum's .value is a property, read per event it showed in profiles
    hashed = chain_hasher(team_id, kind_value, actor_id, at, data)

    def event(cid: int, seq: int, prev: str) -> dict[str, Any]:
        return dict(team_id=team_id, concern_id=cid, kind=kind_value, actor_id=actor_id, at=at, data=data, seq=seq,
                    prev_hash=prev, hash=hashed(prev, cid, seq))

    if len(concern_ids) == 1 and not hold_only:
        claimed = session.execute(_CLAIM_ONE, {"chain": concern_ids[0]}).all()
    elif hold_only:
        mine = one_of(session, CHAINS.c.concern_id, concern_ids)
        held = session.execute(select(CHAINS.c.concern_id, CHAINS.c.seq, CHAINS.c.head).where(mine)
                               .order_by(CHAINS.c.concern_id)
                               .with_for_update(key_share=True)).all()  # PostgreSQL: FOR NO KEY UPDATE
        claimed = [(cid, seq + 1, head) for cid, seq, head in held]
    else:
        claimed = session.execute(update(CHAINS).where(one_of(session, CHAINS.c.concern_id, concern_ids))
                                  .values(seq=CHAINS.c.seq + 1)
                                  .returning(CHAINS.c.concern_id, CHAINS.c.seq, CHAINS.c.head)).all()
    rows = {cid: event(cid, seq, head) for cid, seq, head in claimed}
    begun: set[int] = set()
    for cid in sorted(set(concern_ids) - set(rows)):  # a concern's first event: it has no chain yet
        first = event(cid, 1, GENESIS)
        started = _begin(session, cid, first["hash"])
        if started is None:
            raise LookupError(f"no concern with id {cid}: an event needs its concern")
        if started == (1, first["hash"]):  # begun here, its head already this event
            rows[cid] = first
            begun.add(cid)
        else:
            rows[cid] = event(cid, *started)
    return list(rows.values()), {cid: row["hash"] for cid, row in rows.items() if cid not in begun}


def _begin(session: Session, concern_id: int, first_hash: str) -> tuple[int, str] | None:
    """Begin the concern's chain with its first event already its head: (1, first_hash). If another
    transaction began it meanwhile (the primary key; PostgreSQL waits for that one to end), it is claimed as
    any chain is: (its next place, its head). None if there is no such concern. One statement per chain: a
    chain is begun by its concern's REPORTED event, so an export's chunk begins none."""
    dialect = session.get_bind().dialect.name
    begin = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CHAINS).from_select(
        ["concern_id", "seq", "head"],
        select(Concern.id, literal(1), literal(first_hash)).where(Concern.id == concern_id))
    begin = begin.on_conflict_do_update(index_elements=[CHAINS.c.concern_id], set_={"seq": CHAINS.c.seq + 1})
    row = session.execute(begin.returning(CHAINS.c.seq, CHAINS.c.head)).first()
    return None if row is None else (row[0], row[1])


def _move_heads(session: Session, heads: dict[int, str]) -> None:
    """Each chain's head on to its new last event, in one statement (PostgreSQL: two array parameters, not a
    VALUES list of 1,000 placeholders; SQLite: executemany)."""
    if not heads:
        return
    if len(heads) == 1:
        (cid, head), = heads.items()
        session.execute(_MOVE_ONE, {"chain": cid, "new_head": head})
    elif session.get_bind().dialect.name == "postgresql":
        session.execute(text(
            "UPDATE concern_chains AS c SET head = v.head FROM unnest(:ids, :heads) AS v(concern_id, head) "
            "WHERE c.concern_id = v.concern_id").bindparams(
            bindparam("ids", list(heads), type_=ARRAY(Integer)),
            bindparam("heads", list(heads.values()), type_=ARRAY(String))))
    else:
        session.execute(update(CHAINS).where(CHAINS.c.concern_id == bindparam("cid")).values(head=bindparam("h")),
                        [{"cid": cid, "h": head} for cid, head in heads.items()])


def one_of(session: Session, column: Any, ids: Sequence[int]) -> Any:
    """`column IN ids`; on PostgreSQL as one array parameter rather than a placeholder per id (half the time
    for an export's chunk of 500)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)


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
