"""Hostile text in every free-text field of the report form, at each field's limit and one past it.

Stored exactly, shown back exactly (the review step, the record modal), never pinging or linking anyone,
and never in any message: messages carry a reference only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.render.messages import OPEN_RECORD_ACTION
from bot.runtime import Runtime
from bot.sandbox.blockkit import check_view
from bot.sandbox.client import API_APP_ID, SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, TOM
from flows.forms import Kind
from flows.report_form import REPORT_FORM
from storage.db import Database
from storage.models import Concern, Draft
from tests.e2e.hostile import TYPED_FRAGMENTS, assert_inert, assert_message_inert, shown_exactly, typed
from tests.e2e.journey import open_form, view_text
from tests.e2e.yearly_helpers import settle

LIMITS = {q.id: q.max_length for s in REPORT_FORM.steps for q in s.questions_for({"child_count": "1"})
          if q.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT)}


def _at_limit(*fields: str) -> dict[str, str]:
    return {f: typed(f, LIMITS[f]) for f in fields}


PUPIL = [  # yesterday (so: why late), about a pupil, with suspected illegal material (so: the device)
    {"subject": "pupil", "child_count": "1"},
    {"category": "harmful_content", "urgency": "routine", "involves": ["illegal_material"]},
    {**_at_limit("child_name_1"), "year_group_1": "year_5"},
    {"occurred_on": "2026-11-23", "occurred_time": "09:20", **_at_limit("others_present")},
    _at_limit("late_reason"),
    _at_limit("disclosure"),
    _at_limit("why_concerned", "observed", "heard", "told", "reporter_position"),
    _at_limit("online_details"),
    _at_limit("device", "username"),
]
ADULT = [
    {"subject": "staff"},
    {**_at_limit("adult_name", "adult_role"), "threshold": "low_level"},
    {"category": "social_networking", "urgency": "routine"},
    {"occurred_on": "2026-11-24", "occurred_time": "09:20"},
    {"disclosure": None},
    {"why_concerned": typed("why_concerned", 40), "reporter_position": typed("reporter_position", 30)},
    {},
]
VISITOR = [
    {"subject": "parent_visitor"},
    _at_limit("other_name", "other_relation"),
    {"category": "cyberbullying", "urgency": "routine"},
    {"occurred_on": "2026-11-24", "occurred_time": "09:20"},
    {"disclosure": None},
    {"why_concerned": typed("why_concerned", 40), "reporter_position": typed("reporter_position", 30)},
    {},
]


def _typed_in(steps: list[dict[str, Any]]) -> dict[str, str]:
    return {k: v for step in steps for k, v in step.items() if k in LIMITS and isinstance(v, str)}


def _draft_answers(db: Database) -> dict[str, Any]:
    with db.session() as session:
        return session.scalars(select(Draft.answers).where(Draft.reporter_id == AMY, Draft.status == "open")).one()


def _fill_refusing_one_past_the_limit(slack: SlackSimulator, db: Database, steps: list[dict[str, Any]]) -> None:
    """Each step first with every text one character too long (refused on each field, nothing of it
    saved), then at exactly the limit (accepted)."""
    for answers in steps:
        texts = {k: v for k, v in answers.items() if k in LIMITS and isinstance(v, str) and len(v) == LIMITS[k]}
        if texts:
            too_long = {k: v + "x" for k, v in texts.items()}
            reply = slack.submit_view(AMY, {**answers, **too_long}).json()
            assert reply["response_action"] == "errors", reply
            assert reply["errors"] == {k: f"Please keep this under {LIMITS[k]} characters (it is {LIMITS[k] + 1})."
                                       for k in texts}
            saved = _draft_answers(db)
            assert not any(saved.get(k) == v for k, v in too_long.items())  # never stored: Slack keeps it on screen
        reply = slack.submit_view(AMY, answers).json()
        assert reply.get("response_action") == "update", reply


def _open_record(slack: SlackSimulator, user: str, concern_id: int) -> dict[str, Any]:
    before = slack.ws.current_view(user)
    payload = {"type": "block_actions", **slack._who(user), "api_app_id": API_APP_ID,
               "trigger_id": slack.ws.issue_trigger(user), "channel": {"id": DSL_CHANNEL},
               "container": {"type": "message", "channel_id": DSL_CHANNEL, "message_ts": "1.000001"},
               "response_url": slack.response_url(user),
               "actions": [{"action_id": OPEN_RECORD_ACTION, "block_id": "b", "value": str(concern_id),
                            "type": "button"}]}
    assert slack.post_payload(payload).status == 200
    return wait_for(lambda: (v := slack.ws.current_view(user)) is not before and v, what="the record").view


def _report(slack: SlackSimulator, db: Database, steps: list[dict[str, Any]], viewer: str) -> None:
    """Report with hostile text; check the draft, the review page, the stored concern and the record."""
    values = _typed_in(steps)
    open_form(slack, AMY)
    _fill_refusing_one_past_the_limit(slack, db, steps)
    saved = _draft_answers(db)
    assert {k: saved[k] for k in values} == values  # stored exactly as typed
    review = slack.ws.current_view(AMY).view
    assert "Check and send" in view_text(review) and check_view(review) == []
    for field, value in values.items():
        assert shown_exactly(review, value), field
    assert_inert(review, values.values())

    reply = slack.submit_view(AMY, {}).json()
    assert "Recorded as" in view_text(reply["view"])
    with db.session() as session:
        concern = session.scalars(select(Concern).order_by(Concern.id.desc())).first()
        details, concern_id = concern.details, concern.id
    stored = {**details, **{f"child_name_{i}": c["name"] for i, c in enumerate(details["children"], start=1)}}
    assert {k: stored[k] for k in values} == values

    record = _open_record(slack, viewer, concern_id)
    assert "Concern record" in repr(record["title"]) and check_view(record) == []  # a modal Slack accepts
    for field, value in values.items():
        assert shown_exactly(record, value), field
    assert_inert(record, values.values())


def _no_message_carries_what_was_typed(bot: Runtime, slack: SlackSimulator, values: dict[str, str]) -> None:
    settle(bot)
    everything = slack.ws.all_visible_text()
    assert slack.ws.messages, "the DSL team and the reporter were told (a reference only)"
    for field, value in values.items():
        assert f"[{field}]" not in everything and value not in everything, field
    for fragment in TYPED_FRAGMENTS:
        assert fragment not in everything, fragment
    for message in slack.ws.messages:
        assert_message_inert(message.text)
        assert_inert(message.blocks)


def test_hostile_text_about_a_pupil_is_kept_exactly_and_never_sent(bot: Runtime, slack: SlackSimulator,
                                                                  db: Database) -> None:
    _report(slack, db, PUPIL, DAN)
    _no_message_carries_what_was_typed(bot, slack, _typed_in(PUPIL))


def test_hostile_names_of_an_adult_and_a_visitor_are_kept_exactly_and_never_sent(
        bot: Runtime, slack: SlackSimulator, db: Database) -> None:
    _report(slack, db, ADULT, HELEN)  # a low-level concern about staff goes to the headteacher
    _report(slack, db, VISITOR, DAN)
    _no_message_carries_what_was_typed(bot, slack, {**_typed_in(ADULT), **_typed_in(VISITOR)})
    assert not [m for m in slack.ws.dms_to(TOM) if "Concern" in m.text]


def test_every_free_text_field_is_covered() -> None:
    """A new free-text question must join the hostile reports above."""
    assert set(LIMITS) == set(_typed_in(PUPIL)) | set(_typed_in(ADULT)) | set(_typed_in(VISITOR))
