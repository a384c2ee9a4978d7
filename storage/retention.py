"""Keeping records only as long as the rules say (flows.retention), legal holds, and the log of what went.

`retain_until` is set on each concern when it is stored. `concernbot retention` deletes the records past it,
each with every row that depends on it, in a transaction of its own that also writes its line in the
`retention_log`: the reference, the school, the kind, the date it was kept until, when, and by which run;
no personal data. That log has no link to the records, so it outlives them. A record under a legal hold is
never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Table, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from flows.retention import DEFAULT_POLICY, RetentionKind, RetentionPolicy, facts_from, is_due, retain_until, \
    retention_kind
from storage import events  # a module, not its names: storage.models imports this module part-way
from storage.models import TEAM_ID, AdminChange, Base, Concern, Draft, OutboxMessage, School
from storage.models_chain import ConcernChain


class RetentionLog(Base):
    """One line per record retention deleted. No personal data, and no foreign key: it outlives the records."""

    __tablename__ = "retention_log"
    __table_args__ = (Index("ix_retention_log_team", "team_id", "deleted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    reference: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # flows.retention.RetentionKind
    retain_until: Mapped[date] = mapped_column(Date)
    deleted_at: Mapped[datetime]


class RetentionSettings(Base):
    """A school's own retention periods, where it has set them (else flows.retention.DEFAULT_POLICY)."""

    __tablename__ = "retention_settings"

    team_id: Mapped[str] = mapped_column(ForeignKey("schools.team_id"), primary_key=True)
    staff_years: Mapped[int] = mapped_column(Integer)
    other_years: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


def policy_for(session: Session, team_id: str) -> RetentionPolicy:
    settings = session.get(RetentionSettings, team_id)
    if settings is None:
        return DEFAULT_POLICY
    return RetentionPolicy(staff_years=settings.staff_years, other_years=settings.other_years)


def date_for(concern: Concern, timezone: str, policy: RetentionPolicy) -> date:
    """When this concern may go, from its subject, its children (read through the ORM, so decrypted) and
    the day it was reported in the school's time zone."""
    reported_on = concern.reported_at.astimezone(ZoneInfo(timezone)).date()
    return retain_until(facts_from(concern.subject_kind, concern.details, reported_on), policy)


def set_retain_until(session: Session, concern: Concern, school: School) -> None:
    """For a concern being stored."""
    concern.retain_until = date_for(concern, school.timezone, policy_for(session, school.team_id))


def set_policy(session: Session, team_id: str, *, staff_years: int | None, other_years: int | None,
               now: datetime) -> list[str]:
    """Change the school's periods (recorded in its admin log), and work each record's date out again."""
    before = policy_for(session, team_id)
    after = RetentionPolicy(staff_years=before.staff_years if staff_years is None else staff_years,
                            other_years=before.other_years if other_years is None else other_years)
    changes = [f"retention for {label}: {old} years -> {new} years" for label, old, new in (
        ("allegations about staff", before.staff_years, after.staff_years),
        ("other records", before.other_years, after.other_years)) if old != new]
    if not changes:
        return []
    settings = session.get(RetentionSettings, team_id) or RetentionSettings(team_id=team_id)
    settings.staff_years, settings.other_years, settings.updated_at = after.staff_years, after.other_years, now
    session.add(settings)
    session.add_all([AdminChange(team_id=team_id, actor_id=None, at=now, change=c) for c in changes])
    timezone = session.get_one(School, team_id).timezone
    moved = 0
    for concern in session.scalars(select(Concern).where(Concern.team_id == team_id)
                                   .execution_options(yield_per=500)):
        new_date = date_for(concern, timezone, after)
        if new_date != concern.retain_until:
            concern.retain_until, moved = new_date, moved + 1
    return changes + [f"{moved} record{'' if moved == 1 else 's'} dated again"]


@dataclass(frozen=True)
class DueRecord:
    concern_id: int
    team_id: str
    reference: str
    kind: RetentionKind
    retain_until: date
    held: bool


def due_records(session: Session, now: datetime, team_id: str | None = None) -> list[DueRecord]:
    """Every record past its date (held or not), by school, oldest date first. "Today" is each school's."""
    query = select(School.team_id, School.timezone).order_by(School.team_id)
    schools = session.execute(query.where(School.team_id == team_id) if team_id else query).all()
    due = []
    for team, timezone in schools:
        today = now.astimezone(ZoneInfo(timezone)).date()
        rows = session.execute(
            select(Concern.id, Concern.reference, Concern.subject_kind, Concern.retain_until, Concern.legal_hold)
            .where(Concern.team_id == team, Concern.retain_until < today)
            .order_by(Concern.retain_until, Concern.reference))
        due += [DueRecord(cid, team, ref, retention_kind(kind), until, held) for cid, ref, kind, until, held in rows]
    return due


def _lock(session: Session, concern_id: int) -> tuple[str, str, str, date, bool, str] | None:
    """The concern's facts as they are now, holding it (row locks; SQLite: the write lock) to the end.

    Two locks, in the order the bot's flows take them (a flow's changes to the concern are flushed before its
    event is appended: storage.events): the concern row, which flows update (a hold, a new date, a status),
    then its chain's head, which appenders hold until they commit, so an event appended meanwhile is deleted
    too rather than left pointing at a deleted concern. Neither write changes a value."""
    table, chains = Concern.__table__, ConcernChain.__table__
    row = session.execute(update(table).where(table.c.id == concern_id).values(legal_hold=table.c.legal_hold)
                          .returning(table.c.team_id, table.c.reference, table.c.subject_kind,
                                     table.c.retain_until, table.c.legal_hold, table.c.draft_id)).first()
    if row is not None:
        session.execute(update(chains).where(chains.c.concern_id == concern_id).values(seq=chains.c.seq))
    return None if row is None else tuple(row)  # type: ignore[return-value]


def dependent_tables() -> list[Table]:
    """Every table with a foreign key to a concern, children before parents."""
    concerns = Concern.__table__
    return [t for t in reversed(Base.metadata.sorted_tables)
            if any(fk.column.table is concerns for fk in t.foreign_keys)]


def delete_record(session: Session, concern_id: int, run_id: str, now: datetime) -> RetentionLog | None:
    """Delete one record that is due and not held, with every row that depends on it, and log it; None if
    it is no longer due, is held, or is gone (checked again here, under its lock)."""
    locked = _lock(session, concern_id)
    if locked is None:
        return None
    team_id, reference, subject_kind, until, held, draft_id = locked
    today = now.astimezone(ZoneInfo(session.get_one(School, team_id).timezone)).date()
    if held or not is_due(until, today):
        return None
    for table in dependent_tables():
        for fk in table.foreign_keys:
            if fk.column.table is Concern.__table__:
                session.execute(delete(table).where(fk.parent == concern_id))
    session.execute(delete(Draft).where(Draft.id == draft_id))
    session.execute(delete(OutboxMessage).where(  # the immediate-risk pages sent from its draft (ids only)
        OutboxMessage.concern_id.is_(None), OutboxMessage.dedupe_key.startswith(f"page:{draft_id}:", autoescape=True)))
    session.execute(delete(Concern).where(Concern.id == concern_id))
    entry = RetentionLog(run_id=run_id, team_id=team_id, reference=reference, kind=retention_kind(subject_kind).value,
                         retain_until=until, deleted_at=now)
    session.add(entry)
    return entry


def deleted(session: Session, team_id: str | None = None) -> list[RetentionLog]:
    query = select(RetentionLog).order_by(RetentionLog.id)
    if team_id:
        query = query.where(RetentionLog.team_id == team_id)
    return list(session.scalars(query))


# -- legal holds ---------------------------------------------------------------------------------------------

def find_by_reference(session: Session, reference: str, team_id: str | None) -> list[Concern]:
    query = select(Concern).where(Concern.reference == reference)
    if team_id:
        query = query.where(Concern.team_id == team_id)
    return list(session.scalars(query))


def hold(session: Session, concern: Concern, by: str, reason: str, now: datetime) -> bool:
    """Put the record under a legal hold (False if it already is): it is never deleted until released."""
    if _lock(session, concern.id) is None:
        raise LookupError("the concern is gone")
    session.refresh(concern)
    if concern.legal_hold:
        return False
    concern.legal_hold, concern.legal_hold_by, concern.legal_hold_at = True, by, now
    concern.legal_hold_reason = reason  # sealed at rest; the event says who and when, never the words
    events.log_event(session, concern.team_id, concern.id, events.EventKind.LEGAL_HOLD, by, now)
    return True


def release(session: Session, concern: Concern, by: str, now: datetime) -> bool:
    """Lift the legal hold (False if there was none): the record is kept to its date, as before. Who set the
    last hold, when and why stay on the record; the release is on its event log."""
    if _lock(session, concern.id) is None:
        raise LookupError("the concern is gone")
    session.refresh(concern)
    if not concern.legal_hold:
        return False
    concern.legal_hold = False
    events.log_event(session, concern.team_id, concern.id, events.EventKind.LEGAL_HOLD_RELEASED, by, now)
    return True
