"""What Slack is answered when a listener or a middleware raises: never a 500, never a traceback.

Listeners handle the failures they expect themselves (the report form says "we couldn't save this" on
the step). This is the net under all of them, from the one error handler in `bot.app`:

- a payload that is not what Slack sends (a field missing or the wrong shape) is a 400 with one sentence;
- a form submission that failed (the database unreachable, or a fault of ours) keeps the form open with
  what was typed, and one sentence on its first field (or, with nothing to type on it, at its top);
- a slash command is answered with an ephemeral sentence; a button already acknowledged is told through
  its response_url, or with a small modal over the one it was pressed in;
- an event gets a plain 200 (Slack would only send it again).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from bot import payloads
from bot.render.form import first_input, notice_view, with_notice

log = logging.getLogger(__name__)
PAYLOAD_MODELS = frozenset(name for name, value in vars(payloads).items()  # what a Slack payload parses into
                           if isinstance(value, type) and value.__module__ == payloads.__name__)
NOT_A_PAYLOAD = "concernbot could not read this request: it is not a payload Slack sends."
DATABASE_DOWN = ("concernbot couldn't reach its records just now, so nothing was saved. What you typed is "
                 "still here: please try again in a minute.")
OUR_FAULT = ("Something went wrong in concernbot. What you typed is still here: please try again, and if it "
             "keeps happening tell whoever looks after concernbot.")
FAILED_AFTER = ("Something went wrong in concernbot while doing that: please look again in a moment, and if it "
                "keeps happening tell whoever looks after concernbot.")


class StickyAck(Ack):
    """Bolt's ack, except that an acknowledged request stays acknowledged. When a listener raises after
    acknowledging, Bolt clears the ack; a request thread that had not yet seen it (the listener failed within
    its 10 ms poll) then waits out Slack's 3 seconds and answers 404. With this it answers the ack."""

    @property  # type: ignore[override]
    def response(self) -> BoltResponse | None:
        return self.__dict__.get("_response")

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if value is not None or self.__dict__.get("_response") is None:
            self.__dict__["_response"] = value


def keep_acknowledged(context: Any, body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002
    """A global middleware (bot.app.Direct): every listener gets a StickyAck."""
    current = context.get("ack")
    if current is None or current.response is None:
        context["ack"] = StickyAck()
    return next()


def _sentence(error: Exception, *, typed: bool = True) -> str:
    if isinstance(error, SQLAlchemyError):  # its unit of work was rolled back: nothing of it was written
        return DATABASE_DOWN if typed else ("concernbot couldn't reach its records just now, so nothing was "
                                            "changed. Please try again in a minute.")
    return OUR_FAULT if typed else FAILED_AFTER


def _json(status: int, payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=status, body=json.dumps(payload), headers={"content-type": "application/json"})


def _shaped(body: dict[str, Any]) -> bool:
    """Whether the payload has the shape Slack gives its kind (what Bolt and the listeners rely on)."""
    kind = body.get("type")
    if not isinstance(body.get("team"), (dict, type(None))) or \
            not isinstance(body.get("user"), (dict, str, type(None))):
        return False
    if kind in ("view_submission", "view_closed"):
        return isinstance(body.get("view"), dict)
    if kind == "block_actions":
        actions = body.get("actions")
        return isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    if kind == "event_callback":
        return isinstance(body.get("event"), dict)
    if "command" in body:
        return isinstance(body.get("user_id"), str) and isinstance(body.get("team_id"), str)
    return True


def malformed(error: Exception, body: Any) -> bool:
    """The payload, not our code, is at fault: it is not what Slack sends (it did not parse into the models
    of `bot.payloads`, or it has not even the shape Bolt relies on)."""
    if isinstance(error, ValidationError) and error.title in PAYLOAD_MODELS:
        return True
    return not isinstance(body, dict) or not _shaped(body)


def answer(error: Exception, body: Any, acknowledged: bool, context: Any) -> BoltResponse | None:
    """The response to send instead of Bolt's 500 (None: already acknowledged, or nothing better)."""
    if not isinstance(body, dict):
        return None if acknowledged else BoltResponse(status=400, body=NOT_A_PAYLOAD)
    kind = body.get("type")
    if acknowledged:
        _tell_afterwards(error, body, context)
        return None
    if malformed(error, body):
        return BoltResponse(status=400, body=NOT_A_PAYLOAD)
    if kind == "view_submission":
        view = body.get("view")
        field = first_input(view)
        if field is not None:
            return _json(200, {"response_action": "errors", "errors": {field: _sentence(error)}})
        again = with_notice(view, _sentence(error))
        if again is not None:
            return _json(200, {"response_action": "update", "view": again})
        return _json(200, {"response_action": "push", "view": notice_view("concernbot", _sentence(error))})
    if "command" in body:
        return _json(200, {"response_type": "ephemeral", "text": _sentence(error, typed=False)})
    if kind in ("event_callback", "url_verification", "view_closed", "block_actions", "block_suggestion"):
        _tell_afterwards(error, body, context)
        return BoltResponse(status=200, body="")
    return BoltResponse(status=400, body=NOT_A_PAYLOAD)


def _tell_afterwards(error: Exception, body: dict[str, Any], context: Any) -> None:
    """A button already acknowledged: say what happened where the person is looking, if we can."""
    if body.get("type") != "block_actions" or malformed(error, body) or context is None:
        return
    try:
        container = body.get("container") if isinstance(body.get("container"), dict) else {}
        if context.response_url and container.get("type") == "message":
            context.respond(text=_sentence(error, typed=False), response_type="ephemeral", replace_original=False)
            return
        client, trigger = context.client, body.get("trigger_id")
        if client is None or not isinstance(trigger, str):
            return
        notice = notice_view("concernbot", _sentence(error, typed=False))
        view = body.get("view") if isinstance(body.get("view"), dict) else {}
        if view.get("type") == "modal":
            client.views_push(trigger_id=trigger, view=notice)
        else:
            client.views_open(trigger_id=trigger, view=notice)
    except Exception as exc:  # telling them is a courtesy: its own failure is only logged
        log.warning("could not tell the person about a failure (%s)", type(exc).__name__)
