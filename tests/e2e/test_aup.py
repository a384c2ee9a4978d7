"""The staff AUP, end to end through the sandbox: a new version, signing, reminders, joiners, the annual round."""

from __future__ import annotations

import copy

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.render.aup import READ_ACTION, SHOW_UNSIGNED_ACTION, SIGN_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, HELEN, TOM
from bot.sandbox.workspace import SandboxUser
from flows.aup import AupDocument
from flows.clock import ManualClock
from storage.models import AupRequest, AupVersion
from tests.e2e.journey import view_text, shown
from tests.e2e.yearly_helpers import AUP, STAFF, aup_messages, dms_saying, publish, run_day, settle, unsent

LONDON = ZoneInfo("Europe/London")


def _signatures(bot: Runtime) -> dict[str, tuple[datetime | None, str | None]]:
    with bot.db.session() as session:
        return {r.user_id: (r.signed_at, r.signed_hash) for r in session.scalars(
            select(AupRequest).where(AupRequest.superseded_at.is_(None)))}


def test_a_new_version_asks_everyone_once_and_signing_records_who_which_and_when(
        bot: Runtime, slack: SlackSimulator, clock: ManualClock) -> None:
    assert publish(bot) == ["AUP version 2026-11 is in force: 6 members of staff will be asked to sign it"]
    assert {user: len(aup_messages(slack, user)) for user in STAFF} == {user: 1 for user in STAFF}
    request = aup_messages(slack, AMY)[0]
    assert "A new rule about reporting." in repr(request.blocks) and "version 2026-11" in request.text
    assert dms_saying(slack, HELEN, "has started: 6 members of staff")
    wait_for(lambda: dms_saying(slack, HELEN, "All 6 members of staff have now been sent"), what="the round's end")
    assert publish(bot) == []  # the same words again: nothing new to sign, nobody asked twice
    assert sum(len(aup_messages(slack, u)) for u in STAFF) == 6

    slack.click_in_message(TOM, request, SIGN_ACTION)  # Tom presses Amy's button: not his to sign
    wait_for(lambda: any("for someone else" in t for u, t in slack.ws.ephemeral if u == TOM), what="Tom's refusal")
    clock.advance(timedelta(minutes=5))
    as_first_shown = copy.deepcopy(request)  # Slack may deliver a second click made before the update landed
    slack.click_in_message(AMY, request, SIGN_ACTION)
    wait_for(lambda: request.edits == 1, what="the receipt")
    assert request.text.startswith("You signed the Staff Acceptable Use Policy, version 2026-11, on 24 Nov 2026, 10:05")
    signed_at, signed_hash = _signatures(bot)[AMY]
    assert signed_at == clock.now() and signed_hash == AUP.content_hash
    clock.advance(timedelta(minutes=5))
    slack.click_in_message(AMY, as_first_shown, SIGN_ACTION)  # a double click: one signature, the first stands
    wait_for(lambda: request.edits == 2, what="the receipt again")
    assert _signatures(bot)[AMY][0] == signed_at and "10:05" in request.text
    assert _signatures(bot)[TOM] == (None, None)


def test_reading_the_text_and_signing_from_the_modal(bot: Runtime, slack: SlackSimulator) -> None:
    publish(bot)
    slack.click_in_message(DAN, aup_messages(slack, DAN)[0], READ_ACTION)
    opened = wait_for(lambda: slack.ws.current_view(DAN), what="the AUP's text")
    assert "I report concerns the same day" in view_text(opened.view)
    slack.click_in_view(DAN, SIGN_ACTION)
    wait_for(lambda: "You signed *version 2026-11*" in view_text(shown(slack, DAN)), what="the status")
    assert _signatures(bot)[DAN][1] == AUP.content_hash


def test_a_changed_text_replaces_unsigned_requests_and_asks_again(bot: Runtime, slack: SlackSimulator,
                                                                   clock: ManualClock) -> None:
    publish(bot)
    first = aup_messages(slack, TOM)[0]
    clock.advance(timedelta(days=1))
    publish(bot, AupDocument(version="2026-12", url="https://oakfield.example/aup-2026-12.pdf"))
    assert [len(aup_messages(slack, u)) for u in STAFF] == [2] * 6
    slack.click_in_message(TOM, first, SIGN_ACTION)  # the old version's button
    wait_for(lambda: any("replaced by a newer one" in t for u, t in slack.ws.ephemeral if u == TOM),
             what="Tom told to sign the newer one")
    assert _signatures(bot)[TOM] == (None, None)
    link = aup_messages(slack, TOM)[1].blocks[-2]["elements"][0]
    assert link["url"] == "https://oakfield.example/aup-2026-12.pdf"


def test_weekly_reminders_stop_once_signed_and_at_the_limit(bot: Runtime, slack: SlackSimulator,
                                                            clock: ManualClock) -> None:
    publish(bot)  # Tuesday 24 November 2026
    slack.click_in_message(AMY, aup_messages(slack, AMY)[0], SIGN_ACTION)
    wait_for(lambda: _signatures(bot)[AMY][0] is not None, what="Amy's signature")
    assert run_day(bot, clock, datetime(2026, 11, 30, 8, 0, tzinfo=LONDON)) == 0  # six days on: not yet
    queued = run_day(bot, clock, datetime(2026, 12, 1, 8, 0, tzinfo=LONDON))
    assert queued == 5 + 1  # five reminders, and the head's weekly list
    assert [len(aup_messages(slack, u)) for u in STAFF] == [1, 2, 2, 2, 2, 2]  # Amy signed: not reminded
    assert "reminder (1 of 4)" in aup_messages(slack, TOM)[1].text
    assert run_day(bot, clock, datetime(2026, 12, 1, 14, 0, tzinfo=LONDON)) == 0  # the same day again: nothing
    slack.click_in_message(TOM, aup_messages(slack, TOM)[1], SIGN_ACTION)  # from the reminder
    wait_for(lambda: _signatures(bot)[TOM][0] is not None, what="Tom's signature")
    day = datetime(2026, 12, 2, 8, 0, tzinfo=LONDON)
    while day < datetime(2027, 2, 1, tzinfo=LONDON):
        run_day(bot, clock, day)
        day += timedelta(days=1)
    assert [len(aup_messages(slack, u)) for u in STAFF] == [1, 5, 5, 5, 5, 2]  # 1 request + at most 4 reminders
    weekly = dms_saying(slack, HELEN, "AUP signing this week")
    assert weekly[0].text.startswith("AUP signing this week: 5 of 6")
    assert weekly[-1].text.startswith("AUP signing this week: 4 of 6")
    assert all(m.ts for m in weekly) and len(weekly) == len({m.text + m.ts for m in weekly})
    assert unsent(bot) == 0


def test_only_the_dsl_team_and_the_head_see_who_has_not_signed(bot: Runtime, slack: SlackSimulator,
                                                               clock: ManualClock) -> None:
    publish(bot)
    run_day(bot, clock, datetime(2026, 12, 1, 8, 0, tzinfo=LONDON))
    slack.click_in_message(HELEN, dms_saying(slack, HELEN, "AUP signing this week")[0], SHOW_UNSIGNED_ACTION)
    opened = wait_for(lambda: slack.ws.current_view(HELEN), what="the list")
    listing = view_text(opened.view)
    assert "6 not yet signed" in listing and f"<@{TOM}>" in listing
    assert slack.slash_command(TOM, "/aup").status == 200
    tom = wait_for(lambda: slack.ws.current_view(TOM), what="Tom's status")
    assert "You have not yet signed" in view_text(tom.view) and "whole staff" not in view_text(tom.view)
    assert slack.slash_command(DAN, "/aup").status == 200
    dan = wait_for(lambda: slack.ws.current_view(DAN), what="Dan's status")
    assert "0 of 6 have signed" in view_text(dan.view)


def test_a_new_member_is_asked_on_their_first_school_day_and_guests_and_bots_are_not(
        bot: Runtime, slack: SlackSimulator, clock: ManualClock) -> None:
    publish(bot)
    clock.set(datetime(2026, 11, 28, 11, 0, tzinfo=LONDON))  # a Saturday
    ws = slack.ws
    for user in (SandboxUser("U0NEW", "nia.patel", "Nia Patel", email="nia.patel@oakfield.example"),
                 SandboxUser("U0GUEST", "visitor", "Sam Visitor", is_restricted=True),
                 SandboxUser("U0APP", "helper-bot", "Helper", is_bot=True)):
        ws.add_user(user)
        assert slack.team_join(user.id).status == 200
    assert slack.team_join("U0NEW", event_id="Ev-retry").status == 200  # Slack retries the event
    wait_for(lambda: unsent(bot) == 1, what="the joiner's request to be queued")
    settle(bot)
    assert aup_messages(slack, "U0NEW") == []  # not at the weekend
    run_day(bot, clock, datetime(2026, 11, 30, 8, 0, tzinfo=LONDON))
    [welcome] = aup_messages(slack, "U0NEW")
    assert "Welcome" in repr(welcome.blocks)
    assert aup_messages(slack, "U0GUEST") == [] and aup_messages(slack, "U0APP") == []


def test_the_annual_round_starts_on_the_first_school_day_of_september(bot: Runtime, slack: SlackSimulator,
                                                                      clock: ManualClock) -> None:
    publish(bot)
    for user in STAFF[:3]:
        slack.click_in_message(user, aup_messages(slack, user)[0], SIGN_ACTION)
    wait_for(lambda: sum(1 for s, _ in _signatures(bot).values() if s) == 3, what="three signatures")
    def asked() -> list[int]:
        return [len(aup_messages(slack, u)) for u in STAFF]

    run_day(bot, clock, datetime(2027, 8, 31, 9, 0, tzinfo=LONDON))  # the last day of the old school year
    assert asked() == [1, 1, 1, 2, 2, 2]  # the three who had not signed get a first reminder; no round yet
    run_day(bot, clock, datetime(2027, 9, 1, 7, 30, tzinfo=LONDON))  # before school opens
    assert asked() == [1, 1, 1, 2, 2, 2]
    run_day(bot, clock, datetime(2027, 9, 1, 8, 0, tzinfo=LONDON))
    assert asked() == [2, 2, 2, 3, 3, 3]
    assert "start of each school year" in repr(aup_messages(slack, AMY)[-1].blocks)
    run_day(bot, clock, datetime(2027, 9, 2, 8, 0, tzinfo=LONDON))  # once a year
    assert asked() == [2, 2, 2, 3, 3, 3]
    assert sum(1 for s, _ in _signatures(bot).values() if s) == 0  # everyone signs again this year
    with bot.db.session() as session:
        assert session.scalar(select(AupVersion.version)) == "2026-11"
