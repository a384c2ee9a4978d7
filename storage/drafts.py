"""Drafts: a report in progress, saved after every step, owned by the person writing it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, insert, select
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


_HELD = (select(Draft, School).join(School, School.team_id == Draft.team_id)
         .where(Draft.id == bindparam("draft_id"), Draft.team_id == bindparam("team_id"),
                Draft.reporter_id == bindparam("reporter_id"))
         .with_for_update(of=Draft))


def owned_draft_at(session: Session, team_id: str, reporter_id: str, draft_id: str) -> tuple[Draft, School] | None:
    """`owned_draft`, held for update, with its school (for its time zone and routing), in one statement (built
    once: each step of the form reads it)."""
    row = session.execute(_HELD, {"draft_id": draft_id, "team_id": team_id, "reporter_id": reporter_id}).first()
    return None if row is None else (row[0], row[1])


class DraftView(NamedTuple):
    """A draft as the form shows it: read as columns, not loaded as an ORM object."""
    id: str
    step_id: str
    answers: dict[str, Any]
    created_at: datetime


class Opening(NamedTuple):
    timezone: str  # the school's
    draft: DraftView  # this person's latest unsent draft of the form, or the one just started
    started: bool  # whether it was started just now


SCHOOLS, DRAFTS = School.__table__, Draft.__table__
# Opening the form is the click people wait on most, so its two statements are built once, here: building a
# statement (its clauses, its cache key) cost more of the interpreter's time than running it.
_LATEST_OPEN = (
    select(SCHOOLS.c.timezone, DRAFTS.c.id, DRAFTS.c.step_id, DRAFTS.c.answers, DRAFTS.c.created_at)
    .select_from(SCHOOLS.outerjoin(DRAFTS, and_(
        DRAFTS.c.team_id == SCHOOLS.c.team_id, DRAFTS.c.reporter_id == bindparam("reporter_id"),
        DRAFTS.c.form_id == bindparam("form_id"), DRAFTS.c.status == DraftStatus.OPEN.value)))
    .where(SCHOOLS.c.team_id == bindparam("team_id"))
    .order_by(DRAFTS.c.updated_at.desc())
    .limit(1)
)
_ADD = insert(DRAFTS)


def open_form(session: Session, team_id: str, reporter_id: str, form_id: str, first_step_id: str, timezone: str,
              now: datetime) -> Opening:
    """This person's latest unsent draft of the form, or a new one started at its first step; with the school's
    time zone (the school's row made on first use, as `ensure_school`). One read and, for a new draft, one
    insert. Each write stands on its own (a school's row is wanted whether or not a draft follows), so the
    listener runs it with each statement committed as it runs (`Database.session(autocommit=True)`)."""
    row = session.execute(_LATEST_OPEN, {"team_id": team_id, "reporter_id": reporter_id, "form_id": form_id}).first()
    school_timezone = ensure_school(session, team_id, timezone, now).timezone if row is None else row.timezone
    if row is not None and row.id is not None:
        return Opening(school_timezone, DraftView(row.id, row.step_id, row.answers or {}, row.created_at), False)
    draft = DraftView(uuid.uuid4().hex, first_step_id, {}, now)
    session.execute(_ADD, {"id": draft.id, "team_id": team_id, "reporter_id": reporter_id, "form_id": form_id,
                           "step_id": first_step_id, "answers": {}, "status": DraftStatus.OPEN.value,
                           "created_at": now, "updated_at": now})
    return Opening(school_timezone, draft, True)


def save_answers(draft: Draft, values: dict[str, Any], now: datetime, *, step_id: str | None = None) -> None:
    """Merge one step's answers into the draft (a new dict, so the JSON column is seen as changed)."""
    draft.answers = {**draft.answers, **values}
    if step_id is not None:
        draft.step_id = step_id
    draft.updated_at = now


def discard(draft: Draft, now: datetime) -> None:
    draft.status = DraftStatus.DISCARDED
    draft.updated_at = now
