"""The bot killed with kill -9 at any point of a report, as a real `concernbot serve` process against the
sandbox, and started again: the draft survives, the concern is recorded once, its DSL post and the
reporter's receipt go out once (even when the kill came while the bot was waiting on Slack to send them),
and an acknowledgement made before a kill is not made again after it."""

from __future__ import annotations

import copy
import itertools
import json
import signal
import socket
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from bot.demo import demo_school_file
from bot.render.form import BACK_ACTION
from bot.render.messages import ACKNOWLEDGE_ACTION
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, TEAM_ID
from bot.sandbox.faults import Fault
from bot.sandbox.webapi import SandboxServer
from bot.school_setup import apply_school_file
from bot.slack_client import web_client
from storage.db import Database
from storage.models import Concern, ConcernEvent, Draft, OutboxMessage, StatusChange
from tests.conftest import SIGNING_SECRET
from tests.e2e.journey import CHILD, STEPS, fill_steps, open_form, shown, view_text

_RUNS = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return json.loads(reply.read()).get("status") == "ok"
    except (OSError, ValueError):
        return False


class BotProcess:
    """`concernbot serve` in HTTP mode, as a process of its own; its log in a file (never a pipe left unread)."""

    def __init__(self, env: dict[str, str], tmp_path: Path, sandbox: SandboxServer) -> None:
        self.port = _free_port()
        self.log = tmp_path / f"bot-{next(_RUNS)}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log, text=True)
        wait_for(lambda: _healthy(self.port) or self.process.poll() is not None, timeout=60, what="the bot to start")
        assert self.process.poll() is None, self.log.read_text()
        self.slack = SlackSimulator(sandbox, f"http://127.0.0.1:{self.port}", SIGNING_SECRET)

    def kill_9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        return self.log.read_text()


def _steps_for_today() -> list[dict]:
    """The journey's answers, as of today where the process runs on the real clock (no time given)."""
    today = datetime.now(ZoneInfo("Europe/London")).date().isoformat()
    return [*STEPS[:3], {"occurred_on": today}, *STEPS[4:]]


def _school_and_env(slack_env: dict[str, str], sandbox: SandboxServer, db: Database) -> tuple[Any, dict[str, str]]:
    """The demo school set up, and the environment each bot process starts with (short leases)."""
    ws = sandbox.workspace
    apply_school_file(web_client(ws.bot_token, sandbox.api_url), TEAM_ID, db, demo_school_file(),
                      datetime.now(timezone.utc))
    return ws, {**slack_env, "OUTBOX_LEASE_SECONDS": "5", "LOG_LEVEL": "INFO"}


def _unsent(db: Database) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))))


def _leases_run_out(db: Database) -> bool:
    now = datetime.now(timezone.utc)
    return all(row.locked_until is None or row.locked_until < now for row in _unsent(db))


def _held_posts(sandbox: SandboxServer) -> int:
    return sandbox.workspace.calls.count(("chat.postMessage", "timeout"))


def test_a_report_survives_kill_9_at_every_step_with_one_concern_one_post_one_receipt_one_acknowledgement(
        slack_env: dict[str, str], sandbox: SandboxServer, db: Database, tmp_path: Path) -> None:
    ws, env = _school_and_env(slack_env, sandbox, db)
    steps = _steps_for_today()

    # Half a form, then kill -9.
    first = BotProcess(env, tmp_path, sandbox)
    open_form(first.slack, AMY)
    fill_steps(first.slack, AMY, steps[:3])
    first.kill_9()

    # Started again: /report-concern offers the draft, which carries on where it was, answers and all.
    second = BotProcess(env, tmp_path, sandbox)
    slack = second.slack
    open_form(slack, AMY)
    assert "You started a report" in view_text(shown(slack, AMY)) and "Everything you typed was saved" in view_text(
        shown(slack, AMY))
    reply = slack.submit_view(AMY, {}).json()  # Carry on with it
    assert "When it happened" in view_text(reply["view"]), reply
    slack.click_in_view(AMY, BACK_ACTION)
    child = wait_for(lambda: next((b for b in shown(slack, AMY).get("blocks", []) if b.get("block_id") == "child_name_1"),
                                  None), what="the step before, with its answers")
    assert child["element"]["initial_value"] == CHILD
    fill_steps(slack, AMY, [{}, *steps[3:]])

    # Slack holds the bot's first post unanswered; the bot is killed while it waits (stored, not yet sent).
    ws.inject(Fault.timeout(hold=120), "chat.postMessage")
    shown_after = view_text(slack.submit_view(AMY, {}).json()["view"])
    assert "Recorded as OS-2026-0001." in shown_after
    wait_for(lambda: _held_posts(sandbox) >= 1, timeout=20, what="the bot to be sending the DSL post")
    second.kill_9()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 1
        assert session.scalars(select(Draft.status)).all() == ["submitted"]
    assert {row.kind for row in _unsent(db)} == {"dsl_alert", "reporter_receipt"}
    ws.clear_faults()  # Slack is well; what was held is dropped, never carried out
    assert ws.messages_in(DSL_CHANNEL) == [] and ws.dms_to(AMY) == []
    wait_for(lambda: _leases_run_out(db), timeout=15, what="the dead process's leases to run out")

    third = BotProcess(env, tmp_path, sandbox)
    slack = third.slack
    wait_for(lambda: not _unsent(db), timeout=60, what="the post and the receipt to go out")
    [post] = ws.messages_in(DSL_CHANNEL)
    assert "OS-2026-0001" in post.text
    assert [m.text for m in ws.dms_to(AMY) if "OS-2026-0001" in m.text][0].startswith("Thank you. Your concern")
    assert len(ws.dms_to(AMY)) == 1

    # Acknowledge, and the bot killed while it sends the reporter the news.
    stale = copy.deepcopy(post)
    ws.inject(Fault.timeout(hold=120), "chat.postMessage")
    held = _held_posts(sandbox)
    slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: _held_posts(sandbox) > held, timeout=20, what="the bot to be telling Amy")
    third.kill_9()
    ws.clear_faults()
    wait_for(lambda: _leases_run_out(db), timeout=15, what="the dead process's leases to run out")

    fourth = BotProcess(env, tmp_path, sandbox)
    slack = fourth.slack
    slack.click_in_message(DAN, stale, ACKNOWLEDGE_ACTION)  # pressed again, on the post as it was
    wait_for(lambda: any("already acknowledged" in t for u, t in ws.ephemeral if u == DAN), timeout=20,
             what="Dan to be told it is acknowledged already")
    wait_for(lambda: not _unsent(db), timeout=60, what="everything to go out")
    log = fourth.stop()
    assert fourth.process.returncode == 0, log
    assert "Traceback" not in log
    with db.session() as session:
        assert list(session.scalars(select(StatusChange.to_status).order_by(StatusChange.id))) == ["new", "acknowledged"]
        assert session.scalar(select(func.count()).select_from(Concern)) == 1
    assert len(ws.messages_in(DSL_CHANNEL)) == 1 and "Acknowledged by <@U0DAN>" in post.text
    amy = [m.text for m in ws.dms_to(AMY)]
    assert len(amy) == 2 and amy[1].startswith("Your concern OS-2026-0001 has been acknowledged by <@U0DAN>"), amy


def _escalations(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(ConcernEvent).where(ConcernEvent.kind == "escalated"))


def test_a_deadline_that_passed_while_the_bot_was_dead_escalates_once_when_it_is_back(
        slack_env: dict[str, str], sandbox: SandboxServer, db: Database, tmp_path: Path) -> None:
    ws, env = _school_and_env(slack_env, sandbox, db)
    first = BotProcess(env, tmp_path, sandbox)
    open_form(first.slack, AMY)
    fill_steps(first.slack, AMY, _steps_for_today())
    assert "Recorded as OS-2026-0001." in view_text(first.slack.submit_view(AMY, {}).json()["view"])
    wait_for(lambda: not _unsent(db), timeout=30, what="the post and the receipt")
    first.kill_9()
    with db.session() as session:  # nobody acknowledged it, and its deadline passed while no bot ran
        session.execute(update(Concern).values(escalate_at=datetime.now(timezone.utc) - timedelta(minutes=1)))

    # Back: the deadline is acted on at once; the bot is killed again while Slack holds the reminders.
    ws.inject(Fault.timeout(hold=120), "chat.postMessage")
    second = BotProcess(env, tmp_path, sandbox)
    wait_for(lambda: _escalations(db) == 1 and _held_posts(sandbox) >= 1, timeout=30,
             what="the escalation, and its reminders being sent")
    second.kill_9()
    ws.clear_faults()
    wait_for(lambda: _leases_run_out(db), timeout=15, what="the dead process's leases to run out")

    third = BotProcess(env, tmp_path, sandbox)
    wait_for(lambda: not _unsent(db), timeout=60, what="the reminders to go out")
    log = third.stop()
    assert third.process.returncode == 0 and "Traceback" not in log, log
    assert _escalations(db) == 1  # the rung climbed once, however many times a bot came back
    reminders = [m for m in ws.messages if "has not been acknowledged" in m.text]
    assert reminders and len({(m.channel, m.text) for m in reminders}) == len(reminders)  # each sent once
