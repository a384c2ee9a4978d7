"""Slack failing while concerns are reported: 5xx, 429 with Retry-After, timeouts, cut and refused connections.

The concern is always recorded first and the reporter told so; every alert (the DSL channel, the DSL team's
pages, the head, the chair, the reporter's receipt) is retried with a backoff capped at five minutes until
Slack takes it, never dropped, and delivered once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, PRIYA, TOM
from bot.sandbox.faults import Fault
from bot.sandbox.webapi import SandboxServer
from flows.clock import ManualClock
from storage.outbox import backoff
from tests.e2e.fault_helpers import CHAIR, rows, references, saying, set_up_school, unsent
from tests.e2e.journey import ADULT_ACCOUNT, STEPS, fill_steps, open_form, view_text
from tests.e2e.yearly_helpers import settle

RECORDED = "The safeguarding team is being notified now."
RECORDED_ABOUT_AN_ADULT = "The person the school's policy names is being notified now."
URGENT_STEPS = [STEPS[0], {"category": "grooming", "urgency": "urgent"}, *STEPS[2:]]
ABOUT_THE_HEAD = [{"subject": "headteacher"}, {"threshold": "harm"}, {"category": "social_networking", "urgency": "urgent"},
                  STEPS[3], {"disclosure": None}, {"why_concerned": ADULT_ACCOUNT, "reporter_position": "IT technician"},
                  {"online_details": "Messages on a personal phone."}]


def _nothing_reached_slack(slack: SlackSimulator) -> bool:
    return slack.ws.messages_in(DSL_CHANNEL) == [] and not any(
        slack.ws.dms_to(user) for user in (AMY, DAN, PRIYA, HELEN, TOM, CHAIR))


def test_while_slack_is_down_every_alert_is_retried_with_backoff_until_it_lands_once(
        bot: Runtime, slack: SlackSimulator, clock: ManualClock, mailbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    set_up_school(bot, slack, tmp_path, chair_in_workspace=True)
    open_form(slack, AMY)
    fill_steps(slack, AMY, URGENT_STEPS)  # an urgent concern about a pupil: the channel, the team and the head
    open_form(slack, TOM)
    fill_steps(slack, TOM, ABOUT_THE_HEAD)  # about the head: the chair alone
    slack.ws.inject(Fault.server_error(502, "bad_gateway"))  # Slack is down: every method, until it recovers

    for user, reference, told in ((AMY, "OS-2026-0001", RECORDED), (TOM, "OS-2026-0002", RECORDED_ABOUT_AN_ADULT)):
        shown = view_text(slack.submit_view(user, {}).json()["view"])
        assert f"Recorded as {reference}." in shown and told in shown  # stored first, and the reporter told
    assert references(bot) == ["OS-2026-0001", "OS-2026-0002"]
    slack_rows = {(r.kind, r.recipient_id) for r in rows(bot) if r.kind != "email"}
    assert slack_rows == {("dsl_alert", None), ("urgent_page", DAN), ("urgent_page", PRIYA), ("urgent_page", HELEN),
                          ("reporter_receipt", AMY), ("case_alert", CHAIR), ("reporter_receipt", TOM)}
    # The listener kicked the outbox at once: every alert has been tried, and has failed.
    wait_for(lambda: all(r.attempts == 1 and r.last_error for r in unsent(bot)) and len(unsent(bot)) == 7,
             timeout=30, what="a first attempt at every alert")
    for attempt in (1, 2, 3):
        # The bot's own sender may be trying a row too (a sweep): wait until every row's try is recorded.
        pending = wait_for(lambda n=attempt: (lambda p: p if len(p) == 7 and {r.attempts for r in p} == {n}
                                              and {r.due_at - clock.now() for r in p} == {backoff(n)} else None
                                              )(unsent(bot)), timeout=30, what=f"try {attempt} of every alert")
        assert {r.due_at - clock.now() for r in pending} == {backoff(attempt)}  # 2s, 4s, 8s: doubling
        assert all("502" in (r.last_error or "") for r in pending)
        assert _nothing_reached_slack(slack)
        clock.advance(backoff(attempt))
        bot.sender.drain_all()
    assert mailbox.box.messages and mailbox.box.messages[0]["To"] == "lado@county-council.example"  # email is not Slack

    slack.ws.clear_faults()  # Slack is back
    clock.advance(backoff(4))
    settle(bot)
    assert unsent(bot) == []
    assert len([m for m in slack.ws.messages_in(DSL_CHANNEL) if "OS-2026-0001" in m.text]) == 1
    assert not [m for m in slack.ws.messages_in(DSL_CHANNEL) if "OS-2026-0002" in m.text]
    for user in (DAN, PRIYA, HELEN):
        assert len(saying(slack, user, "Urgent concern OS-2026-0001")) == 1, user
    assert len(saying(slack, AMY, "Your concern OS-2026-0001 was recorded")) == 1
    assert len(saying(slack, TOM, "Your concern OS-2026-0002 was recorded")) == 1
    assert len(saying(slack, CHAIR, "Concern OS-2026-0002")) == 1
    assert not saying(slack, HELEN, "OS-2026-0002")  # the head never hears of a concern about the head
    assert slack.ws.calls.count(("chat.postMessage", "bad_gateway")) >= 4
    assert slack.ws.calls.count(("conversations.open", "bad_gateway")) >= 4


def _server_error(sandbox: SandboxServer) -> None:  # 503: slack-sdk retries twice itself, then the outbox
    sandbox.workspace.inject(Fault.server_error(503, "service_unavailable"), "chat.postMessage", times=3)


def _rate_limited(sandbox: SandboxServer) -> None:  # 429, Retry-After: 3, past slack-sdk's own two retries
    sandbox.workspace.inject(Fault.rate_limited(retry_after=3), "chat.postMessage", times=3)


def _timeout(sandbox: SandboxServer) -> None:  # no answer: the bot gives up waiting after 10 seconds
    sandbox.workspace.inject(Fault.timeout(hold=20), "chat.postMessage", times=1)


def _cut(sandbox: SandboxServer) -> None:  # the connection reset before any answer, three times
    sandbox.workspace.inject(Fault.refused(), "chat.postMessage", times=3)


FAULTS: dict[str, tuple[Callable[[SandboxServer], None], str, int]] = {
    # name: (inject, what the outbox records, seconds until the next attempt)
    "server error": (_server_error, "Slack answered 503: service_unavailable", 2),
    "rate limited": (_rate_limited, "Slack answered 429: ratelimited", 3),
    "timeout": (_timeout, "timed out", 2),
    "connection cut": (_cut, "Connection", 2),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_kind_of_fault_delays_the_alert_and_never_loses_it(
        fault: str, bot: Runtime, slack: SlackSimulator, sandbox: SandboxServer, clock: ManualClock) -> None:
    inject, error, wait = FAULTS[fault]
    open_form(slack, AMY)
    fill_steps(slack, AMY)
    inject(sandbox)
    shown = view_text(slack.submit_view(AMY, {}).json()["view"])
    assert "Recorded as OS-2026-0001." in shown and RECORDED in shown
    alert = wait_for(lambda: next((r for r in rows(bot) if r.kind == "dsl_alert" and r.last_error), None),
                     timeout=40, what="the DSL alert's first attempt to fail")
    assert error.lower() in (alert.last_error or "").lower() and alert.sent_at is None
    assert alert.due_at - clock.now() == timedelta(seconds=wait)  # the backoff, or Slack's Retry-After if later
    assert slack.ws.messages_in(DSL_CHANNEL) == []
    if wait > 2:  # the backoff alone would try again now: Slack said to wait longer, so it waits
        clock.advance(timedelta(seconds=2))
        bot.sender.drain_all()
        assert slack.ws.messages_in(DSL_CHANNEL) == [] and unsent(bot)[0].attempts == 1
    clock.advance(timedelta(seconds=wait))
    settle(bot)
    assert unsent(bot) == []
    assert len(slack.ws.messages_in(DSL_CHANNEL)) == 1
    assert len(saying(slack, AMY, "Your concern OS-2026-0001 was recorded")) == 1


def test_a_slack_that_refuses_every_connection_delays_both_alerts_and_loses_neither(
        bot: Runtime, slack: SlackSimulator, sandbox: SandboxServer, clock: ManualClock) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY)
    sandbox.offline()  # nothing listens: every connection is refused
    try:
        shown = view_text(slack.submit_view(AMY, {}).json()["view"])
        assert "Recorded as OS-2026-0001." in shown and RECORDED in shown
        wait_for(lambda: len([r for r in unsent(bot) if r.last_error]) == 2, timeout=40,
                 what="both alerts' first attempts to fail")
        assert all("ConnectionRefusedError" in (r.last_error or "") or "refused" in (r.last_error or "").lower()
                   for r in unsent(bot))
    finally:
        sandbox.online()
    clock.advance(backoff(1))
    settle(bot)
    assert unsent(bot) == []
    assert len(slack.ws.messages_in(DSL_CHANNEL)) == 1
    assert len(saying(slack, AMY, "Your concern OS-2026-0001 was recorded")) == 1
