"""Policy reviews from Slack (*Mark reviewed* on a reminder) and the governors' report on demand."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.metadata import PolicyMetadata, load_or_expire
from bot.payloads import BlockActions, ViewPayload
from bot.render.blocks import modal, section
from bot.render.form import EXPIRED_TEXT, notice_view, read_answers, single_step_view
from bot.render.text import in_mrkdwn
from bot.render.reviews import (
    GOVERNORS_REPORT_ACTION, NOT_A_REVIEWER, REVIEW_ACTION, REVIEW_CALLBACK, governors_report, reviewed_view,
)
from bot.services import services_of
from flows.governors_report import DEFAULT_REPORT_DATES, period_to_date
from flows.policy_reviews import REVIEW_FORM
from storage import governors_report as report_data, policies
from storage.policies import ReviewResult
from storage.schools import ensure_school

log = logging.getLogger(__name__)


def on_mark_reviewed(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: Any) -> None:
    ack()
    svc = services_of(context)
    action = BlockActions.model_validate(body)
    try:  # the button names the review it is about: "policy id:the date it was due"
        raw_id, _, due = (action.action.value or "").partition(":")
        policy_id, reminded_for = int(raw_id), date.fromisoformat(due)
    except ValueError:
        return
    with svc.db.session() as session:
        school = ensure_school(session, action.team.id, svc.default_timezone, svc.clock.now())
        policy = policies.find(session, action.team.id, policy_id)
        allowed = policy is not None and policies.may_review(session, policy, action.user.id)
        today = svc.local_now(school.timezone).date()
    if policy is None or not allowed:
        respond(text=NOT_A_REVIEWER if policy else "That policy is no longer in the register.",
                response_type="ephemeral", replace_original=False)
        return
    if policy.next_review != reminded_for:  # an old reminder: that review has been marked already
        client.views_open(trigger_id=action.trigger_id, view=reviewed_view(policy, already=True))
        return
    meta = svc.codec.dump(PolicyMetadata(policy_id=policy.id, next_review=policy.next_review.isoformat()))
    view = single_step_view(REVIEW_FORM, {"reviewed_on": today.isoformat()}, meta, REVIEW_CALLBACK, today,
                            header_text=f"*{in_mrkdwn(policy.title)}*: next review due {policy.next_review:%-d %b %Y}, "
                                        f"reviewed {policy.cadence}.")
    client.views_open(trigger_id=action.trigger_id, view=view)


def on_review_submitted(ack: Ack, body: dict[str, Any], context: Any) -> None:
    svc = services_of(context)
    payload = ViewPayload.model_validate(body)
    meta = load_or_expire(svc.codec, PolicyMetadata, payload.view.private_metadata, ack,
                          notice_view("Mark reviewed", EXPIRED_TEXT))
    if meta is None:
        return
    step = REVIEW_FORM.first_step
    values = read_answers(step, payload.view.state.values, {})
    with svc.db.session(interactive=True) as session:  # a failure is answered on the form (bot.failures)
        school = ensure_school(session, payload.team.id, svc.default_timezone, svc.clock.now())
        errors = REVIEW_FORM.validate(step.id, values, svc.local_now(school.timezone))
        if errors:
            ack(response_action="errors", errors=errors)
            return
        outcome = policies.mark_reviewed(session, payload.team.id, meta.policy_id, payload.user.id,
                                         date.fromisoformat(str(values["reviewed_on"])),
                                         str(values.get("note") or "") or None,
                                         date.fromisoformat(meta.next_review), svc.clock.now())
        view = (notice_view("Mark reviewed", NOT_A_REVIEWER) if outcome.result is ReviewResult.REFUSED else
                notice_view("Mark reviewed", "That policy is no longer in the register.") if outcome.policy is None
                else reviewed_view(outcome.policy, already=outcome.result is ReviewResult.ALREADY))
    if outcome.result is ReviewResult.DONE:
        log.info("policy %s marked reviewed by %s", meta.policy_id, payload.user.id)
    ack(response_action="update", view=view)


def on_governors_report(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """The report for this term so far, on demand, in a modal (counts only)."""
    ack()
    svc = services_of(context)
    action = BlockActions.model_validate(body)
    with svc.db.session() as session:
        school = ensure_school(session, action.team.id, svc.default_timezone, svc.clock.now())
        today = svc.local_now(school.timezone).date()
        period = period_to_date(today, tuple(school.report_dates or DEFAULT_REPORT_DATES))
        report = report_data.build(session, action.team.id, action.user.id, period, today)
    if report is None:
        view = notice_view("Governors' report", "The governors' report goes to the head, the governors and "
                                                "the safeguarding team only.")
    else:
        _, blocks = governors_report(report)
        view = modal("Governors' report", blocks + [
            section("_This term so far. The full report comes on the school's report dates._")])
    client.views_open(trigger_id=action.trigger_id, view=view)


def register(app: App) -> None:
    app.action(REVIEW_ACTION)(on_mark_reviewed)
    app.view_submission(REVIEW_CALLBACK)(on_review_submitted)
    app.action(GOVERNORS_REPORT_ACTION)(on_governors_report)
