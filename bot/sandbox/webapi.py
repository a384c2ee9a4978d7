"""The sandbox's HTTP server: answers Web API calls at /api/<method>, response_url posts, and Slack's OAuth pages.

One server can hold several workspaces (schools), some of them in an Enterprise Grid organisation: a call's
token picks the workspace it acts in (see tenants.py), and that workspace's rate limit, injected failures,
delays, scopes and call record apply.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.enterprise import ORG_LEVEL_METHODS, Enterprise, org_call
from bot.sandbox.faults import Fault, FaultKind
from bot.sandbox.methods import METHODS, ApiError
from bot.sandbox.oauth import AUTHORIZE_PATH, OAuthApp
from bot.sandbox.scopes import METHOD_SCOPES
from bot.sandbox.tenants import Route, Tenants
from bot.sandbox.workspace import Workspace

JSON_FIELDS = ("blocks", "view", "metadata", "attachments")


def parse_args(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    args: dict[str, Any] = dict(parse_qsl(query))
    if body:
        if content_type.startswith("application/json"):
            args.update(json.loads(body))
        else:
            args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for name in JSON_FIELDS:
        if isinstance(args.get(name), str) and args[name]:
            try:
                args[name] = json.loads(args[name])
            except json.JSONDecodeError:
                raise ApiError("invalid_json") from None
    return args


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: tests read the timeline
        pass

    def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if urlsplit(self.path).path == AUTHORIZE_PATH:
            self._authorize()
            return
        self.do_POST()  # the Web API answers GET too

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path.startswith("/response/"):
            self._response_url(url.path.split("/")[2:], json.loads(body or b"{}"))
            return
        method = url.path.removeprefix("/api/")
        if method == "oauth.v2.access":
            self._oauth_access(body, url.query)
            return
        try:
            args, problem = parse_args(self.headers.get("Content-Type", ""), body, url.query), None
        except ApiError as exc:
            args, problem = dict(parse_qsl(url.query)), exc
        header = (self.headers.get("Authorization") or "").strip()
        token = (header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else "") or args.get("token")
        route = self.server.tenants.route(token, method, args)
        ws = route.ws
        if route.error is None and self._refused(ws, method):
            return
        try:
            if problem is not None:
                raise problem
            if ws.delays.get(method):
                time.sleep(ws.delays[method])
            with ws.lock:
                result = self._call(route, method, args)
                ws.calls.append((method, None))
            # Slack says which scopes the token has on every answer; `concernbot doctor` reads it.
            self._reply(200, {"ok": True, **result}, {"X-OAuth-Scopes": ",".join(sorted(ws.scopes))})
        except ApiError as exc:
            with ws.lock:
                ws.calls.append((method, exc.error))
            self._reply(200, {"ok": False, "error": exc.error, **exc.extra})

    def _refused(self, ws: Workspace, method: str) -> bool:
        """Answer a rate-limited call (429) or an injected failure; True when one was answered."""
        if method not in METHODS:
            return False
        retry_after = ws.admit(method)
        if retry_after is not None:
            self._reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
            return True
        failure = ws.take_failure(method)
        if failure is not None:
            status, error = failure
            self._reply(status, {"ok": False, "error": error}, {"Retry-After": "1"} if status == 429 else None)
            return True
        fault = ws.take_fault(method)
        if fault is not None:
            self._fault(ws, fault)
            return True
        return False

    def _fault(self, ws: Workspace, fault: Fault) -> None:
        """Answer (or fail to answer) as the injected fault says; the method itself is never carried out."""
        if fault.kind is FaultKind.TIMEOUT:
            ws.faults.released.wait(fault.hold)  # the client gives up first, unless the faults are cleared
            self._cut(reset=False)
        elif fault.kind is FaultKind.REFUSED:
            self._cut(reset=True)
        else:
            retry = {"Retry-After": str(fault.retry_after)} if fault.kind is FaultKind.RATE_LIMITED else None
            self._reply(fault.status, {"ok": False, "error": fault.error}, retry)

    def _cut(self, *, reset: bool) -> None:
        """Close the connection with no answer: with a reset (RST), or an orderly close."""
        self.close_connection = True
        if reset:  # SO_LINGER of 0: closing sends a reset at once
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _call(self, route: Route, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ws = route.ws
        if method not in METHODS and method != "apps.connections.open":
            raise ApiError("unknown_method")
        if route.error:
            raise ApiError(route.error)
        if method == "apps.connections.open":
            return {"url": f"ws://127.0.0.1:1/link/?ticket={ws.new_id('ticket')}"}
        if route.enterprise is not None and method in ORG_LEVEL_METHODS:
            return org_call(route.enterprise, self.server.tenants.workspaces, method)
        missing = [s for s in METHOD_SCOPES[method] if s not in ws.scopes]
        if missing:
            raise ApiError("missing_scope", needed=",".join(missing), provided=",".join(sorted(ws.scopes)))
        result = METHODS[method](ws, args)
        if ws.enterprise_id:
            self._as_grid(ws, result)
        if route.enterprise is not None and method == "views.publish":  # one Home tab per person in an org
            for other in self.server.tenants.workspaces.values():
                if other is not ws and route.enterprise.grants(other.team_id) and other.holds("user", args["user_id"]):
                    with other.lock:
                        other.home[str(args["user_id"])] = args["view"]
        return result

    def _as_grid(self, ws: Workspace, result: dict[str, Any]) -> None:
        """On Enterprise Grid a person carries `enterprise_user` (their workspaces in the organisation, and
        whether they are its admin), and a channel the workspaces it is shared with."""
        tenants = self.server.tenants
        org = [w for w in tenants.workspaces.values() if w.enterprise_id == ws.enterprise_id]
        for user in [result.get("user")] + list(result.get("members") or []):
            if isinstance(user, dict) and "id" in user:
                person = ws.users.get(user["id"])
                user["enterprise_user"] = {
                    "id": user["id"], "enterprise_id": ws.enterprise_id, "enterprise_name": ws.enterprise_name,
                    "is_admin": bool(person and person.is_org_admin), "is_owner": False,
                    "teams": [w.team_id for w in org if w.holds("user", user["id"])]}
        channel = result.get("channel")
        if isinstance(channel, dict) and "id" in channel and not channel.get("is_im"):
            channel["context_team_id"] = ws.team_id
            channel["shared_team_ids"] = [w.team_id for w in org if w.holds("channel", channel["id"])]

    def _response_url(self, parts: list[str], payload: dict[str, Any]) -> None:
        """/response/<user> is the primary workspace's; /response/<team>/<user> any workspace's."""
        tenants = self.server.tenants
        ws = tenants.primary if len(parts) == 1 else tenants.workspaces.get(parts[0])
        if ws is None or not parts[-1]:
            self._reply(404, {"ok": False, "error": "no_such_response_url"})
            return
        user_id = parts[-1]
        with ws.lock:
            text = payload.get("text") or ""
            ws.ephemeral.append((user_id, text))
            name = ws.users[user_id].real_name if user_id in ws.users else user_id
            ws.note(f"only {name} sees: {text}")
        self._reply(200, {"ok": True})

    # -- OAuth -------------------------------------------------------------------------------------
    def _authorize(self) -> None:
        app = self.server.oauth
        query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        if app is None:
            self._send(400, b"invalid_client_id: no Slack app is registered (sandbox.oauth_app)",
                       "text/plain; charset=utf-8")
            return
        page = app.authorize(query, self.headers)
        self._send(page.status, page.text.encode(), "text/plain; charset=utf-8",
                   {"Location": page.location} if page.location else None)

    def _oauth_access(self, body: bytes, query: str) -> None:
        app = self.server.oauth
        try:
            args = parse_args(self.headers.get("Content-Type", ""), body, query)
            if app is None:
                raise ApiError("invalid_client_id")
            self._reply(200, {"ok": True, **app.access(args, self.headers.get("Authorization"))})
        except ApiError as exc:
            self._reply(200, {"ok": False, "error": exc.error, **exc.extra})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a bot opening connections from many threads at once had
    # some reset before they were accepted, which Slack's servers never do.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], tenants: Tenants) -> None:
        super().__init__(address, _Handler)
        self.tenants = tenants
        self.workspace = tenants.primary
        self.oauth: OAuthApp | None = None


class SandboxServer:
    """The fake Slack, on a free port of its own: `api_url` is what SLACK_API_URL should point at.

    `workspace` is the primary workspace; `add_workspace` adds more, `add_enterprise` makes some of them
    one Enterprise Grid organisation, and `oauth_app` registers the Slack app for the OAuth install flow.
    """

    def __init__(self, workspace: Workspace, host: str = "127.0.0.1", port: int = 0) -> None:
        self.workspace = workspace
        self.tenants = Tenants(workspace)
        self._server = _Server((host, port), self.tenants)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    @property
    def authorize_url(self) -> str:
        """Slack's https://slack.com/oauth/v2/authorize, here (Bolt's OAuthSettings(authorization_url=...))."""
        return f"{self.url}{AUTHORIZE_PATH}"

    def response_url(self, user_id: str, team_id: str | None = None) -> str:
        if team_id is None or team_id == self.workspace.team_id:
            return f"{self.url}/response/{user_id}"
        return f"{self.url}/response/{team_id}/{user_id}"

    # -- workspaces and organisations --------------------------------------------------------------
    @property
    def workspaces(self) -> dict[str, Workspace]:
        return self.tenants.workspaces

    @property
    def enterprises(self) -> dict[str, Enterprise]:
        return self.tenants.enterprises

    def add_workspace(self, ws: Workspace) -> Workspace:
        return self.tenants.add_workspace(ws)

    def add_enterprise(self, enterprise_id: str, name: str, team_ids: Iterable[str]) -> Enterprise:
        return self.tenants.add_enterprise(enterprise_id, name, team_ids)

    def org_install_for(self, team_id: str) -> Enterprise | None:
        """The organisation whose org-wide install serves this workspace, if any."""
        return self.tenants.org_install_for(team_id)

    # -- installing ----------------------------------------------------------------------------------
    @property
    def oauth(self) -> OAuthApp | None:
        return self._server.oauth

    def oauth_app(self, client_id: str, client_secret: str, redirect_url: str | None = None) -> OAuthApp:
        """Register the Slack app (its client id and secret, and its redirect URL) for the OAuth flow."""
        self._server.oauth = OAuthApp(self.tenants, client_id, client_secret, redirect_url)
        return self._server.oauth

    def installed_token(self, team_id: str) -> str | None:
        """The bot token that works in the workspace now: its own, else its organisation's org-wide one."""
        return self.tenants.installed_token(team_id)

    def uninstall(self, team_id: str) -> None:
        self.tenants.uninstall(team_id)

    def uninstall_org(self, enterprise_id: str) -> None:
        self.tenants.uninstall_org(enterprise_id)

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    # -- a Slack that cannot be reached --------------------------------------------------------------
    def offline(self) -> None:
        """Stop listening: every connection is refused (ECONNREFUSED) until `online()`. Nothing is lost."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def online(self) -> None:
        """Listen again on the same address, with every workspace as it was."""
        oauth, address = self._server.oauth, self._server.server_address[:2]
        self._server = _Server((str(address[0]), int(address[1])), self.tenants)
        self._server.oauth = oauth
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        for ws in self.tenants.workspaces.values():
            ws.faults.released.set()  # nothing held stays held
        if self._thread.is_alive():  # shutdown() on a server that is not serving would wait for ever
            self._server.shutdown()
        self._server.server_close()
