"""HTTP transport: Bolt's WSGI adapter at /slack/events, /healthz, and /metrics for Prometheus, served by waitress."""

from __future__ import annotations

import hmac
import io
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
# Slack's largest payloads (a modal of 100 blocks, with its state, form-encoded) are a few hundred KB.
MAX_BODY_BYTES = 2 * 1024 * 1024
TOO_LARGE = b"This request is larger than anything Slack sends, so it was not read.\n"
NOT_TEXT = b"This request's body is not UTF-8 text, so it is not from Slack.\n"
NOT_A_PAYLOAD = b"This request's body is not a Slack payload (form-encoded or JSON), so nothing was done.\n"
NOT_SLACKS_TYPE = b"Slack sends form-encoded or JSON bodies only, so this request was not read.\n"
SLACK_TYPES = frozenset({"application/x-www-form-urlencoded", "application/json"})


def _reply(start_response: Callable[..., Any], status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _may_scrape(environ: dict[str, Any], token: str | None) -> bool:
    """/metrics answers the machine itself, or a scraper showing METRICS_TOKEN; not the internet at large."""
    if token:  # compared as bytes: a header of any characters is simply refused
        given = environ.get("HTTP_AUTHORIZATION", "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, f"Bearer {token}".encode())
    return environ.get("REMOTE_ADDR") in LOOPBACK


def _events(slack: SlackRequestHandler, environ: dict[str, Any],
            start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A request to /slack/events, checked before Bolt sees it: Bolt parses the body before it checks the
    signature, and a body it cannot parse would otherwise be a 500. Bolt still checks every signature."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length > MAX_BODY_BYTES:
        return _reply(start_response, "413 Content Too Large", TOO_LARGE, "text/plain")
    if str(environ.get("CONTENT_TYPE", "")).partition(";")[0].strip().lower() not in SLACK_TYPES:
        return _reply(start_response, "415 Unsupported Media Type", NOT_SLACKS_TYPE, "text/plain")
    if length <= 0:  # Slack never sends an empty body
        return _reply(start_response, "400 Bad Request", NOT_A_PAYLOAD, "text/plain")
    body = environ["wsgi.input"].read(length)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return _reply(start_response, "400 Bad Request", NOT_TEXT, "text/plain")
    try:
        return slack({**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}, start_response)
    except Exception as exc:  # raised while Bolt parsed the body, before any listener (or signature check) ran
        log.warning("a request to %s could not be parsed (%s)", EVENTS_PATH, type(exc).__name__)
        return _reply(start_response, "400 Bad Request", NOT_A_PAYLOAD, "text/plain")


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
        if path != EVENTS_PATH or method != "POST":
            return slack(environ, start_response)
        if metrics is None:
            return _events(slack, environ, start_response)
        started = time.perf_counter()
        try:
            return _events(slack, environ, start_response)  # Bolt's answer (the ack) is complete on return
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
