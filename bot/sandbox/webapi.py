"""The sandbox's HTTP server: answers Web API calls at /api/<method> and response_url posts."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.methods import METHODS, ApiError
from bot.sandbox.scopes import METHOD_SCOPES
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

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ws = self.server.workspace
        if url.path.startswith("/response/"):
            self._response_url(url.path.split("/")[2], json.loads(body or b"{}"))
            return
        method = url.path.removeprefix("/api/")
        try:
            args = parse_args(self.headers.get("Content-Type", ""), body, url.query)
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip() or args.get("token")
            if ws.delays.get(method):
                time.sleep(ws.delays[method])
            with ws.lock:
                result = self._call(ws, method, args, token)
                ws.calls.append((method, None))
            self._reply(200, {"ok": True, **result})
        except ApiError as exc:
            with ws.lock:
                ws.calls.append((method, exc.error))
            self._reply(200, {"ok": False, "error": exc.error, **exc.extra})

    do_GET = do_POST

    @staticmethod
    def _call(ws: Workspace, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if method not in METHODS and method != "apps.connections.open":
            raise ApiError("unknown_method")
        if not token:
            raise ApiError("not_authed")
        if method == "apps.connections.open":  # Socket Mode: the app-level token, not the bot's
            if token != ws.app_token:
                raise ApiError("invalid_auth")
            return {"url": f"ws://127.0.0.1:1/link/?ticket={ws.new_id('ticket')}"}
        if token != ws.bot_token:
            raise ApiError("invalid_auth")
        missing = [s for s in METHOD_SCOPES[method] if s not in ws.scopes]
        if missing:
            raise ApiError("missing_scope", needed=",".join(missing), provided=",".join(sorted(ws.scopes)))
        return METHODS[method](ws, args)

    def _response_url(self, user_id: str, payload: dict[str, Any]) -> None:
        ws = self.server.workspace
        with ws.lock:
            text = payload.get("text") or ""
            ws.ephemeral.append((user_id, text))
            name = ws.users[user_id].real_name if user_id in ws.users else user_id
            ws.note(f"only {name} sees: {text}")
        self._reply(200, {"ok": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], workspace: Workspace) -> None:
        super().__init__(address, _Handler)
        self.workspace = workspace


class SandboxServer:
    """The fake Slack, on a free port of its own: `api_url` is what SLACK_API_URL should point at."""

    def __init__(self, workspace: Workspace, host: str = "127.0.0.1", port: int = 0) -> None:
        self.workspace = workspace
        self._server = _Server((host, port), workspace)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, user_id: str) -> str:
        return f"{self.url}/response/{user_id}"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
