"""The form's branches through Slack: immediate risk pages everyone at once, late reports are flagged,
several children are recorded, and each branch's guidance appears when it matters."""

from sqlalchemy import select

from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, OWEN, PRIYA, TOM
from flows.report_form import ILLEGAL_MATERIAL_GUIDANCE, IMMEDIATE_RISK_GUIDANCE, NUDES_GUIDANCE
from storage.db import Database
from storage.models import Concern
from tests.e2e.journey import STEPS, dsl_post, fill_steps, open_form, view_text


def _current(slack: SlackSimulator, user: str) -> str:
    return view_text(slack.ws.current_view(user).view)


def test_immediate_risk_pages_the_dsl_team_and_head_at_once_and_only_once(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:1])
    slack.submit_view(AMY, {"category": "nudes", "urgency": "immediate"})
    # Before the record is finished, everyone who can act has a DM saying so, with no detail.
    paged = wait_for(lambda: all(slack.ws.dms_to(u) for u in (DAN, PRIYA, HELEN)) and (DAN, PRIYA, HELEN),
                     what="the DSL team and the head to be paged")
    for user in paged:
        page = slack.ws.dms_to(user)[0].text
        assert "Immediate risk of harm: <@U0AMY> is reporting" in page and "Find them in person" in page
    assert not slack.ws.dms_to(TOM) and not slack.ws.dms_to(OWEN)
    shown = _current(slack, AMY)
    assert IMMEDIATE_RISK_GUIDANCE.split("*")[1] in shown and "do not ask the child to send it" in shown
    # Going back and answering again does not page anyone twice.
    from bot.render.form import BACK_ACTION
    slack.click_in_view(AMY, BACK_ACTION)
    wait_for(lambda: "Step 2 of 8" in _current(slack, AMY), what="step 2 again")
    slack.submit_view(AMY, {})
    fill_steps(slack, AMY, STEPS[2:])
    slack.submit_view(AMY, {})
    post = dsl_post(slack, DSL_CHANNEL)
    assert post.text.startswith(":rotating_light:") and "Immediate risk of harm" in post.text
    assert [len(slack.ws.dms_to(u)) for u in (DAN, PRIYA, HELEN)] == [1, 1, 1]


def test_an_earlier_incident_asks_why_and_the_record_is_flagged_late(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:3])
    slack.submit_view(AMY, {"occurred_on": "2026-11-20", "occurred_time": "14:00"})
    assert "Recording it late" in _current(slack, AMY)
    reply = slack.submit_view(AMY, {"late_reason": ""}).json()
    assert reply["errors"] == {"late_reason": "Please answer this question."}
    fill_steps(slack, AMY, [{"late_reason": "I was on a school trip until today."}, *STEPS[4:]])
    slack.submit_view(AMY, {})
    post = dsl_post(slack, DSL_CHANNEL)
    assert "Recorded late: it happened on 20 Nov 2026." in repr(post.blocks)
    with db.session() as session:
        concern = session.scalars(select(Concern)).one()
        assert concern.reported_late and concern.details["late_reason"] == "I was on a school trip until today."


def test_several_children_and_suspected_illegal_material(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    slack.submit_view(AMY, {"subject": "pupil", "child_count": "2"})
    slack.submit_view(AMY, {"category": "harmful_content", "urgency": "urgent", "involves": ["illegal_material"]})
    assert ILLEGAL_MATERIAL_GUIDANCE.split("*")[1] in _current(slack, AMY)
    assert "Child 2: name" in repr(slack.ws.current_view(AMY).view)
    fill_steps(slack, AMY, [{"child_name_1": "Ash One", "year_group_1": "year_6",
                             "child_name_2": "Bo Two", "year_group_2": "year_6", "date_of_birth_2": "2015-05-05"},
                            *STEPS[3:]])
    assert "The device" in _current(slack, AMY)
    fill_steps(slack, AMY, [{"device": "Class laptop 4, locked in the office", "username": "y6-pupil"}])
    slack.submit_view(AMY, {})
    dsl_post(slack, DSL_CHANNEL)
    with db.session() as session:
        details = session.scalars(select(Concern)).one().details
    assert [c["name"] for c in details["children"]] == ["Ash One", "Bo Two"]
    assert details["children"][1]["date_of_birth"] == "2015-05-05"
    assert details["involves"] == ["illegal_material"] and details["username"] == "y6-pupil"
    assert NUDES_GUIDANCE not in repr(slack.ws.timeline)
