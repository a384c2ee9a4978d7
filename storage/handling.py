"""The safeguarding team's work on a concern: actions, assignment, closing. Each checks access first."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from sqlalchemy import select, update

from flows.concern import DSL_TEAM, Category, Role, Status
from flows.escalation import TOP
from flows.nudes import InitialReview as ReviewAnswers
from flows.routing import handles
from flows.handling import ActionAnswers, may_act, status_after_action
from storage import deadlines
from storage.access import case_roles, may_handle, summarise
from storage.concerns import find_concern
from storage.events import EventKind, log_event
from storage.models import Concern, ConcernAction, InitialReview, StatusChange
from storage.outbox import OutboxKind, enqueue
from storage.outcomes import Outcome, Result
from storage.schools import holders, roles_of

OUTCOME = "outcome"


def handleable(session: Session, team_id: str, concern_id: int, actor_id: str, what: str,
               now: datetime) -> tuple[Concern | None, Result | None]:
    """The concern if this person may act on it now; else why not (a refusal is logged on the concern)."""
    concern = find_concern(session, team_id, concern_id)
    if concern is None:
        return None, Result.NOT_FOUND
    if not may_handle(session, concern, actor_id):
        log_event(session, team_id, concern.id, EventKind.HANDLING_REFUSED, actor_id, now, attempted=what)
        return None, Result.REFUSED
    if not may_act(Status(concern.status)):
        return None, Result.NOT_OPEN
    return concern, None


def _move(session: Session, concern: Concern, to: Status, actor_id: str, now: datetime) -> bool:
    """Change status only if nobody else changed it first (a conditional update); true if it is now `to`."""
    before = concern.status
    if before == to.value:
        return True
    moved = session.execute(update(Concern).where(Concern.id == concern.id, Concern.status == before)
                            .values(status=to.value)).rowcount  # type: ignore[attr-defined]
    session.refresh(concern)
    if not moved:
        return concern.status == to.value
    session.add(StatusChange(team_id=concern.team_id, concern_id=concern.id, from_status=before,
                             to_status=to.value, actor_id=actor_id, at=now))
    return True


def _refresh_post(session: Session, concern: Concern, now: datetime, cause: int) -> None:
    enqueue(session, concern.team_id, OutboxKind.ALERT_REFRESH, f"{concern.id}:refresh:{cause}", now,
            concern_id=concern.id)


def record_action(session: Session, team_id: str, concern_id: int, actor_id: str, answers: ActionAnswers,
                  now: datetime) -> Outcome:
    concern, problem = handleable(session, team_id, concern_id, actor_id, "record_action", now)
    if concern is None:
        return Outcome(problem or Result.NOT_FOUND)
    session.add(ConcernAction(team_id=team_id, concern_id=concern.id, kind=answers.action.value,
                              taken_on=answers.taken_on, taken_time=answers.taken_time, note=answers.note,
                              recorded_by=actor_id, recorded_at=now))
    _move(session, concern, status_after_action(Status(concern.status)), actor_id, now)
    deadlines.meet(session, concern.id, answers.action.value, now)
    event = log_event(session, team_id, concern.id, EventKind.ACTION_RECORDED, actor_id, now,
                      action=answers.action.value)
    session.flush()
    _refresh_post(session, concern, now, event.id)
    return Outcome(Result.DONE, summarise(concern))


def record_initial_review(session: Session, team_id: str, concern_id: int, actor_id: str,
                          review: ReviewAnswers, now: datetime) -> Outcome:
    """The nudes initial review. Any referral condition flags the concern and tells the head (which is
    escalating it to them); otherwise the reason for handling it in school is on the record."""
    concern, problem = handleable(session, team_id, concern_id, actor_id, "initial_review", now)
    if concern is None:
        return Outcome(problem or Result.NOT_FOUND)
    if concern.category != Category.NUDES.value or not DSL_TEAM & case_roles(concern):
        return Outcome(Result.NOT_OPEN)  # the UKCIS review is for children sharing imagery: the DSL team's
    existing = session.scalars(select(InitialReview).where(InitialReview.concern_id == concern.id)).first()
    if existing is not None:
        return Outcome(Result.DONE, summarise(concern))  # a second press changes nothing
    session.add(InitialReview(team_id=team_id, concern_id=concern.id, conditions=[c.value for c in review.conditions],
                              established=review.established, parents_told=review.parents_told,
                              in_school_reason=review.in_school_reason, recorded_by=actor_id, recorded_at=now))
    _move(session, concern, status_after_action(Status(concern.status)), actor_id, now)
    if review.immediate_referral:  # written before the event, as every change to a concern is: the concern's
        # row, then its chain's (storage.events), so two writers on one concern never wait on each other
        concern.immediate_referral = True
        concern.escalation_level = max(concern.escalation_level, TOP)
        session.flush()
    event = log_event(session, team_id, concern.id, EventKind.INITIAL_REVIEW, actor_id, now,
                      conditions=[c.value for c in review.conditions])
    session.flush()
    if review.immediate_referral:
        for head in holders(session, team_id, frozenset({Role.HEADTEACHER})):
            if head.user_id and head.user_id not in (actor_id, concern.subject_user_id):
                enqueue(session, team_id, OutboxKind.IMMEDIATE_REFERRAL_NOTICE,
                        f"{concern.id}:immediate_referral:{head.user_id}", now, concern_id=concern.id,
                        recipient_id=head.user_id)
    _refresh_post(session, concern, now, event.id)
    return Outcome(Result.DONE, summarise(concern))


def assign(session: Session, team_id: str, concern_id: int, actor_id: str, assignee_id: str,
           now: datetime) -> Outcome:
    concern, problem = handleable(session, team_id, concern_id, actor_id, "assign", now)
    if concern is None:
        return Outcome(problem or Result.NOT_FOUND)
    if assignee_id == concern.subject_user_id or not handles(case_roles(concern), roles_of(session, team_id, assignee_id)):
        return Outcome(Result.INVALID_ASSIGNEE)
    concern.assigned_to = assignee_id
    event = log_event(session, team_id, concern.id, EventKind.ASSIGNED, actor_id, now, assignee=assignee_id)
    session.flush()
    _refresh_post(session, concern, now, event.id)
    if assignee_id != actor_id:
        enqueue(session, team_id, OutboxKind.ASSIGNED_NOTICE, f"{concern.id}:assigned:{event.id}", now,
                concern_id=concern.id, recipient_id=assignee_id, payload={"by": actor_id})
    return Outcome(Result.DONE, summarise(concern))


def close(session: Session, team_id: str, concern_id: int, actor_id: str, outcome: str,
          now: datetime, today: date) -> Outcome:
    """Close with an outcome; `today` is the school's date, on which the outcome is recorded."""
    concern, problem = handleable(session, team_id, concern_id, actor_id, "close", now)
    if concern is None:
        return Outcome(problem or Result.NOT_FOUND)
    before = concern.status
    moved = session.execute(update(Concern).where(Concern.id == concern.id, Concern.status == before)
                            .values(status=Status.CLOSED.value, closed_by=actor_id, closed_at=now)).rowcount  # type: ignore[attr-defined]
    session.refresh(concern)
    if not moved:  # someone else closed it (or acted) first: theirs stands, and this outcome is not recorded
        return Outcome(Result.NOT_OPEN, summarise(concern))
    session.add(StatusChange(team_id=team_id, concern_id=concern.id, from_status=before,
                             to_status=Status.CLOSED.value, actor_id=actor_id, at=now))
    session.add(ConcernAction(team_id=team_id, concern_id=concern.id, kind=OUTCOME, taken_on=today,
                              note=outcome, recorded_by=actor_id, recorded_at=now))
    event = log_event(session, team_id, concern.id, EventKind.CLOSED, actor_id, now)
    session.flush()
    _refresh_post(session, concern, now, event.id)
    enqueue(session, team_id, OutboxKind.REPORTER_CLOSED, f"{concern.id}:reporter:closed", now,
            concern_id=concern.id, recipient_id=concern.reporter_id)
    return Outcome(Result.DONE, summarise(concern))
