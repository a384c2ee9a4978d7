"""Footprint: the serving process's resident memory with a trust's 50 schools configured (and their data),
and how soon `concernbot serve` answers /healthz after it is started."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.sandbox.demo_workspace import demo_workspace
from bot.sandbox.webapi import SandboxServer
from storage.db import Database
from tests.bench import trust
from tests.bench.processes import BotProcess

CONCERNS = 25_000  # 500 a school


@dataclass(frozen=True)
class Footprint:
    database: str
    schools: int
    ready_seconds: float  # start to the first 200 from /healthz (migrations already applied)
    rss_mb: float  # after the start-up checks and a minute's worth of sweeps

    @property
    def passes(self) -> bool:
        return self.ready_seconds < 3 and self.rss_mb < 200


def measure(database: str, database_url: str) -> Footprint:
    db = Database(database_url)
    db.upgrade()
    trust.generate(db, CONCERNS)
    db.dispose()
    ws = demo_workspace()
    sandbox = SandboxServer(ws).start()
    try:
        env = {"SLACK_BOT_TOKEN": str(ws.bot_token), "SLACK_SIGNING_SECRET": "bench", "SLACK_API_URL": sandbox.api_url,
               "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
        bot = BotProcess(env, ["serve", "--host", "127.0.0.1"]).start()
        try:
            time.sleep(5)  # the scheduler's first sweeps over every school
            return Footprint(database, trust.SCHOOLS, bot.ready_after, bot.rss_mb())
        finally:
            bot.stop()
    finally:
        sandbox.stop()
