"""A school where concernbot is installed but not set up: a concern is still recorded, and the workspace's
admins (who can set it up) are told that nobody is set up to receive it, and nothing more."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN
from bot.sandbox.webapi import SandboxServer
from bot.sandbox.workspace import SandboxUser
from flows.clock import ManualClock
from storage.models import Concern
from tests.conftest import SIGNING_SECRET, bot_settings
from tests.e2e.journey import CHILD, report


@pytest.fixture
def bare_bot(db, sandbox: SandboxServer, clock: ManualClock, migrated_url: str) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    runtime = Runtime(bot_settings(sandbox, migrated_url), clock=clock, sweeps_every=3600,
                      calendar_jobs=False).build()  # no `concernbot setup`
    runtime.start(port=0)
    yield runtime
    runtime.stop()


def test_a_concern_is_kept_and_the_admins_are_told_to_set_up(bare_bot: Runtime, sandbox: SandboxServer) -> None:
    sandbox.workspace.add_user(SandboxUser("U0ITLEAD", "it.lead", "Ivy Lead", is_admin=True))
    slack = SlackSimulator(sandbox, bare_bot.url, SIGNING_SECRET, settled=bare_bot.listeners_done)
    report(slack, AMY)
    told = wait_for(lambda: slack.ws.dms_to("U0ITLEAD"), what="the workspace admin to be told")
    assert "nobody is set up to receive it yet" in told[0].text and "Set up concernbot" in told[0].text
    assert "OS-" not in told[0].text and CHILD not in repr(told[0].blocks)
    wait_for(lambda: slack.ws.dms_to(AMY), what="Amy's receipt")
    assert slack.ws.dms_to(DAN) == []  # not an admin, and not yet the DSL
    with bare_bot.db.session() as session:
        assert session.query(Concern).count() == 1
