"""Showing a modal in answer to a button: stacked on the modal it was pressed in, else opened afresh."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.payloads import BlockActions


def open_or_push(client: WebClient, action: BlockActions, view: dict[str, Any]) -> None:
    if action.view is not None and action.view.type == "modal":
        client.views_push(trigger_id=action.trigger_id, view=view)
    else:
        client.views_open(trigger_id=action.trigger_id, view=view)
