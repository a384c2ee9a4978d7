"""Slack delivering the same thing twice: an event again (X-Slack-Retry-Num), or a person's double click, in
sequence or at the same moment. Each has one effect."""

from __future__ import annotations

import copy
import json
import logging
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.render.aup import SIGN_ACTION
from bot.render.messages import ACKNOWLEDGE_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import API_APP_ID, SlackSimulator, state_values, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, PRIYA, TEAM_ID
from bot.sandbox.workspace import SandboxUser
from flows.clock import ManualClock
from storage.events import events_for
from storage.models import AupRequest, Concern, OutboxMessage, School, StatusChange
from storage.seen_events import SeenEvent
from tests.concurrency import together
from tests.e2e.fault_helpers import saying
from tests.e2e.journey import STEPS, dsl_post, fill_steps, open_form, report
from tests.e2e.yearly_helpers import aup_messages, publish, run_day, settle

LONDON = ZoneInfo("Europe/London")
RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def _listener_errors(bot: Runtime) -> float:
    return bot.metrics.registry.get_sample_value("concernbot_listener_errors_total") or 0.0


def _seen(bot: Runtime) -> list[str]:
    with bot.db.session() as session:
        return sorted(session.scalars(select(SeenEvent.event_id)))


def _joins(slack: SlackSimulator, user_id: str, event_id: str) -> dict:
    user = slack.ws.add_user(SandboxUser(user_id, user_id.lower(), f"New {user_id}", email=f"{user_id}@oakfield.example"))
    return slack.envelope({"type": "team_join", "user": user.as_api(slack.ws.team_id), "event_ts": f"{time.time():.6f}"},
                          event_id)


def test_team_join_delivered_again_asks_the_joiner_once(bot: Runtime, slack: SlackSimulator, clock: ManualClock,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    publish(bot)
    again, racing, late = _joins(slack, "U0NEW1", "EvJOIN00001"), _joins(slack, "U0NEW2", "EvJOIN00002"), \
        _joins(slack, "U0NEW3", "EvJOIN00003")
    with caplog.at_level(logging.INFO, logger="bot.dedupe"):
        assert slack.send_envelope(again).status == 200
        assert slack.send_envelope(again, extra_headers=RETRY).status == 200  # Slack did not hear our answer in time
        replies = together(lambda: slack.send_envelope(racing), lambda: slack.send_envelope(racing, extra_headers=RETRY))
        assert [r.status for r in replies] == [200, 200]
        # A retry of a delivery that never reached us (the network lost it) is handled as the first.
        assert slack.send_envelope(late, extra_headers={"X-Slack-Retry-Num": "2",
                                                        "X-Slack-Retry-Reason": "http_error"}).status == 200
        # Each delivery is claimed after its acknowledgement, by the listener: wait for all four to run.
        wait_for(lambda: _requests(bot) == {"U0NEW1": 1, "U0NEW2": 1, "U0NEW3": 1}, what="one request each")
        wait_for(lambda: sum("delivered again" in m for m in caplog.messages) == 2, what="both repeats seen")
    assert "event EvJOIN00001 was delivered again (retry 1, http_timeout): it is handled already, so it is " \
           "acknowledged and ignored" in caplog.messages
    assert "Slack retried event EvJOIN00003 (retry 2, http_error) that never reached us: handling it now" \
           in caplog.messages
    assert _seen(bot) == ["EvJOIN00001", "EvJOIN00002", "EvJOIN00003"]
    run_day(bot, clock, datetime(2026, 11, 25, 8, 0, tzinfo=LONDON))  # their first school day
    assert [len(aup_messages(slack, u)) for u in ("U0NEW1", "U0NEW2", "U0NEW3")] == [1, 1, 1]
    assert _listener_errors(bot) == 0  # the racing pair never ran the listener twice


def _requests(bot: Runtime) -> dict[str, int]:
    with bot.db.session() as session:
        return dict(session.execute(select(AupRequest.user_id, func.count()).where(
            AupRequest.user_id.like("U0NEW%")).group_by(AupRequest.user_id)).all())


def test_app_uninstalled_delivered_twice_is_handled_once(bot: Runtime, slack: SlackSimulator, clock: ManualClock,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    envelope = slack.envelope({"type": "app_uninstalled"}, "EvGONE00001")
    slack.sandbox.uninstall(TEAM_ID)
    with caplog.at_level(logging.INFO):
        assert slack.send_envelope(envelope).status == 200
        removed_at = wait_for(lambda: _uninstalled_at(bot), what="the school to be marked removed")
        clock.advance(timedelta(minutes=5))
        assert slack.send_envelope(envelope, extra_headers={"X-Slack-Retry-Num": "3",
                                                            "X-Slack-Retry-Reason": "http_timeout"}).status == 200
        wait_for(lambda: any("EvGONE00001 was delivered again (retry 3" in m for m in caplog.messages),
                 what="the second delivery to be recognised")
    assert _uninstalled_at(bot) == removed_at
    assert len([m for m in caplog.messages if m.startswith("concernbot was removed from workspace")]) == 1
    assert _seen(bot) == ["EvGONE00001"] and _listener_errors(bot) == 0


def _uninstalled_at(bot: Runtime) -> datetime | None:
    with bot.db.session() as session:
        return session.get_one(School, TEAM_ID).uninstalled_at


def test_seen_event_ids_are_pruned_by_the_sweep_after_a_day(bot: Runtime, slack: SlackSimulator,
                                                            clock: ManualClock) -> None:
    assert slack.event({"type": "app_home_opened", "user": DAN, "tab": "home"}, event_id="EvHOME00001").status == 200
    clock.advance(timedelta(hours=12))
    assert slack.event({"type": "app_home_opened", "user": DAN, "tab": "home"}, event_id="EvHOME00002").status == 200
    assert _seen(bot) == ["EvHOME00001", "EvHOME00002"]
    clock.advance(timedelta(hours=13))
    bot.school_day.run()
    assert _seen(bot) == ["EvHOME00002"]


# -- buttons: each is idempotent, pressed twice in sequence or at the same moment ---------------------------

def test_acknowledge_pressed_twice_at_once_and_again_later_acknowledges_once(bot: Runtime, slack: SlackSimulator,
                                                                             clock: ManualClock) -> None:
    report(slack, AMY)
    post = dsl_post(slack, DSL_CHANNEL)
    stale = copy.deepcopy(post)  # what Dan's screen still shows
    together(lambda: slack.click_in_message(DAN, copy.deepcopy(stale), ACKNOWLEDGE_ACTION),
             lambda: slack.click_in_message(DAN, copy.deepcopy(stale), ACKNOWLEDGE_ACTION))
    wait_for(lambda: any(u == DAN and "already acknowledged" in t for u, t in slack.ws.ephemeral),
             what="the second press to be told")
    clock.advance(timedelta(minutes=1))
    slack.click_in_message(DAN, stale, ACKNOWLEDGE_ACTION)  # and once more, a minute later
    slack.click_in_message(PRIYA, stale, ACKNOWLEDGE_ACTION)
    wait_for(lambda: len([t for _, t in slack.ws.ephemeral if "already acknowledged" in t]) == 3, what="the notices")
    settle(bot)
    with bot.db.session() as session:
        concern = session.scalars(select(Concern)).one()
        assert list(session.scalars(select(StatusChange.to_status))) == ["new", "acknowledged"]
        assert concern.acknowledged_by == DAN
        assert [e.kind for e in events_for(session, TEAM_ID, concern.id)].count("acknowledged") == 1
    assert post.edits == 1
    assert len(saying(slack, AMY, "OS-2026-0001")) == 2  # the receipt, and one "picked up"


def test_i_agree_pressed_twice_at_once_signs_once(bot: Runtime, slack: SlackSimulator, clock: ManualClock) -> None:
    publish(bot)
    request = aup_messages(slack, AMY)[0]
    screens = [copy.deepcopy(request), copy.deepcopy(request)]
    together(*(lambda s=s: slack.click_in_message(AMY, s, SIGN_ACTION) for s in screens))
    wait_for(lambda: request.edits >= 1, what="the receipt")
    with bot.db.session() as session:
        signed = session.scalars(select(AupRequest).where(AupRequest.user_id == AMY)).one()
        first = signed.signed_at
        assert first == clock.now() and signed.signed_hash
    clock.advance(timedelta(minutes=3))
    slack.click_in_message(AMY, screens[0], SIGN_ACTION)
    wait_for(lambda: request.edits >= 2, what="the receipt again")
    with bot.db.session() as session:
        assert [r.signed_at for r in session.scalars(select(AupRequest).where(AupRequest.user_id == AMY))] == [first]
    assert request.text.startswith("You signed the Staff Acceptable Use Policy, version 2026-11, on 24 Nov 2026, 10:00")


def _submission(slack: SlackSimulator, user: str, screen: dict, answers: dict) -> dict:
    view = {**screen, "state": {"values": state_values(screen, answers)}}
    return {"type": "view_submission", "team": {"id": slack.ws.team_id}, "user": {"id": user},
            "api_app_id": API_APP_ID, "trigger_id": slack.ws.issue_trigger(user), "view": view}


def _immediate_pages(bot: Runtime) -> dict[str, int]:
    with bot.db.session() as session:
        return dict(session.execute(select(OutboxMessage.recipient_id, func.count()).where(
            OutboxMessage.kind == "immediate_page").group_by(OutboxMessage.recipient_id)).all())


def test_a_form_step_submitted_twice_at_once_and_again_pages_once(bot: Runtime, slack: SlackSimulator) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:1])
    screen = json.loads(json.dumps(slack.ws.current_view(AMY).view))  # the "concern" step, as Amy sees it
    immediate = {"category": "grooming", "urgency": "immediate"}
    replies = together(*(lambda: slack.post_payload(_submission(slack, AMY, screen, immediate)).json()
                         for _ in range(2)))
    assert any(r.get("response_action") == "update" for r in replies), replies
    again = slack.post_payload(_submission(slack, AMY, screen, immediate)).json()  # a third press, later
    assert again.get("response_action") == "update", again
    assert _immediate_pages(bot) == {DAN: 1, PRIYA: 1, HELEN: 1}
    settle(bot)
    for user in (DAN, PRIYA, HELEN):
        assert len(saying(slack, user, "Immediate risk of harm")) == 1, user
    with bot.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 0  # nothing submitted twice, or at all
