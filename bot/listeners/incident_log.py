"""`/concerns`: the safeguarding team's list of concerns, filtered, in a modal."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.payloads import SlashCommand
from bot.render.form import quoting_notice_view
from bot.render.incident_log import incident_log_view, not_for_you_view
from bot.services import services_of
from flows.incident_log import FilterError, parse_filters
from storage.incident_log import list_concerns
from storage.schools import ensure_school

log = logging.getLogger(__name__)
COMMAND = "/concerns"


def on_concerns(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    svc = services_of(context)
    command = SlashCommand.model_validate(body)
    try:
        filters = parse_filters(command.text)
    except FilterError as exc:
        client.views_open(trigger_id=command.trigger_id, view=quoting_notice_view("Incident log", str(exc)))
        return
    with svc.db.session() as session:
        school = ensure_school(session, command.team_id, svc.default_timezone, svc.clock.now())
        concerns = list_concerns(session, command.team_id, command.user_id, filters)
        view = not_for_you_view() if concerns is None else incident_log_view(concerns, filters, school.timezone)
    if concerns is None:
        log.info("incident log refused for %s", command.user_id)
    client.views_open(trigger_id=command.trigger_id, view=view)


def register(app: App) -> None:
    app.command(COMMAND)(on_concerns)
