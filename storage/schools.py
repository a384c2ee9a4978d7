"""Schools and the people who hold safeguarding roles in them."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from flows.concern import Role
from flows.school import SchoolSetup
from flows.school_time import SchoolDay
from storage.models import Policy, RoleAssignment, School


def get_school(session: Session, team_id: str) -> School | None:
    return session.get(School, team_id)


def set_installed(session: Session, team_id: str, installed: bool, now: datetime) -> bool:
    """Record that the app was removed from (or is back in) a school's workspace; true if that changed.
    Removing stops every message to the school; nothing of its records is deleted (the law keeps them)."""
    school = session.get(School, team_id)
    if school is None or (school.uninstalled_at is None) == installed:
        return False
    school.uninstalled_at = None if installed else now
    return True


def active_team_ids(session: Session) -> list[str]:
    """Schools whose workspace still has the app: the ones the scheduled work is for."""
    return list(session.scalars(select(School.team_id).where(School.uninstalled_at.is_(None))))


def lock_school(session: Session, team_id: str) -> None:
    """Serialise writers for one school until the transaction ends: a row lock on PostgreSQL, and on SQLite
    the write lock, taken first so that what is read next is what the last writer committed."""
    session.execute(update(School).where(School.team_id == team_id).values(updated_at=School.updated_at))


def ensure_school(session: Session, team_id: str, timezone: str, now: datetime) -> School:
    """The school row for a workspace, created on first use so a report is never refused for want of it."""
    school = session.get(School, team_id)
    if school is None:
        school = School(team_id=team_id, name="", timezone=timezone, closure_days=[], report_dates=[],
                        aup_report_to=[], admin_user_ids=[], created_at=now, updated_at=now)
        session.add(school)
        session.flush()
    return school


def closure_days(school: School) -> frozenset[date]:
    return frozenset(date.fromisoformat(d) for d in school.closure_days or ())


def school_day(school: School) -> SchoolDay:
    return SchoolDay(starts=school.day_starts, ends=school.day_ends, closed=closure_days(school), bank_holidays=True)


# Read on every button the safeguarding team presses: built once (see storage.drafts on why).
_ROLES_OF = select(RoleAssignment.role).where(RoleAssignment.team_id == bindparam("team_id"),
                                              RoleAssignment.user_id == bindparam("user_id"))


def roles_column(team_id: Any, user_id: Any) -> Any:
    """A person's roles in a school as one column of another statement (comma-separated; `roles_in` reads it)."""
    return select(func.aggregate_strings(RoleAssignment.role, ",")).where(
        RoleAssignment.team_id == team_id, RoleAssignment.user_id == user_id).scalar_subquery()


def roles_in(column: str | None) -> frozenset[Role]:
    return frozenset(Role(r) for r in (column or "").split(",") if r)


def roles_of(session: Session, team_id: str, user_id: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in session.scalars(_ROLES_OF, {"team_id": team_id, "user_id": user_id}))


def holders(session: Session, team_id: str, roles: frozenset[Role]) -> list[RoleAssignment]:
    return list(
        session.scalars(
            select(RoleAssignment)
            .where(RoleAssignment.team_id == team_id, RoleAssignment.role.in_([r.value for r in roles]))
            .order_by(RoleAssignment.id)
        )
    )


def apply_setup(session: Session, setup: SchoolSetup, now: datetime, *, from_file: bool = True) -> list[str]:
    """Make the stored set-up match `setup`. Idempotent: returns what changed, empty when nothing did."""
    changes: list[str] = []
    school = session.get(School, setup.team_id)
    if school is None:
        school = School(team_id=setup.team_id, closure_days=[], report_dates=[], aup_report_to=[],
                        admin_user_ids=[], created_at=now, updated_at=now)
        session.add(school)
        changes.append(f"school {setup.name} ({setup.team_id}) added")
    for attr, label, value in (
        ("name", "name", setup.name),
        ("timezone", "time zone", setup.timezone),
        ("dsl_channel_id", "DSL channel", setup.dsl_channel_id),
        ("dsl_channel_name", None, setup.dsl_channel_name),
        ("lado_email", "LADO email", setup.lado_email),
        ("office_contact", "office contact", setup.office_contact),
        ("fallback_email", "fallback email", setup.fallback_email),
        ("escalation_minutes", "escalation after (minutes)", setup.escalation_minutes),
        ("day_starts", "school day starts", setup.day_starts),
        ("day_ends", "school day ends", setup.day_ends),
        ("draft_nudge_at", "unsent drafts nudged at", setup.draft_nudge_at),
        ("closure_days", "closure days", [d.isoformat() for d in setup.closure_days]),
        ("report_dates", "governors' report dates", list(setup.governors_report_dates)),
        ("aup_annual_on", "AUP round starts on or after", setup.aup_rules.annual_on),
        ("aup_reminder_limit", "AUP weekly reminders at most", setup.aup_rules.reminder_limit),
        ("aup_include_guests", "guests asked to sign the AUP", setup.aup_rules.include_guests),
        ("aup_report_to", "who hears who has not signed", list(setup.aup_report_to)),
        ("admin_user_ids", "who may change settings in Slack", list(setup.admins)),
    ):
        if getattr(school, attr) != value:
            if label and not (attr == "name" and changes):
                shown = f"#{setup.dsl_channel_name} ({value})" if attr == "dsl_channel_id" else value
                shown = shown.strftime("%H:%M") if isinstance(shown, time) else shown
                shown = (", ".join(shown) or "none") if isinstance(shown, list) else shown
                shown = ("yes" if shown else "no") if isinstance(shown, bool) else shown
                changes.append(f"{label} set to {shown}")
            setattr(school, attr, value)
    changes += _apply_roles(session, setup)
    changes += _apply_policies(session, setup, from_file)
    if changes:
        school.updated_at = now
    return changes


def _apply_roles(session: Session, setup: SchoolSetup) -> list[str]:
    existing = {
        (r.role, r.user_id, r.email): r
        for r in session.scalars(select(RoleAssignment).where(RoleAssignment.team_id == setup.team_id))
    }
    wanted = {(role.value, p.user_id, None if p.user_id else p.email): (role, p) for role, p in setup.people}
    changes: list[str] = []
    for key, (role, person) in wanted.items():
        who = person.name or person.user_id or person.email
        row = existing.get(key)
        if row is None:
            session.add(RoleAssignment(team_id=setup.team_id, role=role.value, user_id=person.user_id,
                                       email=key[2], display_name=person.name))
            changes.append(f"{role.label}: {who} added")
        elif row.display_name != person.name:
            row.display_name = person.name
    for key, row in existing.items():
        if key not in wanted:
            session.delete(row)
            changes.append(f"{Role(row.role).label}: {row.display_name or row.user_id or row.email} removed")
    return changes


def _apply_policies(session: Session, setup: SchoolSetup, from_file: bool) -> list[str]:
    """A next review date from the set-up file counts only when the file changes it (`file_next_review` is
    what the file last said): a review marked in Slack since then moves the date on, and running the same
    file again must not move it back. A date from Slack (the policy register) counts as given."""
    existing = {p.key: p for p in session.scalars(select(Policy).where(Policy.team_id == setup.team_id))}
    changes: list[str] = []
    for policy in setup.policies:
        row = existing.pop(policy.key, None)
        values = dict(title=policy.title, owner_user_id=policy.owner_user_id, cadence=policy.cadence.value)
        if row is None:
            session.add(Policy(team_id=setup.team_id, key=policy.key, next_review=policy.next_review,
                               file_next_review=policy.next_review if from_file else None, **values))
            changes.append(f"policy {policy.title} added (next review {policy.next_review:%d %B %Y})")
            continue
        if not from_file:
            values["next_review"] = policy.next_review
        elif row.file_next_review != policy.next_review:
            values["next_review"] = policy.next_review
            row.file_next_review = policy.next_review
        if any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changes.append(f"policy {policy.title} updated")
    if existing:
        session.execute(delete(Policy).where(Policy.id.in_([p.id for p in existing.values()])))
        changes += [f"policy {p.title} removed" for p in existing.values()]
    return changes
