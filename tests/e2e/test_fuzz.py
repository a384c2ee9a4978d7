"""Property-based: payloads of every kind the bot receives, with random contents, signed and sent over HTTP to
the running bot. Whatever arrives, the answer is never a 5xx, its body is never a traceback, and a payload
that is not a valid action writes no concern and no draft.

Each property is checked inside its test (not with @given on the test), so one running bot serves all of
its examples. Example counts stay modest: this runs in CI on both databases.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings, strategies as st

from bot.render import admin, aup, form, messages, reviews
from bot.listeners.admin_register import AUP_CALLBACK, POLICY_CALLBACK
from bot.runtime import Runtime
from bot.sandbox.client import API_APP_ID, SlackSimulator
from bot.sandbox.demo_workspace import AMY, DAN, HELEN, TEAM_ID
from storage.db import Database
from tests.e2e.journey import open_form
from tests.e2e.wire import JSON, assert_answered_plainly, payload_body, row_counts, signed

CHECKED = settings(max_examples=60, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
WRITES = ("concerns", "drafts")

short_text = st.text(max_size=40)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | short_text
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    short_text, inner, max_size=4), max_leaves=12)
users = st.sampled_from([AMY, DAN, HELEN]) | short_text
teams = st.sampled_from([TEAM_ID, TEAM_ID, TEAM_ID, "T0ELSEWHERE"]) | short_text
action_ids = st.sampled_from([
    messages.ACKNOWLEDGE_ACTION, messages.OPEN_RECORD_ACTION, messages.RECORD_ACTION_ACTION, messages.ASSIGN_ACTION,
    messages.CLOSE_ACTION, messages.INITIAL_REVIEW_ACTION, form.BACK_ACTION, reviews.REVIEW_ACTION,
    reviews.GOVERNORS_REPORT_ACTION, aup.SIGN_ACTION, aup.READ_ACTION, aup.LINK_ACTION, aup.SHOW_UNSIGNED_ACTION,
    admin.SETTINGS_ACTION, admin.POLICIES_ACTION, admin.EDIT_POLICY_ACTION, admin.AUP_ACTION, admin.BACK_ACTION,
]) | short_text  # (Report a concern from App Home starts a draft: that is a valid payload's write, left out)
callbacks = st.sampled_from([
    form.STEP_CALLBACK, form.RESUME_CALLBACK, "concern_action_form", "concern_assign_form", "concern_close_form",
    "concern_initial_review_form", reviews.REVIEW_CALLBACK, admin.SETTINGS_CALLBACK, admin.CONFIRM_CALLBACK,
    POLICY_CALLBACK, AUP_CALLBACK,
]) | short_text
state_entries = st.fixed_dictionaries({"type": st.sampled_from(["plain_text_input", "static_select", "checkboxes",
                                                                 "datepicker", "users_select", "radio_buttons"])},
                                       optional={"value": json_values, "selected_option": json_values,
                                                 "selected_options": json_values, "selected_date": json_values,
                                                 "selected_user": json_values, "selected_users": json_values})
state_values = st.dictionaries(short_text, st.dictionaries(short_text, state_entries, max_size=2), max_size=4) \
    | json_values
metadata = short_text | st.builds(lambda sig, body: f"{sig}.{json.dumps(body)}", short_text, json_values)


def overrides(*keys: str) -> st.SearchStrategy[dict[str, Any]]:
    """Some of a payload's own fields replaced by anything at all: the shapes Slack never sends."""
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=2)


def _unchanged(db: Database, before: dict[str, int]) -> None:
    after = row_counts(db)
    assert {t: after[t] for t in WRITES} == {t: before[t] for t in WRITES}


def _who(slack: SlackSimulator, team: str, user: str) -> dict[str, Any]:
    return {"team": {"id": team, "domain": "sandbox"}, "user": {"id": user, "name": "someone"},
            "api_app_id": API_APP_ID, "trigger_id": slack.ws.issue_trigger(AMY)}


def test_slash_commands_with_random_text(bot: Runtime, slack: SlackSimulator, db: Database) -> None:
    """Any command, any text: /report-concern is left out (starting a draft is its valid write)."""
    @CHECKED
    @given(command=st.sampled_from(["/concerns", "/aup"]) | st.text(max_size=20).map(lambda t: "/" + t),
           text=st.text(max_size=300), user=users, team=teams,
           extra=st.dictionaries(short_text | st.sampled_from(["trigger_id", "is_enterprise_install", "enterprise_id",
                                                              "payload", "type"]), short_text, max_size=3))
    def check(command: str, text: str, user: str, team: str, extra: dict[str, str]) -> None:
        before = row_counts(db)
        body = {"team_id": team, "user_id": user, "command": command, "text": text,
                "trigger_id": slack.ws.issue_trigger(AMY), "api_app_id": API_APP_ID,
                "response_url": slack.sandbox.response_url(AMY), "channel_id": "D1", **extra}
        assert_answered_plainly(signed(slack, urlencode(body).encode()))
        _unchanged(db, before)

    check()


def test_block_actions_with_random_action_ids_and_values(bot: Runtime, slack: SlackSimulator, db: Database) -> None:
    @CHECKED
    @given(action_id=action_ids, value=st.none() | short_text, user=users, team=teams,
           container=st.none() | st.sampled_from([{"type": "message", "channel_id": "C0DSLTEAM", "message_ts": "1.1"},
                                                   {"type": "view", "view_id": "V1"}]) | json_values,
           view=st.none() | st.fixed_dictionaries({"id": short_text, "type": st.sampled_from(["modal", "home"]),
                                                   "private_metadata": metadata, "state": st.just({"values": {}})}),
           extra=st.dictionaries(short_text, json_values, max_size=2),
           broken=overrides("actions", "user", "team", "view", "container", "trigger_id", "message", "channel"))
    def check(action_id: str, value: str | None, user: str, team: str, container: Any, view: Any,
              extra: dict[str, Any], broken: dict[str, Any]) -> None:
        before = row_counts(db)
        payload = {**extra, "type": "block_actions", **_who(slack, team, user), "container": container,
                   "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}]}
        if view is not None:
            payload["view"] = view
        payload.update(broken)
        assert_answered_plainly(signed(slack, payload_body(payload)))
        _unchanged(db, before)

    check()


def test_view_submissions_with_random_state_and_metadata(bot: Runtime, slack: SlackSimulator, db: Database) -> None:
    @CHECKED
    @given(callback_id=callbacks, private_metadata=metadata, values=state_values, user=users, team=teams,
           blocks=st.just([]) | json_values, broken=overrides("view", "user", "team", "trigger_id"),
           view_broken=overrides("id", "type", "callback_id", "state", "title", "private_metadata"))
    def check(callback_id: str, private_metadata: str, values: Any, user: str, team: str, blocks: Any,
              broken: dict[str, Any], view_broken: dict[str, Any]) -> None:
        before = row_counts(db)
        view = {"id": "V0RANDOM", "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
                "title": {"type": "plain_text", "text": "Random"}, "blocks": blocks, "state": {"values": values},
                **view_broken}
        payload = {"type": "view_submission", **_who(slack, team, user), "view": view, **broken}
        assert_answered_plainly(signed(slack, payload_body(payload)))
        _unchanged(db, before)

    check()


def test_random_answers_on_a_genuine_report_form(bot: Runtime, slack: SlackSimulator, db: Database) -> None:
    """Amy's real form (its metadata genuine), with random answers: a refusal or the next step, never a
    concern, never a second draft."""
    open_form(slack, AMY)
    screen = json.loads(json.dumps(slack.ws.current_view(AMY).view))

    @CHECKED
    @given(values=state_values)
    def check(values: Any) -> None:
        before = row_counts(db)
        payload = {"type": "view_submission", **slack._who(AMY), "api_app_id": API_APP_ID,
                   "trigger_id": slack.ws.issue_trigger(AMY), "view": {**screen, "state": {"values": values}}}
        reply = slack.post_payload(payload)
        assert_answered_plainly(reply)
        if reply.status == 200:
            assert reply.json().get("response_action") in ("errors", "update"), reply.body
        _unchanged(db, before)

    check()


def test_events_of_random_types_and_shapes(bot: Runtime, slack: SlackSimulator, db: Database) -> None:
    @CHECKED
    @given(kind=st.sampled_from(["app_home_opened", "team_join", "tokens_revoked", "team_access_granted",
                                 "team_access_revoked", "message", "app_mention"]) | short_text,
           event=st.dictionaries(short_text | st.sampled_from(["user", "channel", "tab", "view", "item", "team"]),
                                 json_values, max_size=5), team=teams,
           envelope=st.dictionaries(short_text, json_values, max_size=3), as_form=st.booleans(),
           broken=overrides("event", "team_id", "authorizations", "type", "api_app_id", "enterprise_id"))
    def check(kind: str, event: dict[str, Any], team: str, envelope: dict[str, Any], as_form: bool,
              broken: dict[str, Any]) -> None:
        before = row_counts(db)
        wrapped = {**envelope, **slack.envelope({**event, "type": kind}), "team_id": team, **broken}
        body = payload_body(wrapped) if as_form else json.dumps(wrapped).encode()
        reply = signed(slack, body, "application/x-www-form-urlencoded" if as_form else JSON)
        assert_answered_plainly(reply)
        _unchanged(db, before)

    check()


def test_bodies_of_any_shape(bot: Runtime, slack: SlackSimulator, db: Database) -> None:
    """Not Slack's shapes at all: any JSON, any form fields, any bytes."""
    @CHECKED
    @given(body=json_values.map(lambda v: json.dumps(v).encode())
           | st.dictionaries(short_text, short_text | json_values.map(json.dumps), max_size=4).map(
               lambda d: urlencode(d).encode())
           | st.binary(max_size=300),
           content_type=st.sampled_from([JSON, "application/x-www-form-urlencoded"]))
    def check(body: bytes, content_type: str) -> None:
        before = row_counts(db)
        assert_answered_plainly(signed(slack, body, content_type))
        _unchanged(db, before)

    check()
