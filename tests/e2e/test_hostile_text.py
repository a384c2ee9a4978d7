"""Hostile text in the safeguarding team's forms, a policy review's note and the admin forms.

What the team writes about a concern is stored exactly, shown exactly in the record and never sent in a
message. What an administrator names (the school, a policy, an AUP) is meant to appear in messages: there
it is inert (escaped, verbatim, its formatting characters neutralised) and still readable.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.render.aup import READ_ACTION
from bot.render.messages import (
    ACKNOWLEDGE_ACTION, CLOSE_ACTION, INITIAL_REVIEW_ACTION, OPEN_RECORD_ACTION, RECORD_ACTION_ACTION,
)
from bot.render.reviews import GOVERNORS_REPORT_ACTION, REVIEW_ACTION
from bot.render.text import in_mrkdwn
from bot.runtime import Runtime
from bot.sandbox.blockkit import check_view
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, TEAM_ID, TOM
from flows.clock import ManualClock
from storage.db import Database
from storage.models import AupVersion, ConcernAction, InitialReview, Policy, PolicyReview, School
from tests.e2e.hostile import (
    TYPED_FRAGMENTS, assert_inert, assert_message_inert, shown_exactly, text_objects, typed,
)
from tests.e2e.journey import STEPS, dsl_post, report, shown, view_text
from tests.e2e.test_admin import _home, _open_settings, _submit
from tests.e2e.yearly_helpers import dms_saying, run_day, settle

LONDON = ZoneInfo("Europe/London")
NUDES = [STEPS[0], {**STEPS[1], "category": "nudes"}, *STEPS[2:]]


def _modal(slack: SlackSimulator, user: str, post, action: str) -> dict:  # type: ignore[no-untyped-def]
    before = slack.ws.current_view(user)
    slack.click_in_message(user, post, action)
    return wait_for(lambda: (v := slack.ws.current_view(user)) is not before and v, what=f"the {action} modal").view


def _refused_then_accepted(slack: SlackSimulator, user: str, answers: dict[str, str | list[str] | None],
                           texts: dict[str, str]) -> None:
    """One character past each field's limit is refused on the field; at the limit it is accepted."""
    reply = slack.submit_view(user, {**answers, **{k: v + "x" for k, v in texts.items()}}).json()
    assert reply["response_action"] == "errors" and set(reply["errors"]) == set(texts), reply
    assert all("Please keep this under" in e for e in reply["errors"].values())
    reply = slack.submit_view(user, {**answers, **texts})
    assert reply.status == 200 and reply.json().get("response_action") != "errors", reply.body


def _no_message_says(bot: Runtime, slack: SlackSimulator, values: list[str]) -> None:
    settle(bot)
    everything = slack.ws.all_visible_text()
    for value in values:
        assert value not in everything and value[:20] not in everything
    for fragment in TYPED_FRAGMENTS:
        assert fragment not in everything, fragment


def test_the_teams_notes_are_kept_exactly_shown_exactly_and_never_sent(bot: Runtime, slack: SlackSimulator,
                                                                      db: Database) -> None:
    report(slack, AMY, NUDES)
    post = dsl_post(slack, DSL_CHANNEL)
    slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: INITIAL_REVIEW_ACTION in repr(post.blocks), what="the Initial review button")

    review = {"established": typed("established", 3000), "in_school_reason": typed("in_school_reason", 3000)}
    _modal(slack, DAN, post, INITIAL_REVIEW_ACTION)
    _refused_then_accepted(slack, DAN, {"parents_told": "not_yet"}, review)
    wait_for(lambda: INITIAL_REVIEW_ACTION not in repr(post.blocks), what="the review recorded")

    note = {"note": typed("note", 3000)}
    _modal(slack, DAN, post, RECORD_ACTION_ACTION)
    _refused_then_accepted(slack, DAN, {"action": "parents_informed", "taken_time": "09:45"}, note)
    outcome = {"outcome": typed("outcome", 3000)}
    wait_for(lambda: CLOSE_ACTION in repr(post.blocks), what="Close offered")
    _modal(slack, DAN, post, CLOSE_ACTION)
    _refused_then_accepted(slack, DAN, {}, outcome)
    wait_for(lambda: "Closed by" in post.text, what="the concern closed")

    with db.session() as session:
        stored = session.scalars(select(InitialReview)).one()
        assert (stored.established, stored.in_school_reason) == (review["established"], review["in_school_reason"])
        notes = sorted(session.scalars(select(ConcernAction.note)).all())
    assert notes == sorted([note["note"], outcome["outcome"]])

    record = _modal(slack, DAN, post, OPEN_RECORD_ACTION)
    assert check_view(record) == []
    values = [*review.values(), note["note"], outcome["outcome"]]
    for value in values:
        assert shown_exactly(record, value), value[:30]
    assert_inert(record, values)
    _no_message_says(bot, slack, values)


def test_a_policy_reviews_note_is_kept_exactly_and_never_sent(bot: Runtime, slack: SlackSimulator,
                                                             clock: ManualClock) -> None:
    run_day(bot, clock, datetime(2027, 7, 8, 8, 0, tzinfo=LONDON))  # a week overdue
    reminder = dms_saying(slack, HELEN, "is due for review")[0]
    slack.click_in_message(HELEN, reminder, REVIEW_ACTION)
    wait_for(lambda: slack.ws.current_view(HELEN), what="the review form")
    note = {"note": typed("note", 2000)}
    _refused_then_accepted(slack, HELEN, {"reviewed_on": "2027-07-06"}, note)
    with bot.db.session() as session:
        assert session.scalars(select(PolicyReview.note)).one() == note["note"]
    _no_message_says(bot, slack, [note["note"]])


def _inert_everywhere(slack: SlackSimulator) -> None:
    for message in slack.ws.messages:
        assert_message_inert(message.text)
        assert_inert(message.blocks)
    for opened in slack.ws.views.values():
        assert_inert(opened.view)
    for home in slack.ws.home.values():
        assert_inert(home)


def test_the_schools_own_names_are_stored_as_given_and_shown_inert(bot: Runtime, slack: SlackSimulator,
                                                                  clock: ManualClock) -> None:
    name, office = typed("name", 200).strip(), typed("office", 200).strip()
    _open_settings(slack, HELEN)
    _, confirm = _submit(slack, HELEN, {"name": name, "office": office})
    assert "Please confirm these changes" in confirm and in_mrkdwn(office) in confirm
    slack.submit_view(HELEN, {})
    wait_for(lambda: "Saved." in view_text(shown(slack, HELEN)), what="the save")
    with bot.db.session() as session:
        school = session.get_one(School, TEAM_ID)
        assert (school.name, school.office_contact) == (name, office)
    _home(slack, HELEN)
    slack.ws.current_view(HELEN).closed = True
    slack.click_in_home(HELEN, GOVERNORS_REPORT_ACTION)
    report_view = wait_for(lambda: "Governors" in repr(shown(slack, HELEN)) and shown(slack, HELEN), what="report")
    assert in_mrkdwn(name) in view_text(report_view) and check_view(report_view) == []

    slack.ws.current_view(HELEN).closed = True
    _home(slack, HELEN)
    slack.click_in_home(HELEN, "admin_policies")
    listing = wait_for(lambda: slack.ws.current_view(HELEN), what="the register")
    slack.click_in_view(HELEN, "admin_policy_edit", view_id=listing.id)  # the Online Safety Policy
    wait_for(lambda: "Next review" in repr(shown(slack, HELEN)), what="the policy form")
    title = typed("title", 200).strip()
    _refused_then_accepted(slack, HELEN, {"cadence": "annual", "next_review": "2027-07-01"}, {"title": title})
    wait_for(lambda: "Saved." in view_text(shown(slack, HELEN)), what="the policy saved")
    with bot.db.session() as session:
        assert session.scalars(select(Policy.title).where(Policy.key == "online-safety")).one() == title
    run_day(bot, clock, datetime(2027, 6, 1, 8, 0, tzinfo=LONDON))  # 30 days before its review
    reminder = wait_for(lambda: dms_saying(slack, HELEN, "is due for review"), what="the reminder")[0]
    assert in_mrkdwn(title) in reminder.text
    slack.ws.current_view(HELEN).closed = True
    slack.click_in_message(HELEN, reminder, REVIEW_ACTION)
    form = wait_for(lambda: slack.ws.current_view(HELEN), what="the review form").view
    assert in_mrkdwn(title) in view_text(form) and check_view(form) == []
    _inert_everywhere(slack)


def test_an_aup_published_from_slack_is_sent_inert_and_read_exactly(bot: Runtime, slack: SlackSimulator) -> None:
    version, title = typed("version", 64).strip(), typed("title", 150).strip()
    words, changes = typed("text", 3000).strip(), typed("changes", 1000).strip()
    _home(slack, HELEN)
    slack.click_in_home(HELEN, "admin_aup")
    wait_for(lambda: "Publishing asks every member of staff" in view_text(shown(slack, HELEN)), what="the AUP form")
    _refused_then_accepted(slack, HELEN, {"title": title}, {"version": version, "text": words, "changes": changes})
    wait_for(lambda: "Saved." in view_text(shown(slack, HELEN)), what="the AUP published")
    with bot.db.session() as session:
        stored = session.scalars(select(AupVersion)).all()[-1]
        assert (stored.version, stored.title, stored.text, stored.changes) == (version, title, words, changes)
    settle(bot)
    request = wait_for(lambda: [m for m in slack.ws.dms_to(TOM) if (m.metadata or {}).get("event_type") ==
                                "aup_request"], what="Tom's request to sign")[-1]
    assert in_mrkdwn(title) in request.text and in_mrkdwn(version) in request.text
    assert shown_exactly({"blocks": request.blocks}, changes) and shown_exactly({"blocks": request.blocks}, title)
    slack.click_in_message(TOM, request, READ_ACTION)
    text_view = wait_for(lambda: slack.ws.current_view(TOM), what="the AUP's words").view
    pages = [t["text"] for t in text_objects(text_view["blocks"]) if t["type"] == "plain_text" and not t["emoji"]]
    assert "".join(pages) == words and len(pages) == 2 and check_view(text_view) == []  # in Slack-sized pages
    _inert_everywhere(slack)
