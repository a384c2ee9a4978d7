"""The reporter's journey: /report-concern, each form step, Back, Resume, and the final submit."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.metadata import FormMetadata, MetadataError, load_or_expire
from bot.payloads import BlockActions, SlashCommand, View, ViewPayload
from bot.render.blocks import local_time
from bot.render.messages import HOME_REPORT_ACTION
from bot.render.form import (
    BACK_ACTION, EXPIRED_TEXT, RESUME_BLOCK, RESUME_CALLBACK, STEP_CALLBACK, notice_view, read_answers,
    recorded_view, resume_view, step_view, with_notice,
)
from bot.services import Services, services_of
from flows.concern import SubjectKind, Urgency
from flows.forms import Answer, Kind, Step
from flows.report_form import REPORT_FORM, ReportAnswers, needs_immediate_page
from storage.concerns import page_immediate_risk, submit_report
from storage.drafts import (
    DraftStatus, DraftView, discard, open_form, owned_draft, owned_draft_at, save_answers, start_draft,
)
from storage.models import Concern, Draft, School
from storage.schools import ensure_school

log = logging.getLogger(__name__)
COMMAND = "/report-concern"
SAVE_FAILED = ("We couldn't save this just now, so nothing was sent. Your answers are still here: "
               "please press the button again in a moment.")
NOT_OPENED = ("concernbot couldn't reach its records just now, so the form didn't open. Nothing you saved "
              "is lost: please try again in a minute.")
NOT_BACK = ("We couldn't go back a step just now. Your answers are still on the form: close this message "
            "and press the button again in a moment.")


def _expired() -> dict:
    return notice_view("Report a concern", EXPIRED_TEXT)


def _meta(svc: Services, draft: Draft | DraftView, step_id: str) -> str:
    return svc.codec.dump(FormMetadata(draft_id=draft.id, step_id=step_id))


def _step(svc: Services, draft: Draft | DraftView, step: Step, today: date, notice: str | None = None) -> dict:
    return step_view(REPORT_FORM, step, draft.answers, _meta(svc, draft, step.id), today, notice=notice)


def opening_view(svc: Services, team_id: str, user_id: str) -> dict:
    """Start a report, or offer to resume the one this person left unsent."""
    # Slack's trigger to open the form lasts 3 seconds. Each write of open_form stands on its own: autocommit.
    with svc.db.session(interactive=True, autocommit=True) as session:
        opening = open_form(session, team_id, user_id, REPORT_FORM.id, REPORT_FORM.first_step.id,
                            svc.default_timezone, svc.clock.now())
    draft = opening.draft
    if draft.answers:
        started = local_time(draft.created_at, opening.timezone)
        return resume_view(REPORT_FORM, started, _meta(svc, draft, draft.step_id))
    return _step(svc, draft, REPORT_FORM.step(draft.step_id), svc.local_now(opening.timezone).date())


def on_command(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: Any) -> None:
    ack()
    command = SlashCommand.model_validate(body)
    try:
        view = opening_view(services_of(context), command.team_id, command.user_id)
    except SQLAlchemyError as exc:
        log.warning("could not open the report form (%s)", type(exc).__name__)
        respond(text=NOT_OPENED, response_type="ephemeral")
        return
    client.views_open(trigger_id=command.trigger_id, view=view)


def on_home_report(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    action = BlockActions.model_validate(body)
    try:
        view = opening_view(services_of(context), action.team.id, action.user.id)
    except SQLAlchemyError as exc:  # from App Home there is no conversation to answer in: a notice instead
        log.warning("could not open the report form (%s)", type(exc).__name__)
        view = notice_view("Report a concern", NOT_OPENED)
    client.views_open(trigger_id=action.trigger_id, view=view)


def _storable(step: Step, values: dict[str, Answer], earlier: dict[str, Any]) -> dict[str, Answer]:
    """What may go into the draft: a text longer than its question allows is refused on the form (and
    stays on screen), never saved, so a draft can always be shown again in a form Slack accepts."""
    limits = {q.id: q.max_length for q in step.questions_for({**earlier, **values})
              if q.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT)}
    return {k: v for k, v in values.items() if not (isinstance(v, str) and k in limits and len(v) > limits[k])}


def _submitted_view(session: Any, draft: Draft) -> dict:
    concern = session.get_one(Concern, draft.concern_id)
    return recorded_view(concern.reference, immediate_risk=concern.urgency == Urgency.IMMEDIATE,
                         about_adult=SubjectKind(concern.subject_kind).is_adult)


def _advance(svc: Services, session: Any, draft: Draft, step: Step, state: dict, school: School
             ) -> tuple[dict[str, Any], bool]:
    """Save one step's answers and decide the response: errors, the next step, or the recorded concern.

    Returns the response and whether anything was queued for the outbox (so it is kicked after ack).
    """
    now = svc.clock.now()
    now_local = svc.local_now(school.timezone)
    today = now_local.date()
    earlier = dict(draft.answers)
    values = read_answers(step, state, earlier)
    save_answers(draft, _storable(step, values, earlier), now)
    errors = REPORT_FORM.validate(step.id, values, now_local, earlier=earlier)
    if errors:
        return {"response_action": "errors", "errors": errors}, False
    queued = False
    if step.id == "concern" and needs_immediate_page(draft.answers):
        queued = page_immediate_risk(session, draft, now) > 0
    following = REPORT_FORM.next_step(step.id, draft.answers, today)
    if following is not None:
        draft.step_id = following.id
        return {"response_action": "update", "view": _step(svc, draft, following, today)}, queued
    unfinished = REPORT_FORM.missing(draft.answers, now_local)
    if unfinished:
        draft.step_id = unfinished[0].id
        view = _step(svc, draft, unfinished[0], today, notice="Please finish this step before sending.")
        return {"response_action": "update", "view": view}, queued
    answers = ReportAnswers.from_answers(draft.answers, today)
    concern = submit_report(session, draft, answers, school, now)
    view = recorded_view(concern.reference, immediate_risk=answers.urgency is Urgency.IMMEDIATE,
                         about_adult=SubjectKind(concern.subject_kind).is_adult)
    log.info("concern %s recorded", concern.reference, extra={"concern": concern.reference})
    return {"response_action": "update", "view": view}, True


def on_step_submit(ack: Ack, body: dict[str, Any], context: Any) -> None:
    svc = services_of(context)
    payload = ViewPayload.model_validate(body)
    meta = load_or_expire(svc.codec, FormMetadata, payload.view.private_metadata, ack, _expired())
    if meta is None:
        return
    try:
        step = REPORT_FORM.step(meta.step_id)
    except KeyError:  # a form left open across an upgrade that renamed its step
        ack(response_action="update", view=_expired())
        return
    recorded = False
    try:  # one transaction for the step: its answers, and the concern when it is the last
        with svc.db.session(interactive=True) as session:
            held = owned_draft_at(session, payload.team.id, payload.user.id, meta.draft_id)
            draft, school = held if held is not None else (None, None)
            if draft is None or school is None or draft.status == DraftStatus.DISCARDED:
                response = {"response_action": "update", "view": _expired()}
            elif draft.status == DraftStatus.SUBMITTED:
                response = {"response_action": "update", "view": _submitted_view(session, draft)}
            else:
                response, recorded = _advance(svc, session, draft, step, payload.view.state.values, school)
    except IntegrityError:
        # The same step was submitted twice at once and the other request won: if it recorded the concern,
        # show that record; otherwise nothing was lost (the draft has the answers) and a second press works.
        response = _after_a_race(svc, payload, meta.draft_id, step, body.get("view"))
    except SQLAlchemyError as exc:  # the database is unreachable, read-only or locked: nothing was written
        log.warning("could not save step %s of a report (%s)", step.id, type(exc).__name__)
        ack(**_save_failed(step, body.get("view")))
        return
    ack(**response)
    if recorded:
        svc.kick_outbox()


def _after_a_race(svc: Services, payload: ViewPayload, draft_id: str, step: Step, submitted: Any) -> dict[str, Any]:
    try:
        with svc.db.session(interactive=True) as session:
            draft = owned_draft(session, payload.team.id, payload.user.id, draft_id)
            if draft is not None and draft.concern_id is not None:
                return {"response_action": "update", "view": _submitted_view(session, draft)}
    except SQLAlchemyError as exc:
        log.warning("could not look the report up again (%s)", type(exc).__name__)
    return _save_failed(step, submitted)


def _save_failed(step: Step, submitted: Any) -> dict[str, Any]:
    """Nothing was saved: say so on the form, which Slack keeps open with everything typed in it."""
    if step.questions:
        return {"response_action": "errors", "errors": {step.questions_for({})[0].id: SAVE_FAILED}}
    again = with_notice(submitted, SAVE_FAILED)  # a step with nothing to type (the last): the same page again
    if again is not None:
        return {"response_action": "update", "view": again}
    return {"response_action": "push", "view": notice_view("Not sent yet", SAVE_FAILED)}


def on_resume_submit(ack: Ack, body: dict[str, Any], context: Any) -> None:
    svc = services_of(context)
    payload = ViewPayload.model_validate(body)
    meta = load_or_expire(svc.codec, FormMetadata, payload.view.private_metadata, ack, _expired())
    if meta is None:
        return
    choice = (payload.view.state.values.get(RESUME_BLOCK, {}).get(RESUME_BLOCK, {})
              .get("selected_option") or {}).get("value", "resume")
    now = svc.clock.now()
    try:
        with svc.db.session(interactive=True) as session:
            school = ensure_school(session, payload.team.id, svc.default_timezone, now)
            draft = owned_draft(session, payload.team.id, payload.user.id, meta.draft_id)
            if draft is None or draft.status != DraftStatus.OPEN:
                view = _expired()
            else:
                if choice == "discard":
                    discard(draft, now)
                    draft = start_draft(session, payload.team.id, payload.user.id, REPORT_FORM.id,
                                        REPORT_FORM.first_step.id, now)
                view = _step(svc, draft, REPORT_FORM.step(draft.step_id), svc.local_now(school.timezone).date())
    except SQLAlchemyError as exc:
        log.warning("could not resume a report (%s)", type(exc).__name__)
        ack(response_action="errors", errors={RESUME_BLOCK: SAVE_FAILED})
        return
    ack(response_action="update", view=view)


def _keep_typed(svc: Services, session: Any, team_id: str, user_id: str, view: View) -> tuple[Draft, Step] | None:
    """Save what was typed on a step without checking it (for Back and Cancel); the draft and the step."""
    try:
        meta = svc.codec.load(FormMetadata, view.private_metadata)
        step = REPORT_FORM.step(meta.step_id)
    except (MetadataError, KeyError):
        return None
    draft = owned_draft(session, team_id, user_id, meta.draft_id)
    if draft is None or draft.status != DraftStatus.OPEN:
        return None
    typed = _storable(step, read_answers(step, view.state.values, draft.answers), dict(draft.answers))
    save_answers(draft, {k: v for k, v in typed.items() if v not in (None, "", [])}, svc.clock.now())
    return draft, step


def on_back(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    svc = services_of(context)
    action = BlockActions.model_validate(body)
    if action.view is None:
        return
    try:
        with svc.db.session(interactive=True) as session:
            school = ensure_school(session, action.team.id, svc.default_timezone, svc.clock.now())
            today = svc.local_now(school.timezone).date()
            kept = _keep_typed(svc, session, action.team.id, action.user.id, action.view)
            if kept is None:
                return
            draft, step = kept
            previous = REPORT_FORM.previous_step(step.id, draft.answers, today) or REPORT_FORM.first_step
            draft.step_id = previous.id
            view = _step(svc, draft, previous, today)
    except SQLAlchemyError as exc:  # the form stays as it is, under a notice saying so
        log.warning("could not go back a step (%s)", type(exc).__name__)
        client.views_push(trigger_id=action.trigger_id, view=notice_view("Report a concern", NOT_BACK))
        return
    client.views_update(view_id=action.view.id, hash=action.view.hash, view=view)


def on_closed(ack: Ack, body: dict[str, Any], context: Any) -> None:
    """Cancel closes the modal. What was typed on this step is kept (unchecked), with the rest of the
    draft, and /report-concern offers to resume it."""
    ack()
    svc = services_of(context)
    payload = ViewPayload.model_validate(body)
    try:
        with svc.db.session() as session:
            _keep_typed(svc, session, payload.team.id, payload.user.id, payload.view)
    except SQLAlchemyError as exc:  # the modal has closed: the draft keeps what the earlier steps saved
        log.warning("could not keep what was typed on a cancelled step (%s)", type(exc).__name__)


def register(app: App) -> None:
    app.command(COMMAND)(on_command)
    app.action(HOME_REPORT_ACTION)(on_home_report)
    app.view_submission(STEP_CALLBACK)(on_step_submit)
    app.view_submission(RESUME_CALLBACK)(on_resume_submit)
    app.view_closed(STEP_CALLBACK)(on_closed)
    app.action(BACK_ACTION)(on_back)
