"""The AUP's awkward cases: set-up run again, a joiner while a round is planned, signing before the message
arrives, leavers, reminders held to school hours, and two senders sharing a slow round."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select

from bot.slack_client import web_client
from bot.workspaces import OneWorkspace
from bot.demo import demo_school_file
from bot.outbox_sender import OutboxSender
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, HELEN, TEAM_ID, TOM, demo_workspace
from bot.sandbox.webapi import SandboxServer
from bot.school_setup import apply_school_file
from flows.aup import AupDocument, Reason
from flows.clock import ManualClock, SystemClock
from storage import aup
from storage.db import Database
from storage.models import AupRequest, AupVersion, OutboxMessage, Policy, School
from storage.policies import mark_reviewed
from tests.e2e.yearly_helpers import (
    AUP,
    STAFF,
    aup_messages,
    dms_saying,
    publish,
    run_day,
    settle,
)

LONDON = ZoneInfo("Europe/London")


def test_running_setup_again_does_not_undo_a_version_published_since(bot: Runtime, slack: SlackSimulator,
                                                                     clock: ManualClock, tmp_path) -> None:
    school = yaml.safe_load(demo_school_file().read_text())
    school["aup"] = {"document": {"version": "2026-09", "url": "https://oakfield.example/aup-2026-09.pdf"}}
    path = tmp_path / "school.yml"
    path.write_text(yaml.safe_dump(school))
    assert "AUP version 2026-09 is in force: 6 members of staff will be asked to sign it" in \
        apply_school_file(bot.client, TEAM_ID, bot.db, path, clock.now())
    settle(bot)
    publish(bot)  # 2026-11, published from the command line
    assert apply_school_file(bot.client, TEAM_ID, bot.db, path, clock.now()) == []  # the DSL's edits, say
    settle(bot)
    with bot.db.session() as session:
        assert aup.current_version(session, TEAM_ID).version == "2026-11"
    assert [len(aup_messages(slack, u)) for u in STAFF] == [2] * 6


def test_someone_who_joins_while_a_round_is_planned_is_asked_in_it(bot: Runtime, clock: ManualClock) -> None:
    publish(bot)
    listed_at = clock.now()  # the staff list is fetched: the joiner is not on it
    clock.advance(timedelta(seconds=1))
    with bot.db.session() as session:
        school = session.get_one(School, TEAM_ID)
        assert aup.ask_joiner(session, school, "U0NEW", clock.now(), clock.now())
        assert not aup.ask_joiner(session, school, AMY, clock.now(), clock.now())  # already asked for this version
    with bot.db.session() as session:
        school = session.get_one(School, TEAM_ID)
        version, _ = aup.add_version(session, TEAM_ID, AupDocument(version="2026-12", text="New words."), None,
                                     clock.now())
        campaign = aup.start_round(session, school, Reason.NEW_VERSION, "version:test", version, list(STAFF),
                                   listed_at, clock.now(), clock.now(), None)
        assert campaign.recipients == 7
        mine = session.scalars(select(AupRequest).where(AupRequest.user_id == "U0NEW",
                                                        AupRequest.superseded_at.is_(None))).one()
        assert mine.version_id == version.id


def test_a_round_finishes_when_someone_signs_before_their_message_goes(bot: Runtime, slack: SlackSimulator,
                                                                      clock: ManualClock) -> None:
    clock.set(datetime(2026, 11, 27, 18, 0, tzinfo=LONDON))  # Friday evening: the round goes on Monday
    publish(bot)
    assert aup_messages(slack, AMY) == []
    assert slack.slash_command(AMY, "/aup").status == 200  # Amy signs from /aup over the weekend
    opened = wait_for(lambda: slack.ws.current_view(AMY), what="Amy's status")
    slack.click_in_view(AMY, "aup_sign", view_id=opened.id)
    wait_for(lambda: _signed(bot, AMY), what="Amy's signature")
    run_day(bot, clock, datetime(2026, 11, 30, 8, 0, tzinfo=LONDON))
    assert aup_messages(slack, AMY) == [] and len(aup_messages(slack, TOM)) == 1
    assert dms_saying(slack, HELEN, "All 6 members of staff have now been sent")
    run_day(bot, clock, datetime(2026, 12, 4, 8, 0, tzinfo=LONDON))  # Friday: not a week since Monday
    assert len(aup_messages(slack, TOM)) == 1
    run_day(bot, clock, datetime(2026, 12, 7, 8, 0, tzinfo=LONDON))
    assert len(aup_messages(slack, TOM)) == 2


def _signed(bot: Runtime, user: str) -> bool:
    with bot.db.session() as session:
        return session.scalar(select(AupRequest.signed_at).where(AupRequest.user_id == user,
                                                                 AupRequest.superseded_at.is_(None))) is not None


def test_someone_who_has_left_is_not_counted_as_unsigned(bot: Runtime, slack: SlackSimulator,
                                                         clock: ManualClock) -> None:
    publish(bot)
    slack.ws.users[TOM].deleted = True
    run_day(bot, clock, datetime(2027, 9, 1, 8, 0, tzinfo=LONDON))  # the annual round: Tom is not on the list
    with bot.db.session() as session:
        assert aup.signing_rate(session, TEAM_ID) == (0, 5)
        assert TOM not in {s.user_id for s in aup.staff_status(session, TEAM_ID)}


def test_a_reminder_is_held_to_school_hours(bot: Runtime, slack: SlackSimulator, clock: ManualClock) -> None:
    publish(bot)
    clock.set(datetime(2026, 12, 1, 16, 59, tzinfo=LONDON))
    assert bot.yearly.run_school(TEAM_ID) > 0  # queued a minute before the end of the day
    clock.set(datetime(2026, 12, 1, 17, 1, tzinfo=LONDON))  # the outbox reaches them after it (a backlog)
    settle(bot)
    assert [len(aup_messages(slack, u)) for u in STAFF] == [1] * 6
    with bot.db.session() as session:
        held = list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "aup_reminder")))
    assert {r.due_at for r in held} == {datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)} and \
        {r.attempts for r in held} == {0}
    run_day(bot, clock, datetime(2026, 12, 2, 8, 0, tzinfo=LONDON))
    assert [len(aup_messages(slack, u)) for u in STAFF] == [2] * 6


def test_two_senders_sharing_a_slow_round_send_each_message_once(db: Database) -> None:
    """Each claims a batch of 20, and a batch takes longer than the lease: the other sender takes over the
    rows not yet sent, and the first, renewing its lease before each message, leaves them alone."""
    ws = demo_workspace()
    ws.add_staff(54)
    sandbox = SandboxServer(ws).start()
    try:
        client = web_client(ws.bot_token, sandbox.api_url)
        clock = SystemClock()
        apply_school_file(client, TEAM_ID, db, demo_school_file(), clock.now())
        with db.session() as session:
            version, _ = aup.add_version(session, TEAM_ID, AUP, None, clock.now())
            roster = [u.id for u in ws.users.values() if not u.is_bot]
            aup.start_round(session, session.get_one(School, TEAM_ID), Reason.NEW_VERSION, "version:slow", version,
                            roster, clock.now(), clock.now(), clock.now(), None)
        ws.delays["chat.postMessage"] = 0.05  # a batch of 20 takes a second: twice the lease
        workspaces = OneWorkspace.connect(ws.bot_token, sandbox.api_url)
        senders = [OutboxSender(db, clock, workspaces, "Europe/London", lease=timedelta(seconds=0.5))
                   for _ in range(2)]
        threads = [threading.Thread(target=lambda s=s: [s.drain_all() for _ in range(30)]) for s in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        sent = [ws.channels[m.channel].im_user for m in ws.messages if (m.metadata or {}).get("event_type")]
        assert sorted(sent) == sorted(roster)  # everyone, once
    finally:
        sandbox.stop()


def test_an_old_policy_reminder_is_not_sent_once_the_review_is_marked(bot: Runtime, slack: SlackSimulator,
                                                                     clock: ManualClock) -> None:
    clock.set(datetime(2027, 6, 1, 16, 59, tzinfo=LONDON))
    assert bot.yearly.run_school(TEAM_ID) > 0  # the 30-day reminders are queued, and held overnight
    clock.set(datetime(2027, 6, 1, 17, 1, tzinfo=LONDON))
    settle(bot)
    with bot.db.session() as session:
        policy = session.scalars(select(Policy).where(Policy.key == "online-safety")).one()
        mark_reviewed(session, TEAM_ID, policy.id, HELEN, date(2027, 6, 1), None, policy.next_review,
                      clock.now())
    run_day(bot, clock, datetime(2027, 6, 2, 8, 0, tzinfo=LONDON))
    assert dms_saying(slack, HELEN, "Online Safety Policy is due for review") == []
    with bot.db.session() as session:
        assert session.scalar(select(AupVersion.id)) is None  # no AUP: this was only ever about the policy
