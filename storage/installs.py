"""How each school's workspace is reached when concernbot is installed into many (OAuth mode).

`SchoolInstall` says which Slack installation serves a school: its own workspace install, or its
organisation's (Enterprise Grid) org-wide install, and who installed it (the one told when a concern waits
for set-up). The tokens themselves live in slack-sdk's installation and state store tables, built by
slack-sdk's own table builders on our `Base.metadata`, so that the migrations, backups and `migrate-db`
treat them like every other table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Boolean, ForeignKey, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import USER_ID, Base, School
from storage.schools import ensure_school

INSTALLATIONS_TABLE, BOTS_TABLE, STATES_TABLE = "slack_installations", "slack_bots", "slack_oauth_states"


class SchoolInstall(Base):
    __tablename__ = "school_installs"

    team_id: Mapped[str] = mapped_column(ForeignKey("schools.team_id"), primary_key=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32), index=True)
    org_install: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    installed_by: Mapped[str | None] = mapped_column(USER_ID)
    installed_at: Mapped[datetime]


# slack-sdk's own table definitions, registered on our metadata: its stores read and write them, and our
# migration (0013) creates them (the schema test holds the migration to these definitions).
slack_installations = SQLAlchemyInstallationStore.build_installations_table(Base.metadata, INSTALLATIONS_TABLE)
slack_bots = SQLAlchemyInstallationStore.build_bots_table(Base.metadata, BOTS_TABLE)
slack_oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, STATES_TABLE)


@dataclass(frozen=True)
class Reach:
    """What finds a school's bot token in the installation store."""

    team_id: str
    enterprise_id: str | None
    org_install: bool


def record_install(session: Session, team_id: str, *, enterprise_id: str | None, org_install: bool,
                   installed_by: str | None, timezone: str, now: datetime, team_name: str | None = None) -> School:
    """A workspace (re)installed: its school exists, knows how it is reached, and is marked installed again.
    Its records, if any, are untouched. The first installer is kept: installing again (anyone may, where
    members may install apps) does not hand over the right to set the school up."""
    school = ensure_school(session, team_id, timezone, now)
    if team_name and not school.name:
        school.name = team_name
    install = session.get(SchoolInstall, team_id)
    if install is None:
        install = SchoolInstall(team_id=team_id, installed_at=now)
        session.add(install)
    install.enterprise_id, install.org_install, install.installed_at = enterprise_id, org_install, now
    if installed_by and install.installed_by is None:
        install.installed_by = installed_by
    school.uninstalled_at = None
    return school


def needs_recording(session: Session, team_id: str) -> bool:
    """A request reached this workspace through its organisation's install, but the school is not on record
    as reached that way, or is on record as removed (access given back, with the event missed)."""
    install, school = session.get(SchoolInstall, team_id), session.get(School, team_id)
    return install is None or not install.org_install or school is None or school.uninstalled_at is not None


def installed_since(session: Session, team_id: str, when: datetime | None) -> bool:
    """The school was (re)installed after `when`: an older removal event (a retry, say) must not undo it."""
    install = session.get(SchoolInstall, team_id)
    return when is not None and install is not None and install.installed_at > when


def purge_states(session: Session, now: datetime) -> int:
    """Expired OAuth states (one is written for every visit to /slack/install; slack-sdk deletes only those
    used), so the table cannot grow without end."""
    naive = now.astimezone(UTC).replace(tzinfo=None)  # slack-sdk stores naive UTC
    return session.execute(delete(slack_oauth_states).where(slack_oauth_states.c.expire_at < naive)).rowcount or 0


def reach_of(session: Session, team_id: str) -> Reach | None:
    install = session.get(SchoolInstall, team_id)
    if install is None:
        return None
    return Reach(team_id, install.enterprise_id, install.org_install)


def installer_of(session: Session, team_id: str) -> str | None:
    return session.scalar(select(SchoolInstall.installed_by).where(SchoolInstall.team_id == team_id))


def org_schools(session: Session, enterprise_id: str) -> list[str]:
    """The schools an organisation-wide install serves."""
    return list(session.scalars(select(SchoolInstall.team_id).where(
        SchoolInstall.enterprise_id == enterprise_id, SchoolInstall.org_install.is_(True))))


def mark_removed(session: Session, team_ids: list[str], now: datetime) -> list[str]:
    """The app removed from these workspaces: the ones that were installed until now."""
    if not team_ids:
        return []
    changed = list(session.scalars(select(School.team_id).where(
        School.team_id.in_(team_ids), School.uninstalled_at.is_(None))))
    session.execute(update(School).where(School.team_id.in_(changed)).values(uninstalled_at=now))
    return changed
