"""The safeguarding team's buttons on a concern: Acknowledge and Open record."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.listeners.views import open_or_push
from bot.payloads import BlockActions
from bot.render.messages import (
    ACKNOWLEDGE_ACTION, NOT_ALLOWED_TO_ACT, OPEN_RECORD_ACTION, already_acknowledged,
)
from bot.render.record import record_view, refusal_view
from bot.services import services_of
from storage import access
from storage.concerns import acknowledge
from storage.outcomes import Result
from storage.schools import get_school

log = logging.getLogger(__name__)


def _concern_id(action: BlockActions) -> int | None:
    try:
        return int(action.action.value or "")
    except ValueError:
        return None


def _timezone(session: Any, team_id: str, default: str) -> str:
    school = get_school(session, team_id)
    return school.timezone if school else default


def on_acknowledge(ack: Ack, body: dict[str, Any], respond: Respond, context: Any) -> None:
    ack()
    svc = services_of(context)
    action = BlockActions.model_validate(body)
    concern_id = _concern_id(action)
    if concern_id is None:
        respond(text=NOT_ALLOWED_TO_ACT, response_type="ephemeral", replace_original=False)
        return
    with svc.db.session(interactive=True) as session:  # a failure is told in the channel (bot.failures)
        outcome = acknowledge(session, action.team.id, concern_id, action.user.id, svc.clock.now())
        # The school's time zone only for telling a second presser when the first one was.
        tz = _timezone(session, action.team.id, svc.default_timezone) if outcome.result is Result.ALREADY else ""
    if outcome.result is Result.DONE:
        reference = outcome.summary.reference if outcome.summary else str(concern_id)
        log.info("concern %s acknowledged", reference, extra={"concern": reference})
        svc.kick_outbox()
    elif outcome.result is Result.ALREADY and outcome.summary is not None:
        respond(text=already_acknowledged(outcome.summary, tz), response_type="ephemeral",
                replace_original=False)
    else:
        respond(text=NOT_ALLOWED_TO_ACT, response_type="ephemeral", replace_original=False)


def on_open_record(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    svc = services_of(context)
    action = BlockActions.model_validate(body)
    concern_id = _concern_id(action)
    with svc.db.session(interactive=True) as session:  # Slack's trigger to show the record lasts 3 seconds
        record = None
        if concern_id is not None:
            record = access.open_record(session, action.team.id, concern_id, action.user.id, svc.clock.now())
        view = record_view(record, _timezone(session, action.team.id, svc.default_timezone)) \
            if record else refusal_view()
    open_or_push(client, action, view)


def register(app: App) -> None:
    app.action(ACKNOWLEDGE_ACTION)(on_acknowledge)
    app.action(OPEN_RECORD_ACTION)(on_open_record)
