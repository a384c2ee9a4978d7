"""Small Block Kit builders and the school-local time format used everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.render.text import typed_section

Block = dict[str, Any]


def plain(text: str) -> dict[str, Any]:
    """A plain_text object for our own words (labels, buttons); what a person typed goes in `text.user_text`."""
    return {"type": "plain_text", "text": text or " ", "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def typed_text(text: str) -> Block:
    """What someone typed, as a section of its own: exactly as typed, never a ping, link or emoji."""
    return typed_section(text)


def fields(*pairs: tuple[str, str]) -> Block:
    return {"type": "section", "fields": [mrkdwn(f"*{label}*\n{value}") for label, value in pairs]}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text[:150])}


def button(text: str, action_id: str, value: str | None = None, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text), "action_id": action_id}
    if value is not None:
        element["value"] = value
    if style:
        element["style"] = style
    return element


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def modal(title: str, blocks: list[Block], *, callback_id: str | None = None, submit: str | None = None,
          close: str = "Close", private_metadata: str | None = None,
          notify_on_close: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "title": plain(title), "close": plain(close), "blocks": blocks}
    if callback_id:
        view["callback_id"] = callback_id
    if submit:
        view["submit"] = plain(submit)
    if private_metadata is not None:
        view["private_metadata"] = private_metadata
    if notify_on_close:
        view["notify_on_close"] = True
    return view


def mention(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "someone"


def local_time(instant: datetime, timezone: str, *, with_date: bool = True) -> str:
    """A time as a person at the school reads it: '24 Nov 2026, 09:14'."""
    local = instant.astimezone(ZoneInfo(timezone))
    return local.strftime("%-d %b %Y, %H:%M") if with_date else local.strftime("%H:%M")
