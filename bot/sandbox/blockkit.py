"""Slack's Block Kit limits, checked by the sandbox so that a layout Slack would refuse fails tests."""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS, MAX_VIEW_BLOCKS = 50, 100


def _text(obj: Any, limit: int, where: str, problems: list[str]) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        problems.append(f"{where}: must be a text object")
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: text must be a non-empty string")
    elif len(text) > limit:
        problems.append(f"{where}: text is {len(text)} characters, more than {limit}")


def _element(element: dict[str, Any], where: str, problems: list[str]) -> None:
    kind = element.get("type")
    if len(element.get("action_id", "")) > 255:
        problems.append(f"{where}: action_id longer than 255")
    if kind == "button":
        _text(element.get("text"), 75, f"{where}.text", problems)
        if len(element.get("value", "")) > 2000:
            problems.append(f"{where}: value longer than 2000")
    elif kind in ("static_select", "radio_buttons", "checkboxes"):
        options = element.get("options") or []
        if not 1 <= len(options) <= (10 if kind != "static_select" else 100):
            problems.append(f"{where}: {len(options)} options is outside Slack's limit")
        for i, option in enumerate(options):
            _text(option.get("text"), 75, f"{where}.options[{i}].text", problems)
            if "description" in option:
                _text(option["description"], 75, f"{where}.options[{i}].description", problems)
            if not 1 <= len(option.get("value", "")) <= 150:
                problems.append(f"{where}.options[{i}]: value must be 1 to 150 characters")
    elif kind == "plain_text_input":
        if element.get("max_length", 0) > 3000:
            problems.append(f"{where}: max_length over 3000")
        if len(element.get("initial_value", "")) > 3000:
            problems.append(f"{where}: initial_value over 3000")


def check_blocks(blocks: Any, limit: int, problems: list[str]) -> None:
    if not isinstance(blocks, list):
        problems.append("blocks must be a list")
        return
    if len(blocks) > limit:
        problems.append(f"{len(blocks)} blocks, more than {limit}")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen or len(block_id) > 255:
                problems.append(f"{where}: block_id {block_id!r} repeated or too long")
            seen.add(block_id)
        kind = block.get("type")
        if kind == "section":
            if "text" in block:
                _text(block["text"], 3000, f"{where}.text", problems)
            for j, field in enumerate(block.get("fields", [])):
                _text(field, 2000, f"{where}.fields[{j}]", problems)
            if len(block.get("fields", [])) > 10:
                problems.append(f"{where}: more than 10 fields")
        elif kind == "header":
            _text(block.get("text"), 150, f"{where}.text", problems)
        elif kind == "context":
            for j, element in enumerate(block.get("elements", [])):
                _text(element, 3000, f"{where}.elements[{j}]", problems)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25:
                problems.append(f"{where}: actions need 1 to 25 elements")
            for j, element in enumerate(elements):
                _element(element, f"{where}.elements[{j}]", problems)
        elif kind == "input":
            _text(block.get("label"), 2000, f"{where}.label", problems)
            if "hint" in block:
                _text(block["hint"], 2000, f"{where}.hint", problems)
            _element(block.get("element", {}), f"{where}.element", problems)
        elif kind not in ("divider", "image", "rich_text"):
            problems.append(f"{where}: unknown block type {kind!r}")


def check_view(view: Any) -> list[str]:
    problems: list[str] = []
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return ["view must be a modal or home view"]
    blocks = view.get("blocks", [])
    check_blocks(blocks, MAX_VIEW_BLOCKS, problems)
    if view["type"] == "modal":
        _text(view.get("title"), 24, "title", problems)
        for button in ("submit", "close"):
            if button in view:
                _text(view[button], 24, button, problems)
        if any(b.get("type") == "input" for b in blocks) and "submit" not in view:
            problems.append("a modal with inputs needs a submit button")
    if len(view.get("private_metadata", "")) > 3000:
        problems.append("private_metadata over 3000 characters")
    if len(view.get("callback_id", "")) > 255:
        problems.append("callback_id over 255 characters")
    return problems


def check_message(text: Any, blocks: Any) -> list[str]:
    problems: list[str] = []
    if blocks is not None:
        check_blocks(blocks, MAX_MESSAGE_BLOCKS, problems)
    if text is not None and len(str(text)) > 40000:
        problems.append("text over 40000 characters")
    if blocks is None and not text:
        problems.append("a message needs text or blocks")
    return problems
