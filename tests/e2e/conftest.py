"""End-to-end fixtures: the environment a `python -m bot` process gets, pointed at the sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.webapi import SandboxServer
from tests.conftest import SIGNING_SECRET


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "SCHOOL_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return {**env, **settings}


@pytest.fixture
def slack_env(sandbox: SandboxServer, migrated_url: str, db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return clean_env(SLACK_BOT_TOKEN=sandbox.workspace.bot_token, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     SLACK_API_URL=sandbox.api_url, DATABASE_URL=migrated_url)


# -- several schools in one deployment, installed by OAuth ---------------------------------------------

CLIENT_ID, CLIENT_SECRET = "1234.5678", "sandbox-client-secret"


def oauth_settings(sandbox: SandboxServer, database_url: str, smtp_port: int | None = None):  # type: ignore[no-untyped-def]
    from bot.settings import load_settings

    smtp = dict(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_from="concernbot@trust.example",
                smtp_security="none") if smtp_port else {}
    return load_settings(slack_bot_token=None, slack_client_id=CLIENT_ID, slack_client_secret=CLIENT_SECRET,
                         slack_signing_secret=SIGNING_SECRET, slack_app_token=None, slack_api_url=sandbox.api_url,
                         slack_authorize_url=sandbox.authorize_url, database_url=database_url, **smtp)


@dataclass
class Schools:
    """One deployment (installed by OAuth) and two schools' workspaces in one sandbox."""

    bot: Any
    sandbox: SandboxServer
    a: Any  # SlackSimulator in Oakfield
    b: Any  # ... in Birches

    def client(self, team_id: str):  # type: ignore[no-untyped-def]
        return self.bot.workspaces.client(team_id)


@pytest.fixture
def two_workspaces() -> Iterator[SandboxServer]:
    from bot.sandbox.demo_workspace import demo_workspace, second_workspace

    sandbox = SandboxServer(demo_workspace(bot_token=None))
    sandbox.add_workspace(second_workspace())
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def schools(db, two_workspaces: SandboxServer, clock, migrated_url: str, mailbox) -> Iterator[Schools]:  # type: ignore[no-untyped-def]
    """The bot serving any workspace that installs it; nobody has installed it yet."""
    from bot.runtime import Runtime
    from bot.sandbox.client import SlackSimulator
    from bot.sandbox.demo_workspace import TEAM_ID, TEAM_ID2

    runtime = Runtime(oauth_settings(two_workspaces, migrated_url, mailbox.port), clock=clock, sweeps_every=3600,
                      calendar_jobs=False).start(port=0)
    two_workspaces.oauth_app(CLIENT_ID, CLIENT_SECRET, redirect_url=f"{runtime.url}/slack/oauth_redirect")
    yield Schools(runtime, two_workspaces, SlackSimulator(two_workspaces, runtime.url, SIGNING_SECRET, TEAM_ID, settled=runtime.listeners_done),
                  SlackSimulator(two_workspaces, runtime.url, SIGNING_SECRET, TEAM_ID2, settled=runtime.listeners_done))
    runtime.stop()
