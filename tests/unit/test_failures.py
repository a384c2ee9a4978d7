"""The net under every listener (bot.failures): what Slack is answered when something raises."""

from __future__ import annotations

import json

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from bot.failures import DATABASE_DOWN, NOT_A_PAYLOAD, OUR_FAULT, StickyAck, answer, malformed
from bot.payloads import ViewPayload

DOWN = OperationalError("SELECT 1", {}, Exception("connection refused"))
FORM = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"},
        "view": {"type": "modal", "title": {"type": "plain_text", "text": "Policy"}, "callback_id": "f",
                 "blocks": [{"type": "section", "block_id": "intro"}, {"type": "input", "block_id": "reviewed_on"}]}}


def test_an_acknowledged_request_stays_acknowledged() -> None:
    ack = StickyAck()
    assert ack.response is None
    ack(response_action="clear")
    given = ack.response
    ack.response = None  # what Bolt does when the listener raises after acknowledging
    assert ack.response is given and given.status == 200


def test_a_form_that_failed_keeps_what_was_typed_and_says_why() -> None:
    reply = answer(DOWN, FORM, False, None)
    assert reply.status == 200
    assert json.loads(reply.body) == {"response_action": "errors", "errors": {"reviewed_on": DATABASE_DOWN}}
    nothing_to_type = {**FORM, "view": {**FORM["view"], "blocks": [{"type": "section", "block_id": "intro"}]}}
    again = json.loads(answer(RuntimeError("bug"), nothing_to_type, False, None).body)
    assert again["response_action"] == "update" and OUR_FAULT in json.dumps(again["view"])
    command = json.loads(answer(DOWN, {"command": "/concerns", "user_id": "U1", "team_id": "T1"}, False, None).body)
    assert command["response_type"] == "ephemeral" and "couldn't reach its records" in command["text"]


def test_a_payload_slack_would_not_send_is_a_400() -> None:
    try:
        ViewPayload.model_validate({"view": {}})
    except ValidationError as error:
        parse_error = error
    assert malformed(parse_error, FORM)
    assert answer(parse_error, FORM, False, None).body == NOT_A_PAYLOAD
    assert answer(TypeError("x"), {**FORM, "view": "a string"}, False, None).status == 400
    assert answer(TypeError("x"), {"type": "block_actions", "actions": "press"}, False, None).status == 400
    assert answer(TypeError("x"), {"type": "made_up"}, False, None).status == 400
    assert answer(DOWN, FORM, True, None) is None  # acknowledged already: nothing to replace
