"""Who may change a school's settings from Slack, what a change would do, and the audit log of changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.concern import Role
from flows.school import SchoolSetup
from storage.db import Database
from storage.installs import installer_of
from storage.models import AdminChange, School
from storage.routing import reroute_open
from storage.schools import apply_setup, lock_school, roles_of


def may_administer(session: Session, team_id: str, user_id: str, workspace_admin: bool) -> bool:
    """The headteacher, whoever the school names, and the workspace's own admins (who install apps); and,
    until the school is set up, whoever installed concernbot there (to walk them through set-up)."""
    if workspace_admin:
        return True
    school = session.get(School, team_id)
    if school is not None and not school.dsl_channel_id and installer_of(session, team_id) == user_id:
        return True
    return Role.HEADTEACHER in roles_of(session, team_id, user_id) or (
        school is not None and user_id in (school.admin_user_ids or []))


def record(session: Session, team_id: str, actor_id: str | None, changes: list[str], now: datetime) -> None:
    session.add_all([AdminChange(team_id=team_id, actor_id=actor_id, at=now, change=c) for c in changes])


def history(session: Session, team_id: str) -> list[AdminChange]:
    return list(session.scalars(select(AdminChange).where(AdminChange.team_id == team_id)
                                .order_by(AdminChange.id)))


def preview(db: Database, setup: SchoolSetup, now: datetime, *, from_file: bool = False) -> list[str]:
    """What applying `setup` would change, without changing anything."""
    with db.session() as session:
        try:
            changes = apply_setup(session, setup, now, from_file=from_file)
            session.flush()
            return changes
        finally:
            session.rollback()


def apply(db: Database, setup: SchoolSetup, actor_id: str | None, now: datetime, *, from_file: bool = False,
          expected_version: datetime | None = None) -> list[str] | None:
    """Apply a set-up (from Slack or the file), re-route open concerns about adults, and log every change.

    One writer at a time per school. `expected_version` (the school's `updated_at` when the change was
    shown for confirmation) makes a stale confirmation fail (None) instead of undoing a later change.
    What concerns were re-routed is in their own event logs, never in what is returned or shown.
    """
    with db.session() as session:
        lock_school(session, setup.team_id)
        school = session.get(School, setup.team_id)
        if expected_version is not None and (school is None or school.updated_at != expected_version):
            return None
        changes = apply_setup(session, setup, now, from_file=from_file)
        session.flush()
        reroute_open(session, setup.team_id, now)
        record(session, setup.team_id, actor_id, changes, now)
    return changes


def version_of(db: Database, team_id: str) -> datetime | None:
    """The school's settings version: when they last changed."""
    with db.session() as session:
        school = session.get(School, team_id)
        return school.updated_at if school is not None else None
