"""Hostile text for every free-text field, and the checks that what Slack is sent keeps it inert."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

PINGS_AND_LINKS = "<!channel> <!here> <!everyone> <@U0AMY> <#C123> <https://evil.example|click> @here https://evil.example"
MRKDWN = "*bold* _x_ ~x~ `code` ```fenced```\n> quoted\n&amp; &lt;b&gt; & < >"
CONTROL = "tab\there bell\x07 esc\x1b[31m rlm\u200f rlo\u202e lri\u2066 zwj\u200d\r\nend"
INJECTION = "'; DROP TABLE concerns; --<script>alert(1)</script>\" OR 1=1 /*"
SCRIPTS = "مرحبا بالعالم 你好世界 नमस्ते दुनिया 🙂👩‍👩‍👧 :tada: :rotating_light:"
HOSTILE = (PINGS_AND_LINKS, MRKDWN, CONTROL, INJECTION, SCRIPTS)
MIX = " ".join(HOSTILE) + " "

# What must never reach a mrkdwn object or a message's text unescaped: each would ping, link or format. (The
# bot mentions Amy itself, as a reporter: her mention counts only as typed, next to the channel link.)
DANGEROUS = ("<!channel>", "<!here>", "<!everyone>", "<@U0AMY> <#C123>", "<#C123>", "<https://evil.example|click>",
             "https://evil.example", "*bold*", "_x_", "~x~", "`code`", "```fenced```", "\n> quoted",
             "<script>")
# Fragments no message may carry at all (they come only from what was typed).
TYPED_FRAGMENTS = ("evil.example", "DROP TABLE", "alert(1)", "bold*", "مرحبا", "你好世界", "नमस्ते", "rlo\u202e")


def typed(field: str, length: int) -> str:
    """Exactly `length` characters of hostile text, starting with the field's own tag."""
    text = f"[{field}] " + MIX * (length // len(MIX) + 1)
    return text[:length]


def text_objects(obj: Any) -> Iterator[dict[str, Any]]:
    """Every Block Kit text object in a view or a message's blocks."""
    if isinstance(obj, dict):
        if obj.get("type") in ("plain_text", "mrkdwn") and isinstance(obj.get("text"), str):
            yield obj
        for value in obj.values():
            yield from text_objects(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from text_objects(item)


def assert_inert(obj: Any, values: Iterable[str] = ()) -> None:
    """No mrkdwn (or message text) carries anything that pings, links or formats; and any plain_text holding
    typed text shows it exactly (no emoji conversion)."""
    values = [v for v in values if v]
    for text in text_objects(obj):
        if text["type"] == "mrkdwn":
            for danger in DANGEROUS:
                assert danger not in text["text"], (danger, text["text"][:200])
            if any(fragment in text["text"] for fragment in TYPED_FRAGMENTS):
                assert text.get("verbatim") is True, text["text"][:200]
        elif any(v in text["text"] for v in values) or any(f in text["text"] for f in TYPED_FRAGMENTS):
            assert text.get("emoji") is False, text["text"][:200]


def assert_message_inert(text: str) -> None:
    """A message's top-level text is read as mrkdwn by Slack: nothing in it may ping, link or format."""
    for danger in DANGEROUS:
        assert danger not in text, (danger, text[:200])


def shown_exactly(view: dict[str, Any], value: str) -> bool:
    """Whether some plain_text object in the view shows `value` exactly as it was typed."""
    return any(t["type"] == "plain_text" and value in t["text"] and t.get("emoji") is False
               for t in text_objects(view))
