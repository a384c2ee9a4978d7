"""School settings from App Home: open the form, check it with Slack, confirm, apply, audit.

The form's own checks answer inline at once. Checking people and the channel takes Slack calls, so the
modal first shows "Checking…" (Slack's 3 seconds are kept) and is then updated to the confirmation, or
to the problem with a way back that keeps what was typed. Authority is checked on every step, from the
signed request's user, never from the modal's metadata.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
import uuid
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.checks import dsl_channel_problem
from bot.metadata import MetadataError, SettingsMetadata, load_or_expire
from bot.listeners.views import open_or_push
from bot.payloads import BlockActions, ViewPayload
from bot.render import admin as render
from bot.render.form import EXPIRED_TEXT, notice_view, read_answers, single_step_view
from bot.school_export import current_setup
from bot.school_setup import SetupError, resolve
from bot.services import Services, services_of
from flows.admin import SETTINGS_FORM, SettingsError, answers_from, not_allowed, settings_file
from flows.school import SchoolFile, SchoolSetup
from storage import admin
from storage.models import School
from storage.installs import reach_of
from storage.schools import ensure_school, roles_of

log = logging.getLogger(__name__)
UPDATE_TRIES = 20  # 5 seconds at most for Slack to show the interim view


def workspace_admin(svc: Services, client: WebClient, team_id: str, user_id: str) -> bool:
    """Slack's own admins and owners of the school's workspace: the people who install apps there. Reached
    through an organisation-wide install, a person's top-level admin flags may be another workspace's, so
    there only the organisation's own admins count (and only if they are in this workspace)."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError:
        return False
    org = user.get("enterprise_user")
    if org is not None and team_id not in (org.get("teams") or [team_id]):
        return False  # not a member of this school's workspace
    with svc.db.session() as session:
        reach = reach_of(session, team_id)
    if reach is not None and reach.org_install:
        return bool(org and (org.get("is_admin") or org.get("is_owner")))
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


def replace_interim(client: WebClient, external_id: str, view: dict[str, Any]) -> None:
    """Replace the interim view we answered Slack with. It is found by its external id, so an update that
    reaches Slack before Slack has shown the interim view waits for it rather than being overwritten by it."""
    for attempt in range(UPDATE_TRIES):
        try:
            client.views_update(external_id=external_id, view=view)
            return
        except SlackApiError as exc:
            if exc.response.get("error") != "not_found":
                raise
            time.sleep(0.25)
    # A second click replaced the interim view with its own: that request shows the outcome instead.
    log.info("interim view %s was replaced before its outcome could be shown", external_id)


def may_change_settings(svc: Services, client: WebClient, team_id: str, user_id: str) -> bool:
    with svc.db.session() as session:
        if admin.may_administer(session, team_id, user_id, workspace_admin=False):
            return True
    return workspace_admin(svc, client, team_id, user_id)


def interim_for_admin(ack: Ack, svc: Services, client: WebClient, payload: ViewPayload, title: str,
                      checking: bool = False) -> str | None:
    """Answer Slack at once with an interim view, then check who is asking (the signed request's user).
    Returns the interim view's external id to replace with the outcome; None if they were refused."""
    interim = f"admin-{uuid.uuid4().hex}"
    ack(response_action="update", view=(render.checking_view if checking else render.saving_view)(interim))
    if not may_change_settings(svc, client, payload.team.id, payload.user.id):
        replace_interim(client, interim, notice_view(title, render.NOT_AN_ADMIN))
        return None
    return interim


def current_file(svc: Services, team_id: str) -> SchoolFile | None:
    with svc.db.session() as session:
        school = session.get(School, team_id)
        configured = school is not None and school.dsl_channel_id is not None
    return current_setup(svc.db, team_id) if configured else None


def admin_action(handle: Callable[[Services, BlockActions, WebClient], None]) -> Callable[..., None]:
    """A button only administrators may use: acknowledge, check who is asking (the signed request's user),
    then `handle` it; anyone else is told who may."""

    def listener(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
        ack()
        svc = services_of(context)
        action = BlockActions.model_validate(body)
        if not may_change_settings(svc, client, action.team.id, action.user.id):
            open_or_push(client, action, notice_view("School settings", render.NOT_AN_ADMIN))
            return
        handle(svc, action, client)

    return listener


def _form(svc: Services, team_id: str, answers: dict[str, Any]) -> dict[str, Any]:
    with svc.db.session() as session:
        school = ensure_school(session, team_id, svc.default_timezone, svc.clock.now())
        today = svc.local_now(school.timezone).date()
    return single_step_view(SETTINGS_FORM, answers, svc.codec.dump(SettingsMetadata(answers=answers)),
                            render.SETTINGS_CALLBACK, today)


@admin_action
def on_open_settings(svc: Services, action: BlockActions, client: WebClient) -> None:
    open_or_push(client, action, _form(svc, action.team.id, answers_from(current_file(svc, action.team.id))))


def resolved(client: WebClient, team_id: str, school_file: SchoolFile) -> tuple[SchoolSetup | None, str | None]:
    """The set-up file resolved through Slack (people, channel); or one sentence saying what Slack refused."""
    try:
        setup = resolve(client, school_file, team_id)
    except SetupError as exc:
        return None, str(exc)
    channel = School(team_id=team_id, dsl_channel_id=setup.dsl_channel_id, dsl_channel_name=setup.dsl_channel_name)
    problem = dsl_channel_problem(client, channel)  # the bot must be in it, not only able to see it
    return (None, problem) if problem else (setup, None)


def checked(svc: Services, client: WebClient, team_id: str, answers: dict[str, Any],
            user_id: str) -> tuple[SchoolSetup | None, str | None]:
    before = current_file(svc, team_id)
    try:
        school_file = settings_file(before, answers, team_id)
    except SettingsError as exc:
        return None, str(exc)
    with svc.db.session() as session:
        refused = not_allowed(before, school_file, roles_of(session, team_id, user_id))
    if refused:
        return None, refused
    return resolved(client, team_id, school_file)


def on_settings_submitted(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    svc = services_of(context)
    payload = ViewPayload.model_validate(body)
    team_id, user_id = payload.team.id, payload.user.id
    step = SETTINGS_FORM.first_step
    answers = read_answers(step, payload.view.state.values, {})
    with svc.db.session() as session:
        school = ensure_school(session, team_id, svc.default_timezone, svc.clock.now())
        now_local = svc.local_now(school.timezone)
    errors = SETTINGS_FORM.validate(step.id, answers, now_local)
    if not errors:
        try:
            settings_file(current_file(svc, team_id), answers, team_id)
        except SettingsError as exc:
            errors = exc.errors
    if errors:
        ack(response_action="errors", errors=errors)
        return
    interim = interim_for_admin(ack, svc, client, payload, "School settings", checking=True)
    if interim is None:
        return
    metadata = svc.codec.dump(SettingsMetadata(answers=answers))
    setup, problem = checked(svc, client, team_id, answers, user_id)
    if setup is None:
        replace_interim(client, interim, render.problem_view(str(problem), metadata))
        return
    version = admin.version_of(svc.db, team_id)
    confirm = svc.codec.dump(SettingsMetadata(answers=answers, version=version.isoformat() if version else None))
    replace_interim(client, interim, render.confirm_view(admin.preview(svc.db, setup, svc.clock.now()), confirm))


@admin_action
def on_back(svc: Services, action: BlockActions, client: WebClient) -> None:
    if action.view is None:
        return
    try:
        answers = svc.codec.load(SettingsMetadata, action.view.private_metadata).answers
    except MetadataError:  # tampered with, or lost: start again from the school as it is
        answers = answers_from(current_file(svc, action.team.id))
    client.views_update(view_id=action.view.id, view=_form(svc, action.team.id, answers))


def on_confirm(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    svc = services_of(context)
    payload = ViewPayload.model_validate(body)
    meta = load_or_expire(svc.codec, SettingsMetadata, payload.view.private_metadata, ack,
                          notice_view("School settings", EXPIRED_TEXT))
    if meta is None:
        return
    interim = interim_for_admin(ack, svc, client, payload, "School settings")
    if interim is None:
        return
    team_id, user_id = payload.team.id, payload.user.id
    setup, problem = checked(svc, client, team_id, meta.answers, user_id)
    if setup is None:
        replace_interim(client, interim, render.problem_view(str(problem), payload.view.private_metadata))
        return
    expected = datetime.fromisoformat(meta.version) if meta.version else None
    changes = admin.apply(svc.db, setup, user_id, svc.clock.now(), expected_version=expected)
    if changes is None:
        replace_interim(client, interim, render.problem_view(render.CHANGED_SINCE, ""))  # Back: as they are now
        return
    log.info("school settings changed by %s: %s changes", user_id, len(changes))
    svc.kick_outbox()
    replace_interim(client, interim, render.done_view(changes))


def register(app: App) -> None:
    app.action(render.SETTINGS_ACTION)(on_open_settings)
    app.view_submission(render.SETTINGS_CALLBACK)(on_settings_submitted)
    app.action(render.BACK_ACTION)(on_back)
    app.view_submission(render.CONFIRM_CALLBACK)(on_confirm)
