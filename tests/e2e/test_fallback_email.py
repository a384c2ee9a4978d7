"""The fallback email: a concern's alert still not through to Slack after NOTIFY_FALLBACK_AFTER_MINUTES brings
one email (the reference only, and what to do) to the school's fallback address, else FALLBACK_EMAIL; with
neither, the log says so, naming the reference only, and `concernbot doctor` warns."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.demo import demo_school_file
from bot.render.admin import SETTINGS_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DSL_CHANNEL, HELEN, TEAM_ID, TOM
from bot.sandbox.faults import Fault
from bot.sandbox.webapi import SandboxServer
from bot.school_export import export_yaml
from bot.school_setup import apply_school_file
from flows.clock import ManualClock
from storage.db import Database
from storage.models import ConcernEvent, School
from storage.outbox import MAX_BACKOFF
from tests.conftest import SIGNING_SECRET, MailServer, bot_settings
from tests.e2e.fault_helpers import FALLBACK, rows, saying, set_up_school, unsent
from tests.e2e.journey import ACCOUNT, CHILD, fill_steps, open_form, shown, view_text
from tests.e2e.test_slack_faults import ABOUT_THE_HEAD
from tests.e2e.yearly_helpers import settle


def _report_while_slack_is_down(slack: SlackSimulator, bot: Runtime) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY)
    slack.ws.inject(Fault.server_error(502, "bad_gateway"))  # every method, until cleared
    assert "Recorded as OS-2026-0001." in view_text(slack.submit_view(AMY, {}).json()["view"])
    wait_for(lambda: len(unsent(bot)) == 2 and all(r.last_error for r in unsent(bot)), timeout=30,
             what="the alerts' first attempts to fail")


def _slack_down_until(bot: Runtime, clock: ManualClock, minutes: float) -> None:
    """Move the clock to `minutes` after now, trying every alert whenever it falls due on the way."""
    end = clock.now() + timedelta(minutes=minutes)
    while clock.now() < end:
        due = min((r.due_at for r in unsent(bot)), default=end)
        clock.set(min(max(due, clock.now()), end))
        bot.sender.drain_all()


def _fallback_events(bot: Runtime) -> list[ConcernEvent]:
    with bot.db.session() as session:
        return [e for e in session.scalars(select(ConcernEvent).where(ConcernEvent.kind == "emailed"))
                if e.data.get("to") == "fallback"]


def test_an_alert_still_undelivered_after_15_minutes_brings_one_email_however_long_slack_is_down(
        bot: Runtime, slack: SlackSimulator, clock: ManualClock, mailbox: MailServer, tmp_path: Path) -> None:
    set_up_school(bot, slack, tmp_path, fallback=FALLBACK)
    _report_while_slack_is_down(slack, bot)
    _slack_down_until(bot, clock, 14.9)
    assert mailbox.box.messages == []  # not yet: the alert may still get through
    _slack_down_until(bot, clock, 0.2)
    [email] = wait_for(lambda: mailbox.box.messages, what="the fallback email")
    assert email["To"] == FALLBACK
    assert email["Subject"] == ("Oakfield Primary School: concern OS-2026-0001 has not reached the safeguarding "
                                "team in Slack")
    body = email.get_content()
    assert "Concern OS-2026-0001 was recorded in concernbot at Oakfield Primary School on 24 Nov 2026, 10:00" in body
    assert "after 15 minutes its alert has still not been delivered in Slack" in body
    assert "1. Look in Slack" in body and "2. Check the bot's health" in body and "concernbot doctor" in body
    for detail in (CHILD, "Robin", "Grooming", "grooming", "Amy", "Year 5", ACCOUNT[:30], "Shadowfox"):
        assert detail not in email.as_string(), detail  # the reference only
    assert len(_fallback_events(bot)) == 1

    _slack_down_until(bot, clock, 60)  # an hour more of failures: still retried, never dropped, never emailed again
    assert len(mailbox.box.messages) == 1 and len(_fallback_events(bot)) == 1
    pending = unsent(bot)
    assert {r.kind for r in pending} == {"dsl_alert", "reporter_receipt"}
    assert all(r.attempts >= 15 and timedelta(0) < r.due_at - clock.now() <= MAX_BACKOFF for r in pending)

    slack.ws.clear_faults()
    clock.advance(MAX_BACKOFF)
    settle(bot)
    assert unsent(bot) == [] and len(slack.ws.messages_in(DSL_CHANNEL)) == 1
    assert len(saying(slack, AMY, "Your concern OS-2026-0001 was recorded")) == 1
    assert len(mailbox.box.messages) == 1


def test_alerts_that_get_through_in_time_send_no_email(bot: Runtime, slack: SlackSimulator, clock: ManualClock,
                                                       mailbox: MailServer, tmp_path: Path) -> None:
    set_up_school(bot, slack, tmp_path, fallback=FALLBACK)
    _report_while_slack_is_down(slack, bot)
    _slack_down_until(bot, clock, 10)
    slack.ws.clear_faults()
    _slack_down_until(bot, clock, 60)
    assert unsent(bot) == [] and len(slack.ws.messages_in(DSL_CHANNEL)) == 1
    assert mailbox.box.messages == [] and not [r for r in rows(bot) if r.kind == "fallback_email"]


@pytest.fixture
def ops_bot(db: Database, sandbox: SandboxServer, clock: ManualClock, migrated_url: str,
            mailbox: MailServer) -> Iterator[Runtime]:
    """The bot with FALLBACK_EMAIL set and a five-minute wait, serving the demo school (which gives no address)."""
    settings = bot_settings(sandbox, migrated_url, mailbox.port).model_copy(
        update={"fallback_email": "duty-manager@trust.example", "notify_fallback_after_minutes": 5})
    runtime = Runtime(settings, clock=clock, sweeps_every=3600, calendar_jobs=False).build()
    apply_school_file(runtime.client, TEAM_ID, runtime.db, demo_school_file(), clock.now())
    runtime.start(port=0)
    yield runtime
    runtime.stop()


def test_fallback_email_setting_serves_a_school_with_no_address_after_the_wait_it_sets(
        ops_bot: Runtime, sandbox: SandboxServer, clock: ManualClock, mailbox: MailServer) -> None:
    slack = SlackSimulator(sandbox, ops_bot.url, SIGNING_SECRET, settled=ops_bot.listeners_done)
    _report_while_slack_is_down(slack, ops_bot)
    _slack_down_until(ops_bot, clock, 4.9)
    assert mailbox.box.messages == []
    _slack_down_until(ops_bot, clock, 30)
    [email] = wait_for(lambda: mailbox.box.messages, what="the fallback email")
    assert email["To"] == "duty-manager@trust.example" and "OS-2026-0001" in email["Subject"]
    assert "after 5 minutes" in email.get_content()


def test_with_no_fallback_address_the_log_names_the_reference_only(
        bot: Runtime, slack: SlackSimulator, clock: ManualClock, mailbox: MailServer,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        _report_while_slack_is_down(slack, bot)
        _slack_down_until(bot, clock, 60)
    assert mailbox.box.messages == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.fallback" and r.levelno == logging.WARNING]
    assert warnings and set(warnings) == {  # said again at each retry while nobody can be told
        "concern OS-2026-0001 has not reached Slack after 15 minutes, and there is no email address to tell: set "
        "FALLBACK_EMAIL, or contacts.fallback_email in the school's set-up file"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for detail in (CHILD, "Robin", ACCOUNT[:30]):
        assert detail not in logged
    assert unsent(bot)  # the alerts themselves are still being retried
    with bot.db.session() as session:  # the school sets an address at last: the waiting email goes to it
        session.get_one(School, TEAM_ID).fallback_email = FALLBACK
    _slack_down_until(bot, clock, 10)
    [email] = wait_for(lambda: mailbox.box.messages, what="the fallback email, once there is an address")
    assert email["To"] == FALLBACK and len(_fallback_events(bot)) == 1


def _doctor(env: dict[str, str], cwd: Path) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "bot", "doctor"], env=env, cwd=cwd, capture_output=True, text=True,
                            timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout.splitlines()


def test_doctor_says_when_no_fallback_address_is_set(slack_env: dict[str, str], tmp_path: Path) -> None:
    setup = subprocess.run([sys.executable, "-m", "bot", "setup", str(demo_school_file())], env=slack_env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert setup.returncode == 0, setup.stderr
    assert ("warn  fallback email: no fallback address is set: if a concern's alert cannot reach Slack, nobody is "
            "emailed. Set FALLBACK_EMAIL, or contacts.fallback_email in the school's set-up file") in _doctor(
        slack_env, tmp_path)
    configured = _doctor({**slack_env, "FALLBACK_EMAIL": "duty@trust.example"}, tmp_path)
    assert ("ok    fallback email: duty@trust.example is told if a concern's alert has not reached Slack after 15 "
            "minutes (unless a school gives its own address)") in configured


def test_the_fallback_address_is_set_like_the_lados_in_the_file_the_export_and_slack(
        bot: Runtime, slack: SlackSimulator, tmp_path: Path) -> None:
    set_up_school(bot, slack, tmp_path, fallback=FALLBACK)
    with bot.db.session() as session:
        assert session.get_one(School, TEAM_ID).fallback_email == FALLBACK
    assert f"fallback_email: {FALLBACK}" in export_yaml(bot.db, TEAM_ID)

    slack.ws.home.pop(HELEN, None)
    slack.event({"type": "app_home_opened", "user": HELEN, "tab": "home"})
    wait_for(lambda: slack.ws.home.get(HELEN), what="Helen's App Home")
    slack.click_in_home(HELEN, SETTINGS_ACTION)
    form = wait_for(lambda: shown(slack, HELEN).get("blocks") and shown(slack, HELEN), what="the settings")
    box = next(b for b in form["blocks"] if b.get("block_id") == "fallback_email")
    assert box["element"]["initial_value"] == FALLBACK
    reply = slack.submit_view(HELEN, {"fallback_email": "not an address"}).json()
    assert reply["errors"] == {"fallback_email": "'not an address' is not an email address."}
    slack.submit_view(HELEN, {"fallback_email": "office@oakfield.example"})
    wait_for(lambda: "Please confirm" in view_text(shown(slack, HELEN)), what="the confirmation")
    assert "fallback email set to office@oakfield.example" in view_text(shown(slack, HELEN))
    slack.submit_view(HELEN, {})
    wait_for(lambda: "Saved." in view_text(shown(slack, HELEN)), what="the save")
    with bot.db.session() as session:
        assert session.get_one(School, TEAM_ID).fallback_email == "office@oakfield.example"
    assert "fallback_email: office@oakfield.example" in export_yaml(bot.db, TEAM_ID)


def test_a_concern_about_the_head_never_reaches_the_schools_fallback_address(
        bot: Runtime, slack: SlackSimulator, clock: ManualClock, mailbox: MailServer, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """The school's fallback address may be the office's or the head's own: a concern about the head must not
    reach it. Its fallback goes only to an email on record for its case manager (the chair); a chair known
    only by their Slack account has none, so the log says so, and the email waits for one."""
    set_up_school(bot, slack, tmp_path, chair_in_workspace=True, fallback=FALLBACK)
    open_form(slack, TOM)
    fill_steps(slack, TOM, ABOUT_THE_HEAD)
    slack.ws.inject(Fault.server_error(502, "bad_gateway"))
    assert "Recorded as OS-2026-0001." in view_text(slack.submit_view(TOM, {}).json()["view"])
    wait_for(lambda: unsent(bot) and all(r.last_error for r in unsent(bot)), timeout=30, what="the first failures")
    with caplog.at_level(logging.INFO):
        _slack_down_until(bot, clock, 20)
    settle_email = [m for m in mailbox.box.messages if "has not reached" in m["Subject"]]
    assert settle_email == [] and FALLBACK not in {m["To"] for m in mailbox.box.messages}
    assert "concern OS-2026-0001 has not reached Slack after 15 minutes, and there is no email address to tell: " \
           "give the case manager's role an email in the school's set-up file" in caplog.text
    assert _fallback_events(bot) == []


def test_the_fallback_for_a_concern_about_an_adult_is_worded_for_its_case_manager() -> None:
    from bot.fallback import fallback_email
    from datetime import datetime, timezone

    subject, body = fallback_email("OS-2026-0007", "Oakfield", datetime(2026, 11, 24, 10, tzinfo=timezone.utc), 15,
                                   "Europe/London", about_adult=True)
    assert subject == "Oakfield: concern OS-2026-0007 has not reached its case manager in Slack"
    assert "safeguarding team" not in subject + body and "your direct messages from concernbot" in body
