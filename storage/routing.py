"""Applying the routing table to one concern: who holds each role here, and who the concern is about."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.concern import Role, SubjectKind
from flows.forms import Answers
from flows.routing import Decision, effective_subject, resolve
from storage.models import RoleAssignment
from storage.schools import roles_of

NAMED_ADULTS = (SubjectKind.STAFF, SubjectKind.VOLUNTEER, SubjectKind.GOVERNOR)


def role_holders(session: Session, team_id: str) -> dict[Role, tuple[str | None, ...]]:
    """Each role's holders: a user id, or None for someone reached only by email."""
    holders: dict[Role, list[str | None]] = {}
    for row in session.scalars(select(RoleAssignment).where(RoleAssignment.team_id == team_id)
                               .order_by(RoleAssignment.id)):
        holders.setdefault(Role(row.role), []).append(row.user_id)
    return {role: tuple(users) for role, users in holders.items()}


def decide(session: Session, team_id: str, answers: Answers) -> Decision:
    """Where a concern with these answers goes. Works on a draft's raw answers as well as a finished report."""
    chosen = SubjectKind(str(answers.get("subject") or SubjectKind.PUPIL))
    holders = role_holders(session, team_id)
    subject_user: str | None = None
    if chosen in NAMED_ADULTS:
        subject_user = str(answers.get("adult_user") or "") or None
    elif chosen is SubjectKind.HEADTEACHER:
        subject_user = next((u for u in holders.get(Role.HEADTEACHER, ()) if u), None)
    subject_roles = roles_of(session, team_id, subject_user) if subject_user else frozenset()
    if chosen is SubjectKind.HEADTEACHER:
        subject_roles = subject_roles | {Role.HEADTEACHER}
    return resolve(effective_subject(chosen, subject_roles), holders, subject_user_id=subject_user,
                   meets_harm_threshold=answers.get("threshold") == "harm",
                   breach=chosen is SubjectKind.NOBODY and answers.get("personal_data") == "yes")
