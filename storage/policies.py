"""The policy register: who may mark a policy reviewed, and the review itself (first wins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flows.concern import Role
from flows.policy_reviews import is_overdue, next_review_after
from flows.school import Cadence
from flows.yearly import PolicyState
from storage.models import Policy, PolicyReview
from storage.schools import holders, roles_of

REVIEWERS: frozenset[Role] = frozenset({Role.HEADTEACHER, Role.ONLINE_SAFETY_GOVERNOR})


class ReviewResult(StrEnum):
    DONE = "done"
    ALREADY = "already"  # someone marked it reviewed first
    REFUSED = "refused"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class ReviewOutcome:
    result: ReviewResult
    policy: Policy | None = None


def find(session: Session, team_id: str, policy_id: int) -> Policy | None:
    policy = session.get(Policy, policy_id)
    return policy if policy is not None and policy.team_id == team_id else None


def register(session: Session, team_id: str) -> list[Policy]:
    return list(session.scalars(select(Policy).where(Policy.team_id == team_id).order_by(Policy.next_review)))


def states(session: Session, team_id: str) -> tuple[PolicyState, ...]:
    return tuple(PolicyState(p.id, p.title, p.owner_user_id, p.next_review) for p in register(session, team_id))


def overdue(session: Session, team_id: str, today: date) -> list[Policy]:
    return [p for p in register(session, team_id) if is_overdue(p.next_review, today)]


def may_review(session: Session, policy: Policy, user_id: str) -> bool:
    """The policy's owner, the head and the online-safety governor."""
    return policy.owner_user_id == user_id or bool(roles_of(session, policy.team_id, user_id) & REVIEWERS)


def reminder_recipients(session: Session, team_id: str, owner_user_id: str | None) -> list[str]:
    """The owner and the online-safety governor; the head when the policy has no owner."""
    roles = frozenset({Role.ONLINE_SAFETY_GOVERNOR} | (set() if owner_user_id else {Role.HEADTEACHER}))
    people = {h.user_id for h in holders(session, team_id, roles) if h.user_id}
    return sorted(people | ({owner_user_id} if owner_user_id else set()))


def mark_reviewed(session: Session, team_id: str, policy_id: int, user_id: str, reviewed_on: date,
                  note: str | None, expected_next_review: date, now: datetime) -> ReviewOutcome:
    """Record a review and set the next date from the cadence; if someone got there first, theirs stands."""
    policy = find(session, team_id, policy_id)
    if policy is None:
        return ReviewOutcome(ReviewResult.NOT_FOUND)
    if not may_review(session, policy, user_id):
        return ReviewOutcome(ReviewResult.REFUSED, policy)
    following = next_review_after(reviewed_on, Cadence(policy.cadence))
    moved = session.execute(
        update(Policy).where(Policy.id == policy_id, Policy.next_review == expected_next_review)
        .values(next_review=following, last_reviewed_on=reviewed_on, last_reviewed_by=user_id)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(policy)
    if not moved:
        return ReviewOutcome(ReviewResult.ALREADY, policy)
    session.add(PolicyReview(team_id=team_id, policy_id=policy_id, reviewed_on=reviewed_on, reviewed_by=user_id,
                             note=note or None, next_review=following, recorded_at=now))
    return ReviewOutcome(ReviewResult.DONE, policy)
