"""Need to know, end to end: with every flow run at LOG_LEVEL=DEBUG, no child's or adult's name and nothing typed
reaches a log line (any logger, Slack's libraries included), a Slack message, App Home, or an email.

Names and words planted in the concerns (tests/e2e/planted.py) are searched for everywhere except the modals
shown to the people entitled to the record, and the export files, where they belong.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.logs import PDF_LOGGERS, SLACK_LOGGERS, configure
from bot.render.aup import SIGN_ACTION
from bot.render.messages import ACKNOWLEDGE_ACTION, OPEN_RECORD_ACTION
from bot.render.reviews import GOVERNORS_REPORT_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, OWEN, PRIYA, TOM
from flows.clock import ManualClock
from tests.conftest import LONDON, MailServer
from tests.e2e.journey import fill_steps, open_form
from tests.e2e.planted import (
    ADULT_WORDS, CHILD, CYRILLIC, DRAFT_CHILD, HEAD_WORDS, PLANTED, SIMILAR, STAFF, STAFF_ROLE, act_and_close,
    adult_steps, child_steps, initial_review, modal, post_for, send,
)
from tests.e2e.test_cli import run
from tests.e2e.yearly_helpers import aup_messages, publish, settle

SAVED_LOGGERS = ("", "alembic", "apscheduler", "waitress.queue", *PDF_LOGGERS, *SLACK_LOGGERS)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The process's logging as `LOG_LEVEL=DEBUG LOG_FORMAT=json` sets it, from before the bot is built."""
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, levels = list(root.handlers), {name: logging.getLogger(name).level for name in SAVED_LOGGERS}
    configure("DEBUG", "json", stream)
    yield stream
    root.handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def bot(captured: io.StringIO, bot: Runtime) -> Runtime:  # the shared fixture, built once logging is set
    return bot


def _logged(stream: io.StringIO) -> tuple[str, list[dict]]:
    """Every line, with JSON's \\u escapes undone (a Cyrillic name would otherwise hide in them)."""
    records = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records), records


def _leaks(text: str) -> list[str]:
    return [secret for secret in PLANTED if secret.lower() in text.lower()]


def _at(clock: ManualClock, hour: int, minute: int = 0) -> None:
    clock.set(datetime(2026, 11, 24, hour, minute, tzinfo=LONDON))


def test_no_name_or_narrative_reaches_a_log_a_message_or_an_email(
        captured: io.StringIO, bot: Runtime, slack: SlackSimulator, clock: ManualClock, mailbox: MailServer,
        slack_env: dict[str, str], tmp_path: Path) -> None:
    # A report about two children, acknowledged, an action recorded, closed with an outcome.
    first = send(slack, AMY, child_steps(CHILD, CYRILLIC))
    act_and_close(slack, DAN, post_for(slack, DSL_CHANNEL, first))
    # Sharing nudes: the initial review, with a referral condition (the head is told).
    nudes = send(slack, PRIYA, child_steps(CHILD, category="nudes"))
    initial_review(slack, DAN, post_for(slack, DSL_CHANNEL, nudes))
    # The adult routes: a member of staff (the head, and the LADO by email), the head (the chair and the LADO).
    staff = send(slack, AMY, adult_steps("staff", {"adult_name": STAFF, "adult_role": STAFF_ROLE}, ADULT_WORDS))
    alert = wait_for(lambda: next((m for m in slack.ws.dms_to(HELEN) if staff in m.text), None), what="the head's DM")
    slack.click_in_message(HELEN, alert, ACKNOWLEDGE_ACTION)
    wait_for(lambda: "Acknowledged by" in alert.text, what="the head's acknowledgement")
    assert STAFF in repr(modal(slack, HELEN, alert, OPEN_RECORD_ACTION))  # shown to her: that is what it is for
    send(slack, AMY, adult_steps("headteacher", {}, HEAD_WORDS))
    # Escalation: nobody acknowledges this one.
    escalating = send(slack, PRIYA, child_steps(SIMILAR))
    post_for(slack, DSL_CHANNEL, escalating)
    _at(clock, 10, 31)
    assert bot.escalations.run() == 1
    # The AUP, published and signed (in school hours: a round is sent then).
    publish(bot)
    request = aup_messages(slack, AMY)[0]
    slack.click_in_message(AMY, request, SIGN_ACTION)
    wait_for(lambda: request.edits == 1, what="Amy's signature")
    # A draft left unsent: the afternoon nudge, and the end-of-day notice.
    open_form(slack, TOM)
    fill_steps(slack, TOM, child_steps(DRAFT_CHILD)[:3])
    slack.close_view(TOM)
    _at(clock, 15, 30)
    assert bot.school_day.run() >= 1
    wait_for(lambda: slack.ws.dms_to(TOM), what="Tom's nudge")
    _at(clock, 17, 0)
    bot.school_day.run()
    # The incident log and the governors' report in Slack; and everyone's App Home.
    slack.slash_command(DAN, "/concerns", "status:all")
    wait_for(lambda: "Incident log" in repr(slack.ws.current_view(DAN)), what="the incident log")
    for user in (AMY, DAN, PRIYA, HELEN, OWEN, TOM):
        assert slack.event({"type": "app_home_opened", "user": user, "tab": "home"}).status == 200
    wait_for(lambda: all(u in slack.ws.home for u in (AMY, DAN, PRIYA, HELEN, OWEN, TOM)), what="every App Home")
    slack.click_in_home(OWEN, GOVERNORS_REPORT_ACTION)
    wait_for(lambda: "Concerns recorded" in repr(slack.ws.current_view(OWEN)), what="the governors' report")
    settle(bot)
    wait_for(lambda: len(mailbox.box.messages) >= 3, what="the LADO's and the chair's emails")

    # The command line at DEBUG, as an operator would run it: the incident log, the governors' summary, a
    # child's record. Their files hold names; what they print and log must not.
    debug = {**slack_env, "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json"}
    printed = []
    for args in (["export", "incidents", "--as", DAN, "--out", str(tmp_path / "log.csv")],
                 ["export", "summary", "--as", OWEN],
                 ["export", "--child", CHILD, "--as", DAN, "--out", str(tmp_path / "sar")],
                 ["export", "--staff", HELEN, "--as", OWEN, "--out", str(tmp_path / "refused")]):
        done = run(args, debug, tmp_path)
        assert done.returncode == (2 if "refused" in args[-1] else 0), done.stderr
        printed.append(done.stdout + done.stderr)
    assert CHILD in (tmp_path / "log.csv").read_text(encoding="utf-8")  # the files do hold the record
    assert "Ковальчук" in next((tmp_path / "sar").glob("*.json")).read_text(encoding="utf-8")

    logged, records = _logged(captured)
    assert any(r["message"] == f"concern {first} recorded" for r in records)
    assert any(r["level"] == "DEBUG" for r in records)  # DEBUG was on, and something was logged at it
    assert _leaks(logged) == [], [r for r in records if _leaks(json.dumps(r, ensure_ascii=False))][:3]
    assert _leaks("\n".join(printed)) == []
    # Nor as the glyphs the PDF used, which fontTools lists at INFO (uni041A, uni043E, ...: the letters of a name).
    assert [c for c in CYRILLIC if f"uni{ord(c):04X}" in "\n".join(printed)] == []
    with slack.ws.lock:
        said = slack.ws.all_visible_text() + "".join(repr(m.metadata) for m in slack.ws.messages)
    assert f"Concern {first}" in said and _leaks(said) == []
    emails = "\n".join(m.as_string() + m.get_body(("plain",)).get_content() for m in mailbox.box.messages)
    assert "lado@county-council.example" in emails and _leaks(emails) == []
