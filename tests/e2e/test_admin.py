"""School settings from Slack: who may change them, each change confirmed and audited, each refusal with
its reason, and the file's view of the school kept the same."""

from __future__ import annotations

from sqlalchemy import select

from bot.render.admin import BACK_ACTION, SETTINGS_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import DAN, HELEN, PRIYA, TEAM_ID, TOM
from bot.sandbox.workspace import SandboxChannel, SandboxUser
from storage import admin
from storage.models import RoleAssignment, School
from tests.e2e.journey import shown, view_text


def _home(slack: SlackSimulator, user: str) -> str:
    slack.ws.home.pop(user, None)
    assert slack.event({"type": "app_home_opened", "user": user, "tab": "home"}).status == 200
    return repr(wait_for(lambda: slack.ws.home.get(user), what=f"{user}'s App Home"))


def _open_settings(slack: SlackSimulator, user: str) -> str:
    _home(slack, user)
    slack.click_in_home(user, SETTINGS_ACTION)
    return view_text(wait_for(lambda: shown(slack, user).get("blocks") and shown(slack, user), what="the settings"))


def _submit(slack: SlackSimulator, user: str, answers: dict) -> tuple[dict, str]:
    reply = slack.submit_view(user, answers).json()
    if reply.get("response_action") == "errors":
        return reply, ""
    text = wait_for(lambda: "Checking" not in (t := view_text(shown(slack, user))) and t, what="the check")
    return reply, text


def test_only_the_head_named_admins_and_workspace_admins_may_change_settings(slack: SlackSimulator) -> None:
    slack.ws.add_user(SandboxUser("U0ITLEAD", "it.lead", "Ivy Lead", is_admin=True))
    assert "School settings" in _home(slack, HELEN) and "School settings" in _home(slack, "U0ITLEAD")
    assert "School settings" not in _home(slack, TOM) and "School settings" not in _home(slack, DAN)
    slack.click_in_home(HELEN, SETTINGS_ACTION)
    wait_for(lambda: shown(slack, HELEN), what="Helen's settings")
    slack.ws.home[TOM] = slack.ws.home[HELEN]  # Tom replays the head's button: the request is still his
    slack.click_in_home(TOM, SETTINGS_ACTION)
    assert "Only the headteacher" in view_text(wait_for(lambda: shown(slack, TOM), what="Tom's refusal"))


def test_a_change_is_checked_confirmed_applied_and_audited(bot: Runtime, slack: SlackSimulator) -> None:
    form = _open_settings(slack, HELEN)
    assert "Changes are checked, shown to you to confirm" in form
    opened = slack.ws.current_view(HELEN)
    initial = {b["block_id"]: b["element"] for b in opened.view["blocks"] if b["type"] == "input"}
    assert initial["dsl"]["initial_user"] == DAN and initial["deputy_dsls"]["initial_users"] == [PRIYA]
    assert initial["dsl_channel"]["initial_conversation"] == "C0DSLTEAM"
    _, confirm = _submit(slack, HELEN, {"deputy_dsls": [PRIYA, TOM], "lado_email": "new.lado@county.example"})
    assert "Please confirm these changes" in confirm
    assert "Deputy DSL: Tom Reed added" in confirm and "LADO email set to new.lado@county.example" in confirm
    with bot.db.session() as session:
        assert session.get_one(School, TEAM_ID).lado_email == "lado@county-council.example"  # not yet
    slack.submit_view(HELEN, {})
    wait_for(lambda: "Saved." in view_text(shown(slack, HELEN)), what="the save")
    with bot.db.session() as session:
        assert session.get_one(School, TEAM_ID).lado_email == "new.lado@county.example"
        deputies = session.scalars(select(RoleAssignment.user_id).where(RoleAssignment.role == "deputy_dsl")).all()
        log = [(c.actor_id, c.change) for c in admin.history(session, TEAM_ID)]
    assert sorted(deputies) == sorted([PRIYA, TOM])
    assert (HELEN, "Deputy DSL: Tom Reed added") in log and (HELEN, "LADO email set to new.lado@county.example") in log


def test_mistakes_are_refused_with_the_reason_and_nothing_changes(bot: Runtime, slack: SlackSimulator) -> None:
    _open_settings(slack, HELEN)
    reply, _ = _submit(slack, HELEN, {"lado_email": "not-an-email", "escalation_minutes": "two"})
    assert reply["errors"]["escalation_minutes"] == "Give a number of minutes from 5 to 480."
    reply, _ = _submit(slack, HELEN, {"lado_email": "not-an-email"})
    assert reply["errors"] == {"lado_email": "'not-an-email' is not an email address."}

    slack.ws.add_user(SandboxUser("U0GONE", "gone", "Gwen Gone", deleted=True))
    _, problem = _submit(slack, HELEN, {"dsl": "U0GONE", "office": "The office, 01234 000000"})
    assert "people.dsl: U0GONE has left this workspace; name who holds the role now." in problem
    slack.click_in_view(HELEN, BACK_ACTION)  # back to the form, with what was typed still there
    back = wait_for(lambda: "Changes are checked" in view_text(shown(slack, HELEN)) and slack.ws.current_view(HELEN),
                    what="the form again")
    office = next(b for b in back.view["blocks"] if b.get("block_id") == "office")
    assert office["element"]["initial_value"] == "The office, 01234 000000"

    slack.ws.add_channel(SandboxChannel("C0ELSEWHERE", "elsewhere", members={HELEN}))
    _, problem = _submit(slack, HELEN, {"dsl": DAN, "dsl_channel": "C0ELSEWHERE"})  # the form kept U0GONE
    assert "concernbot is not in #elsewhere: invite @concernbot to #elsewhere" in problem
    with bot.db.session() as session:
        assert session.get_one(School, TEAM_ID).dsl_channel_id == "C0DSLTEAM"
        assert [c for c in admin.history(session, TEAM_ID) if c.actor_id is not None] == []  # only set-up's own


def test_the_policy_register_and_the_aup_from_app_home(bot: Runtime, slack: SlackSimulator, clock) -> None:  # type: ignore[no-untyped-def]
    home = _home(slack, HELEN)
    assert "Policies" in home and "Publish an AUP version" in home
    slack.click_in_home(HELEN, "admin_policies")
    listing = wait_for(lambda: slack.ws.current_view(HELEN), what="the register")
    assert "Online Safety Policy" in view_text(listing.view) and "Staff Acceptable Use Policy" in view_text(listing.view)
    slack.click_in_view(HELEN, "admin_policy_edit", view_id=listing.id)  # the first Edit: Online Safety Policy
    form = wait_for(lambda: "Next review" in repr(shown(slack, HELEN)) and slack.ws.current_view(HELEN), what="form")
    assert next(b for b in form.view["blocks"] if b.get("block_id") == "title")["element"]["initial_value"] == \
        "Online Safety Policy"
    slack.submit_view(HELEN, {"cadence": "triennial", "next_review": "2029-07-01"})
    wait_for(lambda: "Saved." in view_text(shown(slack, HELEN)), what="the policy saved")
    assert "policy Online Safety Policy updated" in view_text(shown(slack, HELEN))
    with bot.db.session() as session:
        from storage.models import Policy
        policy = session.scalars(select(Policy).where(Policy.key == "online-safety")).one()
        assert (policy.cadence, policy.next_review.isoformat()) == ("triennial", "2029-07-01")
        assert (HELEN, "policy Online Safety Policy updated") in [(c.actor_id, c.change) for c in
                                                               admin.history(session, TEAM_ID)]

    slack.ws.views[listing.id].closed = True
    _home(slack, HELEN)
    slack.click_in_home(HELEN, "admin_aup")
    wait_for(lambda: "Publishing asks every member of staff" in view_text(shown(slack, HELEN)), what="the AUP form")
    reply = slack.submit_view(HELEN, {"version": "2027-01"}).json()
    assert reply["response_action"] == "errors" and "text or as a url" in reply["errors"]["text"]
    slack.submit_view(HELEN, {"version": "2027-01", "url": "https://oakfield.example/aup-2027.pdf",
                              "changes": "Mobile phones section rewritten."})
    wait_for(lambda: "Saved." in view_text(shown(slack, HELEN)), what="the AUP published")
    assert "AUP version 2027-01 is in force: 6 members of staff will be asked to sign it" in \
        view_text(shown(slack, HELEN))
    bot.sender.drain_all()
    wait_for(lambda: any((m.metadata or {}).get("event_type") == "aup_request" for m in slack.ws.dms_to(TOM)),
             what="Tom's request to sign")


def test_someone_who_may_not_change_settings_cannot_by_replaying_the_forms(slack: SlackSimulator,
                                                                          bot: Runtime) -> None:
    _open_settings(slack, HELEN)
    forged = slack.ws.current_view(HELEN)
    forged.user_id = TOM  # Tom sends the head's form as his own: the request says it is from Tom
    reply = slack.submit_view(TOM, {"lado_email": "tom@oakfield.example"}, view_id=forged.id)
    assert reply.status == 200
    wait_for(lambda: "Only the headteacher" in view_text(forged.view), what="Tom refused")
    with bot.db.session() as session:
        assert session.get_one(School, TEAM_ID).lado_email == "lado@county-council.example"
