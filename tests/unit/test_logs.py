"""What logging holds back whatever LOG_LEVEL says: the Slack libraries' bodies, the PDF libraries' glyphs, and the
text of exceptions (which can quote what someone typed)."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator

import pytest
import slack_bolt

from bot.logs import PDF_LOGGERS, SLACK_LOGGERS, configure

SECRET = "Zephyrine Quillfeather"


@pytest.fixture
def restored() -> Iterator[None]:
    names = ("", "alembic", "apscheduler", "waitress.queue", "app.py:listener", *PDF_LOGGERS, *SLACK_LOGGERS)
    root = logging.getLogger()
    handlers, levels = list(root.handlers), {name: logging.getLogger(name).level for name in names}
    yield
    root.handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_slack_and_pdf_libraries_say_nothing_typed_at_debug(restored: None) -> None:
    stream = io.StringIO()
    configure("DEBUG", "json", stream)
    logging.getLogger("slack_sdk.web.base_client").debug("Sending a request - json_body: {'view': '%s'}", SECRET)
    logging.getLogger("concernbot.bolt").debug("Responding with status: 200 body: %s", SECRET)
    # Bolt names each listener's logger after the app's file and copies a level into it when it is made: only
    # where the record comes from shows it is Bolt's.
    listener = logging.getLogger("app.py:listener")
    listener.setLevel(logging.DEBUG)
    source = os.path.join(os.path.dirname(slack_bolt.__file__), "listener", "thread_runner.py")
    listener.handle(listener.makeRecord(listener.name, logging.DEBUG, source, 202, "body: %s", (SECRET,), None))
    logging.getLogger("concernbot.bolt").warning(
        "A global middleware (m) skipped calling either `next()` or `next_()` without providing a response for the "
        "request (%s)", {"view": {"state": SECRET}})
    fonts = logging.getLogger("fontTools.subset")
    fonts.setLevel(logging.DEBUG)
    fonts.info("Glyph names: ['uni042F', 'Z']")
    logging.getLogger("fpdf.output").warning("Font F is missing the following glyphs: 'Я'")
    logging.getLogger("bot.anything").debug("our own debug line, kept")
    lines = _lines(stream)
    assert [line["message"] for line in lines] == [
        "a global middleware neither answered a request nor passed it on", "our own debug line, kept"]
    assert SECRET not in stream.getvalue() and "uni042F" not in stream.getvalue()


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_an_exception_is_logged_as_its_type_and_code_path_never_its_message(restored: None, fmt: str) -> None:
    stream = io.StringIO()
    configure("INFO", fmt, stream)
    typed = {"child_name_1": SECRET, "disclosure": "the marmalade kraken"}
    try:
        try:
            raise KeyError(typed["disclosure"])
        except KeyError as exc:
            raise ValueError(typed["child_name_1"]) from exc
    except ValueError:
        logging.getLogger("bot.listeners.report").exception("could not save step %s of a report", "children")
    logged = stream.getvalue()
    assert "could not save step children of a report" in logged
    assert "builtins.KeyError (its message is not logged)" in logged and "builtins.ValueError" in logged
    assert "test_logs.py" in logged and "which led to" in logged
    assert SECRET not in logged and "kraken" not in logged
