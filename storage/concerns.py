"""Concerns: submitting a report, numbering it, acknowledging it. Each write is one unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import logging

from sqlalchemy import bindparam, insert, null, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from flows.concern import Role, Status, Urgency
from flows.escalation import TOP, URGENT_PAGED, pages_everyone
from flows.school_time import add_school_minutes
from flows.references import format_reference
from flows.report_form import ReportAnswers
from storage.access import UNREAD_DETAILS, may_handle_as, summarise
from storage.drafts import DraftStatus
from storage.children import child_index
from storage.events import EventKind, claim_place, log_event, log_event_at
from flows.routing import IMMEDIATE_RISK_PAGED, Decision
from storage.models import Concern, ConcernChild, Draft, OutboxMessage, ReferenceCounter, School, StatusChange
from storage.schools import holders, roles_column, roles_in, school_day
from storage.outbox import OutboxKind, Priority, enqueue, enqueue_once, enqueue_rows, outbox_row
from storage.outcomes import Outcome, Result
from storage.deadlines import start_clocks
from storage.retention import set_retain_until
from storage.routing import decide, email_only_case_manager


log = logging.getLogger(__name__)


def next_reference(session: Session, team_id: str, year: int) -> str:
    """Allocate the next reference for the school and year; safe against concurrent reports."""
    for _ in range(3):
        value = session.execute(
            update(ReferenceCounter)
            .where(ReferenceCounter.team_id == team_id, ReferenceCounter.year == year)
            .values(value=ReferenceCounter.value + 1)
            .returning(ReferenceCounter.value)
        ).scalar()
        if value is not None:
            return format_reference(year, value)
        try:
            with session.begin_nested():
                session.add(ReferenceCounter(team_id=team_id, year=year, value=1))
            return format_reference(year, 1)
        except IntegrityError:
            continue  # another report created the counter first; increment it instead
    raise RuntimeError("could not allocate a concern reference")


def submit_report(session: Session, draft: Draft, answers: ReportAnswers, school: School,
                  now: datetime) -> Concern:
    """Turn a completed draft into a concern, routed by the table, with its history, event and outbox rows.

    Idempotent: a draft already submitted returns the concern it became, so a double click or a
    retried request never makes a second record.
    """
    if draft.status == DraftStatus.SUBMITTED and draft.concern_id is not None:
        return session.get_one(Concern, draft.concern_id)
    decision = decide(session, draft.team_id, draft.answers)
    year = now.astimezone(ZoneInfo(school.timezone)).year
    concern = Concern(
        team_id=draft.team_id, reference=next_reference(session, draft.team_id, year), draft_id=draft.id,
        reporter_id=draft.reporter_id, subject_kind=decision.subject.value, subject_user_id=decision.subject_user_id,
        case_roles=sorted(r.value for r in decision.case_roles), meets_harm_threshold=answers.meets_harm_threshold,
        personal_data_breach=decision.breach, category=answers.category.value, urgency=answers.urgency.value,
        status=Status.NEW.value, occurred_on=answers.occurred_on, reported_late=answers.reported_late,
        details=answers.model_dump(mode="json"), reported_at=now,
        # The DSL team's ladder; a concern about an adult goes straight to its case manager instead.
        escalate_at=add_school_minutes(now, school.escalation_minutes, school_day(school), school.timezone)
        if decision.channel else None,
    )
    if decision.channel and pages_everyone(answers.urgency):
        concern.escalation_level, concern.escalate_at = TOP, None  # everyone is told now, not in turn
    set_retain_until(session, concern, school)
    session.add(concern)
    session.flush()
    session.add(StatusChange(team_id=concern.team_id, concern_id=concern.id, from_status=None,
                             to_status=Status.NEW.value, actor_id=concern.reporter_id, at=now))
    for position, child in enumerate(answers.children, start=1):
        session.add(ConcernChild(team_id=concern.team_id, concern_id=concern.id, position=position,
                                 name_key=child_index(session, child.name), name=child.name,
                                 year_group=child.year_group))
    log_event(session, concern.team_id, concern.id, EventKind.REPORTED, concern.reporter_id, now,
              reference=concern.reference, category=concern.category, urgency=concern.urgency,
              subject=concern.subject_kind)
    draft.status = DraftStatus.SUBMITTED
    draft.concern_id = concern.id
    draft.updated_at = now
    start_clocks(session, concern, school, lado=decision.subject.is_adult and answers.meets_harm_threshold, now=now)
    _notify(session, concern, decision, answers, draft, now)
    if not school.dsl_channel_id:  # recorded, and kept for the team: whoever can set the school up is told
        enqueue(session, concern.team_id, OutboxKind.SETUP_NEEDED, f"{concern.id}:setup_needed", now,
                concern_id=concern.id, priority=Priority.ROUTINE)
    return concern


def _notify(session: Session, concern: Concern, decision: Decision, answers: ReportAnswers, draft: Draft,
            now: datetime) -> None:
    team, cid = concern.team_id, concern.id
    if decision.channel:
        enqueue(session, team, OutboxKind.DSL_ALERT, f"{cid}:dsl_alert", now, concern_id=cid)
    for user_id in decision.dm:
        enqueue(session, team, OutboxKind.CASE_ALERT, f"{cid}:case_alert:{user_id}", now, concern_id=cid,
                recipient_id=user_id)
    for to in (["chair"] if decision.email_chair else []) + (["lado"] if decision.email_lado else []):
        enqueue(session, team, OutboxKind.EMAIL, f"{cid}:email:{to}", now, concern_id=cid, payload={"to": to})
    enqueue(session, team, OutboxKind.REPORTER_RECEIPT, f"{cid}:receipt", now, concern_id=cid,
            recipient_id=concern.reporter_id)
    if answers.urgency is Urgency.IMMEDIATE:
        page_immediate_risk(session, draft, now)  # already paged at the urgency question, unless changed since
    elif decision.channel and pages_everyone(answers.urgency):
        for user_id in _holders_except(session, team, URGENT_PAGED, concern.reporter_id):
            enqueue(session, team, OutboxKind.URGENT_PAGE, f"{cid}:urgent:{user_id}", now, concern_id=cid,
                    recipient_id=user_id)


def _holders_except(session: Session, team_id: str, roles: frozenset[Role], excluded: str) -> list[str]:
    return sorted({r.user_id for r in holders(session, team_id, roles) if r.user_id and r.user_id != excluded})


def page_immediate_risk(session: Session, draft: Draft, now: datetime) -> int:
    """Page the DSL team and the head about an immediate risk, once per draft; returns how many paged."""
    decision = decide(session, draft.team_id, draft.answers)
    if decision.channel:
        paged = set(_holders_except(session, draft.team_id, IMMEDIATE_RISK_PAGED, draft.reporter_id))
    else:  # about an adult: only the case manager, never the person it is about or the DSL team
        paged = set(decision.dm) - {draft.reporter_id}
    paged.discard(decision.subject_user_id or "")
    existing = set(session.scalars(select(OutboxMessage.recipient_id).where(
        OutboxMessage.dedupe_key.like(f"page:{draft.id}:%"))))
    for user_id in sorted(paged - existing):
        enqueue(session, draft.team_id, OutboxKind.IMMEDIATE_PAGE, f"page:{draft.id}:{user_id}", now,
                recipient_id=user_id, payload={"reporter_id": draft.reporter_id})
    return len(paged - existing)


def email_failed(session: Session, team_id: str, concern_id: int, to: str, now: datetime) -> None:
    """An email to the LADO or an outside chair keeps failing: tell the case handlers (once), who can phone."""
    concern = find_concern(session, team_id, concern_id)
    if concern is None:
        return
    roles = frozenset(Role(r) for r in concern.case_roles or ())
    users = _holders_except(session, team_id, roles, concern.subject_user_id or "")
    for user_id in users:
        enqueue_once(session, team_id, OutboxKind.EMAIL_FAILED, f"{concern.id}:email_failed:{to}:{user_id}", now,
                     concern_id=concern.id, recipient_id=user_id, payload={"to": to})
    if not users and to == "lado" and email_only_case_manager(session, concern):
        enqueue_once(session, team_id, OutboxKind.EMAIL, f"{concern.id}:email_failed:{to}:chair", now,
                     concern_id=concern.id, payload={"to": "chair", "about": "email_failed"})
    elif not users:  # nobody at all can be told: the operator must see it
        log.error("concern id %s: the email to %s keeps failing and nobody at the school can be told; "
                  "check SMTP and the school's contacts", concern.id, to)


def find_concern(session: Session, team_id: str, concern_id: int) -> Concern | None:
    return session.scalars(
        select(Concern).where(Concern.id == concern_id, Concern.team_id == team_id)
    ).first()


# Acknowledge is the safeguarding team's most pressed button: its statements are built once (storage.drafts
# says why), the presser's roles are read with the concern, its writes go straight to the tables (the
# concern's row as a conditional update, not the ORM's bulk update that first looks for the row in the
# session), and only the concern is loaded as an object.
_CONCERN_AND_ROLES = select(Concern, roles_column(bindparam("team_id"), bindparam("actor"))) \
    .where(Concern.id == bindparam("concern_id"), Concern.team_id == bindparam("team_id")).options(UNREAD_DETAILS)
CONCERNS = Concern.__table__
_ACTOR = bindparam("actor", type_=CONCERNS.c.acknowledged_by.type)
_AT = bindparam("at", type_=CONCERNS.c.acknowledged_at.type)
_FIRST_ACKNOWLEDGEMENT = update(CONCERNS).where(
    CONCERNS.c.id == bindparam("concern"), CONCERNS.c.status == bindparam("from_status"),
).values(status=bindparam("to_status"), acknowledged_by=_ACTOR, acknowledged_at=_AT, escalate_at=null())
_STATUS_CHANGE = insert(StatusChange.__table__)
# PostgreSQL: everything the press that wins writes before its event, in one statement (data-modifying WITHs,
# each acting only on what `won` returned, so a press that lost writes nothing): the acknowledgement, its status
# change, the next place on the concern's chain (events.claim_place), and both messages. It returns that place
# (its seq and the head to follow) for the event, which is hashed here and added in one more statement. Seven
# round trips became five. SQLite has no data-modifying WITH: the statements one by one.
_WON = _FIRST_ACKNOWLEDGEMENT.returning(CONCERNS.c.id).cte("won")
_RECORDED = insert(StatusChange.__table__).from_select(
    ["team_id", "concern_id", "from_status", "to_status", "actor_id", "at"],
    select(bindparam("team", type_=CONCERNS.c.team_id.type), _WON.c.id,
           bindparam("from_status", type_=CONCERNS.c.status.type), bindparam("to_status", type_=CONCERNS.c.status.type),
           _ACTOR, _AT),
).cte("recorded")
_PLACE = claim_place(select(_WON.c.id).scalar_subquery()).cte("place")
OUTBOX = OutboxMessage.__table__
MESSAGE_COLUMNS = ("team_id", "kind", "concern_id", "recipient_id", "payload", "dedupe_key", "created_at", "due_at",
                   "attempts", "priority")
ACKNOWLEDGED_MESSAGES = 2  # the DSL alert refreshed, the reporter told


def _message(n: int) -> Any:
    """The n-th message's values as a SELECT from `won`, each a typed parameter m{n}_{column}."""
    return select(*(_WON.c.id if column == "concern_id" else bindparam(f"m{n}_{column}", type_=OUTBOX.c[column].type)
                    for column in MESSAGE_COLUMNS)).select_from(_WON)


_QUEUED = insert(OUTBOX).from_select(list(MESSAGE_COLUMNS), union_all(
    *(_message(n) for n in range(ACKNOWLEDGED_MESSAGES)))).cte("queued")
ACKNOWLEDGED_STATEMENT = select(_WON.c.id, _PLACE.c.seq, _PLACE.c.head) \
    .select_from(_WON.outerjoin(_PLACE, _PLACE.c.concern_id == _WON.c.id)).add_cte(_RECORDED, _QUEUED)


class Won(NamedTuple):
    """The press that acknowledged: where its event goes, if its statement claimed the place (PostgreSQL, the
    chain there), and whether its messages are queued already."""

    place: tuple[int, str] | None
    queued: bool


def acknowledged_messages(team_id: str, concern_id: int, reporter_id: str, now: datetime) -> list[dict[str, Any]]:
    """What an acknowledgement queues (`outbox_row`s): the DSL channel's alert refreshed, the reporter told."""
    return [outbox_row(team_id, OutboxKind.ALERT_REFRESH, f"{concern_id}:refresh:acknowledged", now,
                       concern_id=concern_id),
            outbox_row(team_id, OutboxKind.REPORTER_ACKNOWLEDGED, f"{concern_id}:reporter:acknowledged", now,
                       concern_id=concern_id, recipient_id=reporter_id)]


def acknowledgement_parameters(team_id: str, concern_id: int, actor_id: str, now: datetime,
                               messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The statements' parameters; with `messages`, the PostgreSQL statement's too. No key may be a column of
    concerns or concern_chains: one that were would be taken as another column for an UPDATE to set, even one
    inside the WITH (a test compiles the statement with these keys to check)."""
    given: dict[str, Any] = {"concern": concern_id, "team": team_id, "actor": actor_id, "at": now,
                             "from_status": Status.NEW.value, "to_status": Status.ACKNOWLEDGED.value}
    if messages is not None:
        if len(messages) != ACKNOWLEDGED_MESSAGES:  # the statement queues exactly that many, built once
            raise ValueError(f"an acknowledgement queues {ACKNOWLEDGED_MESSAGES} messages, not {len(messages)}")
        given.update({f"m{n}_{column}": message[column] for n, message in enumerate(messages)
                      for column in MESSAGE_COLUMNS if column != "concern_id"})
    return given


def _first_acknowledgement(session: Session, team_id: str, concern_id: int, actor_id: str, now: datetime,
                           messages: list[dict[str, Any]]) -> Won | None:
    """Acknowledge the concern if it is still new, with its status change; None if another press was first."""
    if session.get_bind().dialect.name == "postgresql":
        given = acknowledgement_parameters(team_id, concern_id, actor_id, now, messages)
        row = session.execute(ACKNOWLEDGED_STATEMENT, given).first()
        if row is None:
            return None
        return Won(None if row.seq is None else (row.seq, row.head), queued=True)
    given = acknowledgement_parameters(team_id, concern_id, actor_id, now)
    if not session.execute(_FIRST_ACKNOWLEDGEMENT, given).rowcount:  # type: ignore[attr-defined]
        return None
    session.execute(_STATUS_CHANGE, {"team_id": team_id, "concern_id": concern_id, "from_status": Status.NEW.value,
                                     "to_status": Status.ACKNOWLEDGED.value, "actor_id": actor_id, "at": now})
    return Won(None, queued=False)


def acknowledge(session: Session, team_id: str, concern_id: int, actor_id: str,
                now: datetime) -> Outcome:
    """First press wins: a conditional update, so two people pressing at once give one acknowledgement."""
    row = session.execute(_CONCERN_AND_ROLES, {"concern_id": concern_id, "team_id": team_id, "actor": actor_id}).first()
    if row is None:
        return Outcome(Result.NOT_FOUND)
    concern, roles = row
    if not may_handle_as(concern, roles_in(roles), actor_id):
        log_event(session, team_id, concern.id, EventKind.ACKNOWLEDGE_REFUSED, actor_id, now)
        return Outcome(Result.REFUSED)
    messages = acknowledged_messages(team_id, concern.id, concern.reporter_id, now)
    won = _first_acknowledgement(session, team_id, concern.id, actor_id, now, messages)
    if won is None:
        session.refresh(concern)  # who was first, and when
        return Outcome(Result.ALREADY, summarise(concern))
    for name, value in (("status", Status.ACKNOWLEDGED.value), ("acknowledged_by", actor_id),
                        ("acknowledged_at", now), ("escalate_at", None)):
        set_committed_value(concern, name, value)  # as written: no need to read the row back
    if won.place is not None:
        log_event_at(session, team_id, concern.id, won.place, EventKind.ACKNOWLEDGED, actor_id, now)
    else:
        log_event(session, team_id, concern.id, EventKind.ACKNOWLEDGED, actor_id, now)
    if not won.queued:
        enqueue_rows(session, messages)
    return Outcome(Result.DONE, summarise(concern))
