"""Escalation through Slack with a controlled clock, and across a restart of the bot."""

from datetime import timedelta

from bot.render.messages import OPEN_RECORD_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, PRIYA, TOM
from flows.clock import ManualClock
from tests.conftest import bot_settings
from tests.e2e.journey import STEPS, dsl_post, report, view_text, shown


def test_unacknowledged_concern_goes_to_deputies_then_head(slack: SlackSimulator, bot: Runtime,
                                                           clock: ManualClock) -> None:
    report(slack, AMY)
    post = dsl_post(slack, DSL_CHANNEL)
    clock.advance(timedelta(minutes=29))
    assert bot.escalations.run() == 0
    clock.advance(timedelta(minutes=1))
    assert bot.escalations.run() == 1
    page = wait_for(lambda: slack.ws.dms_to(PRIYA), what="the deputy's page")[0]
    assert "OS-2026-0001 (Grooming, Routine) has not been acknowledged after 30 minutes" in page.text
    assert not slack.ws.dms_to(HELEN) and not slack.ws.dms_to(DAN)
    # Before it reaches her, the head cannot open it; after, she can.
    slack.click_in_message(HELEN, post, OPEN_RECORD_ACTION)
    assert "only available" in view_text(wait_for(lambda: slack.ws.current_view(HELEN), what="refusal").view)
    clock.advance(timedelta(minutes=30))
    assert bot.escalations.run() == 1
    to_head = wait_for(lambda: slack.ws.dms_to(HELEN), what="the head's page")[0]
    assert "after 60 minutes" in to_head.text and "Robin" not in to_head.text
    slack.click_in_message(HELEN, to_head, OPEN_RECORD_ACTION)
    wait_for(lambda: "Robin Quillfeather" in view_text(shown(slack, HELEN)), what="the record")
    slack.click_in_message(TOM, post, OPEN_RECORD_ACTION)
    assert "only available" in view_text(wait_for(lambda: slack.ws.current_view(TOM), what="refusal").view)
    clock.advance(timedelta(days=1))
    assert bot.escalations.run() == 0


def test_an_urgent_concern_pages_the_team_and_head_on_submission(slack: SlackSimulator) -> None:
    report(slack, AMY, [STEPS[0], {**STEPS[1], "urgency": "urgent"}, *STEPS[2:]])
    for user in (DAN, PRIYA, HELEN):
        page = wait_for(lambda u=user: slack.ws.dms_to(u), what=f"{user}'s page")[0]
        assert page.text.startswith(":rotating_light: Urgent concern OS-2026-0001 (Grooming) needs attention today")
    assert not slack.ws.dms_to(TOM)


def test_escalation_deadlines_survive_a_restart(slack: SlackSimulator, bot: Runtime, sandbox, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                migrated_url: str) -> None:
    report(slack, AMY)
    dsl_post(slack, DSL_CHANNEL)
    bot.stop()  # the bot goes down before the deadline...
    clock.advance(timedelta(minutes=45))
    restarted = Runtime(bot_settings(sandbox, migrated_url), clock=clock, sweeps_every=3600).start(port=0)
    try:  # ...and when it comes back, the overdue rung fires exactly once.
        assert restarted.escalations.run() == 1
        assert restarted.escalations.run() == 0
        wait_for(lambda: slack.ws.dms_to(PRIYA), what="the deputy's page after the restart")
        assert len(slack.ws.dms_to(PRIYA)) == 1
    finally:
        restarted.stop()
