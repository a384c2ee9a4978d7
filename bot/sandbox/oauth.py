"""Slack's OAuth v2 install flow, as the sandbox plays it: the authorize page and oauth.v2.access.

The sandbox has no browser login, so the person approving on the authorize page is named by request
headers: `X-Sandbox-User: <user id>` (required), `X-Sandbox-Org: <enterprise id>` for an org-wide install
(the person must be an admin in a workspace of that organisation), `X-Sandbox-Deny: 1` when they cancel,
and optionally `X-Sandbox-Team: <team id>` (like Slack's `team` parameter) to say which workspace.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from bot.sandbox.methods import ApiError
from bot.sandbox.tenants import Tenants
from bot.sandbox.workspace import Workspace

APP_ID = "A0CONCERNBOT"
AUTHORIZE_PATH = "/oauth/v2/authorize"
CODE_LIFETIME_SECONDS = 600.0  # Slack's: an authorization code must be exchanged within ten minutes


@dataclass(frozen=True)
class AuthCode:
    code: str
    user_id: str
    team_id: str | None  # a workspace install
    enterprise_id: str | None  # an org-wide install (team_id None)
    redirect_uri: str | None  # as given to the authorize page; oauth.v2.access must then give the same
    issued: float


@dataclass(frozen=True)
class Page:
    """What the authorize page answers the browser."""
    status: int
    text: str
    location: str | None = None


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def _under(redirect_uri: str, registered: str) -> bool:
    """Slack's rule: the same scheme, host and port as a configured redirect URL, and a path under its path."""
    given, allowed = urlsplit(redirect_uri), urlsplit(registered)
    return ((given.scheme, given.netloc) == (allowed.scheme, allowed.netloc)
            and given.path.startswith(allowed.path))


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """client_id and client_secret from HTTP Basic auth (how slack-sdk's oauth_v2_access sends them)."""
    if not authorization or not authorization.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(authorization.removeprefix("Basic ").strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, client_secret = decoded.partition(":")
    return (client_id, client_secret) if colon else None


class OAuthApp:
    """The Slack app as registered with Slack: its credentials, redirect URL, and the codes it has been given."""

    def __init__(self, tenants: Tenants, client_id: str, client_secret: str, redirect_url: str | None = None) -> None:
        self.tenants = tenants
        self.client_id, self.client_secret, self.redirect_url = client_id, client_secret, redirect_url
        self.app_id = APP_ID
        self.code_lifetime = CODE_LIFETIME_SECONDS
        self.codes: dict[str, AuthCode] = {}
        self.calls: list[tuple[str, str | None]] = []  # ("oauth.v2.access", error or None)
        self.lock = threading.Lock()

    # -- the authorize page ----------------------------------------------------------------------
    def authorize(self, query: Mapping[str, str], headers: Mapping[str, str]) -> Page:
        if query.get("client_id") != self.client_id:
            return Page(400, "invalid_client_id: no Slack app has this client_id")
        user_id = (headers.get("X-Sandbox-User") or "").strip()
        if not user_id:
            return Page(400, "Who approves? The sandbox has no login: send the header X-Sandbox-User: <user id>.")
        redirect = query.get("redirect_uri") or self.redirect_url
        if not redirect:
            return Page(400, "bad_redirect_uri: no redirect_uri given and the app has no redirect URL configured")
        if query.get("redirect_uri") and self.redirect_url and not _under(query["redirect_uri"], self.redirect_url):
            return Page(400, f"bad_redirect_uri: {query['redirect_uri']} does not match the app's redirect URL")
        org_id = (headers.get("X-Sandbox-Org") or "").strip()
        if org_id:
            ws_or_page = self._org_approver(org_id, user_id)
        else:
            ws_or_page = self._approver(user_id, headers.get("X-Sandbox-Team") or query.get("team"))
        if isinstance(ws_or_page, Page):
            return ws_or_page
        state = {"state": query["state"]} if "state" in query else {}
        if (headers.get("X-Sandbox-Deny") or "").strip() in ("1", "true", "yes"):
            ws_or_page.note(f"{ws_or_page.users[user_id].real_name} cancels installing concernbot")
            return Page(302, "", _with_query(redirect, {"error": "access_denied", **state}))
        code = AuthCode(f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}", user_id,
                        None if org_id else ws_or_page.team_id, org_id or None, query.get("redirect_uri"),
                        time.monotonic())
        with self.lock:
            self.codes[code.code] = code
        where = f"the organisation {ws_or_page.enterprise_name}" if org_id else ws_or_page.team_name
        ws_or_page.note(f"{ws_or_page.users[user_id].real_name} allows concernbot into {where}")
        return Page(302, "", _with_query(redirect, {"code": code.code, **state}))

    def _people(self, user_id: str) -> list[Workspace]:
        return [ws for ws in self.tenants.workspaces.values()
                if user_id in ws.users and not ws.users[user_id].deleted and not ws.users[user_id].is_bot]

    def _approver(self, user_id: str, team_id: str | None) -> Workspace | Page:
        holding = self._people(user_id)
        if team_id:
            holding = [ws for ws in holding if ws.team_id == team_id]
        if not holding:
            return Page(403, f"{user_id} cannot sign in to {team_id or 'any sandbox workspace'}")
        if len(holding) > 1:
            return Page(400, f"{user_id} is in several workspaces: say which with the team parameter "
                             "or X-Sandbox-Team")
        return holding[0]

    def _org_approver(self, enterprise_id: str, user_id: str) -> Workspace | Page:
        enterprise = self.tenants.enterprises.get(enterprise_id)
        if enterprise is None:
            return Page(400, f"no organisation {enterprise_id}")
        admin_in = [ws for ws in self._people(user_id)
                    if ws.team_id in enterprise.team_ids and ws.users[user_id].is_admin]
        if not admin_in:
            return Page(403, f"{user_id} is not an admin of {enterprise.name}: only an org admin or owner can "
                             "install an app for the whole organisation")
        return admin_in[0]

    # -- oauth.v2.access ---------------------------------------------------------------------------
    def access(self, args: dict[str, Any], authorization: str | None) -> dict[str, Any]:
        """Exchange a code for a bot token, or raise Slack's error."""
        try:
            result = self._access(args, authorization)
        except ApiError as exc:
            self.calls.append(("oauth.v2.access", exc.error))
            raise
        self.calls.append(("oauth.v2.access", None))
        return result

    def _access(self, args: dict[str, Any], authorization: str | None) -> dict[str, Any]:
        client_id, client_secret = basic_credentials(authorization) or (args.get("client_id"),
                                                                          args.get("client_secret"))
        if client_id != self.client_id:
            raise ApiError("invalid_client_id")
        if client_secret != self.client_secret:
            raise ApiError("bad_client_secret")
        if args.get("grant_type") == "refresh_token":  # the sandbox's tokens never expire, so none is issued
            raise ApiError("invalid_refresh_token")
        with self.lock:
            code = self.codes.get(str(args.get("code") or ""))
            if code is None or time.monotonic() - code.issued > self.code_lifetime:
                raise ApiError("invalid_code")
            if code.redirect_uri and args.get("redirect_uri") != code.redirect_uri:
                raise ApiError("bad_redirect_uri")
            del self.codes[code.code]  # single use
        if code.enterprise_id:
            return self._org_install(code)
        return self._workspace_install(code)

    def _workspace_install(self, code: AuthCode) -> dict[str, Any]:
        ws = self.tenants.workspaces[code.team_id or ""]
        if self.tenants.org_install_for(ws.team_id):
            raise ApiError("cannot_install_an_org_installed_app")
        token = self.tenants.install_workspace(ws.team_id, code.user_id)
        ws.note(f"concernbot is installed in {ws.team_name} by {ws.users[code.user_id].real_name}")
        enterprise = {"id": ws.enterprise_id, "name": ws.enterprise_name} if ws.enterprise_id else None
        return {"app_id": self.app_id, "authed_user": {"id": code.user_id}, "scope": ",".join(sorted(ws.scopes)),
                "token_type": "bot", "access_token": token, "bot_user_id": ws.bot_user_id,
                "team": {"id": ws.team_id, "name": ws.team_name}, "enterprise": enterprise,
                "is_enterprise_install": False}

    def _org_install(self, code: AuthCode) -> dict[str, Any]:
        enterprise = self.tenants.enterprises[code.enterprise_id or ""]
        token = self.tenants.install_org(enterprise.id, code.user_id)
        scopes = set().union(*(self.tenants.workspaces[t].scopes for t in enterprise.team_ids))
        for team_id in enterprise.team_ids:
            self.tenants.workspaces[team_id].note(f"concernbot is installed across {enterprise.name}")
        return {"app_id": self.app_id, "authed_user": {"id": code.user_id}, "scope": ",".join(sorted(scopes)),
                "token_type": "bot", "access_token": token, "bot_user_id": enterprise.bot_user_id,
                "team": None, "enterprise": {"id": enterprise.id, "name": enterprise.name},
                "is_enterprise_install": True}
