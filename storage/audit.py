"""Checking every concern's event chain (storage.events) for changes made behind the bot's back.

Each event must hash to its stored hash (else it was edited), follow on from the event before it (else one
went missing, or was slipped in), keep its place (an event's seq and its insertion order agree, else they
were reordered), and the chain must run to the length its head (storage.models_chain) records, ending on the
event whose hash the head holds (else its end was cut off, added to, or replaced). A deleted concern has no
chain at all, so it is never reported: retention deletes whole chains.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import groupby

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from storage.events import GENESIS, hash_of
from flows.references import format_reference
from storage.models import Concern, ConcernChain, ConcernEvent, ReferenceCounter
from storage.retention import RetentionLog

CHUNK = 1000


class Problem(StrEnum):
    EDITED = "edited"
    MISSING = "missing"
    REORDERED = "reordered"
    INSERTED = "inserted"


@dataclass(frozen=True)
class Broken:
    team_id: str
    reference: str
    concern_id: int
    seq: int  # the first event concerned
    problem: Problem
    detail: str

    def line(self) -> str:
        if self.seq == 0:  # not one event: the whole record
            return f"record {self.problem.value}: {self.detail}"
        return f"event {self.seq} {self.problem.value}: {self.detail}"


@dataclass(frozen=True)
class _Chain:
    concern_id: int
    team_id: str
    reference: str
    length: int  # ConcernChain.seq: how many events the bot appended
    head: str = GENESIS  # ConcernChain.head: the hash of the last one


def verify(session: Session, team_id: str | None = None) -> list[Broken]:
    """Every break in every concern's chain (of one school, or all), in concern order."""
    chains = _chains(session, team_id)
    broken: list[Broken] = []
    events = _events(session, team_id)
    pending = next(events, None)
    for chain in chains:
        rows: list[ConcernEvent] = []
        while pending is not None and pending.concern_id == chain.concern_id:
            rows.append(pending)
            pending = next(events, None)
        broken += check_chain(chain, rows)
    return broken + missing_records(session, team_id)


def missing_records(session: Session, team_id: str | None = None) -> list[Broken]:
    """Each reference the school has handed out whose record is gone without a retention line: a whole
    concern (and its chain with it) deleted behind the bot's back. References are numbered without gaps per
    school and year, and the counter is raised in the transaction that stores the concern."""
    counters = select(ReferenceCounter)
    present = select(Concern.team_id, Concern.reference)
    retained = select(RetentionLog.team_id, RetentionLog.reference)
    if team_id:
        counters = counters.where(ReferenceCounter.team_id == team_id)
        present, retained = present.where(Concern.team_id == team_id), retained.where(RetentionLog.team_id == team_id)
    accounted = {tuple(row) for row in session.execute(present)} | {tuple(row) for row in session.execute(retained)}
    return [Broken(counter.team_id, reference, 0, 0, Problem.MISSING,
                   "this reference was given to a concern that is no longer stored, and retention did not delete it")
            for counter in session.scalars(counters.order_by(ReferenceCounter.team_id, ReferenceCounter.year))
            for reference in (format_reference(counter.year, n) for n in range(1, counter.value + 1))
            if (counter.team_id, reference) not in accounted]


def counts(session: Session, team_id: str | None = None) -> tuple[int, int]:
    """How many chains (concerns) and events there are to check."""
    concerns = select(func.count()).select_from(Concern)
    events = select(func.count()).select_from(ConcernEvent)
    if team_id:
        concerns, events = concerns.where(Concern.team_id == team_id), events.where(ConcernEvent.team_id == team_id)
    return session.scalar(concerns) or 0, session.scalar(events) or 0


def _chains(session: Session, team_id: str | None) -> list[_Chain]:
    """Each concern with its chain's head; a concern whose head row is gone (or never was) counts no events."""
    query = (select(Concern.id, Concern.team_id, Concern.reference, func.coalesce(ConcernChain.seq, 0),
                    func.coalesce(ConcernChain.head, literal(GENESIS)))
             .outerjoin(ConcernChain, ConcernChain.concern_id == Concern.id).order_by(Concern.id))
    if team_id:
        query = query.where(Concern.team_id == team_id)
    return [_Chain(*row) for row in session.execute(query)]


def _events(session: Session, team_id: str | None) -> Iterator[ConcernEvent]:
    """Every event, by concern then place, a chunk at a time (read through the ORM, as the bot wrote them).
    An event whose concern is not in this school (its team_id edited) is still checked, on its concern."""
    query = (select(ConcernEvent).join(Concern, Concern.id == ConcernEvent.concern_id)
             .order_by(ConcernEvent.concern_id, ConcernEvent.seq, ConcernEvent.id).execution_options(yield_per=CHUNK))
    if team_id:
        query = query.where(Concern.team_id == team_id)
    for chunk in session.scalars(query).partitions():  # unchanged rows are held weakly: each chunk is let go
        yield from chunk


def check_chain(chain: _Chain, rows: list[ConcernEvent]) -> list[Broken]:
    """The breaks in one concern's events, given in (seq, id) order: at most one per place, the most telling."""
    found: dict[int, Broken] = {}

    def report(seq: int, problem: Problem, detail: str) -> None:
        found.setdefault(seq, Broken(chain.team_id, chain.reference, chain.concern_id, seq, problem, detail))

    # Written out of turn: a later id with an earlier place. Slipped in, if there are more events than the bot
    # wrote; else moved about.
    out_of_turn, highest = set(), 0
    for row in sorted(rows, key=lambda r: r.id):
        if row.seq <= highest:
            out_of_turn.add(row.id)
        highest = max(highest, row.seq)
    extra = len(rows) > chain.length
    for row in rows:
        if row.id in out_of_turn:
            report(row.seq, *((Problem.INSERTED, "written after the events that follow it") if extra else
                              (Problem.REORDERED, "it was written after events that now follow it")))
    prev: ConcernEvent | None = None
    for row in rows:
        expected = prev.hash if prev is not None else GENESIS
        after = prev.seq if prev is not None else 0
        if prev is not None and row.seq == prev.seq:
            report(row.seq, Problem.INSERTED, "more than one event holds this place")
        elif row.seq > after + 1:
            gone = f"{after + 1}" if row.seq == after + 2 else f"{after + 1}-{row.seq - 1}"
            report(after + 1, Problem.MISSING, f"event{'s' * ('-' in gone)} {gone} gone")
        elif row.prev_hash != expected and not {row.id, getattr(prev, "id", None)} & out_of_turn:
            report(row.seq, Problem.MISSING, f"it does not follow on from event {after}: what came between is gone")
        if hash_of(row) != row.hash:
            report(row.seq, Problem.EDITED, "its content no longer matches its hash")
        prev = row
    last = prev.seq if prev is not None else 0
    if last < chain.length:
        gone = f"{last + 1}" if chain.length == last + 1 else f"{last + 1}-{chain.length}"
        report(last + 1, Problem.MISSING, f"the last event{'s' * ('-' in gone)} ({gone}) gone")
    elif last > chain.length:
        report(chain.length + 1, Problem.INSERTED, f"more events than the {chain.length} the bot wrote")
    elif prev is not None and prev.hash != chain.head:  # well hashed, but not the event the bot last wrote
        report(last, Problem.EDITED, "it is not the last event the bot wrote (the chain's head holds another hash)")
    return [found[seq] for seq in sorted(found)]


def by_chain(broken: list[Broken]) -> list[tuple[tuple[str, str, int], list[Broken]]]:
    """The breaks grouped per concern: ((team_id, reference, concern_id), its breaks)."""
    return [(key, list(group)) for key, group in groupby(broken, key=lambda b: (b.team_id, b.reference, b.concern_id))]
