"""Enterprise Grid in the sandbox: an organisation of workspaces, and where a call with its org-wide token acts.

An org-wide install gives one bot token for the whole organisation, with one bot user in every workspace.
Slack decides the workspace such a call acts in from its `team_id` argument, or from what the call names
(a channel, a person, a view, a trigger); a call that names none of them, such as users.list without
`team_id`, is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.methods import ApiError
from bot.sandbox.workspace import Workspace

# Answered for the organisation itself, whichever workspace the call would otherwise pick.
ORG_LEVEL_METHODS = frozenset({"auth.test", "auth.teams.list"})
# The arguments that name something living in one workspace, in the order they are tried.
LOCATORS = ("channel", "user", "users", "user_id", "email", "view_id", "external_id", "trigger_id")


@dataclass
class Enterprise:
    id: str
    name: str
    team_ids: list[str]
    bot_user_id: str  # one bot user in every workspace of the org
    bot_id: str
    bot_name: str = "concernbot"
    org_token: str | None = None  # set by an org-wide install; None when not installed org-wide
    installed_by: str | None = None
    granted: set[str] = field(default_factory=set)  # the workspaces the org-wide app may act in

    @property
    def installed(self) -> bool:
        return self.org_token is not None

    @property
    def url(self) -> str:
        return f"https://{self.id.lower()}.enterprise.slack.test/"

    def grants(self, team_id: str) -> bool:
        return self.installed and team_id in self.granted


def org_workspace(enterprise: Enterprise, workspaces: Mapping[str, Workspace], method: str,
                  args: dict[str, Any]) -> Workspace:
    """The workspace a call with the org token acts in; ApiError when Slack would refuse it."""
    granted = [workspaces[t] for t in enterprise.team_ids if t in enterprise.granted]
    team_id = args.get("team_id")
    if team_id:
        if team_id not in enterprise.granted:
            raise ApiError("team_access_not_granted")
        return workspaces[team_id]
    if method in ORG_LEVEL_METHODS:
        return granted[0] if granted else workspaces[enterprise.team_ids[0]]
    named = [(name, str(args[name])) for name in LOCATORS if args.get(name)]
    for name, value in named:
        holders = [ws for ws in granted if ws.holds(name, value)]
        if holders:
            return holders[0]
    if named and granted:
        return granted[0]  # named, but nowhere: the method answers channel_not_found, user_not_found...
    raise ApiError("missing_argument")


def org_auth_test(enterprise: Enterprise) -> dict[str, Any]:
    """auth.test for an org-wide app's token: the organisation, not a workspace."""
    return {"url": enterprise.url, "team": enterprise.name, "user": enterprise.bot_name,
            "team_id": enterprise.id, "user_id": enterprise.bot_user_id, "bot_id": enterprise.bot_id,
            "enterprise_id": enterprise.id, "is_enterprise_install": True}


def org_teams_list(enterprise: Enterprise, workspaces: Mapping[str, Workspace]) -> dict[str, Any]:
    """auth.teams.list: the workspaces the org-wide app has been granted."""
    teams = [{"id": t, "name": workspaces[t].team_name} for t in enterprise.team_ids if t in enterprise.granted]
    return {"teams": teams, "response_metadata": {"next_cursor": ""}}


def org_call(enterprise: Enterprise, workspaces: Mapping[str, Workspace], method: str) -> dict[str, Any]:
    if method == "auth.test":
        return org_auth_test(enterprise)
    return org_teams_list(enterprise, workspaces)
