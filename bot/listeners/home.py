"""App Home: the bot's front door, drawn for the person looking (bot/render/home.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.listeners.admin import workspace_admin
from bot.payloads import AppHomeOpened
from bot.render.home import home_view
from bot.services import Services, services_of
from bot.dedupe import once_per_event
from storage.home import home_for
from storage.schools import ensure_school


def publish_home(svc: Services, client: WebClient, team_id: str, user_id: str) -> None:
    is_admin = workspace_admin(svc, client, team_id, user_id)
    with svc.db.session() as session:
        school = ensure_school(session, team_id, svc.default_timezone, svc.clock.now())
        view = home_view(home_for(session, school, user_id, svc.clock.now(), is_admin), school.timezone)
    client.views_publish(user_id=user_id, view=view)


def on_home_opened(ack: Ack, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    opened = AppHomeOpened.model_validate(event)
    if opened.tab == "home":
        publish_home(services_of(context), client, str(body.get("team_id")), opened.user)


def register(app: App) -> None:
    app.event("app_home_opened")(once_per_event(on_home_opened))
