"""School settings cannot be used to see or steer concerns about adults, undo others' changes, or undo a
review; one departure does not block every change; and the DSL channel must be private."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from bot.demo import demo_school_file
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import DAN, HELEN, PRIYA, TEAM_ID, TOM
from bot.sandbox.workspace import SandboxChannel
from bot.school_setup import apply_school_file, read_school_file, resolve
from flows.clock import ManualClock
from storage import admin
from storage.models import Policy, RoleAssignment
from tests.e2e.journey import report_about_adult, shown, view_text
from tests.e2e.test_admin import _open_settings, _submit


def _confirm(slack: SlackSimulator, user: str) -> str:
    slack.submit_view(user, {})
    return wait_for(lambda: "Saving" not in (t := view_text(shown(slack, user))) and t, what="the save")


def test_a_workspace_admin_cannot_change_roles_and_nothing_names_a_concern(bot: Runtime, slack: SlackSimulator,
                                                                          clock: ManualClock) -> None:
    report_about_adult(slack, PRIYA, "staff", {"adult_user": TOM})  # about Tom, for the head alone
    slack.ws.users[TOM].is_admin = True  # Tom is also the workspace's admin
    _open_settings(slack, TOM)
    _, problem = _submit(slack, TOM, {"headteacher": TOM})
    assert "Only the chair of governors can change who is headteacher" in problem
    slack.ws.current_view(TOM).closed = True
    _open_settings(slack, TOM)
    _, problem = _submit(slack, TOM, {"deputy_dsls": [PRIYA, TOM]})
    assert "Only the headteacher or the chair of governors can change who holds a safeguarding role" in problem
    slack.ws.current_view(TOM).closed = True
    _open_settings(slack, TOM)
    _, confirm = _submit(slack, TOM, {"office": "Reception, 01234 111111"})
    assert "office contact set to Reception, 01234 111111" in confirm
    saved = _confirm(slack, TOM)
    assert "Saved." in saved and "OS-2026" not in saved
    clock.advance(timedelta(minutes=1))
    _open_settings(slack, HELEN)
    _, confirm = _submit(slack, HELEN, {"dsl": PRIYA, "deputy_dsls": [DAN]})  # the head may
    saved = _confirm(slack, HELEN)
    assert "Designated Safeguarding Lead: Priya Shah added" in saved and "OS-2026" not in saved
    with bot.db.session() as session:
        assert not any("OS-2026" in c.change for c in admin.history(session, TEAM_ID))


def test_a_stale_confirmation_changes_nothing(bot: Runtime, slack: SlackSimulator, clock: ManualClock) -> None:
    _open_settings(slack, HELEN)
    _, confirm = _submit(slack, HELEN, {"lado_email": "first@county.example"})
    helen_confirm = slack.ws.current_view(HELEN).id
    clock.advance(timedelta(minutes=1))
    slack.ws.views[helen_confirm].closed = True  # she leaves it open in another window, in effect
    _open_settings(slack, HELEN)
    _submit(slack, HELEN, {"deputy_dsls": []})  # Priya is taken off the DSL team
    assert "Saved." in _confirm(slack, HELEN)
    slack.ws.views[helen_confirm].closed = False
    slack.ws.views[slack.ws.current_view(HELEN).id].closed = True
    clock.advance(timedelta(minutes=1))
    stale = _confirm(slack, HELEN)
    assert "changed by someone else after you checked" in stale
    with bot.db.session() as session:
        deputies = session.scalars(select(RoleAssignment).where(RoleAssignment.role == "deputy_dsl")).all()
    assert deputies == []  # not put back by the old confirmation


def test_two_applies_at_once_make_one_row_per_role(bot: Runtime, clock: ManualClock) -> None:
    school_file = read_school_file(demo_school_file())
    setup = resolve(bot.client, school_file.model_copy(update={"people": school_file.people.model_copy(
        update={"deputy_dsls": ["priya.shah@oakfield.example", TOM]})}), TEAM_ID)
    barrier = threading.Barrier(2)

    def apply() -> None:
        barrier.wait()
        admin.apply(bot.db, setup, HELEN, clock.now())

    threads = [threading.Thread(target=apply) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with bot.db.session() as session:
        rows = session.scalars(select(RoleAssignment.user_id).where(RoleAssignment.role == "deputy_dsl")).all()
    assert sorted(rows) == sorted([PRIYA, TOM])


def test_a_review_is_not_undone_by_settings_or_by_running_setup_again(bot: Runtime, slack: SlackSimulator,
                                                                      clock: ManualClock) -> None:
    from datetime import date

    from storage.policies import mark_reviewed
    with bot.db.session() as session:
        policy = session.scalars(select(Policy).where(Policy.key == "online-safety")).one()
        mark_reviewed(session, TEAM_ID, policy.id, HELEN, date(2026, 11, 24), None, policy.next_review, clock.now())
    _open_settings(slack, HELEN)
    _submit(slack, HELEN, {"office": "Reception"})
    _confirm(slack, HELEN)
    assert apply_school_file(bot.client, TEAM_ID, bot.db, demo_school_file(), clock.now()) == [
        "office contact set to the school office, 01234 567890"]
    with bot.db.session() as session:
        assert session.scalars(select(Policy.next_review).where(Policy.key == "online-safety")).one() == \
            date(2027, 11, 24)


def test_a_departed_policy_owner_does_not_block_other_changes(bot: Runtime, slack: SlackSimulator) -> None:
    slack.ws.users[DAN].deleted = True  # the DSL, and the AUP policy's owner, leaves
    _open_settings(slack, HELEN)
    _, confirm = _submit(slack, HELEN, {"dsl": PRIYA, "deputy_dsls": []})
    assert "Designated Safeguarding Lead: Priya Shah added" in confirm
    assert "Saved." in _confirm(slack, HELEN)


def test_the_dsl_channel_must_be_private(bot: Runtime, slack: SlackSimulator) -> None:
    slack.ws.add_channel(SandboxChannel("C0STAFFROOM", "staffroom", members={HELEN, slack.ws.bot_user_id}))
    _open_settings(slack, HELEN)
    _, problem = _submit(slack, HELEN, {"dsl_channel": "C0STAFFROOM"})
    assert "#staffroom is a public channel" in problem and "use a private channel for the DSL team" in problem
