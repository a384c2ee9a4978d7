"""Acknowledgement latency: how long Slack waits for the bot's answer, beside the floor (a bare Bolt app that
only acknowledges, served the same way) in the same run.

Four kinds of request, 2,000 each at 20 concurrent keep-alive connections, against the real bot serving HTTP
on a fresh database, its Web API calls going to the sandbox:
- `/report-concern` (the bot answers, then opens the form with views.open);
- a form step (`view_submission`: the answers are saved to the draft and the next step is the answer);
- *Acknowledge* on a distinct concern each time (answered, then recorded);
- a `team_join` event (answered, then the joiner's AUP request is queued).

A kind passes only if every measured request also had its effect once the bot settled (`Stage.done`: the
form open in front of the person, the concern acknowledged, the event taken in hand): an answer that is
quick because the work behind it fell behind, and was lost or came too late (a form opened more than
3 seconds after the click is refused by Slack), would not count.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import count
from typing import Any

from slack_bolt import App
from sqlalchemy import func, select
from slack_bolt.authorization import AuthorizeResult

from bot.demo import demo_school_file
from bot.render.messages import ACKNOWLEDGE_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import API_APP_ID, SlackSimulator, state_values, wait_for
from bot.sandbox.demo_workspace import DAN, DSL_CHANNEL, HELEN, TEAM_ID, demo_workspace
from bot.sandbox.webapi import SandboxServer
from bot.school_setup import apply_school_file
from bot.settings import Settings, load_settings
from bot.yearly import publish_aup
from flows.aup import AupDocument
from storage.db import Database
from storage.models import Concern
from storage.seen_events import SeenEvent
from bot.scheduler import ESCALATION_SWEEP_SECONDS
from tests.bench.latency_data import (
    REMINDERS, REMINDERS_FROM, REMINDERS_OVER, Reminders, add_trust, fall_due_during_run, reminders,
)
from tests.bench.load import Body, Figures, envelope, form, hammer, payload
from tests.bench.processes import BotProcess, FloorProcess
from tests.e2e.journey import STEPS
from tests.storage.helpers import report

SECRET = "bench-signing-secret"
REQUESTS, CONCURRENCY, WARM_UP = 2000, 20, 100
KINDS = ("/report-concern", "form step", "Acknowledge", "team_join")
BUTTON_KINDS = ("/report-concern", "Acknowledge")  # commands and buttons: the 3x-the-floor bar


@dataclass
class Stage:
    bot: BotProcess
    sandbox: SandboxServer
    staff: list[str]
    concerns: list[int]
    views: list[tuple[str, dict[str, Any]]]  # per connection: (user, the form's first step as on screen)
    events: Iterator[int]
    reminder_references: list[str]  # concerns whose escalation falls due during the run (latency_data)
    started: float  # time.monotonic() when their clock started

    def who(self, user: str) -> dict[str, Any]:
        return {"team": {"id": TEAM_ID, "domain": "sandbox"},
                "user": {"id": user, "username": user, "name": user, "team_id": TEAM_ID}}

    def build(self, kind: str, offset: int) -> Callable[[int, int], Body]:
        ws = self.sandbox.workspace

        def command(worker: int, n: int) -> Body:
            user = self.staff[offset + n]
            return form({"token": "unused", "team_id": TEAM_ID, "team_domain": "sandbox", "channel_id": "D0BENCH",
                         "user_id": user, "user_name": user, "command": "/report-concern", "text": "",
                         "api_app_id": API_APP_ID, "response_url": self.sandbox.response_url(user),
                         "trigger_id": ws.issue_trigger(user)})

        def step(worker: int, n: int) -> Body:
            user, view = self.views[worker]
            submitted = {**view, "state": {"values": state_values(view, STEPS[0])}}
            return payload({"type": "view_submission", **self.who(user), "api_app_id": API_APP_ID,
                            "trigger_id": ws.issue_trigger(user), "view": submitted, "response_urls": []})

        def acknowledge(worker: int, n: int) -> Body:
            concern = self.concerns[offset + n]
            return payload({"type": "block_actions", **self.who(DAN), "api_app_id": API_APP_ID,
                            "container": {"type": "message", "message_ts": "1.000001", "channel_id": DSL_CHANNEL},
                            "trigger_id": ws.issue_trigger(DAN), "channel": {"id": DSL_CHANNEL},
                            "message": {"ts": "1.000001", "text": "", "blocks": []},
                            "response_url": self.sandbox.response_url(DAN),
                            "actions": [{"action_id": ACKNOWLEDGE_ACTION, "block_id": "b", "value": str(concern),
                                         "type": "button", "action_ts": f"{time.time():.6f}"}]})

        def join(worker: int, n: int) -> Body:
            user = ws.users[self.staff[offset + n]]
            return envelope({"token": "unused", "team_id": TEAM_ID, "api_app_id": API_APP_ID,
                             "type": "event_callback", "event_id": f"EvBench{next(self.events):08d}",
                             "event_time": int(time.time()),
                             "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": "U0BOT",
                                                 "is_bot": True, "is_enterprise_install": False}],
                             "event": {"type": "team_join", "user": user.as_api(TEAM_ID),
                                       "event_ts": f"{time.time():.6f}"}})

        return {"/report-concern": command, "form step": step, "Acknowledge": acknowledge, "team_join": join}[kind]


    def done(self, kind: str, offset: int, n: int) -> int:
        """How many of the n requests from `offset` had their effect: the form open in front of the person,
        the concern acknowledged, the event taken in hand (its id claimed). A form step's effect is its answer."""
        users = self.staff[offset:offset + n]
        if kind == "/report-concern":
            return sum(1 for user in users if self.sandbox.workspace.current_view(user) is not None)
        if kind == "form step":
            return n
        db = Database(self.bot.database_url)
        try:
            with db.session() as session:
                if kind == "Acknowledge":
                    return int(session.scalar(select(func.count()).select_from(Concern).where(
                        Concern.id.in_(self.concerns[offset:offset + n]), Concern.status != "new")) or 0)
                return int(session.scalar(select(func.count()).select_from(SeenEvent).where(
                    SeenEvent.event_id.like("EvBench%"))) or 0) - offset
        finally:
            db.dispose()


def _ok(kind: str) -> Callable[[int, bytes], bool] | None:
    return (lambda status, body: b'"update"' in body) if kind == "form step" else None


@contextmanager
def staged(database_url: str, workers: int = 1, scale: int = 0) -> Iterator[Stage]:
    """The demo school's bot on this database, its AUP published, 2,100 concerns to acknowledge (posted to
    the DSL channel already), 200 more whose escalation falls due during the run, and 20 people each with
    the form open; with `scale`, a trust's other schools' records beside them (latency_data). The bot runs
    as `concernbot serve` in a process of its own, as in production; the sandbox and the load client share
    this one."""
    ws = demo_workspace()
    staff = ws.add_staff(REQUESTS + WARM_UP + CONCURRENCY)
    sandbox = SandboxServer(ws).start()
    env = {"SLACK_BOT_TOKEN": str(ws.bot_token), "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": sandbox.api_url,
           "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    server = None
    try:
        if scale:
            db = Database(database_url)
            db.upgrade()
            add_trust(db, scale)
            db.dispose()
        concerns, reminded = _prepare(load_settings(**{k.lower(): v for k, v in env.items()},
                                                    slack_app_token=None), staff)
        started = time.monotonic()
        server = BotProcess(env, ["serve", "--host", "127.0.0.1", "--workers", str(workers)]).start()
        slack = SlackSimulator(sandbox, server.url, SECRET)
        views = []
        for user in staff[-CONCURRENCY:]:
            assert slack.slash_command(user).status == 200
            views.append((user, wait_for(lambda u=user: ws.current_view(u), what="the form").view))
        yield Stage(server, sandbox, staff, concerns, views, count(1), reminded, started)
    finally:
        if server is not None:
            server.stop()
        sandbox.stop()


def _prepare(settings: Settings, staff: list[str]) -> tuple[list[int], list[str]]:
    """Set up the school, publish its AUP, and report the concerns; their alerts are sent before timing.
    Returns the concerns to acknowledge, and the references of those set to fall due during the run."""
    bot = Runtime(settings, calendar_jobs=False).build()
    now = datetime.now(timezone.utc)
    try:
        apply_school_file(bot.client, TEAM_ID, bot.db, demo_school_file(), now)
        publish_aup(bot.client, bot.db, TEAM_ID, AupDocument(version="bench", text="Use school devices well."),
                    HELEN, now)
        concerns = [report(bot.db, now, team=TEAM_ID, reporter=user).id for user in staff[:REQUESTS + WARM_UP]]
        later = [report(bot.db, now, team=TEAM_ID, reporter=user) for user in staff[:REMINDERS]]
        bot.sender.drain_all()
        fall_due_during_run(bot.db, [c.id for c in later], now)
    finally:
        bot.stop()
    return concerns, [c.reference for c in later]


def floor_app() -> App:
    """A bare Bolt app that only acknowledges, with the same signature checks: the floor (tests/bench/floor.py
    serves it in a process of its own)."""
    result = AuthorizeResult(enterprise_id=None, team_id=TEAM_ID, bot_token="xoxb-floor", bot_user_id="U0BOT",
                             bot_id="B0BOT")
    app = App(signing_secret=SECRET, authorize=lambda **_: result, process_before_response=False,
              logger=logging.getLogger("bench.floor"))
    anything = re.compile(".*")
    app.command(anything)(lambda ack: ack())
    app.view(anything)(lambda ack: ack(response_action="update", view={"type": "modal", "title": {
        "type": "plain_text", "text": "Next"}, "blocks": []}))
    app.action(anything)(lambda ack: ack())
    app.event("team_join")(lambda ack: ack())
    return app


@dataclass(frozen=True)
class Row:
    database: str
    kind: str
    bot: Figures
    floor: Figures
    done: int  # of the measured requests, how many had their effect (Stage.done) once the bot settled

    @property
    def ratio(self) -> float:
        return self.bot.p99 / self.floor.p99 if self.floor.p99 else float("inf")

    @property
    def passes(self) -> bool:
        under = self.bot.p99 < 150 and self.bot.errors == 0 and self.done == self.bot.count
        return under and (self.ratio <= 3 if self.kind in BUTTON_KINDS else True)


def _done(stage: Stage, kind: str, requests: int, timeout: float = 30) -> int:
    """The measured requests' effects: all of them, or as many as there are after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (done := stage.done(kind, WARM_UP, requests)) < requests and time.monotonic() < deadline:
        time.sleep(0.5)
    return done


def measure(database: str, database_url: str, requests: int = REQUESTS, workers: int = 1,
            scale: int = 0) -> tuple[list[Row], Reminders]:
    rows = []
    floor = FloorProcess().start()
    try:
        with staged(database_url, workers, scale) as stage:
            url = f"{stage.bot.url}/slack/events"
            floor_url = f"{floor.url}/slack/events"
            for kind in KINDS:
                hammer(url, SECRET, stage.build(kind, 0), WARM_UP, CONCURRENCY, _ok(kind))
                measured = hammer(url, SECRET, stage.build(kind, WARM_UP), requests, CONCURRENCY, _ok(kind))
                hammer(floor_url, SECRET, stage.build(kind, 0), WARM_UP, CONCURRENCY)
                bare = hammer(floor_url, SECRET, stage.build(kind, 0), requests, CONCURRENCY)
                stage.bot.settle()  # what the requests queued goes out between kinds, not during the next
                rows.append(Row(database, kind, measured, bare, _done(stage, kind, requests)))
            return rows, _reminders(stage)
    finally:
        floor.stop()


def _reminders(stage: Stage) -> Reminders:
    """Once every reminder's time has come and a sweep or two has passed, what went out."""
    last_due = (REMINDERS_FROM + REMINDERS_OVER).total_seconds() + 2 * ESCALATION_SWEEP_SECONDS
    deadline = stage.started + last_due + 30
    while True:
        stage.bot.settle()
        found = reminders(stage.sandbox.workspace, stage.reminder_references)
        if time.monotonic() > deadline or (found.escalated == found.due and
                                           time.monotonic() > stage.started + last_due):
            return found
        time.sleep(1)
