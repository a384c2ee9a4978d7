"""The policy register and the AUP from App Home, for those who may change the school's settings.

Same pattern as the settings (bot/listeners/admin.py): the form's own checks answer inline; the change is
then made after an interim view, applied through the same code as the set-up file, and audited.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.listeners.admin import admin_action, current_file, interim_for_admin, replace_interim, resolved
from bot.listeners.views import open_or_push
from bot.metadata import MetadataError, SettingsMetadata
from bot.payloads import BlockActions, ViewPayload
from bot.render import admin as render
from bot.render.admin import AUP_ACTION, EDIT_POLICY_ACTION, POLICIES_ACTION
from bot.render.blocks import Block, actions, button, modal
from bot.render.blocks import context as note
from bot.render.form import EXPIRED_TEXT, notice_view, read_answers, single_step_view
from bot.render.text import in_mrkdwn, safe_section
from bot.services import Services, services_of
from bot.yearly import publish_aup
from flows.admin_register import AUP_FORM, POLICY_FORM, aup_document, policy_answers, with_policy
from storage import admin
from storage.schools import ensure_school

log = logging.getLogger(__name__)
POLICY_CALLBACK = "admin_policy_form"
AUP_CALLBACK = "admin_aup_form"
NOT_SET_UP = "Set the school up first (School settings), then its policies."


def _now_local(svc: Services, team_id: str) -> datetime:
    with svc.db.session() as session:
        school = ensure_school(session, team_id, svc.default_timezone, svc.clock.now())
        return svc.local_now(school.timezone)


@admin_action
def on_policies(svc: Services, action: BlockActions, client: WebClient) -> None:
    current = current_file(svc, action.team.id)
    if current is None:
        return open_or_push(client, action, notice_view("Policies", NOT_SET_UP))
    blocks: list[Block] = [{**safe_section(f"*{in_mrkdwn(p.title)}* · reviewed {p.cadence.value} · next review "
                                           f"{p.next_review:%-d %b %Y}"),
                            "accessory": button("Edit", EDIT_POLICY_ACTION, p.key)} for p in current.policies]
    blocks += [actions(button("Add a policy", EDIT_POLICY_ACTION, "", style="primary")),
               note("The owner and the online-safety governor are reminded 30 and 7 days before each review.")]
    open_or_push(client, action, modal("Policies", blocks))


@admin_action
def on_edit_policy(svc: Services, action: BlockActions, client: WebClient) -> None:
    key = action.action.value or ""
    answers = policy_answers(current_file(svc, action.team.id), key or None)
    meta = svc.codec.dump(SettingsMetadata(answers={"key": key}))
    open_or_push(client, action, single_step_view(POLICY_FORM, answers, meta, POLICY_CALLBACK,
                                                  _now_local(svc, action.team.id).date()))


def on_policy_submitted(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    svc = services_of(context)
    payload = ViewPayload.model_validate(body)
    team_id = payload.team.id
    try:
        key = str(svc.codec.load(SettingsMetadata, payload.view.private_metadata).answers.get("key") or "") or None
    except MetadataError:
        ack(response_action="update", view=notice_view("Policies", EXPIRED_TEXT))
        return
    step = POLICY_FORM.first_step
    answers = read_answers(step, payload.view.state.values, {})
    errors = POLICY_FORM.validate(step.id, answers, _now_local(svc, team_id))
    if errors:
        ack(response_action="errors", errors=errors)
        return
    interim = interim_for_admin(ack, svc, client, payload, "Policies")
    if interim is None:
        return
    current = current_file(svc, team_id)
    if current is None:
        replace_interim(client, interim, notice_view("Policies", NOT_SET_UP))
        return
    setup, problem = resolved(client, team_id, with_policy(current, key, answers))
    if setup is None:
        replace_interim(client, interim, modal("Policies", [safe_section(f":warning: {in_mrkdwn(problem)} "
                                                                          "Nothing was changed.")]))
        return
    changes = admin.apply(svc.db, setup, payload.user.id, svc.clock.now()) or []
    replace_interim(client, interim, render.done_view(changes))


@admin_action
def on_aup(svc: Services, action: BlockActions, client: WebClient) -> None:
    today = _now_local(svc, action.team.id).date()
    open_or_push(client, action, single_step_view(AUP_FORM, {}, "", AUP_CALLBACK, today))


def on_aup_submitted(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    svc = services_of(context)
    payload = ViewPayload.model_validate(body)
    step = AUP_FORM.first_step
    answers = read_answers(step, payload.view.state.values, {})
    errors = AUP_FORM.validate(step.id, answers, _now_local(svc, payload.team.id))
    if errors:
        ack(response_action="errors", errors=errors)
        return
    interim = interim_for_admin(ack, svc, client, payload, "New AUP version")
    if interim is None:
        return
    team_id, user_id = payload.team.id, payload.user.id
    changes = publish_aup(client, svc.db, team_id, aup_document(answers), user_id, svc.clock.now())
    changes = changes or [f"AUP version {answers.get('version')} has the same words as the one in force: nothing sent"]
    with svc.db.session() as session:
        admin.record(session, team_id, user_id, changes, svc.clock.now())
    svc.kick_outbox()
    replace_interim(client, interim, render.done_view(changes))


def register(app: App) -> None:
    app.action(POLICIES_ACTION)(on_policies)
    app.action(EDIT_POLICY_ACTION)(on_edit_policy)
    app.view_submission(POLICY_CALLBACK)(on_policy_submitted)
    app.action(AUP_ACTION)(on_aup)
    app.view_submission(AUP_CALLBACK)(on_aup_submitted)
