"""Applying the routing table to one concern: who holds each role here, and who the concern is about."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.children import name_key
from datetime import datetime

from flows.concern import DSL_TEAM, Role, Status, SubjectKind
from flows.forms import Answers
from flows.routing import Decision, effective_subject, may_open, resolve
from storage.events import EventKind, log_event
from storage.models import Concern, RoleAssignment
from storage.outbox import OutboxKind, enqueue_once
from storage.schools import roles_of

NAMED_ADULTS = (SubjectKind.STAFF, SubjectKind.VOLUNTEER, SubjectKind.GOVERNOR)


def role_holders(session: Session, team_id: str) -> dict[Role, tuple[str | None, ...]]:
    """Each role's holders: a user id, or None for someone reached only by email."""
    holders: dict[Role, list[str | None]] = {}
    for row in session.scalars(select(RoleAssignment).where(RoleAssignment.team_id == team_id)
                               .order_by(RoleAssignment.id)):
        holders.setdefault(Role(row.role), []).append(row.user_id)
    return {role: tuple(users) for role, users in holders.items()}


def named_holder(session: Session, team_id: str, typed: str) -> str | None:
    """The workspace user holding a role here whose name matches `typed` (folded), if exactly one does."""
    key = name_key(typed)
    matches = {row.user_id for row in session.scalars(select(RoleAssignment).where(RoleAssignment.team_id == team_id))
               if row.user_id and row.display_name and name_key(row.display_name) == key}
    return matches.pop() if len(matches) == 1 else None


def decide(session: Session, team_id: str, answers: Answers) -> Decision:
    """Where a concern with these answers goes. Works on a draft's raw answers as well as a finished report."""
    chosen = SubjectKind(str(answers.get("subject") or SubjectKind.PUPIL))
    holders = role_holders(session, team_id)
    subject_user: str | None = None
    if chosen in NAMED_ADULTS:
        subject_user = str(answers.get("adult_user") or "") or None
        if subject_user is None and answers.get("adult_name"):
            # Typed, not chosen: if it is the name of someone holding a role here, it is about them.
            subject_user = named_holder(session, team_id, str(answers["adult_name"]))
    elif chosen is SubjectKind.HEADTEACHER:
        subject_user = next((u for u in holders.get(Role.HEADTEACHER, ()) if u), None)
    elif chosen is SubjectKind.CHAIR:
        subject_user = next((u for u in holders.get(Role.CHAIR_OF_GOVERNORS, ()) if u), None)
    subject_roles = roles_of(session, team_id, subject_user) if subject_user else frozenset()
    if chosen is SubjectKind.HEADTEACHER:
        subject_roles = subject_roles | {Role.HEADTEACHER}
    elif chosen is SubjectKind.CHAIR:
        subject_roles = subject_roles | {Role.CHAIR_OF_GOVERNORS}
    return resolve(effective_subject(chosen, subject_roles), holders, subject_user_id=subject_user,
                   meets_harm_threshold=answers.get("threshold") == "harm",
                   breach=chosen is SubjectKind.NOBODY and answers.get("personal_data") == "yes")


def reroute_open(session: Session, team_id: str, now: datetime) -> list[str]:
    """After roles change: send each open concern about an adult to whoever now handles it by the chain.

    New case managers get the confidential alert; an assignee who may no longer handle it is unassigned.
    Returns what changed, by reference, for tests: it is never shown to whoever changed the roles (each
    concern's own event log records it).
    """
    holders = role_holders(session, team_id)
    changes: list[str] = []
    open_concerns = session.scalars(select(Concern).where(Concern.team_id == team_id,
                                                          Concern.status != Status.CLOSED.value))
    for concern in open_concerns:
        if DSL_TEAM & frozenset(Role(r) for r in concern.case_roles or ()):
            continue  # the DSL team's concerns follow the DSL roles themselves
        decision = resolve(SubjectKind(concern.subject_kind), holders, subject_user_id=concern.subject_user_id,
                           meets_harm_threshold=concern.meets_harm_threshold, breach=concern.personal_data_breach)
        roles = sorted(r.value for r in decision.case_roles)
        if roles != sorted(concern.case_roles or ()):
            concern.case_roles = roles
            log_event(session, team_id, concern.id, EventKind.REROUTED, None, now, case_roles=roles)
            changes.append(f"{concern.reference} now goes to " + (", ".join(roles) or "the LADO only"))
        for user_id in decision.dm:
            enqueue_once(session, team_id, OutboxKind.CASE_ALERT, f"{concern.id}:case_alert:{user_id}", now,
                         concern_id=concern.id, recipient_id=user_id)
        if decision.email_chair:
            enqueue_once(session, team_id, OutboxKind.EMAIL, f"{concern.id}:email:chair", now,
                         concern_id=concern.id, payload={"to": "chair"})
        if concern.assigned_to and not may_open(decision.case_roles, roles_of(session, team_id, concern.assigned_to),
                                                viewer_id=concern.assigned_to, subject_user_id=concern.subject_user_id):
            concern.assigned_to = None
            changes.append(f"{concern.reference} unassigned: its assignee no longer handles it")
    return changes


def email_only_case_manager(session: Session, concern: Concern) -> bool:
    """Is this concern's case manager a chair of governors reached only by email (outside the workspace)?"""
    if list(concern.case_roles or ()) != [Role.CHAIR_OF_GOVERNORS.value]:
        return False
    chairs = role_holders(session, concern.team_id).get(Role.CHAIR_OF_GOVERNORS, ())
    return bool(chairs) and not any(chairs)
