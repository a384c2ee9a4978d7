"""HTTP transport: Bolt's WSGI adapter at /slack/events, a health check at /healthz, served by waitress."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def wsgi_app(bolt_app: App, health: Callable[[], dict[str, Any]]) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(bolt_app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") == "GET":
            report = health()
            status = "200 OK" if report.get("status") == "ok" else "503 Service Unavailable"
            body = json.dumps(report).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return application


class HttpServer:
    """A waitress server on a thread: `start()` returns the port (0 asks the OS for a free one)."""

    def __init__(self, application: Callable[..., Iterable[bytes]], host: str, port: int,
                 threads: int = 8) -> None:
        self._server = create_server(application, host=host, port=port, threads=threads,
                                     ident="concernbot", clear_untrusted_proxy_headers=True)
        self.host = host
        self.port: int = int(self._server.effective_port)  # type: ignore[union-attr]
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Close every socket from inside waitress's own loop (never under its select), then join."""
        server: Any = self._server

        def close_all() -> None:
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        server.trigger.pull_trigger(close_all)
        if self._thread is not None:
            self._thread.join(timeout=5)
        server.task_dispatcher.shutdown()
