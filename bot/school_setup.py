"""`concernbot setup school.yml`: read the school's file, resolve people and channel through Slack."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from pydantic import ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from flows.concern import Role
from flows.school import Person, PolicySetup, SchoolFile, SchoolSetup
from storage.db import Database
from storage.routing import reroute_open
from storage.schools import apply_setup

# Outside contacts may be reached by email alone; everyone else must be in the workspace.
MAY_BE_OUTSIDE = frozenset({Role.CHAIR_OF_GOVERNORS, Role.ONLINE_SAFETY_GOVERNOR, Role.DPO})


class SetupError(Exception):
    """The school file is wrong, or names someone or something Slack can't find; one sentence why."""


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


def resolve_person(client: WebClient, ref: str, role: Role, where: str) -> Person:
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
        raise SetupError(f"{where}: {ref} has left this workspace; name who holds the role now.")
    profile = user.get("profile") or {}
    name = profile.get("real_name") or user.get("real_name") or user.get("name")
    return Person(user_id=user["id"], email=profile.get("email"), name=name)


def resolve_channel(client: WebClient, ref: str) -> tuple[str, str]:
    """A channel id and name from `C0123…` or `#name`; the bot must be able to see it."""
    if ref.startswith("#"):
        wanted = ref[1:]
        cursor = None
        while True:
            page = client.conversations_list(types="public_channel,private_channel", limit=200,
                                             exclude_archived=True, cursor=cursor)
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
    return channel["id"], channel.get("name", ref)


def resolve(client: WebClient, school_file: SchoolFile, team_id: str) -> SchoolSetup:
    if school_file.school.team_id and school_file.school.team_id != team_id:
        raise SetupError(f"school.team_id is {school_file.school.team_id} but the bot token belongs to "
                         f"workspace {team_id}; fix the file or use that workspace's token.")
    people: list[tuple[Role, Person]] = []
    for role, ref in school_file.people.by_role():
        people.append((role, resolve_person(client, ref, role, f"people.{role.value}")))
    policies = []
    for policy in school_file.policies:
        owner = None
        if policy.owner:
            owner = resolve_person(client, policy.owner, Role.HEADTEACHER, f"policies.{policy.key}.owner")
        policies.append(PolicySetup(key=policy.key, title=policy.title,
                                    owner_user_id=owner.user_id if owner else None,
                                    cadence=policy.cadence, next_review=policy.next_review))
    channel_id, channel_name = resolve_channel(client, school_file.dsl_channel)
    return SchoolSetup(
        team_id=team_id, name=school_file.school.name, timezone=school_file.school.timezone,
        escalation_minutes=school_file.school.escalation_minutes, day_starts=school_file.school.day_starts,
        day_ends=school_file.school.day_ends, draft_nudge_at=school_file.school.draft_nudge_at,
        closure_days=sorted(set(school_file.school.closure_days)),
        dsl_channel_id=channel_id, dsl_channel_name=channel_name, lado_email=school_file.contacts.lado_email,
        office_contact=school_file.contacts.office,
        people=people, policies=policies,
    )


def apply_school_file(client: WebClient, team_id: str, db: Database, path: Path, now: datetime) -> list[str]:
    """Read, resolve and store the school's file; returns what changed (empty when nothing did)."""
    setup = resolve(client, read_school_file(path), team_id)
    with db.session() as session:
        changes = apply_setup(session, setup, now)
        session.flush()
        return changes + reroute_open(session, team_id, now)
