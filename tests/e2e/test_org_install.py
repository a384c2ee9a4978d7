"""A multi-academy trust on Enterprise Grid installs concernbot once, organisation-wide: each of its
workspaces is a school of its own, reached with the organisation's token, and one person who works in two
of them is the DSL in one and nobody in the other."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from sqlalchemy import delete, select

from bot.demo import demo_school_file
from bot.render.messages import OPEN_RECORD_ACTION
from bot.sandbox.client import wait_for
from bot.sandbox.demo_workspace import (
    AMY, B_DSL_CHANNEL, B_HEAD, B_TEACHER, DAN, DSL_CHANNEL, HELEN, TEAM_ID, TEAM_ID2,
)
from bot.sandbox.workspace import SandboxUser
from bot.school_setup import SetupError, apply_school_file
from flows.clock import ManualClock
from storage.installs import SchoolInstall, slack_bots
from storage.models import School
from tests.e2e.conftest import Schools
from tests.e2e.journey import CHILD, dsl_post, report, shown, view_text
from tests.e2e.test_many_schools import B_STEPS, BIRCHES_FILE, _home, _log
from tests.e2e.yearly_helpers import settle

TRUST = "E0OAKTRUST"


def _org_installed(schools: Schools) -> None:
    schools.sandbox.add_enterprise(TRUST, "Oak Learning Trust", [TEAM_ID, TEAM_ID2])
    schools.a.ws.users[HELEN].is_admin = True  # an org admin approves the org-wide install
    dan = schools.a.ws.users[DAN]  # Dan works in both schools: Oakfield's DSL, a supply teacher at Birches
    schools.b.ws.add_user(SandboxUser(dan.id, dan.name, dan.real_name, email=dan.email))
    page = schools.a.install(HELEN, org=TRUST)
    assert page.status == 200 and "installed in Oak Learning Trust" in page.body
    now = schools.bot.clock.now()
    apply_school_file(schools.client(TEAM_ID), TEAM_ID, schools.bot.db, demo_school_file(), now)
    apply_school_file(schools.client(TEAM_ID2), TEAM_ID2, schools.bot.db, BIRCHES_FILE, now)


def test_an_org_wide_install_makes_each_workspace_a_school(schools: Schools) -> None:
    _org_installed(schools)
    with schools.bot.db.session() as session:
        installs = {i.team_id: (i.enterprise_id, i.org_install, i.installed_by)
                    for i in session.scalars(select(SchoolInstall))}
        bots = session.execute(select(slack_bots.c.team_id, slack_bots.c.enterprise_id,
                                      slack_bots.c.is_enterprise_install)).all()
    assert installs == {TEAM_ID: (TRUST, True, HELEN), TEAM_ID2: (TRUST, True, HELEN)}
    assert bots == [(None, TRUST, True)]  # one token, for the organisation
    a, b = schools.a, schools.b
    report(a, AMY)
    report(b, B_TEACHER, B_STEPS)
    a_post, b_post = dsl_post(a, DSL_CHANNEL), dsl_post(b, B_DSL_CHANNEL)
    assert "Grooming" in a_post.text and "Gaming" in b_post.text

    # Dan is the DSL at Oakfield; at Birches he holds no role, and sees nothing of either school's concerns there.
    assert "Concerns you handle" in _home(a, DAN) and "Concerns you handle" not in _home(b, DAN)
    assert "the incident log is only for the safeguarding team" in _log(b, DAN)
    b.click_in_message(DAN, b_post, OPEN_RECORD_ACTION)
    refusal = view_text(wait_for(lambda: shown(b, DAN).get("blocks") and shown(b, DAN), what="Dan's refusal"))
    assert "only available to the people" in refusal and "Sky Brackenridge" not in refusal
    a.click_in_message(DAN, a_post, OPEN_RECORD_ACTION)
    assert wait_for(lambda: CHILD in view_text(shown(a, DAN)), what="Oakfield's record for its DSL")
    assert "Sky Brackenridge" not in a.ws.all_visible_text() and CHILD not in b.ws.all_visible_text()


def test_a_workspace_the_trust_adds_or_takes_away(schools: Schools, clock: ManualClock) -> None:
    _org_installed(schools)
    a, b = schools.a, schools.b
    with schools.bot.db.session() as session:  # as if Birches had been given the app after the install
        session.execute(delete(SchoolInstall).where(SchoolInstall.team_id == TEAM_ID2))
    schools.bot.workspaces.forget(TEAM_ID2)
    report(b, B_TEACHER, B_STEPS)  # its first request makes it a school of the trust's install again
    dsl_post(b, B_DSL_CHANNEL)
    settle(schools.bot)  # the reporter's receipt goes out in the background; count from after it
    with schools.bot.db.session() as session:
        assert session.get_one(SchoolInstall, TEAM_ID2).enterprise_id == TRUST

    assert b.event({"type": "team_access_revoked", "team_ids": [TEAM_ID2]}).status == 200
    wait_for(lambda: _removed(schools, TEAM_ID2), what="Birches to be marked removed")
    before = len(b.ws.messages)
    clock.advance(timedelta(hours=2))  # unacknowledged past its escalation time
    schools.bot.escalations.run()
    schools.bot.sender.drain_all()
    assert len(b.ws.messages) == before and not _removed(schools, TEAM_ID)

    assert b.event({"type": "team_access_granted", "team_ids": [TEAM_ID2]}).status == 200
    wait_for(lambda: len(b.ws.messages) > before, what="what was kept for Birches to go out")

    assert a.uninstalled().status == 200  # the trust removes the app: every school stops, nothing is deleted
    wait_for(lambda: _removed(schools, TEAM_ID) and _removed(schools, TEAM_ID2), what="both schools removed")
    with schools.bot.db.session() as session:
        assert session.execute(select(slack_bots.c.id)).all() == []
        assert session.get_one(School, TEAM_ID2).dsl_channel_id == B_DSL_CHANNEL  # its records and set-up kept


def _removed(schools: Schools, team_id: str) -> bool:
    with schools.bot.db.session() as session:
        return session.get_one(School, team_id).uninstalled_at is not None


def test_setting_up_one_school_refuses_another_schools_channel_and_people(schools: Schools, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _org_installed(schools)  # the organisation's token can see every school's channels and people
    client = schools.client(TEAM_ID2)
    text = BIRCHES_FILE.read_text()
    for wrong, says in ((text.replace('dsl_channel: "#dsl-team"', f"dsl_channel: {DSL_CHANNEL}"),
                         f"dsl_channel: {DSL_CHANNEL} belongs to another workspace of the organisation"),
                        (text.replace("dsl: mark.ellison@birches.example", "dsl: amy.clarke@oakfield.example"),
                         "people.dsl: amy.clarke@oakfield.example is not a member of this school's workspace")):
        path = tmp_path / "birches.yml"
        path.write_text(wrong)
        with pytest.raises(SetupError) as refused:
            apply_school_file(client, TEAM_ID2, schools.bot.db, path, schools.bot.clock.now())
        assert says in str(refused.value)
    path.write_text(text.replace("lena.novak@birches.example", "dan.hughes@oakfield.example"))  # Dan is in both
    assert any("Deputy DSL" in change for change in
               apply_school_file(client, TEAM_ID2, schools.bot.db, path, schools.bot.clock.now()))


def test_one_schools_admin_is_not_another_schools_and_only_org_admins_count(schools: Schools) -> None:
    _org_installed(schools)
    schools.a.ws.users[DAN].is_admin = True  # an admin of Oakfield's workspace, a supply teacher at Birches
    assert "School settings" not in _home(schools.b, DAN)
    ivy = [SandboxUser("U0IVY", "ivy.lead", "Ivy Lead", is_org_admin=True) for _ in range(2)]
    schools.a.ws.add_user(ivy[0])
    schools.b.ws.add_user(ivy[1])
    assert "School settings" in _home(schools.b, "U0IVY") and "School settings" in _home(schools.a, "U0IVY")


def test_a_schools_old_workspace_install_removed_leaves_the_trusts_install(schools: Schools, caplog) -> None:  # type: ignore[no-untyped-def]
    _org_installed(schools)
    envelope = schools.b.envelope({"type": "app_uninstalled"})
    envelope["authorizations"] = [{"enterprise_id": TRUST, "team_id": TEAM_ID2, "user_id": "U0BOT", "is_bot": True,
                                   "is_enterprise_install": False}]  # its own install from before the trust's
    with caplog.at_level(logging.INFO, logger="bot.listeners.install"):
        assert schools.b.send_envelope(envelope).status == 200
        wait_for(lambda: "still reached through its organisation's install" in caplog.text, what="the event")
    with schools.bot.db.session() as session:
        assert session.execute(select(slack_bots.c.enterprise_id, slack_bots.c.team_id)).all() == [(TRUST, None)]
        assert session.get_one(School, TEAM_ID2).uninstalled_at is None


def test_access_given_back_with_the_event_missed_resumes_on_the_next_request(schools: Schools) -> None:
    _org_installed(schools)
    assert schools.b.event({"type": "team_access_revoked", "team_ids": [TEAM_ID2]}).status == 200
    wait_for(lambda: _removed(schools, TEAM_ID2), what="Birches to be marked removed")
    report(schools.b, B_TEACHER, B_STEPS)  # team_access_granted never arrived; this request shows access is back
    dsl_post(schools.b, B_DSL_CHANNEL)
    assert not _removed(schools, TEAM_ID2)


def test_before_set_up_the_org_admin_and_the_schools_own_admins_are_told(schools: Schools) -> None:
    schools.sandbox.add_enterprise(TRUST, "Oak Learning Trust", [TEAM_ID, TEAM_ID2])
    schools.a.ws.users[HELEN].is_admin = True
    schools.b.ws.users[B_HEAD].is_admin = True  # Birches' own workspace admin
    assert "installed in Oak Learning Trust" in schools.a.install(HELEN, org=TRUST).body
    report(schools.b, B_TEACHER, B_STEPS)
    told = wait_for(lambda: schools.b.ws.dms_to(B_HEAD), what="Birches' admin to be told")
    assert "at Birches Academy (sandbox)" in told[0].text and "nobody is set up to receive it" in told[0].text
    wait_for(lambda: any("at Birches Academy" in m.text for ws in schools.sandbox.workspaces.values()
                         for m in ws.dms_to(HELEN)), what="the installer to be told")
