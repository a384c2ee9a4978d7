"""Shared fixtures: a database of the run's own (SQLite, or PostgreSQL when DATABASE_URL says so),
a clock the tests move, and a running bot against the sandbox workspace."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.demo import demo_school_file
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator
from bot.sandbox.demo_workspace import TEAM_ID, demo_workspace
from bot.sandbox.webapi import SandboxServer
from bot.scheduler import JOBS_TABLE
from bot.school_setup import apply_school_file
from bot.settings import load_settings
from flows.clock import ManualClock
from storage.db import Database, normalise_url
from storage.models import Base

LONDON = ZoneInfo("Europe/London")
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
# The records' key for every database the tests open, and every bot process they start (PostgreSQL has no
# key file beside it). Tests of where keys come from unset it.
TEST_ENCRYPTION_KEY = "dGVzdC1rZXktZm9yLWNvbmNlcm5ib3QtdGVzdHMtMzI="


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)


# A Tuesday in the autumn term, mid-morning.
SCHOOL_MORNING = datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite in a temp dir; or, with DATABASE_URL set to PostgreSQL, a database made for this run."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql")):
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    name = f"concernbot_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_url(database_url: str) -> str:
    database = Database(database_url)
    database.upgrade()
    database.dispose()
    return database_url


def _empty_tables(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            names = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))
        if database.engine.dialect.has_table(connection, JOBS_TABLE):
            connection.execute(text(f"DELETE FROM {JOBS_TABLE}"))


@pytest.fixture
def db(migrated_url: str) -> Iterator[Database]:
    database = Database(migrated_url)
    _empty_tables(database)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SCHOOL_MORNING)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(demo_workspace()).start()
    yield server
    server.stop()


class Mailbox:
    """A real SMTP server on a free port (aiosmtpd), keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


class MailServer:
    """The local SMTP server; a test may stop it (an outage) and start it again on the same port."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.box = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.box, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mailbox() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


def bot_settings(sandbox: SandboxServer, database_url: str, smtp_port: int | None = None):  # type: ignore[no-untyped-def]
    smtp = dict(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_from="concernbot@oakfield.example",
                smtp_security="none") if smtp_port else {}
    return load_settings(slack_bot_token=sandbox.workspace.bot_token, slack_signing_secret=SIGNING_SECRET,
                         slack_app_token=None, slack_api_url=sandbox.api_url, database_url=database_url, **smtp)


@pytest.fixture
def bot(db: Database, sandbox: SandboxServer, clock: ManualClock, migrated_url: str,
        mailbox: MailServer) -> Iterator[Runtime]:
    """The real bot, set up as the demo school, serving HTTP on a free port, emailing a local SMTP server."""
    # The scheduler runs, but its sweeps wait an hour: these tests move the clock and run them directly.
    runtime = Runtime(bot_settings(sandbox, migrated_url, mailbox.port), clock=clock, sweeps_every=3600,
                      calendar_jobs=False).build()
    apply_school_file(runtime.client, TEAM_ID, runtime.db, demo_school_file(), clock.now())
    runtime.start(port=0)
    yield runtime
    runtime.stop()


@pytest.fixture
def slack(bot: Runtime, sandbox: SandboxServer) -> SlackSimulator:
    return SlackSimulator(sandbox, bot.url, SIGNING_SECRET, settled=bot.listeners_done)
