"""The safeguarding team's work from the channel post: Record action, Assign, Close."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.metadata import ConcernMetadata, MetadataError
from bot.payloads import BlockActions, ViewPayload
from bot.render.form import EXPIRED_TEXT, notice_view, read_answers, single_step_view
from bot.render.messages import ASSIGN_ACTION, CLOSE_ACTION, NOT_ALLOWED_TO_ACT, RECORD_ACTION_ACTION
from bot.render.record import refusal_view
from bot.services import Services, services_of
from flows.forms import Form
from flows.handling import ACTION_FORM, ASSIGN_FORM, CLOSE_FORM, ActionAnswers
from storage import handling
from storage.handling import HandlingOutcome, HandlingResult
from storage.schools import ensure_school

log = logging.getLogger(__name__)
NOT_OPEN_TEXT = "This concern is not open for that just now: it may not be acknowledged yet, or it is closed."
INVALID_ASSIGNEE = "Only the DSL or a deputy DSL can look after this concern."


@dataclass(frozen=True)
class Handling:
    button: str
    callback: str
    form: Form


RECORD = Handling(RECORD_ACTION_ACTION, "concern_action_form", ACTION_FORM)
ASSIGN = Handling(ASSIGN_ACTION, "concern_assign_form", ASSIGN_FORM)
CLOSE = Handling(CLOSE_ACTION, "concern_close_form", CLOSE_FORM)


def _opener(kind: Handling):  # type: ignore[no-untyped-def]
    def open_form(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
        ack()
        svc = services_of(context)
        action = BlockActions.model_validate(body)
        try:
            concern_id = int(action.action.value or "")
        except ValueError:
            return
        now = svc.clock.now()
        with svc.db.session() as session:
            school = ensure_school(session, action.team.id, svc.default_timezone, now)
            concern, problem = handling.handleable(session, action.team.id, concern_id, action.user.id,
                                                   kind.form.id, now)
            today = svc.local_now(school.timezone).date()
        if concern is None:
            view = refusal_view() if problem is not HandlingResult.NOT_OPEN else notice_view("Concern", NOT_OPEN_TEXT)
        else:
            initial = {"taken_on": today.isoformat(), "assignee": concern.assigned_to}
            meta = svc.codec.dump(ConcernMetadata(concern_id=concern_id))
            view = single_step_view(kind.form, initial, meta, kind.callback, today,
                                    header_text=f"*{concern.reference}*")
        client.views_open(trigger_id=action.trigger_id, view=view)

    return open_form


def _apply(kind: Handling, svc: Services, session: Any, payload: ViewPayload, concern_id: int,
           values: dict[str, Any], today: Any) -> HandlingOutcome:
    team, user, now = payload.team.id, payload.user.id, svc.clock.now()
    if kind is RECORD:
        return handling.record_action(session, team, concern_id, user, ActionAnswers.from_answers(values), now)
    if kind is ASSIGN:
        return handling.assign(session, team, concern_id, user, str(values["assignee"]), now)
    return handling.close(session, team, concern_id, user, str(values["outcome"]), now, today)


def _submitter(kind: Handling):  # type: ignore[no-untyped-def]
    def submit(ack: Ack, body: dict[str, Any], context: Any) -> None:
        svc = services_of(context)
        payload = ViewPayload.model_validate(body)
        try:
            meta = svc.codec.load(ConcernMetadata, payload.view.private_metadata)
        except MetadataError:
            ack(response_action="update", view=notice_view("Concern", EXPIRED_TEXT))
            return
        step = kind.form.first_step
        values = read_answers(step, payload.view.state.values, {})
        with svc.db.session() as session:
            school = ensure_school(session, payload.team.id, svc.default_timezone, svc.clock.now())
            now_local = svc.local_now(school.timezone)
            errors = kind.form.validate(step.id, values, now_local)
            outcome = None if errors else _apply(kind, svc, session, payload, meta.concern_id, values,
                                                 now_local.date())
        if errors:
            ack(response_action="errors", errors=errors)
        elif outcome.result is HandlingResult.DONE:
            ack()
            log.info("concern %s: %s by %s", outcome.summary.reference if outcome.summary else "?",
                     kind.form.id, payload.user.id)
            svc.kick_outbox()
        elif outcome.result is HandlingResult.INVALID_ASSIGNEE:
            ack(response_action="errors", errors={"assignee": INVALID_ASSIGNEE})
        elif outcome.result is HandlingResult.NOT_OPEN:
            ack(response_action="update", view=notice_view("Concern", NOT_OPEN_TEXT))
        else:
            ack(response_action="update", view=notice_view("Concern", NOT_ALLOWED_TO_ACT))

    return submit


def register(app: App) -> None:
    for kind in (RECORD, ASSIGN, CLOSE):
        app.action(kind.button)(_opener(kind))
        app.view_submission(kind.callback)(_submitter(kind))
