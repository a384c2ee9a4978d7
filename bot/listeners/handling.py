"""The safeguarding team's work from the channel post: Record action, Assign, Close, Initial review."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.metadata import ConcernMetadata, load_or_expire
from bot.payloads import BlockActions, ViewPayload
from bot.render.form import EXPIRED_TEXT, notice_view, read_answers, single_step_view
from bot.render.messages import (
    ASSIGN_ACTION, CLOSE_ACTION, INITIAL_REVIEW_ACTION, NOT_ALLOWED_TO_ACT, RECORD_ACTION_ACTION,
)
from bot.render.record import refusal_view
from bot.services import services_of
from flows.forms import Form
from flows.handling import ACTION_FORM, ASSIGN_FORM, CLOSE_FORM, ActionAnswers
from flows.nudes import INITIAL_REVIEW_FORM, InitialReview
from storage import handling
from storage.outcomes import Outcome, Result
from storage.schools import ensure_school

log = logging.getLogger(__name__)
SAVE_FAILED = "We couldn't save this just now, so nothing changed. What you typed is still here: please try again."
NOT_OPEN_TEXT = "This concern is not open for that just now: it may not be acknowledged yet, or it is closed."
INVALID_ASSIGNEE = "Only the DSL or a deputy DSL can look after this concern."


# (session, team, concern id, acting user, the form's answers, now, the school's today) -> outcome
Apply = Callable[[Any, str, int, str, dict[str, Any], datetime, date], Outcome]


@dataclass(frozen=True)
class Handling:
    button: str
    callback: str
    form: Form
    apply: Apply


KINDS = (
    Handling(RECORD_ACTION_ACTION, "concern_action_form", ACTION_FORM,
             lambda s, team, cid, user, v, now, today: handling.record_action(
                 s, team, cid, user, ActionAnswers.from_answers(v), now)),
    Handling(ASSIGN_ACTION, "concern_assign_form", ASSIGN_FORM,
             lambda s, team, cid, user, v, now, today: handling.assign(s, team, cid, user, str(v["assignee"]), now)),
    Handling(CLOSE_ACTION, "concern_close_form", CLOSE_FORM,
             lambda s, team, cid, user, v, now, today: handling.close(s, team, cid, user, str(v["outcome"]), now, today)),
    Handling(INITIAL_REVIEW_ACTION, "concern_initial_review_form", INITIAL_REVIEW_FORM,
             lambda s, team, cid, user, v, now, today: handling.record_initial_review(
                 s, team, cid, user, InitialReview.from_answers(v), now)),
)


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
            view = refusal_view() if problem is not Result.NOT_OPEN else notice_view("Concern", NOT_OPEN_TEXT)
        else:
            initial = {"taken_on": today.isoformat(), "assignee": concern.assigned_to}
            meta = svc.codec.dump(ConcernMetadata(concern_id=concern_id))
            view = single_step_view(kind.form, initial, meta, kind.callback, today,
                                    header_text=f"*{concern.reference}*")
        client.views_open(trigger_id=action.trigger_id, view=view)

    return open_form


def _submitter(kind: Handling):  # type: ignore[no-untyped-def]
    def submit(ack: Ack, body: dict[str, Any], context: Any) -> None:
        svc = services_of(context)
        payload = ViewPayload.model_validate(body)
        meta = load_or_expire(svc.codec, ConcernMetadata, payload.view.private_metadata, ack,
                              notice_view("Concern", EXPIRED_TEXT))
        if meta is None:
            return
        step = kind.form.first_step
        values = read_answers(step, payload.view.state.values, {})
        try:  # someone is waiting: a database that does not answer fails fast, and they are told
            with svc.db.session(interactive=True) as session:
                school = ensure_school(session, payload.team.id, svc.default_timezone, svc.clock.now())
                now_local = svc.local_now(school.timezone)
                errors = kind.form.validate(step.id, values, now_local)
                outcome = None if errors else kind.apply(session, payload.team.id, meta.concern_id,
                                                         payload.user.id, values, svc.clock.now(), now_local.date())
        except SQLAlchemyError as exc:
            log.warning("could not save %s on concern id %s (%s)", kind.form.id, meta.concern_id, type(exc).__name__)
            ack(response_action="errors", errors={step.questions[0].id: SAVE_FAILED})
            return
        if errors:
            ack(response_action="errors", errors=errors)
        elif outcome.result is Result.DONE:
            ack()
            reference = outcome.summary.reference if outcome.summary else "?"
            log.info("concern %s: %s by %s", reference, kind.form.id, payload.user.id, extra={"concern": reference})
            svc.kick_outbox()
        elif outcome.result is Result.INVALID_ASSIGNEE:
            ack(response_action="errors", errors={"assignee": INVALID_ASSIGNEE})
        elif outcome.result is Result.NOT_OPEN:
            ack(response_action="update", view=notice_view("Concern", NOT_OPEN_TEXT))
        else:
            ack(response_action="update", view=notice_view("Concern", NOT_ALLOWED_TO_ACT))

    return submit


def register(app: App) -> None:
    for kind in KINDS:
        app.action(kind.button)(_opener(kind))
        app.view_submission(kind.callback)(_submitter(kind))
