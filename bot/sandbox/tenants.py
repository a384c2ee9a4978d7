"""Who the sandbox serves: its workspaces, their Enterprise Grid organisations, and which token works where.

A Web API call's token picks the workspace it acts in: a workspace's own bot token, or an organisation's
org-wide token (then the call's arguments pick the workspace). Installing issues a new token and the old
one stops working; uninstalling revokes it.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.enterprise import Enterprise, org_workspace
from bot.sandbox.methods import ApiError
from bot.sandbox.workspace import Workspace


@dataclass(frozen=True)
class Route:
    """Where a call goes: the workspace it acts in (or whose record it counts against), and why it fails."""
    ws: Workspace
    enterprise: Enterprise | None = None  # set when the call came with the org's token
    error: str | None = None


def new_bot_token(owner_id: str) -> str:
    return f"xoxb-{owner_id.lower()}-{secrets.token_hex(12)}"


class Tenants:
    def __init__(self, primary: Workspace) -> None:
        self.primary = primary
        self.workspaces: dict[str, Workspace] = {primary.team_id: primary}
        self.enterprises: dict[str, Enterprise] = {}
        self.dead_tokens: dict[str, tuple[str, str]] = {}  # token -> (team id it counts against, error)
        self.lock = threading.RLock()

    # -- building --------------------------------------------------------------------------------
    def add_workspace(self, ws: Workspace) -> Workspace:
        with self.lock:
            if ws.team_id in self.workspaces:
                raise ValueError(f"the sandbox already has a workspace {ws.team_id}")
            self.workspaces[ws.team_id] = ws
        return ws

    def add_enterprise(self, enterprise_id: str, name: str, team_ids: Iterable[str]) -> Enterprise:
        """One organisation of workspaces already added; they take its id and one bot user (the first's)."""
        team_ids = list(team_ids)
        with self.lock:
            if enterprise_id in self.enterprises:
                raise ValueError(f"the sandbox already has an organisation {enterprise_id}")
            if not team_ids:
                raise ValueError("an organisation needs at least one workspace")
            for team_id in team_ids:
                ws = self.workspaces.get(team_id)
                if ws is None:
                    raise ValueError(f"no workspace {team_id}: add_workspace it first")
                if ws.enterprise_id not in (None, enterprise_id) or self.enterprise_of(team_id):
                    raise ValueError(f"{team_id} already belongs to the organisation {ws.enterprise_id}")
            first = self.workspaces[team_ids[0]]
            for team_id in team_ids:
                ws = self.workspaces[team_id]
                ws.enterprise_id, ws.enterprise_name = enterprise_id, name
                ws.rename_bot_user(first.bot_user_id)
            enterprise = Enterprise(enterprise_id, name, team_ids, bot_user_id=first.bot_user_id,
                                    bot_id=f"B{enterprise_id.removeprefix('E')}", bot_name=first.bot_name)
            self.enterprises[enterprise_id] = enterprise
        return enterprise

    # -- reading ---------------------------------------------------------------------------------
    def enterprise_of(self, team_id: str) -> Enterprise | None:
        return next((e for e in self.enterprises.values() if team_id in e.team_ids), None)

    def org_install_for(self, team_id: str) -> Enterprise | None:
        """The organisation whose org-wide install serves this workspace, if there is one."""
        enterprise = self.enterprise_of(team_id)
        return enterprise if enterprise is not None and enterprise.grants(team_id) else None

    def installed_token(self, team_id: str) -> str | None:
        ws = self.workspaces[team_id]
        if ws.bot_token:
            return ws.bot_token
        enterprise = self.org_install_for(team_id)
        return enterprise.org_token if enterprise else None

    # -- routing a call --------------------------------------------------------------------------
    def route(self, token: str | None, method: str, args: dict[str, Any]) -> Route:
        if not token:
            return Route(self.primary, error="not_authed")
        with self.lock:
            if method == "apps.connections.open":  # Socket Mode: the app-level token, not the bot's
                ws = next((w for w in self.workspaces.values() if w.app_token and w.app_token == token), None)
                return Route(ws) if ws else Route(self.primary, error="invalid_auth")
            for ws in self.workspaces.values():
                if ws.bot_token == token:
                    return Route(ws)
            for enterprise in self.enterprises.values():
                if enterprise.org_token == token:
                    return self._org_route(enterprise, method, args)
            if token in self.dead_tokens:
                team_id, error = self.dead_tokens[token]
                return Route(self.workspaces[team_id], error=error)
        return Route(self.primary, error="invalid_auth")

    def _org_route(self, enterprise: Enterprise, method: str, args: dict[str, Any]) -> Route:
        try:
            return Route(org_workspace(enterprise, self.workspaces, method, args), enterprise)
        except ApiError as exc:
            return Route(self.workspaces[enterprise.team_ids[0]], enterprise, exc.error)

    # -- installing and removing -----------------------------------------------------------------
    def install_workspace(self, team_id: str, user_id: str) -> str:
        """A new bot token for the workspace; the one it had before stops working."""
        with self.lock:
            ws = self.workspaces[team_id]
            if ws.bot_token:
                self.dead_tokens[ws.bot_token] = (team_id, "invalid_auth")
            ws.bot_token, ws.installed_by = new_bot_token(team_id), user_id
            return ws.bot_token

    def install_org(self, enterprise_id: str, user_id: str) -> str:
        """A new org-wide token, granted every workspace of the organisation."""
        with self.lock:
            enterprise = self.enterprises[enterprise_id]
            if enterprise.org_token:
                self.dead_tokens[enterprise.org_token] = (enterprise.team_ids[0], "invalid_auth")
            enterprise.org_token, enterprise.installed_by = new_bot_token(enterprise_id), user_id
            enterprise.granted = set(enterprise.team_ids)
            return enterprise.org_token

    def uninstall(self, team_id: str) -> None:
        """The app removed from one workspace: its token is revoked, and an org-wide token no longer acts there."""
        with self.lock:
            ws = self.workspaces[team_id]
            if ws.bot_token:
                self.dead_tokens[ws.bot_token] = (team_id, "token_revoked")
            ws.bot_token, ws.installed_by = None, None
            enterprise = self.enterprise_of(team_id)
            if enterprise is not None:
                enterprise.granted.discard(team_id)

    def uninstall_org(self, enterprise_id: str) -> None:
        """The org-wide app removed: its token is revoked everywhere."""
        with self.lock:
            enterprise = self.enterprises[enterprise_id]
            if enterprise.org_token:
                self.dead_tokens[enterprise.org_token] = (enterprise.team_ids[0], "token_revoked")
            enterprise.org_token, enterprise.installed_by = None, None
            enterprise.granted = set()
