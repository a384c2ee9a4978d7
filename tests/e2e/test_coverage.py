"""Every category through Slack, every action kind, acknowledgement races over HTTP, and refusals for a
modal submitted by someone outside the DSL team."""

import copy
import threading

import pytest
from sqlalchemy import select

from bot.render.messages import ACKNOWLEDGE_ACTION, INITIAL_REVIEW_ACTION, RECORD_ACTION_ACTION
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, PRIYA, TOM
from flows.concern import Category
from flows.handling import ActionKind
from flows.report_form import NUDES_GUIDANCE
from storage.db import Database
from storage.models import ConcernAction, StatusChange
from tests.e2e.journey import STEPS, dsl_post, fill_steps, open_form, view_text, shown


@pytest.mark.parametrize("category", list(Category))
def test_every_category_is_recorded_with_its_guidance(slack: SlackSimulator, category: Category) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:1])
    slack.submit_view(AMY, {**STEPS[1], "category": category.value})
    shown = view_text(slack.ws.current_view(AMY).view)
    assert (NUDES_GUIDANCE.split("*")[1] in shown) is (category is Category.NUDES)
    fill_steps(slack, AMY, STEPS[2:6])
    online = view_text(slack.ws.current_view(AMY).view)
    assert "Online details" in online
    assert ("This form accepts no pictures or files" in online) is (category is Category.NUDES)
    fill_steps(slack, AMY, STEPS[6:])
    reply = slack.submit_view(AMY, {}).json()
    assert "Recorded as OS-2026-0001" in view_text(reply["view"])
    post = dsl_post(slack, DSL_CHANNEL)
    assert f"· {category.label} ·" in post.text
    assert (INITIAL_REVIEW_ACTION in repr(post.blocks)) is False  # offered only once acknowledged


def _acknowledged(slack: SlackSimulator):  # type: ignore[no-untyped-def]
    open_form(slack, AMY)
    fill_steps(slack, AMY)
    slack.submit_view(AMY, {})
    post = dsl_post(slack, DSL_CHANNEL)
    slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: RECORD_ACTION_ACTION in repr(post.blocks), what="actions on the post")
    return post


def test_each_action_and_referral_is_recorded(slack: SlackSimulator, db: Database) -> None:
    post = _acknowledged(slack)
    for kind in ActionKind:
        slack.click_in_message(DAN, post, RECORD_ACTION_ACTION)
        wait_for(lambda: "Record of action" in repr(shown(slack, DAN)), what="the action form")
        note = "Judged low risk after speaking to the family." if kind is ActionKind.NOT_REFERRED else f"{kind.value} done"
        assert slack.submit_view(DAN, {"action": kind.value, "note": note}).body == ""
    with db.session() as session:
        assert [a.kind for a in session.scalars(select(ConcernAction).order_by(ConcernAction.id))] == [
            k.value for k in ActionKind]


def test_two_dsls_pressing_acknowledge_at_once_over_http(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY)
    slack.submit_view(AMY, {})
    post = dsl_post(slack, DSL_CHANNEL)
    screens = {DAN: copy.deepcopy(post), PRIYA: copy.deepcopy(post)}
    barrier = threading.Barrier(2)

    def press(user: str) -> None:
        barrier.wait()
        slack.click_in_message(user, screens[user], ACKNOWLEDGE_ACTION)

    threads = [threading.Thread(target=press, args=(u,)) for u in screens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    told = wait_for(lambda: [t for _, t in slack.ws.ephemeral if "already acknowledged" in t], what="the loser told")
    assert len(told) == 1
    with db.session() as session:
        assert list(session.scalars(select(StatusChange.to_status))) == ["new", "acknowledged"]
    wait_for(lambda: len(slack.ws.dms_to(AMY)) == 2, what="one receipt and one acknowledgement")


def test_a_handling_form_submitted_by_an_outsider_changes_nothing(slack: SlackSimulator, db: Database) -> None:
    post = _acknowledged(slack)
    slack.click_in_message(DAN, post, RECORD_ACTION_ACTION)
    form = wait_for(lambda: slack.ws.current_view(DAN), what="Dan's form")
    form.user_id = TOM  # Tom somehow submits Dan's form, signed metadata and all
    reply = slack.submit_view(TOM, {"action": "police", "note": "x"}, view_id=form.id).json()
    assert "Only the people the school's policy names" in view_text(reply["view"])
    with db.session() as session:
        assert session.scalars(select(ConcernAction)).all() == []
