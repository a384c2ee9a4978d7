"""`concernbot setup school.yml`: read the school's file, resolve people and channel through Slack."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from typing import Any

import yaml
from pydantic import ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.yearly import publish_aup
from flows.aup import AupDocument, AupRules
from flows.concern import Role
from flows.school import Person, PolicySetup, SchoolFile, SchoolSetup
from storage.db import Database
from storage.models import School
from storage import admin

# Outside contacts may be reached by email alone; everyone else must be in the workspace.
MAY_BE_OUTSIDE = frozenset({Role.CHAIR_OF_GOVERNORS, Role.ONLINE_SAFETY_GOVERNOR, Role.DPO})


class SetupError(Exception):
    """The school file is wrong, or names someone or something Slack can't find; one sentence why."""


class PersonLeft(SetupError):
    """Someone named has left the workspace."""


def read_school_file(path: Path) -> SchoolFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SetupError(f"{path}: no such file; pass the path to your school's set-up file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a readable text file"
        raise SetupError(f"{path}: cannot be read ({reason}); pass the path to your school's YAML file.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SetupError(f"{path}: this is not valid YAML{where}; check the indentation there.") from None
    try:
        return SchoolFile.model_validate(raw or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "the file"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SetupError(f"{path}: {field}: {message}.") from None


def _api_error(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "unknown_error"))


def person_in(user: dict[str, Any], team_id: str) -> bool:
    """Whether a person from the Web API is a member of this workspace. On Enterprise Grid an organisation-wide
    token finds the whole organisation's people: `enterprise_user.teams` lists their workspaces."""
    org = user.get("enterprise_user")
    if isinstance(org, dict) and org.get("teams") is not None:
        return team_id in org["teams"]
    return user.get("team_id") in (None, team_id)


def channel_in(channel: dict[str, Any], team_id: str) -> bool:
    """Whether a channel belongs to this workspace (`shared_team_ids` on Enterprise Grid)."""
    if channel.get("shared_team_ids") is not None:
        return team_id in channel["shared_team_ids"]
    return channel.get("context_team_id") in (None, team_id)


def resolve_person(client: WebClient, ref: str, role: Role, where: str, team_id: str) -> Person:
    if "@" in ref:
        try:
            user = client.users_lookupByEmail(email=ref)["user"]
        except SlackApiError as exc:
            if _api_error(exc) == "users_not_found" and role in MAY_BE_OUTSIDE:
                return Person(email=ref)
            raise SetupError(f"{where}: nobody in this workspace has the email {ref}; check it, "
                             "or use their Slack user id.") from None
    else:
        try:
            user = client.users_info(user=ref)["user"]
        except SlackApiError:
            raise SetupError(f"{where}: there is no user {ref} in this workspace.") from None
    if user.get("deleted"):
        raise PersonLeft(f"{where}: {ref} has left this workspace; name who holds the role now.")
    if team_id is not None and not person_in(user, team_id):
        raise SetupError(f"{where}: {ref} is not a member of this school's workspace; name someone who is.")
    profile = user.get("profile") or {}
    name = profile.get("real_name") or user.get("real_name") or user.get("name")
    return Person(user_id=user["id"], email=profile.get("email"), name=name)


def _unless_left(client: WebClient, ref: str, where: str, team_id: str) -> Person | None:
    try:
        return resolve_person(client, ref, Role.HEADTEACHER, where, team_id)
    except PersonLeft:
        return None


def resolve_channel(client: WebClient, ref: str, team_id: str) -> tuple[str, str]:
    """A channel id and name from `C0123…` or `#name`, in this school's workspace (an organisation-wide
    token lists a workspace's channels only when told which); the bot must be able to see it."""
    if ref.startswith("#"):
        wanted = ref[1:]
        cursor = None
        while True:
            page = client.conversations_list(types="public_channel,private_channel", limit=200,
                                             exclude_archived=True, cursor=cursor, team_id=team_id)
            for channel in page["channels"]:
                if channel.get("name") == wanted:
                    return channel["id"], wanted
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                raise SetupError(f"dsl_channel: concernbot can't see a channel called {ref}: create it as a "
                                 f"private channel, invite @concernbot to it, then run setup again.")
    try:
        channel = client.conversations_info(channel=ref)["channel"]
    except SlackApiError:
        raise SetupError(f"dsl_channel: concernbot can't see channel {ref}: invite @concernbot to it, "
                         "then run setup again.") from None
    if not channel_in(channel, team_id):
        raise SetupError(f"dsl_channel: {ref} belongs to another workspace of the organisation: name this "
                         "school's own DSL channel.")
    return channel["id"], channel.get("name", ref)


def resolve(client: WebClient, school_file: SchoolFile, team_id: str) -> SchoolSetup:
    if school_file.school.team_id and school_file.school.team_id != team_id:
        raise SetupError(f"school.team_id is {school_file.school.team_id} but the bot token belongs to "
                         f"workspace {team_id}; fix the file or use that workspace's token.")
    people: list[tuple[Role, Person]] = []
    for role, ref in school_file.people.by_role():
        people.append((role, resolve_person(client, ref, role, f"people.{role.value}", team_id)))
    policies = []
    for policy in school_file.policies:
        owner = _unless_left(client, policy.owner, f"policies.{policy.key}.owner", team_id) if policy.owner else None
        policies.append(PolicySetup(key=policy.key, title=policy.title,
                                    owner_user_id=owner.user_id if owner else None,
                                    cadence=policy.cadence, next_review=policy.next_review))
    # Not roles: someone here who has since left is dropped (a policy then has no owner, and its reminders
    # go to the head), so that one departure never blocks every other change.
    report_to = [p.user_id for i, ref in enumerate(school_file.aup.report_to)
                 if (p := _unless_left(client, ref, f"aup.report_to[{i}]", team_id)) and p.user_id]
    admins = [p.user_id for i, ref in enumerate(school_file.school.admins)
              if (p := _unless_left(client, ref, f"school.admins[{i}]", team_id)) and p.user_id]
    channel_id, channel_name = resolve_channel(client, school_file.dsl_channel, team_id)
    aup = school_file.aup
    return SchoolSetup(
        team_id=team_id, name=school_file.school.name, timezone=school_file.school.timezone,
        escalation_minutes=school_file.school.escalation_minutes, day_starts=school_file.school.day_starts,
        day_ends=school_file.school.day_ends, draft_nudge_at=school_file.school.draft_nudge_at,
        closure_days=sorted(set(school_file.school.closure_days)),
        dsl_channel_id=channel_id, dsl_channel_name=channel_name, lado_email=school_file.contacts.lado_email,
        office_contact=school_file.contacts.office, fallback_email=school_file.contacts.fallback_email,
        people=people, policies=policies, governors_report_dates=school_file.school.governors_report_dates,
        aup_rules=AupRules(annual_on=aup.annual_on, reminder_limit=aup.reminder_limit,
                           include_guests=aup.include_guests),
        aup_report_to=report_to, aup_document=aup.document, admins=admins,
    )


def apply_school_file(client: WebClient, team_id: str, db: Database, path: Path, now: datetime) -> list[str]:
    """Read, resolve and store the school's file; returns what changed (empty when nothing did)."""
    setup = resolve(client, read_school_file(path), team_id)
    changes = admin.apply(db, setup, None, now, from_file=True) or []
    if setup.aup_document is not None:
        changes += _publish_from_file(client, db, team_id, setup.aup_document, now)
    return changes


def _publish_from_file(client: WebClient, db: Database, team_id: str, doc: AupDocument, now: datetime) -> list[str]:
    """The file's AUP counts when the file changes it: one published since with `concernbot aup publish`
    is not undone by running set-up again."""
    with db.session() as session:
        if session.get_one(School, team_id).aup_file_hash == doc.content_hash:
            return []
    changes = publish_aup(client, db, team_id, doc, None, now)
    with db.session() as session:
        session.get_one(School, team_id).aup_file_hash = doc.content_hash
    return changes
