"""What a person typed, shown safely: it never pings anyone, never becomes a link, never formats.

Two ways, and every renderer uses one of them for anything typed into a form:

- `user_text` / `typed_section`: a plain_text object with `emoji: false`. Slack shows it exactly as typed
  (`<!channel>` is the eleven characters, `:tada:` stays a colon word). The record modal and the review
  step show everything this way, so what was stored is what is shown.
- `in_mrkdwn` + `safe_section` / `safe_context`: for a typed name inside a sentence of our own (a policy's
  title in a reminder, a school's name in a summary). `&`, `<` and `>` are escaped, so no `<!here>`,
  `<@U…>`, `<#C…>` or `<url|label>` can form; a zero-width space follows each formatting character
  (`*`, `_`, `~`, a backtick) and goes before a quote mark at the start of a line, so nothing bolds,
  strikes, quotes or turns into code; `://` is broken the same way, so a bare address is not linked in a
  message's notification text. The mrkdwn object is `verbatim`, so Slack does not link names or addresses.
"""

from __future__ import annotations

import re
from typing import Any

ZERO_WIDTH = "\u200b"
_FORMATTING = re.compile(r"([*_~`])")
_QUOTE_AT_LINE_START = re.compile(r"(?m)^(\s*)(&gt;)")


def user_text(text: str | None) -> dict[str, Any]:
    """A plain_text object for what someone typed: shown exactly, emoji shortcodes left as typed."""
    return {"type": "plain_text", "text": text if text else " ", "emoji": False}


def typed_section(text: str | None) -> dict[str, Any]:
    return {"type": "section", "text": user_text(text)}


def escape(text: str) -> str:
    """Slack's three control characters, escaped: after this nothing can form a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def in_mrkdwn(text: str | None) -> str:
    """Typed text for inside a mrkdwn sentence of ours (or a message's notification text): inert."""
    neutral = _FORMATTING.sub(lambda m: m.group(1) + ZERO_WIDTH, escape(text or ""))
    neutral = _QUOTE_AT_LINE_START.sub(lambda m: m.group(1) + ZERO_WIDTH + m.group(2), neutral)
    return neutral.replace("://", ":" + ZERO_WIDTH + "//")


def safe_mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn object holding `in_mrkdwn` text: verbatim, so Slack links no names or addresses in it."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def safe_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": safe_mrkdwn(text)}


def safe_context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [safe_mrkdwn(text)]}
