"""The school day with a controlled clock: afternoon nudges for unsent drafts, the end-of-day notice to
the DSL team, nothing at weekends, and assignees' morning reminders."""

from datetime import datetime, timedelta

from bot.render.messages import ACKNOWLEDGE_ACTION, ASSIGN_ACTION, HOME_REPORT_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, PRIYA
from flows.clock import ManualClock
from tests.conftest import LONDON
from tests.e2e.journey import CHILD, STEPS, dsl_post, fill_steps, open_form, report, view_text, shown


def _at(clock: ManualClock, hour: int, minute: int = 0, day: int = 24) -> None:
    clock.set(datetime(2026, 11, day, hour, minute, tzinfo=LONDON))


def test_an_unsent_draft_is_nudged_then_the_dsl_team_is_told(slack: SlackSimulator, bot: Runtime,
                                                             clock: ManualClock) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:3])
    slack.close_view(AMY)
    _at(clock, 15, 29)
    assert bot.school_day.run() == 0
    _at(clock, 15, 30)
    assert bot.school_day.run() == 1
    nudge = wait_for(lambda: slack.ws.dms_to(AMY), what="Amy's nudge")[0]
    assert "You started a report at 10:00 today that hasn't been sent yet" in nudge.text
    assert bot.school_day.run() == 0  # once a day
    slack.click_in_message(AMY, nudge, HOME_REPORT_ACTION)
    resume = wait_for(lambda: slack.ws.current_view(AMY), what="the resume offer").view
    assert "hasn't been sent yet" in view_text(resume)
    slack.close_view(AMY)

    _at(clock, 17, 0)
    assert bot.school_day.run() == 1
    notice = wait_for(lambda: slack.ws.messages_in(DSL_CHANNEL), what="the end-of-day notice")[0]
    assert notice.text == ("An unsent report: <@U0AMY> started one at 10:00 (category: Grooming) and has not sent "
                           "it by the end of the school day. It may be worth a word.")
    assert CHILD not in slack.ws.all_visible_text()
    assert bot.school_day.run() == 0


def test_a_sent_report_is_not_nudged_and_weekends_are_quiet(slack: SlackSimulator, bot: Runtime,
                                                           clock: ManualClock) -> None:
    report(slack, AMY)
    dsl_post(slack, DSL_CHANNEL)
    _at(clock, 17, 30)
    assert bot.school_day.run() == 0
    _at(clock, 10, 0, day=28)  # a Saturday
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:1])
    _at(clock, 17, 30, day=28)
    assert bot.school_day.run() == 0


def test_assignees_are_reminded_each_school_morning(slack: SlackSimulator, bot: Runtime, clock: ManualClock) -> None:
    report(slack, AMY)
    post = dsl_post(slack, DSL_CHANNEL)
    slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: ASSIGN_ACTION in repr(post.blocks), what="the Assign button")
    slack.click_in_message(DAN, post, ASSIGN_ACTION)
    wait_for(lambda: "Assign" in repr(shown(slack, DAN)), what="the assign form")
    slack.submit_view(DAN, {"assignee": PRIYA})
    wait_for(lambda: slack.ws.dms_to(PRIYA), what="the assignment notice")
    _at(clock, 7, 59, day=25)
    assert bot.school_day.run() == 0
    clock.advance(timedelta(minutes=1))
    assert bot.school_day.run() == 1
    morning = wait_for(lambda: slack.ws.dms_to(PRIYA)[1:], what="Priya's morning reminder")[0]
    assert morning.text == "Good morning. You are looking after 1 open concern: OS-2026-0001 · Grooming · Acknowledged."
    assert bot.school_day.run() == 0


def test_an_unsent_report_about_a_dsl_is_mentioned_only_to_the_head(slack: SlackSimulator, bot: Runtime,
                                                                    clock: ManualClock) -> None:
    from bot.sandbox.demo_workspace import HELEN
    open_form(slack, AMY)
    fill_steps(slack, AMY, [{"subject": "staff"}, {"adult_user": DAN, "threshold": "low_level"}])
    slack.close_view(AMY)
    _at(clock, 17, 0)
    assert bot.school_day.run() == 2  # Amy's nudge, and the notice
    notice = wait_for(lambda: [m for m in slack.ws.dms_to(HELEN) if "An unsent report" in m.text], what="head told")
    assert notice and slack.ws.messages_in(DSL_CHANNEL) == [] and not slack.ws.dms_to(DAN)
