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
    before = slack.ws.current_view(user)  # an earlier report's confirmation may still be on screen
    assert slack.slash_command(user).status == 200
    wait_for(lambda: (v := slack.ws.current_view(user)) is not None and v is not before, what="the form to open")


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


def shown(slack: SlackSimulator, user: str) -> dict:
    """The modal on this person's screen, or nothing while one closes and the next opens."""
    opened = slack.ws.current_view(user)
    return opened.view if opened is not None else {}


ADULT_ACCOUNT = "Mr Reed was seen messaging a Year 6 pupil on a personal phone and asking to meet after school."


def report_about_adult(slack: SlackSimulator, reporter: str, subject: str, adult: dict, threshold: str = "harm") -> dict:
    open_form(slack, reporter)
    fill_steps(slack, reporter, [
        {"subject": subject},
        {**adult, "threshold": threshold},
        {"category": "social_networking", "urgency": "urgent"},
        STEPS[3],
        {"disclosure": None},
        {"why_concerned": ADULT_ACCOUNT, "reporter_position": "Year 6 teacher"},
        {"online_details": "Messages on a personal phone."},
    ])
    return slack.submit_view(reporter, {}).json()
