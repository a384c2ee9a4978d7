"""Logging: one event per line, as JSON for a log collector or as text for a person at a terminal.

Every line carries the school (Slack team id) and the request id of the Slack request it belongs to, when
there is one, and a concern's reference where a listener names it (`extra={"concern": ref}`). Nothing
personal is ever logged: listeners log references and Slack ids, never what was typed, and Bolt's own
request and response bodies (which carry what people typed) are kept out below INFO.
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

TEAM: contextvars.ContextVar[str | None] = contextvars.ContextVar("team", default=None)
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RequestContext(logging.Filter):
    """Adds the school and the request id (from the context of the request being handled) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.team = getattr(record, "team", None) or TEAM.get()
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        return True


def configure(level: str, fmt: str = "text", stream: IO[str] | None = None) -> None:
    """Root logging for the process: `fmt` is "json" or "text"; `stream` defaults to standard error."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContext())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level",
                                                                       "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations report themselves only on trouble
    logging.getLogger("slack_sdk").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # Bolt logs whole request and response bodies at DEBUG, and those carry what people typed.
    logging.getLogger("concernbot.bolt").setLevel(max(logging.INFO, logging.getLevelName(level)))
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" is the metrics' job


def request_middleware(count: Callable[[dict[str, Any]], None] | None = None) -> Callable[..., Any]:
    """A Bolt global middleware: a request id, and the school, for every log line while the request is handled;
    `count` is told of each request (the metrics)."""

    def middleware(body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's argument name
        team = body.get("team_id") or (body.get("team") or {}).get("id")
        TEAM.set(str(team) if team else None)
        REQUEST_ID.set(uuid.uuid4().hex[:12])
        if count is not None:
            count(body)
        return next()

    return middleware


class ContextExecutor(ThreadPoolExecutor):
    """Runs each task in a copy of the submitter's context, so a listener's log lines keep its request id."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
