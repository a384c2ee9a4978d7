"""The app removed from the workspace: nothing more is sent there, every record is kept, and it all resumes
when the app is back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DSL_CHANNEL, TEAM_ID
from bot.sandbox.webapi import SandboxServer
from flows.clock import ManualClock
from storage.models import Concern, ConcernEvent, OutboxMessage, School
from tests.conftest import bot_settings
from tests.e2e.journey import dsl_post, report
from tests.e2e.yearly_helpers import settle


def _removed(bot: Runtime) -> bool:
    with bot.db.session() as session:
        return session.get_one(School, TEAM_ID).uninstalled_at is not None


def test_removed_then_back(bot: Runtime, slack: SlackSimulator, sandbox: SandboxServer, clock: ManualClock,
                           migrated_url: str) -> None:
    report(slack, AMY)
    dsl_post(slack, DSL_CHANNEL)
    settle(bot)  # the reporter's receipt goes out in the background; count from after it
    assert slack.event({"type": "tokens_revoked", "tokens": {"oauth": ["U0AMY"]}}).status == 200
    assert not _removed(bot)  # only a person's token: the bot still works
    assert slack.event({"type": "app_uninstalled"}).status == 200
    wait_for(lambda: _removed(bot), what="the school to be marked removed")
    sent_before = len(slack.ws.messages)
    clock.advance(timedelta(hours=2))  # the concern is past its escalation time, unacknowledged
    bot.escalations.run()
    bot.sender.drain_all()
    assert len(slack.ws.messages) == sent_before  # nothing sent to a workspace without the app
    assert bot.yearly.run_school(TEAM_ID) == 0
    with bot.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 1  # every record kept
        assert session.scalar(select(func.count()).select_from(ConcernEvent)) >= 2
        waiting = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
    assert waiting > 0  # the escalation is kept, unsent
    bot.stop()

    back = Runtime(bot_settings(sandbox, migrated_url), clock=clock, sweeps_every=3600, calendar_jobs=False).build()
    back.start(port=0)  # reinstalled: the token works again
    try:
        assert not _removed(back)
        wait_for(lambda: len(slack.ws.messages) > sent_before, what="what was kept to go out")
    finally:
        back.stop()
