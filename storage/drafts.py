"""Drafts: a report in progress, saved after every step, owned by the person writing it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from storage.models import Draft, School
from storage.schools import ensure_school


class DraftStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    DISCARDED = "discarded"


def start_draft(session: Session, team_id: str, reporter_id: str, form_id: str, step_id: str,
                now: datetime) -> Draft:
    draft = Draft(id=uuid.uuid4().hex, team_id=team_id, reporter_id=reporter_id, form_id=form_id,
                  step_id=step_id, answers={}, status=DraftStatus.OPEN, created_at=now, updated_at=now)
    session.add(draft)
    session.flush()
    return draft


def owned_draft(session: Session, team_id: str, reporter_id: str, draft_id: str) -> Draft | None:
    """The draft, only if it belongs to this person in this school: metadata never proves identity."""
    return session.scalars(select(Draft).where(Draft.id == draft_id, Draft.team_id == team_id,
                                               Draft.reporter_id == reporter_id)).first()


def owned_draft_at(session: Session, team_id: str, reporter_id: str, draft_id: str) -> tuple[Draft, School] | None:
    """`owned_draft`, held for update, with its school (for its time zone and routing), in one statement."""
    row = session.execute(
        select(Draft, School).join(School, School.team_id == Draft.team_id)
        .where(Draft.id == draft_id, Draft.team_id == team_id, Draft.reporter_id == reporter_id)
        .with_for_update(of=Draft)
    ).first()
    return None if row is None else (row[0], row[1])


def school_and_open_draft(session: Session, team_id: str, reporter_id: str, form_id: str, timezone: str,
                          now: datetime) -> tuple[School, Draft | None]:
    """The school (made on first use, as `ensure_school`) and this person's latest unsent draft of the form,
    read in one statement: opening the form is the click people wait on most."""
    row = session.execute(
        select(School, Draft)
        .outerjoin(Draft, and_(Draft.team_id == School.team_id, Draft.reporter_id == reporter_id,
                               Draft.form_id == form_id, Draft.status == DraftStatus.OPEN))
        .where(School.team_id == team_id)
        .order_by(Draft.updated_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return ensure_school(session, team_id, timezone, now), None
    return row[0], row[1]


def save_answers(draft: Draft, values: dict[str, Any], now: datetime, *, step_id: str | None = None) -> None:
    """Merge one step's answers into the draft (a new dict, so the JSON column is seen as changed)."""
    draft.answers = {**draft.answers, **values}
    if step_id is not None:
        draft.step_id = step_id
    draft.updated_at = now


def discard(draft: Draft, now: datetime) -> None:
    draft.status = DraftStatus.DISCARDED
    draft.updated_at = now
