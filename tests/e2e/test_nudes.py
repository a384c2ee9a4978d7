"""The nudes branch: the DSL's initial review, with and without an immediate-referral condition."""

from sqlalchemy import select

from bot.render.messages import ACKNOWLEDGE_ACTION, INITIAL_REVIEW_ACTION, OPEN_RECORD_ACTION
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, TOM
from flows.nudes import IN_SCHOOL_REASON
from storage.db import Database
from storage.models import Concern, InitialReview
from tests.e2e.journey import STEPS, dsl_post, report, view_text, shown

NUDES = [STEPS[0], {**STEPS[1], "category": "nudes"}, *STEPS[2:]]


def _reviewable(slack: SlackSimulator):  # type: ignore[no-untyped-def]
    report(slack, AMY, NUDES)
    post = dsl_post(slack, DSL_CHANNEL)
    slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: INITIAL_REVIEW_ACTION in repr(post.blocks), what="the Initial review button")
    slack.click_in_message(DAN, post, INITIAL_REVIEW_ACTION)
    wait_for(lambda: "Initial review" in repr(shown(slack, DAN)), what="the review form")
    return post


def test_a_referral_condition_flags_the_concern_and_tells_the_head(slack: SlackSimulator, db: Database) -> None:
    post = _reviewable(slack)
    slack.submit_view(DAN, {"conditions": ["adult_involved", "coercion"], "parents_told": "yes",
                            "established": "An adult online asked for images; Robin felt pressured."})
    wait_for(lambda: "Immediate referral required" in repr(post.blocks), what="the post's flag")
    assert INITIAL_REVIEW_ACTION not in repr(post.blocks)
    notice = wait_for(lambda: slack.ws.dms_to(HELEN), what="the head to be told")[0]
    assert "needs an immediate referral to the police and/or children's social care" in notice.text
    assert "Robin" not in notice.text and "An adult" not in notice.text and "pressured" not in notice.text
    # Telling the head escalates it to her: she may open it now; Tom still may not.
    slack.click_in_message(HELEN, notice, OPEN_RECORD_ACTION)
    record = wait_for(lambda: slack.ws.current_view(HELEN), what="the record for the head").view
    assert "Immediate referral required:* An adult is involved" in view_text(record)
    slack.click_in_message(TOM, post, OPEN_RECORD_ACTION)
    assert "only available" in view_text(wait_for(lambda: slack.ws.current_view(TOM), what="refusal").view)
    with db.session() as session:
        concern = session.scalars(select(Concern)).one()
        assert concern.immediate_referral and concern.status == "in_progress"


def test_without_a_condition_the_reason_for_handling_in_school_is_required(slack: SlackSimulator, db: Database) -> None:
    post = _reviewable(slack)
    reply = slack.submit_view(DAN, {"parents_told": "yes", "in_school_reason": ""}).json()
    assert reply["errors"] == {"in_school_reason": IN_SCHOOL_REASON}
    slack.submit_view(DAN, {"parents_told": "yes",
                            "in_school_reason": "Two Year 9 pupils, consensual, deleted; parents supportive."})
    wait_for(lambda: INITIAL_REVIEW_ACTION not in repr(post.blocks), what="the review to be recorded")
    assert "Immediate referral required" not in repr(post.blocks) and not slack.ws.dms_to(HELEN)
    with db.session() as session:
        review = session.scalars(select(InitialReview)).one()
        assert review.conditions == [] and review.in_school_reason.startswith("Two Year 9 pupils")
        assert not session.scalars(select(Concern)).one().immediate_referral
