"""Acting out a report through the sandbox, as a member of staff would."""

from __future__ import annotations

from bot.sandbox.client import BotResponse, SlackSimulator, wait_for
from bot.sandbox.workspace import Message

CHILD = "Robin Quillfeather"
ACCOUNT = "Robin said: 'a man in the game keeps asking me to send pictures and says not to tell'."
STEPS = [
    {"subject": "pupil", "child_count": "1"},
    {"category": "grooming", "urgency": "routine"},
    {"child_name_1": CHILD, "year_group_1": "year_5"},
    {"occurred_on": "2026-11-24", "occurred_time": "09:20"},
    {"disclosure": ACCOUNT},
    {"why_concerned": "Robin seemed frightened and said not to tell anyone.", "reporter_position": "Year 5 teacher"},
    {"online_details": "An online game's chat; the man's avatar is called Shadowfox."},
]


def open_form(slack: SlackSimulator, user: str) -> None:
    assert slack.slash_command(user).status == 200
    wait_for(lambda: slack.ws.current_view(user), what="the form to open")


def fill_steps(slack: SlackSimulator, user: str, steps: list[dict] = STEPS) -> None:
    for answers in steps:
        reply = slack.submit_view(user, answers).json()
        assert reply.get("response_action") == "update", reply


def report(slack: SlackSimulator, user: str, steps: list[dict] = STEPS) -> BotResponse:
    """From /report-concern to the recorded confirmation; returns the final submission's response."""
    open_form(slack, user)
    fill_steps(slack, user, steps)
    return slack.submit_view(user, {})


def dsl_post(slack: SlackSimulator, channel: str, index: int = 0) -> Message:
    return wait_for(lambda: len(slack.ws.messages_in(channel)) > index and slack.ws.messages_in(channel)[index],
                    what="the post in the DSL channel")


def view_text(view: dict) -> str:
    parts = []
    for block in view.get("blocks", []):
        for obj in [block.get("text")] + block.get("fields", []) + block.get("elements", []):
            if isinstance(obj, dict) and "text" in obj:
                parts.append(obj["text"] if isinstance(obj["text"], str) else obj["text"].get("text", ""))
    return "\n".join(parts)
