"""HTTP transport: Bolt's WSGI adapter at /slack/events, /healthz, and /metrics for Prometheus, served by waitress."""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from bot.metrics import Metrics

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
LOOPBACK = frozenset({"127.0.0.1", "::1"})


def _reply(start_response: Callable[..., Any], status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _may_scrape(environ: dict[str, Any], token: str | None) -> bool:
    """/metrics answers the machine itself, or a scraper showing METRICS_TOKEN; not the internet at large."""
    if token:  # compared as bytes: a header of any characters is simply refused
        given = environ.get("HTTP_AUTHORIZATION", "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, f"Bearer {token}".encode())
    return environ.get("REMOTE_ADDR") in LOOPBACK


def wsgi_app(bolt_app: App, health: Callable[[], dict[str, Any]], metrics: Metrics | None = None,
             metrics_token: str | None = None) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(bolt_app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == HEALTH_PATH and method == "GET":
            report = health()
            status = "200 OK" if report.get("status") == "ok" else "503 Service Unavailable"
            return _reply(start_response, status, json.dumps(report).encode(), "application/json")
        if path == METRICS_PATH and method == "GET" and metrics is not None:
            if not _may_scrape(environ, metrics_token):
                return _reply(start_response, "403 Forbidden", b"set METRICS_TOKEN to scrape from elsewhere\n",
                              "text/plain")
            body, content_type = metrics.render()
            return _reply(start_response, "200 OK", body, content_type)
        if metrics is None or path != EVENTS_PATH:
            return slack(environ, start_response)
        started = time.perf_counter()
        try:
            return slack(environ, start_response)  # Bolt's answer (the ack) is complete when this returns
        finally:
            metrics.response_seconds.observe(time.perf_counter() - started)

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

        try:
            server.trigger.pull_trigger(close_all)
        except OSError:  # its loop has already closed the trigger (and with it every socket): nothing to wake
            log.info("the HTTP server had already closed its sockets")
        if self._thread is not None:
            self._thread.join(timeout=5)
        server.task_dispatcher.shutdown()
