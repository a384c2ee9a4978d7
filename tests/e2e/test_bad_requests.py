"""Requests Slack would never send, over HTTP to the running bot: each is refused with a 4xx or answered
with one clear sentence. Never a 500, never a traceback in the body, never a row written."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import NOT_INSTALLED
from bot.render.messages import ACKNOWLEDGE_ACTION, NOT_ALLOWED_TO_ACT, RECORD_ACTION_ACTION
from bot.render.admin import CONFIRM_CALLBACK
from bot.render.reviews import REVIEW_CALLBACK
from bot.runtime import Runtime
from bot.sandbox.client import API_APP_ID, SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, TEAM_ID
from storage.db import Database
from storage.models import Concern, ConcernEvent, Draft
from tests.e2e.journey import STEPS, dsl_post, open_form, report, view_text
from tests.e2e.wire import FORM, JSON, assert_answered_plainly, payload_body, row_counts, signed
from tests.e2e.yearly_helpers import settle


def _command(slack: SlackSimulator, team_id: str = TEAM_ID, command: str = "/report-concern") -> bytes:
    from urllib.parse import urlencode

    return urlencode({"team_id": team_id, "user_id": AMY, "command": command, "text": "",
                      "trigger_id": slack.ws.issue_trigger(AMY), "api_app_id": API_APP_ID,
                      "response_url": slack.sandbox.response_url(AMY), "channel_id": "D1"}).encode()


def _refused_and_untouched(slack: SlackSimulator, db: Database, send: Any, status: int | tuple[int, ...],
                           besides: tuple[str, ...] = ()) -> str:
    before, calls = row_counts(db, besides=besides), list(slack.ws.calls)
    reply = send()
    assert_answered_plainly(reply)
    assert reply.status in ((status,) if isinstance(status, int) else status), (reply.status, reply.body)
    time.sleep(0.2)  # anything a listener started would have called Slack or written by now
    assert row_counts(db, besides=besides) == before and slack.ws.calls == calls and slack.ws.views == {}
    return reply.body


@pytest.mark.parametrize("headers", [
    pytest.param(lambda h: {**h, "X-Slack-Signature": "v0=" + "0" * 64}, id="forged"),
    pytest.param(lambda h: {k: v for k, v in h.items() if k != "X-Slack-Signature"}, id="no-signature"),
    pytest.param(lambda h: {k: v for k, v in h.items() if k != "X-Slack-Request-Timestamp"}, id="no-timestamp"),
    pytest.param(lambda h: {"Content-Type": h["Content-Type"]}, id="no-slack-headers"),
])
def test_a_request_without_a_good_signature_is_refused(slack: SlackSimulator, db: Database, headers: Any) -> None:
    body = _command(slack)
    sent = headers(slack.signed_headers(body, FORM))
    _refused_and_untouched(slack, db, lambda: slack.post_raw(body, sent), 401)


@pytest.mark.parametrize("offset", [pytest.param(-301, id="replayed-5-minutes-later"),
                                    pytest.param(-3600, id="an-hour-old"),
                                    pytest.param(+301, id="from-the-future")])
def test_a_correctly_signed_request_at_the_wrong_time_is_refused(slack: SlackSimulator, db: Database,
                                                                offset: int) -> None:
    body = _command(slack)
    _refused_and_untouched(slack, db, lambda: signed(slack, body, timestamp=int(time.time()) + offset), 401)


@pytest.mark.parametrize("body, content_type, status", [
    pytest.param(b"report a concern please", "text/plain", 415, id="plain-text"),
    pytest.param(b"<xml>concern</xml>", "application/xml", 415, id="xml"),
    pytest.param(b"", FORM, 400, id="empty"),
    pytest.param(b"payload=" + b"x" * (3 * 1024 * 1024), FORM, 413, id="huge"),
    pytest.param(b"payload=%7B%22type%22%3A%22\xff\xfe%22%7D", FORM, 400, id="invalid-utf8"),
    pytest.param("text=caf\u00e9".encode("latin-1"), FORM, 400, id="latin-1"),
    pytest.param(b"{not json", JSON, 400, id="broken-json"),
    pytest.param(b"[1, 2, 3]", JSON, 400, id="json-array"),
    pytest.param(b'"a string"', JSON, 400, id="json-string"),
    pytest.param(b"payload=not-json", FORM, 400, id="payload-not-json"),
    pytest.param(b"payload=42", FORM, 400, id="payload-a-number"),
])
def test_a_body_slack_would_never_send_is_refused(slack: SlackSimulator, db: Database, body: bytes,
                                                 content_type: str, status: int) -> None:
    """Signed correctly (the bytes as they are), so what is refused is the body itself."""
    words = _refused_and_untouched(slack, db, lambda: signed(slack, body, content_type), status)
    assert words.strip().endswith(".")  # one sentence, saying what was wrong


def test_payloads_of_kinds_the_bot_does_not_handle_are_refused(slack: SlackSimulator, db: Database) -> None:
    who = slack._who(AMY)
    for payload in (
        {"type": "interactive_message_of_the_future", **who},
        {"type": "view_submission", **who, "view": {"id": "V1", "type": "modal", "callback_id": "no_such_form",
                                                    "private_metadata": "", "state": {"values": {}}}},
        {"type": "block_actions", **who, "trigger_id": slack.ws.issue_trigger(AMY),
         "actions": [{"action_id": "no_such_button", "block_id": "b", "value": "1", "type": "button"}]},
        {"type": "shortcut", **who, "callback_id": "no_such_shortcut", "trigger_id": slack.ws.issue_trigger(AMY)},
    ):
        _refused_and_untouched(slack, db, lambda: signed(slack, payload_body(payload)), 404)
    _refused_and_untouched(slack, db, lambda: signed(slack, _command(slack, command="/no-such-command")), 404)
    envelope = json.dumps(slack.envelope({"type": "no_such_event", "user": AMY})).encode()
    # A signed event's id is noted (so a redelivery is known): bookkeeping, not a write of what it carried.
    _refused_and_untouched(slack, db, lambda: signed(slack, envelope, JSON), 404, besides=("seen_events",))


@pytest.mark.parametrize("payload", [
    pytest.param({"type": "view_submission", "view": "not a view"}, id="view-not-an-object"),
    pytest.param({"type": "view_submission", "view": {"type": "modal", "callback_id": "report_step"}}, id="no-user"),
    pytest.param({"type": "block_actions", "actions": "press"}, id="actions-not-a-list"),
    pytest.param({"type": "block_actions", "actions": [{"action_id": "form_back"}]}, id="no-trigger"),
    pytest.param({"type": "view_submission", "view": {"type": "modal", "callback_id": "report_step",
                                                      "state": {"values": {"x": "y"}}}}, id="state-misshapen"),
])
def test_a_payload_missing_what_slack_always_sends_is_refused(slack: SlackSimulator, db: Database,
                                                             payload: dict) -> None:
    full = {**payload, "team": {"id": TEAM_ID}, "api_app_id": API_APP_ID}
    if payload.get("view", {}) != "not a view" and "no-user" not in json.dumps(payload):
        full["user"] = {"id": AMY}
    before = row_counts(db)
    reply = signed(slack, payload_body(full))
    assert_answered_plainly(reply)
    assert reply.status in (200, 400, 404), reply.status
    assert row_counts(db) == before


def _forged_submission(slack: SlackSimulator, user: str, callback_id: str, metadata: str,
                       values: dict | None = None) -> dict:
    view = {"id": "V0FORGED", "type": "modal", "callback_id": callback_id, "private_metadata": metadata,
            "title": {"type": "plain_text", "text": "Forged"}, "blocks": [], "state": {"values": values or {}}}
    return {"type": "view_submission", **slack._who(user), "api_app_id": API_APP_ID,
            "trigger_id": slack.ws.issue_trigger(user), "view": view}


def _expired(reply: Any) -> None:
    assert_answered_plainly(reply)
    answer = reply.json()
    assert answer["response_action"] == "update" and "out of date" in view_text(answer["view"]), answer


def test_tampered_private_metadata_shows_an_expired_form_and_is_never_acted_on(bot: Runtime, slack: SlackSimulator,
                                                                             db: Database) -> None:
    open_form(slack, AMY)
    genuine = slack.ws.current_view(AMY).view["private_metadata"]
    signature, _, content = genuine.partition(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    report(slack, DAN)  # a concern for the safeguarding team's forms
    post = dsl_post(slack, DSL_CHANNEL)
    slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: RECORD_ACTION_ACTION in repr(post.blocks), what="the post to offer actions")
    with db.session() as session:
        concern_id = session.scalars(select(Concern.id)).one()
    settle(bot)  # what the acknowledgement sent (and logged) is done before counting
    before = row_counts(db)
    attempts = [
        ("report_step", f"{flipped}.{content}", STEPS[0]),  # the signature no longer matches
        ("report_step", genuine.replace('"about"', '"review"'), STEPS[0]),  # the content changed under it
        ("report_step", "", STEPS[0]),  # none at all
        ("concern_action_form", f"{flipped}.{json.dumps({'concern_id': concern_id})}", {}),
        ("concern_action_form", genuine, {}),  # genuinely signed, but another form's: the wrong shape
        ("concern_close_form", "garbage.{\"concern_id\": 1}", {}),
        (REVIEW_CALLBACK, 'x.{"policy_id": 1, "next_review": "2027-07-01"}', {}),
        (CONFIRM_CALLBACK, 'x.{"answers": {"name": "Hijacked"}}', {}),
    ]
    for callback_id, metadata, answers in attempts:
        values = {k: {k: {"type": "plain_text_input", "value": v}} for k, v in answers.items()}
        user = HELEN if callback_id == CONFIRM_CALLBACK else DAN if callback_id != "report_step" else AMY
        _expired(slack.post_payload(_forged_submission(slack, user, callback_id, metadata, values)))
    assert row_counts(db) == before
    with db.session() as session:
        assert session.scalars(select(Draft.answers).where(Draft.reporter_id == AMY)).one() == {}


def test_another_workspace_or_a_stranger_changes_nothing(bot: Runtime, slack: SlackSimulator, db: Database) -> None:
    report(slack, AMY)
    post = dsl_post(slack, DSL_CHANNEL)
    settle(bot)  # the report's messages are sent (and logged) before counting
    before = row_counts(db)
    elsewhere = {"team": {"id": "T0ELSEWHERE", "domain": "elsewhere"}, "user": {"id": "U0ELSEWHERE"},
                 "api_app_id": API_APP_ID, "trigger_id": "1.2.3"}
    action = {"action_id": ACKNOWLEDGE_ACTION, "block_id": "b", "value": "1", "type": "button"}
    for payload in ({"type": "block_actions", **elsewhere, "actions": [action],
                     "container": {"type": "message", "channel_id": DSL_CHANNEL, "message_ts": post.ts}},
                    {"type": "view_submission", **elsewhere, "view": {
                        "id": "V1", "type": "modal", "callback_id": "report_step", "private_metadata": "",
                        "state": {"values": {}}}}):
        reply = signed(slack, payload_body(payload))
        assert_answered_plainly(reply)
        assert reply.status == 200 and reply.body in ("", NOT_INSTALLED), reply.body
    reply = signed(slack, _command(slack, team_id="T0ELSEWHERE"))
    assert_answered_plainly(reply)

    # Someone who is not in this workspace at all presses Acknowledge on the real post (our team, their id).
    stranger = {"type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": "U0STRANGER"},
                "api_app_id": API_APP_ID, "trigger_id": "1.2.4", "actions": [action], "channel": {"id": DSL_CHANNEL},
                "container": {"type": "message", "channel_id": DSL_CHANNEL, "message_ts": post.ts},
                "response_url": slack.sandbox.response_url("U0STRANGER")}
    assert signed(slack, payload_body(stranger)).status == 200
    wait_for(lambda: ("U0STRANGER", NOT_ALLOWED_TO_ACT) in slack.ws.ephemeral, what="the stranger refused")
    after = row_counts(db)
    assert after["concerns"] == before["concerns"] and after["drafts"] == before["drafts"]
    with db.session() as session:
        assert session.scalars(select(Concern.status)).one() == "new"
        refused = session.scalars(select(ConcernEvent.actor_id).where(ConcernEvent.kind == "acknowledge_refused"))
        assert refused.all() == ["U0STRANGER"]  # the refusal is logged on the concern, and nothing else


def test_a_workspace_that_has_not_installed_the_bot_is_told_so(schools: Any, db: Database) -> None:
    """Installed by OAuth into many workspaces: a school that never installed it gets one sentence."""
    before = row_counts(db)
    reply = schools.a.slash_command(AMY)
    assert_answered_plainly(reply)
    assert (reply.status, reply.body) == (200, "")
    wait_for(lambda: (AMY, NOT_INSTALLED) in schools.a.ws.ephemeral, what="the sentence, in the conversation")
    assert row_counts(db) == before and schools.a.ws.views == {}
