"""One deployment, many schools: each installs concernbot by OAuth into its own workspace, is set up by
whoever installed it, and from then on every request, message and scheduled job stays in its own school."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.render.admin import SETTINGS_ACTION
from bot.render.messages import ACKNOWLEDGE_ACTION, OPEN_RECORD_ACTION
from bot.app import NOT_INSTALLED
from bot.sandbox.browser import browser_get, first_link
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.workspace import SandboxUser
from bot.sandbox.demo_workspace import (
    AMY, B_DEPUTY, B_DSL, B_DSL_CHANNEL, B_HEAD, B_TEACHER, DAN, DSL_CHANNEL, HELEN, PRIYA, TEAM_ID, TEAM_ID2, TOM,
)
from bot.school_setup import apply_school_file
from bot.demo import demo_school_file
from flows.aup import AupDocument
from flows.clock import ManualClock
from storage.installs import SchoolInstall, slack_bots
from storage.models import Concern, Notification, OutboxMessage, School
from tests.conftest import SIGNING_SECRET
from tests.e2e.conftest import Schools
from tests.e2e.journey import CHILD, STEPS, dsl_post, fill_steps, open_form, report, shown, view_text
from bot.yearly import publish_aup
from tests.e2e.yearly_helpers import settle
from pathlib import Path

BIRCHES_FILE = Path(__file__).resolve().parents[1] / "data" / "birches_school.yml"
B_STEPS = [{**step, "category": "gaming"} if "category" in step else step for step in STEPS]
B_STEPS = [{**step, "child_name_1": "Sky Brackenridge"} if "child_name_1" in step else step for step in B_STEPS]


def _home(slack: SlackSimulator, user: str) -> str:
    slack.ws.home.pop(user, None)
    assert slack.event({"type": "app_home_opened", "user": user, "tab": "home"}).status == 200
    return repr(wait_for(lambda: slack.ws.home.get(user), what=f"{user}'s App Home"))


def _log(slack: SlackSimulator, user: str) -> str:
    before = slack.ws.current_view(user)
    slack.slash_command(user, "/concerns")
    return view_text(wait_for(lambda: slack.ws.current_view(user) is not before and slack.ws.current_view(user),
                              what="the incident log").view)


def _removed(schools: Schools, team_id: str) -> bool:
    with schools.bot.db.session() as session:
        return session.get_one(School, team_id).uninstalled_at is not None


def _tokens(schools: Schools) -> list[str]:
    with schools.bot.db.session() as session:
        return list(session.execute(select(slack_bots.c.team_id)).scalars())


def installed_and_set_up(schools: Schools) -> None:
    """Tom (Oakfield's IT technician) and Ruth (Birches' head) each install it; each school is set up."""
    assert "concernbot is installed in Oakfield" in schools.a.install(TOM).body
    assert "concernbot is installed in Birches" in schools.b.install(B_HEAD).body
    now = schools.bot.clock.now()
    apply_school_file(schools.client(TEAM_ID), TEAM_ID, schools.bot.db, demo_school_file(), now)
    apply_school_file(schools.client(TEAM_ID2), TEAM_ID2, schools.bot.db, BIRCHES_FILE, now)


def test_installing_makes_a_school_that_its_installer_is_walked_through_setting_up(schools: Schools) -> None:
    page = schools.a.install(TOM)
    assert page.status == 200 and "concernbot is installed in Oakfield" in page.body and "Home tab" in page.body
    with schools.bot.db.session() as session:
        install = session.get_one(SchoolInstall, TEAM_ID)
        assert (install.installed_by, install.org_install, install.enterprise_id) == (TOM, False, None)
        tokens = session.execute(select(slack_bots.c.team_id, slack_bots.c.bot_token)).all()
        assert session.get(School, TEAM_ID2) is None  # Birches has not installed it
    assert tokens == [(TEAM_ID, schools.sandbox.installed_token(TEAM_ID))]

    report(schools.a, AMY)  # before set-up: kept, and the installer alone is told
    told = wait_for(lambda: schools.a.ws.dms_to(TOM), what="the installer to be told")
    assert "nobody is set up to receive it yet" in told[0].text and "OS-" not in told[0].text
    wait_for(lambda: schools.a.ws.dms_to(AMY), what="Amy's receipt")
    assert schools.a.ws.dms_to(HELEN) == [] and schools.a.ws.dms_to(DAN) == []

    assert "Set up concernbot" in _home(schools.a, TOM)  # the installer; not an admin otherwise
    assert "Set up concernbot" not in _home(schools.a, AMY)
    schools.a.click_in_home(TOM, SETTINGS_ACTION)
    wait_for(lambda: shown(schools.a, TOM).get("blocks"), what="the settings form")
    schools.a.submit_view(TOM, {"name": "Oakfield Primary School", "dsl": DAN, "deputy_dsls": [PRIYA],
                                "headteacher": HELEN, "dsl_channel": DSL_CHANNEL,
                                "day_starts": "08:00", "day_ends": "17:00", "draft_nudge_at": "15:30",
                                "escalation_minutes": "30"})
    wait_for(lambda: "Please confirm" in view_text(shown(schools.a, TOM)), what="the changes to confirm")
    schools.a.submit_view(TOM, {})
    wait_for(lambda: "Saved." in view_text(shown(schools.a, TOM)), what="the set-up to be saved")
    with schools.bot.db.session() as session:
        assert session.get_one(School, TEAM_ID).dsl_channel_id == DSL_CHANNEL
    assert "Set up concernbot" not in _home(schools.a, TOM)  # set up: the installer is no longer an admin
    assert "School settings" in _home(schools.a, HELEN)


def test_two_schools_share_nothing_across_every_entry_point_and_job(schools: Schools, clock: ManualClock) -> None:
    installed_and_set_up(schools)
    a, b = schools.a, schools.b
    assert "Recorded as OS-2026-0001" in view_text(report(a, AMY).json()["view"])
    assert "Recorded as OS-2026-0001" in view_text(report(b, B_TEACHER, B_STEPS).json()["view"])  # its own numbers
    a_post, b_post = dsl_post(a, DSL_CHANNEL), dsl_post(b, B_DSL_CHANNEL)
    assert "Grooming" in a_post.text and "Gaming" in b_post.text

    # Interactions: each DSL acts on their own school's post; a button replayed in the other school finds nothing.
    a.click_in_message(DAN, a_post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: a_post.edits == 1, what="Oakfield's post to update")
    b.click_in_message(B_DSL, a_post, OPEN_RECORD_ACTION)  # Oakfield's button, pressed in Birches
    refusal = view_text(wait_for(lambda: b.ws.current_view(B_DSL), what="Birches' answer").view)
    assert CHILD not in refusal and "Robin" not in refusal
    b.click_in_message(B_DSL, b_post, OPEN_RECORD_ACTION)
    record = wait_for(lambda: "Sky Brackenridge" in view_text(shown(b, B_DSL)), what="Birches' own record")
    assert record and CHILD not in view_text(shown(b, B_DSL))

    # Slash commands and App Home: each school's own.
    assert "Grooming" in _log(a, PRIYA) and "Gaming" not in _log(a, PRIYA)
    assert "Gaming" in _log(b, B_DEPUTY) and "Grooming" not in _log(b, B_DEPUTY)
    assert "1 open" in _home(a, DAN) and "1 open" in _home(b, B_DSL)

    # Scheduled work: Birches' concern goes unacknowledged past its 20 minutes; only its deputy is told.
    clock.advance(timedelta(minutes=45))
    schools.bot.escalations.run()
    settle(schools.bot)
    assert any("OS-2026-0001" in m.text for m in b.ws.dms_to(B_DEPUTY))
    assert not any("not been acknowledged" in m.text or "escalat" in m.text.lower() for m in a.ws.dms_to(PRIYA))

    # The yearly cycle: an AUP round in one school asks only that school's staff.
    publish_aup(schools.client(TEAM_ID2), schools.bot.db, TEAM_ID2,
                AupDocument(version="B-1", title="Staff AUP", text="Use the school's devices for school work."),
                B_HEAD, clock.now())
    schools.bot.yearly.run()
    settle(schools.bot)
    assert b.ws.dms_to(B_TEACHER) and all("AUP" not in m.text for m in a.ws.dms_to(AMY))

    # Nothing of one school ever reached the other's workspace, and every row stayed with its school.
    assert "Sky Brackenridge" not in a.ws.all_visible_text() and "Gaming" not in a.ws.all_visible_text()
    assert CHILD not in b.ws.all_visible_text() and "Grooming" not in b.ws.all_visible_text()
    a_channels, b_channels = set(a.ws.channels), set(b.ws.channels)
    with schools.bot.db.session() as session:
        for note in session.scalars(select(Notification)):
            assert note.channel_id in (a_channels if note.team_id == TEAM_ID else b_channels)
        assert {c.team_id for c in session.scalars(select(Concern))} == {TEAM_ID, TEAM_ID2}
        teams_of_rows = {row.team_id for row in session.scalars(select(OutboxMessage))}
    assert teams_of_rows == {TEAM_ID, TEAM_ID2}
    for ws in (a.ws, b.ws):  # every call each workspace answered came with that workspace's own token
        assert ws.calls and not any(error == "invalid_auth" for _, error in ws.calls)


def test_one_school_removing_the_app_leaves_the_other_untouched(schools: Schools, clock: ManualClock) -> None:
    installed_and_set_up(schools)
    a, b = schools.a, schools.b
    report(a, AMY)
    report(b, B_TEACHER, B_STEPS)
    dsl_post(a, DSL_CHANNEL), dsl_post(b, B_DSL_CHANNEL)
    settle(schools.bot)
    assert a.uninstalled().status == 200
    wait_for(lambda: _removed(schools, TEAM_ID) and _tokens(schools) == [TEAM_ID2],
             what="Oakfield to be marked removed, and its token deleted")
    with schools.bot.db.session() as session:
        assert session.get_one(School, TEAM_ID2).uninstalled_at is None
    a_before, b_before = len(a.ws.messages), len(b.ws.messages)
    clock.advance(timedelta(hours=2))
    schools.bot.escalations.run()
    schools.bot.sender.drain_all()
    assert len(a.ws.messages) == a_before  # nothing to a workspace without the app
    wait_for(lambda: len(b.ws.messages) > b_before, what="Birches' escalation")

    assert "installed in Oakfield" in a.install(HELEN).body  # back: what was kept for Oakfield goes out
    wait_for(lambda: len(a.ws.messages) > a_before, what="Oakfield's kept messages")
    with schools.bot.db.session() as session:
        assert session.get_one(School, TEAM_ID).uninstalled_at is None
        assert session.get_one(SchoolInstall, TEAM_ID).installed_by == TOM  # the first installer is kept
        assert session.scalar(select(School.dsl_channel_id).where(School.team_id == TEAM_ID)) == DSL_CHANNEL


def test_a_cancelled_or_replayed_installation_installs_nothing(schools: Schools) -> None:
    cancelled = schools.a.install(TOM, deny=True)
    assert "cancelled, so nothing was installed" in cancelled.body and "Start the installation again" in cancelled.body
    replayed = browser_get(f"{schools.bot.url}/slack/oauth_redirect?code=stolen&state=guessed")  # no cookie
    assert replayed.status == 400 and "started in another browser or has expired" in replayed.body
    assert schools.b.slash_command(B_TEACHER).status == 200  # a workspace that never installed it
    wait_for(lambda: (B_TEACHER, NOT_INSTALLED) in schools.b.ws.ephemeral, what="the plain answer")
    with schools.bot.db.session() as session:
        assert session.get(School, TEAM_ID) is None
        assert session.execute(select(slack_bots.c.id)).all() == []


def test_each_schools_yearly_cycle_aup_and_school_day_stay_its_own(schools: Schools, clock: ManualClock) -> None:
    installed_and_set_up(schools)
    a, b = schools.a, schools.b
    publish_aup(schools.client(TEAM_ID2), schools.bot.db, TEAM_ID2,
                AupDocument(version="B-1", title="Staff AUP", text="Birches' devices are for school work."),
                B_HEAD, clock.now())
    settle(schools.bot)
    assert any("B-1" in m.text or "Acceptable Use" in m.text for m in b.ws.dms_to(B_TEACHER))
    assert a.ws.dms_to(AMY) == []  # Oakfield has published no AUP: its staff are asked nothing

    assert b.slash_command(B_DSL, "/aup").status == 200  # the DSL sees their own school's whole staff
    whole = view_text(wait_for(lambda: b.ws.current_view(B_DSL), what="Mark's AUP status").view)
    assert "0 of 5 have signed" in whole  # Birches' five, none of Oakfield's six
    assert a.slash_command(DAN, "/aup").status == 200
    assert "B-1" not in view_text(wait_for(lambda: a.ws.current_view(DAN), what="Dan's AUP status").view)

    b.ws.add_user(SandboxUser("U0BNEW", "nia.cole", "Nia Cole", email="nia.cole@birches.example"))
    assert b.team_join("U0BNEW").status == 200  # a joiner at Birches is asked to sign Birches' AUP
    wait_for(lambda: (settle(schools.bot), b.ws.dms_to("U0BNEW"))[1], what="the joiner's request")
    a.ws.add_user(SandboxUser("U0ANEW", "ola.reid", "Ola Reid", email="ola.reid@oakfield.example"))
    assert a.team_join("U0ANEW").status == 200  # ... and at Oakfield, which has no AUP, nothing
    settle(schools.bot)
    assert a.ws.dms_to("U0ANEW") == []

    open_form(a, AMY)  # an unsent draft at Oakfield is nudged at Oakfield's 15:30, in Oakfield
    fill_steps(a, AMY, STEPS[:3])
    a.close_view(AMY)
    b_before = len(b.ws.messages)
    clock.set(clock.now().replace(hour=15, minute=30))
    assert schools.bot.school_day.run() == 1
    nudge = wait_for(lambda: [m for m in a.ws.dms_to(AMY) if "hasn't been sent yet" in m.text], what="the nudge")
    assert nudge and len(b.ws.messages) == b_before

    # A policy review coming due at Birches is Birches' business alone (Oakfield's is two months off).
    clock.set(datetime(2027, 5, 4, 9, 0, tzinfo=ZoneInfo("Europe/London")))
    schools.bot.yearly.run()
    settle(schools.bot)
    reminders = [m.text for m in b.ws.dms_to(B_HEAD) if m.text.startswith("Policy review")]
    assert reminders == ["Policy review: the Online Safety Policy is due for review in 28 days "
                         "(1 Jun 2027; reviewed annual)."]
    assert not any(m.text.startswith("Policy review") for ws in (a.ws,) for m in ws.messages)


def test_an_installation_link_works_once(schools: Schools) -> None:
    start = browser_get(f"{schools.bot.url}/slack/install")
    link = start.location or urljoin(f"{schools.bot.url}/slack/install", first_link(start.body) or "")
    back = browser_get(link, {"X-Sandbox-User": TOM, "X-Sandbox-Team": TEAM_ID})
    assert back.location and "code=" in back.location
    cookie = {"Cookie": "; ".join(start.cookies)}
    assert "installed in Oakfield" in browser_get(back.location, cookie).body
    again = browser_get(back.location, cookie)  # the same code and state, replayed
    assert again.status == 401 and "expired or was already used" in again.body


def test_a_removal_older_than_the_latest_install_is_ignored(schools: Schools, clock: ManualClock, caplog) -> None:  # type: ignore[no-untyped-def]
    schools.a.install(TOM)
    stale = schools.a.envelope({"type": "app_uninstalled"})
    stale["event_time"] = int((clock.now() - timedelta(hours=1)).timestamp())  # a retry from before it
    with caplog.at_level(logging.INFO, logger="bot.listeners.install"):
        assert schools.a.send_envelope(stale).status == 200
        wait_for(lambda: "before the latest install" in caplog.text, what="the stale event")
    assert not _removed(schools, TEAM_ID) and _tokens(schools) == [TEAM_ID]


def test_a_deployment_for_listed_schools_refuses_any_other(two_workspaces, migrated_url: str, db, clock) -> None:  # type: ignore[no-untyped-def]
    from bot.runtime import Runtime
    from tests.e2e.conftest import CLIENT_ID, CLIENT_SECRET, oauth_settings

    settings = oauth_settings(two_workspaces, migrated_url).model_copy(update={"slack_allowed_teams": TEAM_ID})
    bot = Runtime(settings, clock=clock, sweeps_every=3600, calendar_jobs=False).start(port=0)
    try:
        two_workspaces.oauth_app(CLIENT_ID, CLIENT_SECRET, redirect_url=f"{bot.url}/slack/oauth_redirect")
        refused = SlackSimulator(two_workspaces, bot.url, SIGNING_SECRET, TEAM_ID2, settled=bot.listeners_done).install(B_HEAD)
        assert refused.status == 403 and "serves only the schools its operator lists" in refused.body
        assert "installed in Oakfield" in SlackSimulator(two_workspaces, bot.url, SIGNING_SECRET, TEAM_ID, settled=bot.listeners_done).install(
            TOM).body
        with bot.db.session() as session:
            assert session.get(School, TEAM_ID2) is None
            assert session.execute(select(slack_bots.c.team_id)).scalars().all() == [TEAM_ID]
    finally:
        bot.stop()
