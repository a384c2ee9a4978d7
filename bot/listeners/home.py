"""App Home: the bot's front door, with a button to report a concern."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.render.messages import HOME_REPORT_ACTION
from bot.payloads import AppHomeOpened
from bot.render.blocks import actions, button, context, section


def home_view() -> dict:
    return {"type": "home", "blocks": [
        section("*concernbot* records online-safety and safeguarding concerns for your school's "
                "safeguarding team, the same day."),
        actions(button("Report a concern", HOME_REPORT_ACTION, style="primary")),
        context("Or type `/report-concern` anywhere. Only the safeguarding team sees what you write."),
    ]}


def on_home_opened(ack: Ack, event: dict[str, Any], client: WebClient) -> None:
    ack()
    opened = AppHomeOpened.model_validate(event)
    if opened.tab == "home":
        client.views_publish(user_id=opened.user, view=home_view())


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)
