"""One running bot: database, Bolt app, outbox, scheduler and transport, started and stopped together.

`serve`, `demo` and the end-to-end tests all start the bot through this, so what is tested is what runs.
"""

from __future__ import annotations

import logging
import os
import gc
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot import calendar_jobs
from bot.app import create_app, listener_pool
from bot.slack_client import BotIdentity, identify, web_client
from bot.checks import dsl_channel_problem
from bot.email import Emailer
from bot.fallback import FallbackPolicy
from bot.http import HttpServer, wsgi_app
from bot.leadership import Leadership
from bot.metrics import Metrics
from bot.metadata import MetadataCodec
from bot.outbox_sender import OutboxSender
from bot.outbox_worker import OutboxWorker
from bot.scheduler import build_scheduler
from bot.services import Services
from bot.sweeps import EscalationSweep, SchoolDaySweep
from bot.settings import ConfigError, Settings
from bot.install_flow import Installed, installation_store, oauth_settings, remember_workspaces
from bot.workspaces import InstalledWorkspaces, NotInstalled, OneWorkspace, Workspaces
from bot.yearly import YearlyCycle
from flows.clock import Clock, SystemClock
from storage.crypto import KeyProblem
from storage.db import Database
from storage.keys import keyring_for
from storage.leader import leader_lock
from storage.schools import active_team_ids, get_school, set_installed

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


def database_for(settings: Settings, url: str | None = None) -> Database:
    """The database in DATABASE_URL (or `url`), with the records' key: never migrated here."""
    url = url or settings.database_url
    key = settings.encryption_key.get_secret_value() if settings.encryption_key else None
    try:
        return Database(url, keys=keyring_for(url, key, settings.encryption_key_file))
    except KeyProblem as exc:
        raise ConfigError(str(exc)) from None


def open_database(settings: Settings) -> Database:
    db = database_for(settings)
    try:
        db.upgrade()
        db.check_keys()
    except KeyProblem as exc:
        raise ConfigError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise ConfigError(f"cannot open the database in DATABASE_URL ({type(exc.orig or exc).__name__}); "
                          "check it exists and the bot may write to it.") from None
    return db


def connect_school(settings: Settings, team: str | None) -> tuple[WebClient, Database, str, str]:
    """For a command that acts in one school's workspace: its client, the database, its team id and name.
    With one bot token that is its workspace; installed into many, the school named by --team (or the only
    one), with its own stored token."""
    from bot.export import ExportRefused, school_for

    if not settings.oauth:
        client, identity = connect_to_slack(settings)
        if team and team != identity.team_id:
            raise ConfigError(f"SLACK_BOT_TOKEN is for workspace {identity.team_id}, not {team}: leave out --team "
                              "or use that workspace's token.")
        return client, open_database(settings), identity.team_id, identity.team_name or identity.team_id
    settings.require_slack()
    db = open_database(settings)
    try:
        team_id = school_for(db, team)
        client = InstalledWorkspaces(db, installation_store(settings, db), settings.slack_api_url).client(team_id)
    except (ExportRefused, NotInstalled) as exc:
        raise ConfigError(str(exc)) from None
    with db.session() as session:
        school = get_school(session, team_id)
    return client, db, team_id, (school.name if school and school.name else team_id)


def freeze_start_up_objects() -> None:
    """What a serving process made while starting (modules, the app, its caches) lives as long as it does:
    moved out of the garbage collector's reach, so a full collection, which stops every thread, walks only
    what requests have made since (after the latency benchmark: about 7,000 objects, beside 129,000 frozen)."""
    gc.collect()
    gc.freeze()


@dataclass
class Runtime:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    sweeps_every: float | None = None  # seconds between scheduled sweeps; None: each sweep's own interval
    calendar_jobs: bool = True  # each school's yearly cycle every school morning (tests run it themselves)
    standby_retry_seconds: float = 15.0  # how often a process that does not lead tries the leader lock
    db: Database = field(init=False)
    workspaces: Workspaces = field(init=False)
    identity: BotIdentity | None = field(init=False, default=None)  # token mode: the one workspace
    app: App = field(init=False)
    sender: OutboxSender = field(init=False)
    escalations: EscalationSweep = field(init=False)
    school_day: SchoolDaySweep = field(init=False)
    yearly: YearlyCycle = field(init=False)
    metrics: Metrics = field(init=False)
    warnings: list[str] = field(init=False, default_factory=list)
    _worker: OutboxWorker | None = field(init=False, default=None)
    _scheduler: BackgroundScheduler | None = field(init=False, default=None)
    _leadership: Leadership | None = field(init=False, default=None)
    _http: HttpServer | None = field(init=False, default=None)

    def build(self) -> Runtime:
        """Connect and assemble, without starting any thread."""
        self.settings.require_slack()
        secret = self.settings.slack_signing_secret.get_secret_value()  # type: ignore[union-attr]
        extra: list[Any] = []
        oauth = None
        if self.settings.oauth:  # installed into many workspaces: each school's token from the store
            self.db = open_database(self.settings)
            store = installation_store(self.settings, self.db)
            self.workspaces = InstalledWorkspaces(self.db, store, self.settings.slack_api_url)
            oauth = oauth_settings(self.settings, self.db, store, self.clock, self._installed)
            extra.append(remember_workspaces(self.db, self.settings, self.clock))
        else:
            client, self.identity = connect_to_slack(self.settings)
            self.workspaces = OneWorkspace(client, self.identity)
            self.db = open_database(self.settings)
            with self.db.session() as session:  # the token works, so the app is (back) in this workspace
                if set_installed(session, self.identity.team_id, True, self.clock.now()):
                    log.info("concernbot is back in workspace %s: messages to it resume", self.identity.team_id)
        tz = self.settings.school_timezone
        self.metrics = Metrics(self.db, self.clock)
        self.sender = OutboxSender(self.db, self.clock, self.workspaces, tz, Emailer(self.settings.smtp()),
                                   lease=timedelta(seconds=self.settings.outbox_lease_seconds), metrics=self.metrics,
                                   broadcast_rate=self.settings.slack_broadcast_rate,
                                   fallback=FallbackPolicy(
                                       timedelta(minutes=self.settings.notify_fallback_after_minutes),
                                       self.settings.fallback_email),
                                   people_waiting=lambda: self.listeners.busy())
        self._worker = OutboxWorker(self.sender)
        self.escalations = EscalationSweep(self.db, self.clock, self._worker.kick)
        self.school_day = SchoolDaySweep(self.db, self.clock, self._worker.kick)
        self.yearly = YearlyCycle(self.db, self.clock, self.workspaces, self._worker.kick)
        services = Services(db=self.db, clock=self.clock, codec=MetadataCodec(secret),
                            default_timezone=tz, kick_outbox=self._worker.kick, workspaces=self.workspaces)
        # Bolt's client carries no token: each request gets one from `authorize`, with this base URL.
        self.listeners = listener_pool()
        self.app = create_app(signing_secret=secret, client=web_client(None, self.settings.slack_api_url),
                              identity=self.identity, oauth=oauth, middleware=extra, services=services,
                              metrics=self.metrics, listeners=self.listeners)
        # With one school, its problems are printed before serving; with many, each school is checked in the
        # background once serving (a slow Slack must not hold a worker's start past gunicorn's timeout).
        self.warnings = self.check() if self.identity is not None else []
        return self

    def _installed(self, installed: Installed) -> None:
        """A workspace (or an organisation) installed or reinstalled: what was kept for it goes out now."""
        for team_id in installed.team_ids:
            self.workspaces.forget(team_id)
        if self._worker is not None:
            self._worker.kick()

    def listeners_done(self, timeout: float = 10) -> bool:
        """Wait until every listener set off so far has finished (for the sandbox's simulated people)."""
        return self.listeners.wait_idle(timeout)

    @property
    def client(self) -> WebClient:
        """Token mode's one Web API client (Socket Mode, the demo)."""
        if self.identity is None:
            raise RuntimeError("installed by OAuth: ask `workspaces.client(team_id)` for a school's client")
        return self.workspaces.client(self.identity.team_id)

    @property
    def client_team(self) -> str:
        """Whom it serves, for a log line: the one workspace, or every workspace that installs it."""
        return self.identity.team_id if self.identity is not None else "every workspace that installs it"

    def check(self) -> list[str]:
        """What a school's safeguarding team would miss: each installed school's DSL channel."""
        problems = []
        with self.db.session() as session:
            teams = [self.identity.team_id] if self.identity is not None else active_team_ids(session)
            for team_id in teams:
                try:
                    problem = dsl_channel_problem(self.workspaces.client(team_id), get_school(session, team_id))
                except NotInstalled as exc:
                    problem = str(exc)
                if problem:
                    problems.append(problem if self.identity is not None else f"{team_id}: {problem}")
        return problems

    def start(self, *, host: str = "127.0.0.1", port: int = 0, http: bool = True) -> Runtime:
        if self._worker is None:
            self.build()
        assert self._worker is not None
        self._worker.start()
        self._worker.kick()  # anything left unsent by a previous run goes out now
        # Every process sends; only the one holding the database's leader lock runs the scheduler.
        self._leadership = Leadership(leader_lock(self.db), self._start_scheduler, self._stop_scheduler,
                                      retry_seconds=self.standby_retry_seconds).start()
        if self.identity is None:
            threading.Thread(target=self._check_in_background, name="school-checks", daemon=True).start()
        if http:
            token = self.settings.metrics_token.get_secret_value() if self.settings.metrics_token else None
            self._http = HttpServer(wsgi_app(self.app, self.health, self.metrics, token), host, port)
            self._http.start()
        return self

    def _check_in_background(self) -> None:
        try:
            for warning in self.check():
                log.warning("%s", warning)
        except SQLAlchemyError as exc:  # the database went away: the health check says so
            log.warning("the schools could not be checked (%s)", type(exc).__name__)

    def _start_scheduler(self) -> None:
        self._scheduler = build_scheduler(self.db, self.settings.school_timezone, self.sender, self.escalations,
                                          self.school_day, self.sweeps_every, calendar=self.calendar_jobs)
        calendar_jobs.bind(self.yearly)
        self._scheduler.start()
        if self.calendar_jobs:
            calendar_jobs.sync_jobs(self._scheduler, self.db)

    def _stop_scheduler(self) -> None:
        calendar_jobs.bind(None)
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    @property
    def is_scheduler_leader(self) -> bool:
        return self._leadership is not None and self._leadership.is_leader

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
        where = {"team": self.identity.team_id} if self.identity is not None else {"install": "oauth"}
        return {"status": "ok", "database": "ok", **where, "pid": os.getpid(),
                "scheduler": "leader" if self.is_scheduler_leader else "standby"}

    def stop(self) -> None:
        """Stop everything that started; safe to call more than once. A part that fails to stop never keeps
        the others running (a scheduler left holding the leader lock would stop every other process leading)."""
        try:
            if self._http is not None:
                http, self._http = self._http, None
                http.stop()
        finally:
            try:
                if self._leadership is not None:
                    leadership, self._leadership = self._leadership, None
                    leadership.stop()
            finally:
                if self._worker is not None:
                    self._worker.stop()
                if hasattr(self, "db"):
                    self.db.dispose()
