"""The guided form through Slack: field errors, Back, Resume after Cancel, double submits, tampering."""

import json

from sqlalchemy import func, select

from bot.render.form import BACK_ACTION
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DSL_CHANNEL, TOM
from storage.db import Database
from storage.models import Concern, Draft
from tests.e2e.journey import CHILD, STEPS, dsl_post, fill_steps, open_form, report, view_text, shown


def _draft(db: Database) -> Draft:
    with db.session() as session:
        return session.scalars(select(Draft).order_by(Draft.created_at.desc())).first()


def test_errors_are_shown_on_the_field_and_nothing_typed_is_lost(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:2])
    reply = slack.submit_view(AMY, {"child_name_1": CHILD, "year_group_1": None}).json()
    assert reply == {"response_action": "errors", "errors": {"year_group_1": "Please answer this question."}}
    assert _draft(db).answers["child_name_1"] == CHILD  # saved even though the step was refused
    fill_steps(slack, AMY, STEPS[2:3])
    reply = slack.submit_view(AMY, {"occurred_on": "2026-11-25", "occurred_time": None}).json()
    assert reply["errors"] == {"occurred_on": "The date can't be in the future."}
    reply = slack.submit_view(AMY, {"occurred_on": "2026-11-24", "occurred_time": "10:30"}).json()
    assert reply["errors"] == {"occurred_time": "That time hasn't happened yet today."}
    assert "Step 4 of 8" in view_text(slack.ws.current_view(AMY).view)


def test_back_returns_to_the_previous_step_with_its_answers(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:3])
    slack.click_in_view(AMY, BACK_ACTION, {"occurred_on": "2026-11-23"})
    # The earlier date typed before Back adds the "recording it late" step: 8 steps now.
    wait_for(lambda: "Step 3 of 9" in view_text(shown(slack, AMY)), what="step 2 again")
    view = shown(slack, AMY)
    name = next(b for b in view["blocks"] if b.get("block_id") == "child_name_1")
    assert name["element"]["initial_value"] == CHILD
    assert _draft(db).answers["occurred_on"] == "2026-11-23"  # what was typed before Back is kept


def test_a_cancelled_report_is_offered_back_with_everything_typed(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:4])
    assert slack.close_view(AMY).status == 200
    open_form(slack, AMY)
    resume = slack.ws.current_view(AMY).view
    assert "You started a report on 24 Nov 2026, 10:00 that hasn't been sent yet" in view_text(resume)
    reply = slack.submit_view(AMY, {}).json()  # "Carry on with it" is the default
    assert "Step 5 of 8" in view_text(reply["view"])
    fill_steps(slack, AMY, STEPS[4:])
    review = view_text(slack.ws.current_view(AMY).view)
    assert CHILD in review and "Grooming" in review and "Step 8 of 8" in review


def test_throwing_a_draft_away_starts_afresh(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:1])
    slack.close_view(AMY)
    open_form(slack, AMY)
    reply = slack.submit_view(AMY, {"resume_choice": "discard"}).json()
    assert "Step 1 of 8" in view_text(reply["view"]) and CHILD not in json.dumps(reply["view"])
    with db.session() as session:
        assert sorted(d.status for d in session.scalars(select(Draft))) == ["discarded", "open"]


def test_a_double_submit_records_one_concern(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY)
    final = slack.ws.current_view(AMY)
    stale = json.loads(json.dumps(final.view))
    first = slack.submit_view(AMY, {}).json()
    final.view, final.closed = stale, False  # the second click, on the same screen
    second = slack.submit_view(AMY, {}).json()
    assert "Recorded as OS-2026-0001" in view_text(first["view"])
    assert "Recorded as OS-2026-0001" in view_text(second["view"])
    dsl_post(slack, DSL_CHANNEL)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 1


def test_tampered_or_borrowed_form_state_changes_nothing(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    opened = slack.ws.current_view(AMY)
    opened.view["private_metadata"] = opened.view["private_metadata"].replace('"about"', '"review"')
    reply = slack.submit_view(AMY, STEPS[0]).json()
    assert "out of date" in view_text(reply["view"])
    assert _draft(db).answers == {}
    # Amy's genuine form, submitted by someone else, is not theirs to fill in.
    report(slack, TOM)
    open_form(slack, AMY)
    amys = slack.ws.current_view(AMY)
    amys.user_id = TOM
    reply = slack.submit_view(TOM, STEPS[0], view_id=amys.id).json()
    assert "out of date" in view_text(reply["view"])
    with db.session() as session:
        amy_draft = session.scalars(select(Draft).where(Draft.reporter_id == AMY, Draft.status == "open")).one()
        assert amy_draft.answers == {}


def test_cancel_keeps_what_was_typed_on_the_current_step(slack: SlackSimulator, db: Database) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, STEPS[:4])
    slack.close_view(AMY, answers={"disclosure": "They said the man knows where I live."})
    wait_for(lambda: _draft(db).answers.get("disclosure"), what="the typed words to be saved")
    assert _draft(db).answers["disclosure"] == "They said the man knows where I live."
    open_form(slack, AMY)
    slack.submit_view(AMY, {})  # carry on
    shown = slack.ws.current_view(AMY).view
    box = next(b for b in shown["blocks"] if b.get("block_id") == "disclosure")
    assert box["element"]["initial_value"] == "They said the man knows where I live."


def test_two_submits_of_the_last_step_at_once_make_one_concern(slack: SlackSimulator, db: Database) -> None:
    import threading

    open_form(slack, AMY)
    fill_steps(slack, AMY)
    final = slack.ws.current_view(AMY)
    screen = json.loads(json.dumps(final.view))
    replies: list[dict] = []
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        payload_view = {**screen, "state": {"values": {}}}
        body = {"type": "view_submission", "team": {"id": slack.ws.team_id}, "user": {"id": AMY},
                "trigger_id": slack.ws.issue_trigger(AMY), "view": payload_view, "api_app_id": "A0CONCERNBOT"}
        replies.append(slack.post_payload(body).json())

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [("Recorded as OS-2026-0001" in view_text(r["view"])) for r in replies] == [True, True]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 1
