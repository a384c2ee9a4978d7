"""The safeguarding team's work through Slack: record actions, assign, close; refusals for others."""

from sqlalchemy import select

from bot.render.messages import (
    ACKNOWLEDGE_ACTION, ASSIGN_ACTION, CLOSE_ACTION, OPEN_RECORD_ACTION, RECORD_ACTION_ACTION,
)
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, PRIYA, TOM
from storage.db import Database
from storage.models import Concern
from tests.e2e.journey import dsl_post, report, view_text


def _acknowledged_post(slack: SlackSimulator):  # type: ignore[no-untyped-def]
    report(slack, AMY)
    post = dsl_post(slack, DSL_CHANNEL)
    slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: RECORD_ACTION_ACTION in repr(post.blocks), what="the post to offer actions")
    return post


def _open_modal(slack: SlackSimulator, user: str, post, action: str) -> dict:  # type: ignore[no-untyped-def]
    before = slack.ws.current_view(user)
    slack.click_in_message(user, post, action)
    return wait_for(lambda: slack.ws.current_view(user) is not before and slack.ws.current_view(user),
                    what=f"the {action} modal").view


def test_record_of_action_assign_and_close(slack: SlackSimulator, db: Database) -> None:
    post = _acknowledged_post(slack)
    form = _open_modal(slack, DAN, post, RECORD_ACTION_ACTION)
    assert "OS-2026-0001" in view_text(form)
    reply = slack.submit_view(DAN, {"action": "not_referred", "note": ""}).json()
    assert reply["errors"] == {"note": "Please write why you decided not to refer: the record must show the reason."}
    assert slack.submit_view(DAN, {"action": "parents_informed", "taken_time": "09:45",
                                   "note": "Spoke to Robin's mother by phone."}).body == ""
    wait_for(lambda: "In progress" in post.text, what="the post to show In progress")

    _open_modal(slack, DAN, post, ASSIGN_ACTION)
    reply = slack.submit_view(DAN, {"assignee": HELEN}).json()
    assert reply["errors"] == {"assignee": "Only the DSL or a deputy DSL can look after this concern."}
    slack.submit_view(DAN, {"assignee": PRIYA})
    notice = wait_for(lambda: slack.ws.dms_to(PRIYA), what="Priya's assignment")[0]
    assert "has asked you to look after concern OS-2026-0001" in notice.text and "Robin" not in notice.text
    wait_for(lambda: "*Assigned to:* <@U0PRIYA>" in repr(post.blocks), what="the post to show the assignee")

    _open_modal(slack, PRIYA, post, CLOSE_ACTION)
    assert slack.submit_view(PRIYA, {"outcome": ""}).json()["errors"] == {"outcome": "Please answer this question."}
    slack.submit_view(PRIYA, {"outcome": "Parents supportive; game account reported; no further action."})
    wait_for(lambda: "Closed by <@U0PRIYA>" in post.text, what="the post to show Closed")
    assert RECORD_ACTION_ACTION not in repr(post.blocks)
    closed_dm = wait_for(lambda: [m for m in slack.ws.dms_to(AMY) if "closed" in m.text], what="Amy told")
    assert closed_dm[0].text == "Your concern OS-2026-0001 has been closed by the safeguarding team. Thank you for reporting it."

    record = view_text(_open_modal(slack, DAN, post, OPEN_RECORD_ACTION))
    for expected in ("Record of action", "Parents / carers informed", "Spoke to Robin's mother by phone.",
                     "Looked after by <@U0PRIYA>", "Outcome", "game account reported"):
        assert expected in record
    assert "Spoke to Robin" not in slack.ws.all_visible_text()
    with db.session() as session:
        assert session.scalars(select(Concern.status)).one() == "closed"


def test_people_outside_the_dsl_team_cannot_act(slack: SlackSimulator, db: Database) -> None:
    post = _acknowledged_post(slack)
    for action in (RECORD_ACTION_ACTION, ASSIGN_ACTION, CLOSE_ACTION):
        refusal = _open_modal(slack, TOM, post, action)
        assert "only available to the people the school's safeguarding policy names" in view_text(refusal)
    with db.session() as session:
        assert session.scalars(select(Concern.status)).one() == "acknowledged"
