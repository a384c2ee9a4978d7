"""One running bot: database, Bolt app, outbox, scheduler and transport, started and stopped together.

`serve`, `demo` and the end-to-end tests all start the bot through this, so what is tested is what runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.app import BotIdentity, create_app, identify, web_client
from bot.checks import dsl_channel_problem
from bot.email import Emailer
from bot.http import HttpServer, wsgi_app
from bot.metadata import MetadataCodec
from bot.outbox_sender import OutboxSender
from bot.outbox_worker import OutboxWorker
from bot.scheduler import build_scheduler
from bot.services import Services
from bot.sweeps import EscalationSweep, SchoolDaySweep
from bot.settings import ConfigError, Settings
from flows.clock import Clock, SystemClock
from storage.db import Database
from storage.schools import get_school

log = logging.getLogger(__name__)


def connect_to_slack(settings: Settings) -> tuple[WebClient, BotIdentity]:
    """A Web API client and the bot's identity, or one sentence saying why Slack can't be reached."""
    settings.require_slack()
    token = settings.slack_bot_token.get_secret_value()  # type: ignore[union-attr]
    client = web_client(token, settings.slack_api_url)
    # At start-up our one sentence below is the whole story; slack-sdk's per-attempt errors are not.
    quiet = logging.getLogger("concernbot.startup.slack")
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    try:
        return client, identify(web_client(token, settings.slack_api_url, logger=quiet), token)
    except SlackApiError as exc:
        raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN ({exc.response.get('error')}): copy the Bot User "
                          "OAuth Token again from your app's OAuth & Permissions page.") from None
    except (SlackClientError, OSError) as exc:
        raise ConfigError(f"cannot reach the Slack Web API at {settings.slack_api_url} "
                          f"({type(exc).__name__}); check the network or SLACK_API_URL.") from None


def open_database(settings: Settings) -> Database:
    db = Database(settings.database_url)
    try:
        db.upgrade()
    except SQLAlchemyError as exc:
        raise ConfigError(f"cannot open the database in DATABASE_URL ({type(exc.orig or exc).__name__}); "
                          "check it exists and the bot may write to it.") from None
    return db


@dataclass
class Runtime:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    sweeps_every: float | None = None  # seconds between scheduled sweeps; None: each sweep's own interval
    db: Database = field(init=False)
    client: WebClient = field(init=False)
    identity: BotIdentity = field(init=False)
    app: App = field(init=False)
    sender: OutboxSender = field(init=False)
    escalations: EscalationSweep = field(init=False)
    school_day: SchoolDaySweep = field(init=False)
    warnings: list[str] = field(init=False, default_factory=list)
    _worker: OutboxWorker | None = field(init=False, default=None)
    _scheduler: BackgroundScheduler | None = field(init=False, default=None)
    _http: HttpServer | None = field(init=False, default=None)

    def build(self) -> Runtime:
        """Connect and assemble, without starting any thread."""
        self.client, self.identity = connect_to_slack(self.settings)
        self.db = open_database(self.settings)
        tz = self.settings.school_timezone
        self.sender = OutboxSender(self.db, self.clock, self.client, tz, Emailer(self.settings.smtp()))
        self._worker = OutboxWorker(self.sender)
        self.escalations = EscalationSweep(self.db, self.clock, self._worker.kick)
        self.school_day = SchoolDaySweep(self.db, self.clock, self._worker.kick)
        secret = self.settings.slack_signing_secret.get_secret_value()  # type: ignore[union-attr]
        services = Services(db=self.db, clock=self.clock, codec=MetadataCodec(secret),
                            default_timezone=tz, kick_outbox=self._worker.kick)
        # Bolt's client carries no token: each request gets one from `authorize`, with this base URL.
        self.app = create_app(signing_secret=secret, client=web_client(None, self.settings.slack_api_url),
                              identity=self.identity,
                              services=services)
        self.warnings = self.check()
        return self

    def check(self) -> list[str]:
        with self.db.session() as session:
            problem = dsl_channel_problem(self.client, get_school(session, self.identity.team_id))
        return [problem] if problem else []

    def start(self, *, host: str = "127.0.0.1", port: int = 0, http: bool = True) -> Runtime:
        if self._worker is None:
            self.build()
        assert self._worker is not None
        self._worker.start()
        self._worker.kick()  # anything left unsent by a previous run goes out now
        self._scheduler = build_scheduler(self.db, self.settings.school_timezone, self.sender, self.escalations,
                                          self.school_day, self.sweeps_every)
        self._scheduler.start()
        if http:
            self._http = HttpServer(wsgi_app(self.app, self.health), host, port)
            self._http.start()
        return self

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the HTTP transport is not running")
        return f"http://{self._http.host}:{self._http.port}"

    def health(self) -> dict[str, Any]:
        try:
            with self.db.session() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return {"status": "error", "database": "unreachable"}
        return {"status": "ok", "database": "ok", "team": self.identity.team_id}

    def stop(self) -> None:
        """Stop everything that started; safe to call more than once."""
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._worker is not None:
            self._worker.stop()
        if hasattr(self, "db"):
            self.db.dispose()
