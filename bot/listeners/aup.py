"""The staff AUP in Slack: *I have read and agree*, reading the text, `/aup`, and new members joining."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.listeners.home import publish_home
from bot.listeners.views import open_or_push
from bot.payloads import BlockActions, SlashCommand, TeamJoin
from bot.render import aup as render
from bot.render.form import notice_view
from bot.services import services_of
from bot.dedupe import once_per_event
from flows.aup import is_staff
from storage import aup
from storage.aup import SignResult
from storage.schools import ensure_school, school_day

log = logging.getLogger(__name__)
COMMAND = "/aup"
NOT_FOR_YOU = "The whole staff's signing status is for the safeguarding team and the headteacher."


def _request_id(action: BlockActions) -> int | None:
    try:
        return int(action.action.value or "")
    except ValueError:
        return None


def on_sign(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: Any) -> None:
    ack()
    svc = services_of(context)
    action = BlockActions.model_validate(body)
    request_id = _request_id(action)
    with svc.db.session() as session:
        school = ensure_school(session, action.team.id, svc.default_timezone, svc.clock.now())
        outcome = aup.sign(session, action.team.id, request_id, action.user.id, svc.clock.now()) \
            if request_id is not None else aup.SignOutcome(SignResult.NOT_FOUND)
        tz = school.timezone
        own = aup.status_of(session, action.team.id, action.user.id)
        everyone = aup.staff_status(session, action.team.id) if aup.may_see_everyone(session, school, action.user.id) \
            else None
    if outcome.result is SignResult.SIGNED:
        log.info("AUP request %s signed", request_id)
    if outcome.result in (SignResult.SIGNED, SignResult.ALREADY) and outcome.request and outcome.version:
        text, blocks = render.receipt(outcome.version, outcome.request.signed_at, tz)  # type: ignore[arg-type]
        container = body.get("container") or {}
        if container.get("type") == "message":
            client.chat_update(channel=container["channel_id"], ts=container["message_ts"], text=text, blocks=blocks)
        elif action.view is not None and action.view.type == "home":
            publish_home(svc, client, action.team.id, action.user.id)
        elif action.view is not None:  # from the /aup modal or the text modal: show where they stand now
            client.views_update(view_id=action.view.id, view=render.status_view(own, tz, everyone))
        return
    message = {SignResult.REPLACED: render.REPLACED, SignResult.NOT_YOURS: render.NOT_YOURS}.get(
        outcome.result, render.NOT_FOUND)
    respond(text=message, response_type="ephemeral", replace_original=False)


def on_read(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    svc = services_of(context)
    action = BlockActions.model_validate(body)
    request_id = _request_id(action)
    with svc.db.session() as session:
        found = aup.request_and_version(session, action.team.id, request_id) if request_id is not None else None
    if found is None or found[0].user_id != action.user.id:
        view = notice_view("Acceptable Use Policy", render.NOT_YOURS)
    else:
        view = render.text_view(found[1], found[0].id)
    open_or_push(client, action, view)


def on_link(ack: Ack) -> None:
    ack()  # a link button opens the AUP in the browser; Slack still tells us it was pressed


def on_aup_command(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    svc = services_of(context)
    command = SlashCommand.model_validate(body)
    team_id, user_id = command.team_id, command.user_id
    with svc.db.session() as session:
        school = ensure_school(session, team_id, svc.default_timezone, svc.clock.now())
        own = aup.status_of(session, team_id, user_id)
        everyone = aup.staff_status(session, team_id) if aup.may_see_everyone(session, school, user_id) else None
        view = render.status_view(own, school.timezone, everyone)
    client.views_open(trigger_id=command.trigger_id, view=view)


def on_show_unsigned(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    svc = services_of(context)
    action = BlockActions.model_validate(body)
    with svc.db.session() as session:
        school = ensure_school(session, action.team.id, svc.default_timezone, svc.clock.now())
        allowed = aup.may_see_everyone(session, school, action.user.id)
        view = render.unsigned_view(aup.staff_status(session, action.team.id), school.timezone) if allowed \
            else notice_view("Acceptable Use Policy", NOT_FOR_YOU)
    if allowed:
        log.info("AUP signing list viewed by %s", action.user.id)
    open_or_push(client, action, view)


def on_team_join(ack: Ack, body: dict[str, Any], context: Any) -> None:
    """A new member of the workspace is asked to sign the AUP in force, on their first school day."""
    ack()
    svc = services_of(context)
    joined = TeamJoin.model_validate(body)
    now = svc.clock.now()
    with svc.db.session() as session:
        school = ensure_school(session, joined.team_id, svc.default_timezone, now)
        if not is_staff(joined.event.user, aup.rules_of(school)):
            return
        first_day = school_day(school).next_opening(now, school.timezone)
        asked = aup.ask_joiner(session, school, joined.event.user.id, now, first_day)
    if asked:
        log.info("new member %s will be asked to sign the AUP", joined.event.user.id)
        svc.kick_outbox()


def register(app: App) -> None:
    app.action(render.SIGN_ACTION)(on_sign)
    app.action(render.READ_ACTION)(on_read)
    app.action(render.LINK_ACTION)(on_link)
    app.action(render.SHOW_UNSIGNED_ACTION)(on_show_unsigned)
    app.command(COMMAND)(on_aup_command)
    app.event("team_join")(once_per_event(on_team_join))
