"""Drafts: a report in progress, saved after every step, owned by the person writing it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Draft


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


def owned_draft(session: Session, team_id: str, reporter_id: str, draft_id: str,
                *, for_update: bool = False) -> Draft | None:
    """The draft, only if it belongs to this person in this school: metadata never proves identity."""
    query = select(Draft).where(Draft.id == draft_id, Draft.team_id == team_id,
                                Draft.reporter_id == reporter_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def latest_open_draft(session: Session, team_id: str, reporter_id: str, form_id: str) -> Draft | None:
    return session.scalars(
        select(Draft)
        .where(Draft.team_id == team_id, Draft.reporter_id == reporter_id, Draft.form_id == form_id,
               Draft.status == DraftStatus.OPEN)
        .order_by(Draft.updated_at.desc())
        .limit(1)
    ).first()


def save_answers(draft: Draft, values: dict[str, Any], now: datetime, *, step_id: str | None = None) -> None:
    """Merge one step's answers into the draft (a new dict, so the JSON column is seen as changed)."""
    draft.answers = {**draft.answers, **values}
    if step_id is not None:
        draft.step_id = step_id
    draft.updated_at = now


def discard(draft: Draft, now: datetime) -> None:
    draft.status = DraftStatus.DISCARDED
    draft.updated_at = now
