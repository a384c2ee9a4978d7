"""Logging: one event per line, as JSON for a log collector or as text for a person at a terminal.

Every line carries the school (Slack team id) and the request id of the Slack request it belongs to, when
there is one, and a concern's reference where a listener names it (`extra={"concern": ref}`). Nothing
personal is ever logged: listeners log references and Slack ids, never what was typed. What the libraries
would log is held back here, whatever LOG_LEVEL says (see `LibraryBodies`), and an exception is logged as its
type and code path, never its message (see `WithoutExceptionText`).
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import IO, Any

import slack_bolt
import slack_sdk
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


# Loggers whose records below INFO carry what people typed: slack_sdk logs every Web API request and response
# body at DEBUG (a views.open body is the whole record), Bolt every request it answers; concernbot.* are the
# names the bot gives the Slack clients and Bolt. fontTools lists, at INFO, the glyphs a PDF export used (the
# letters of a child's name), and fpdf2 warns quoting the characters a font lacks: each is heard only above that.
SLACK_LOGGERS = ("slack_sdk", "slack_bolt", "concernbot.bolt", "concernbot.install", "concernbot.startup")
PDF_LOGGERS = {"fontTools": logging.WARNING, "fpdf": logging.ERROR}
# The one Bolt warning that quotes a whole request body (a global middleware that neither answered nor went on).
BOLT_BODY_WARNING = "skipped calling either `next()` or `next_()`"


class LibraryBodies(logging.Filter):
    """Drops the Slack libraries' records below INFO, and the PDF libraries' below PDF_LOGGERS, whatever LOG_LEVEL.

    Both a filter on the handler and a level cap on the loggers (in `configure`): the caps spare the libraries
    the work of formatting bodies nobody will read; the filter catches every logger the caps cannot name in
    advance (Bolt gives each listener and middleware a logger named after the app's file, with the level of
    the moment it was made), by where the record was logged from as well as by its logger's name.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sources = tuple(os.path.dirname(m.__file__ or "") + os.sep for m in (slack_sdk, slack_bolt))

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        for quiet, heard_from in PDF_LOGGERS.items():
            if name == quiet or name.startswith(quiet + "."):
                return record.levelno >= heard_from
        from_slack = record.pathname.startswith(self._sources) or any(
            name == lib or name.startswith(lib + ".") for lib in SLACK_LOGGERS)
        if not from_slack:
            return True
        if record.levelno < logging.INFO:
            return False
        if BOLT_BODY_WARNING in str(record.msg):
            record.msg, record.args = "a global middleware neither answered a request nor passed it on", None
        return True


class WithoutExceptionText(logging.Formatter):
    """An exception as its type and code path only: its message can quote what someone typed (pydantic's
    `input_value`, a database driver's parameters), so it is never logged. The code path finds the fault."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return code_path(ei[1]) if isinstance(ei, tuple) and ei[1] is not None else ""


def code_path(error: BaseException) -> str:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts = []
    for exc in reversed(chain):
        tb: TracebackType | None = exc.__traceback__
        parts.append("Traceback (most recent call last):\n" + "".join(traceback.format_tb(tb)) +
                     f"{type(exc).__module__}.{type(exc).__qualname__} (its message is not logged)")
    return "\n\nwhich led to:\n\n".join(parts)


class _JsonFormatter(WithoutExceptionText, JsonFormatter):
    pass


def configure(level: str, fmt: str = "text", stream: IO[str] | None = None) -> None:
    """Root logging for the process: `fmt` is "json" or "text"; `stream` defaults to standard error."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContext())
    handler.addFilter(LibraryBodies())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level",
                                                                        "name": "logger"}))
    else:
        handler.setFormatter(WithoutExceptionText(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    wanted = logging.getLevelName(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations report themselves only on trouble
    logging.getLogger("slack_sdk").setLevel(max(logging.WARNING, wanted))
    for name in SLACK_LOGGERS[1:]:  # request and response bodies at DEBUG: see LibraryBodies
        logging.getLogger(name).setLevel(max(logging.INFO, wanted))
    for name, heard_from in PDF_LOGGERS.items():
        logging.getLogger(name).setLevel(max(heard_from, wanted))
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, wanted))
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" is the metrics' job


def request_middleware(count: Callable[[dict[str, Any]], None] | None = None) -> Callable[..., Any]:
    """A Bolt global middleware (bot.app.Direct): a request id, and the school, for every log line while the
    request is handled; `count` is told of each request (the metrics)."""

    def middleware(context: Any, body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's
        team = body.get("team_id") or (body.get("team") or {}).get("id")
        TEAM.set(str(team) if team else None)
        REQUEST_ID.set(uuid.uuid4().hex[:12])
        if count is not None:
            count(body)
        return next()

    return middleware


class ContextExecutor(ThreadPoolExecutor):
    """Runs each task in a copy of the submitter's context, so a listener's log lines keep its request id;
    and knows when nothing it was given is still running (`wait_idle`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._running += 1
        try:
            future = super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future[Any] | None) -> None:
        with self._idle:
            self._running -= 1
            if not self._running:
                self._idle.notify_all()

    def busy(self) -> bool:
        """Whether anything it was given is still queued or running."""
        return self._running > 0

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every task given so far has finished; False if some still run after `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._running, timeout)
