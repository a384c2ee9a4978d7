"""Policy review reminders and *Mark reviewed*, and the governors' termly report, through the sandbox."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.demo import demo_school_file
from bot.render.reviews import GOVERNORS_REPORT_ACTION, REVIEW_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, HELEN, OWEN, PRIYA, TEAM_ID, TOM
from bot.school_setup import apply_school_file
from flows.clock import ManualClock
from storage.models import Policy, PolicyReview
from tests.e2e.journey import CHILD, STEPS, dsl_post, report, view_text
from tests.e2e.yearly_helpers import dms_saying, publish, run_day

LONDON = ZoneInfo("Europe/London")
ONLINE_SAFETY = "Online Safety Policy"  # the demo school's: owner Helen, annual, next review 1 July 2027


def _reminders(slack: SlackSimulator, user: str) -> list[str]:
    return [m.text for m in dms_saying(slack, user, f"the {ONLINE_SAFETY} is due for review")]


def test_the_owner_and_the_governor_are_reminded_at_each_offset_and_weekly_when_overdue(
        bot: Runtime, slack: SlackSimulator, clock: ManualClock) -> None:
    days = [(2027, 5, 31), (2027, 6, 1), (2027, 6, 2), (2027, 6, 24), (2027, 6, 25), (2027, 7, 1), (2027, 7, 2),
            (2027, 7, 8), (2027, 7, 12), (2027, 7, 15), (2027, 7, 22)]
    for y, m, d in days:
        run_day(bot, clock, datetime(y, m, d, 8, 0, tzinfo=LONDON))
        run_day(bot, clock, datetime(y, m, d, 13, 0, tzinfo=LONDON))  # the same day twice: once only
    expected = ["in 30 days", "in 7 days", "today", "1 week overdue", "2 weeks overdue", "3 weeks overdue"]
    for user in (HELEN, OWEN):
        assert [t.split("due for review ")[1].split(" (")[0] for t in _reminders(slack, user)] == expected
    assert _reminders(slack, DAN) == [] and _reminders(slack, TOM) == []


def test_mark_reviewed_records_who_and_when_and_sets_the_next_date(bot: Runtime, slack: SlackSimulator,
                                                                   clock: ManualClock) -> None:
    run_day(bot, clock, datetime(2027, 7, 8, 8, 0, tzinfo=LONDON))  # a week overdue
    reminder = dms_saying(slack, HELEN, f"the {ONLINE_SAFETY} is due for review")[0]
    slack.click_in_message(TOM, reminder, REVIEW_ACTION)  # not the owner, the head or the governor
    wait_for(lambda: any("Only the policy's owner" in t for u, t in slack.ws.ephemeral if u == TOM), what="refusal")
    slack.click_in_message(HELEN, reminder, REVIEW_ACTION)
    helen_form = wait_for(lambda: slack.ws.current_view(HELEN), what="the review form").id
    slack.click_in_message(OWEN, dms_saying(slack, OWEN, "is due for review")[0], REVIEW_ACTION)  # at the same time
    owen_form = wait_for(lambda: slack.ws.current_view(OWEN), what="Owen's form").id
    errors = slack.submit_view(HELEN, {"reviewed_on": "2027-07-09"}).json()  # tomorrow
    assert errors == {"response_action": "errors", "errors": {"reviewed_on": "The date can't be in the future."}}
    done = slack.submit_view(HELEN, {"reviewed_on": "2027-07-06", "note": "Approved by the full governing body."},
                             view_id=helen_form)
    assert "next review is due 6 Jul 2028" in view_text(done.json()["view"])
    late = slack.submit_view(OWEN, {"reviewed_on": "2027-07-07"}, view_id=owen_form).json()
    assert "Someone else marked it reviewed first" in view_text(late["view"])
    assert "next review is due 6 Jul 2028" in view_text(late["view"])
    with bot.db.session() as session:
        policy = session.scalars(select(Policy).where(Policy.key == "online-safety")).one()
        review = session.scalars(select(PolicyReview)).one()
    assert (policy.next_review, policy.last_reviewed_by) == (date(2028, 7, 6), HELEN)
    assert (review.reviewed_on, review.reviewed_by, review.note) == \
        (date(2027, 7, 6), HELEN, "Approved by the full governing body.")
    slack.ws.views[owen_form].closed = True
    slack.click_in_message(OWEN, dms_saying(slack, OWEN, "is due for review")[0], REVIEW_ACTION)  # pressed later
    told = wait_for(lambda: slack.ws.current_view(OWEN), what="Owen told it was done")
    assert told.id != owen_form and "reviewed on 6 Jul 2027" in view_text(told.view)
    apply_school_file(bot.client, TEAM_ID, bot.db, demo_school_file(), clock.now())  # set-up run again
    with bot.db.session() as session:
        assert session.scalars(select(Policy.next_review).where(Policy.key == "online-safety")).one() == date(2028, 7, 6)
    run_day(bot, clock, datetime(2027, 7, 15, 8, 0, tzinfo=LONDON))
    assert len(_reminders(slack, HELEN)) == 1  # reviewed: no more reminders


def test_the_termly_report_goes_to_the_governor_and_head_with_no_names(bot: Runtime, slack: SlackSimulator,
                                                                      clock: ManualClock) -> None:
    report(slack, AMY)
    dsl_post(slack, "C0DSLTEAM")
    publish(bot)
    run_day(bot, clock, datetime(2026, 12, 9, 8, 0, tzinfo=LONDON))
    assert dms_saying(slack, OWEN, "monitoring report") == []
    run_day(bot, clock, datetime(2026, 12, 10, 8, 0, tzinfo=LONDON))
    run_day(bot, clock, datetime(2026, 12, 11, 8, 0, tzinfo=LONDON))
    for user in (OWEN, HELEN):
        [message] = dms_saying(slack, user, "monitoring report")
        assert message.text.startswith("Online safety monitoring report for Oakfield Primary School, autumn term "
                                       "2026 (15 Jul to 9 Dec 2026): 1 concerns.")
        shown = message.text + repr(message.blocks)
        assert "Grooming: 1" in shown and "2026-11: 1" in shown and "0 of 6 (0%)" in shown
        assert CHILD not in shown and "OS-2026" not in shown and "Shadowfox" not in shown
        assert all(answer not in shown for step in STEPS for answer in step.values() if len(answer) > 12)
    for user in (AMY, DAN, PRIYA, TOM):
        assert dms_saying(slack, user, "monitoring report") == []


def test_the_report_on_demand_from_app_home(bot: Runtime, slack: SlackSimulator) -> None:
    report(slack, AMY)
    for user in (OWEN, TOM):
        assert slack.event({"type": "app_home_opened", "user": user, "tab": "home"}).status == 200
    wait_for(lambda: OWEN in slack.ws.home and TOM in slack.ws.home, what="both homes")
    assert "Governors' report" in repr(slack.ws.home[OWEN]) and "Governors' report" not in repr(slack.ws.home[TOM])
    slack.click_in_home(OWEN, GOVERNORS_REPORT_ACTION)
    opened = wait_for(lambda: slack.ws.current_view(OWEN), what="the report")
    assert "Concerns recorded" in view_text(opened.view) and CHILD not in repr(opened.view)
    assert "Concerns about adults" in view_text(opened.view)
    assert slack.event({"type": "app_home_opened", "user": DAN, "tab": "home"}).status == 200
    wait_for(lambda: DAN in slack.ws.home, what="Dan's home")
    slack.click_in_home(DAN, GOVERNORS_REPORT_ACTION)  # the DSL: no count of concerns about adults at all
    dans = wait_for(lambda: slack.ws.current_view(DAN), what="Dan's report")
    assert "Concerns recorded" in view_text(dans.view) and "about adults" not in view_text(dans.view)
