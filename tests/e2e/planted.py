"""Distinctive names and words, planted in concerns through Slack, so a test can look for them anywhere.

None of them occurs anywhere in concernbot or its libraries, so finding one in a log line, a message or an
email can only mean the record leaked there.
"""

from __future__ import annotations

from bot.render.messages import ACKNOWLEDGE_ACTION, CLOSE_ACTION, INITIAL_REVIEW_ACTION, RECORD_ACTION_ACTION
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.workspace import Message
from tests.e2e.journey import fill_steps, open_form, shown

CHILD = "Zephyrine Quillfeather"
SIMILAR = "Zephyrina Quillfeather"  # another child, whose name is one letter away
CYRILLIC = "Ярослава Ковальчук"  # a name no Latin-1 font can print
STAFF = "Balthazar Oakenshield"
STAFF_ROLE = "Peripatetic theorbo tutor"
WORDS = "the marmalade kraken asked for photographs"
OBSERVED = "Saw a chat window signed Glimmerbasilisk"
ACTION_NOTE = "Telephoned the Quillfeather household about the kraken"
OUTCOME = "Kraken account removed; nurture group with Mrs Thistlewood"
REVIEW_NOTE = "The meeting established a Snorkelwump link had been shared"
ADULT_WORDS = "was seen sending Lanternfish-shaped stickers to a pupil"
HEAD_WORDS = "the headteacher borrowed the Periwinkle ledger of passwords"
DRAFT_CHILD = "Ottoline Brackenridge"  # typed into a draft that is never sent
PLANTED = (CHILD, SIMILAR, CYRILLIC, STAFF, STAFF_ROLE, WORDS, OBSERVED, ACTION_NOTE, OUTCOME, REVIEW_NOTE,
           ADULT_WORDS, HEAD_WORDS, DRAFT_CHILD, "Quillfeather", "Oakenshield", "kraken", "Glimmerbasilisk",
           "Snorkelwump", "Lanternfish", "Periwinkle", "Brackenridge", "Ковальчук")


def child_steps(*names: str, category: str = "grooming", urgency: str = "routine", words: str = WORDS) -> list[dict]:
    children = {}
    for n, name in enumerate(names, start=1):
        children |= {f"child_name_{n}": name, f"year_group_{n}": "year_5"}
    return [
        {"subject": "pupil", "child_count": str(len(names))},
        {"category": category, "urgency": urgency},
        children,
        {"occurred_on": "2026-11-24", "occurred_time": "09:20", "others_present": f"{STAFF} was at the door"},
        {"disclosure": f"{names[0]} said {words}."},
        {"why_concerned": f"{names[0]} was frightened.", "observed": OBSERVED, "reporter_position": "Year 5 teacher"},
        {"online_details": "A game chat; avatar Glimmerbasilisk."},
    ]


def adult_steps(subject: str, adult: dict, words: str) -> list[dict]:
    return [
        {"subject": subject},
        {**adult, "threshold": "harm"},
        {"category": "social_networking", "urgency": "urgent"},
        {"occurred_on": "2026-11-24", "occurred_time": "09:20"},
        {"disclosure": None},
        {"why_concerned": f"{STAFF} {words}.", "reporter_position": "Year 6 teacher"},
        {"online_details": "Messages on a personal phone."},
    ]


def send(slack: SlackSimulator, user: str, steps: list[dict]) -> str:
    """A report from /report-concern to its confirmation; returns its reference."""
    open_form(slack, user)
    fill_steps(slack, user, steps)
    reply = slack.submit_view(user, {}).json()
    confirmation = repr(reply.get("view") or shown(slack, user))
    return confirmation.split("Recorded as ")[1][:12]


def post_for(slack: SlackSimulator, channel: str, reference: str) -> Message:
    return wait_for(lambda: next((m for m in slack.ws.messages_in(channel) if reference in m.text), None),
                    what=f"the post for {reference}")


def modal(slack: SlackSimulator, user: str, message: Message, action: str) -> dict:
    before = slack.ws.current_view(user)
    slack.click_in_message(user, message, action)
    return wait_for(lambda: slack.ws.current_view(user) is not before and slack.ws.current_view(user),
                    what=f"the {action} modal").view


def acknowledge(slack: SlackSimulator, user: str, post: Message) -> None:
    slack.click_in_message(user, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: RECORD_ACTION_ACTION in repr(post.blocks), what="the post to offer actions")


def act_and_close(slack: SlackSimulator, user: str, post: Message) -> None:
    """Acknowledge, record an action with a note, and close with an outcome."""
    acknowledge(slack, user, post)
    modal(slack, user, post, RECORD_ACTION_ACTION)
    action = {"action": "parents_informed", "taken_time": "09:45", "note": ACTION_NOTE}
    assert slack.submit_view(user, action).body == ""
    wait_for(lambda: "In progress" in post.text, what="the post to show In progress")
    modal(slack, user, post, CLOSE_ACTION)
    slack.submit_view(user, {"outcome": OUTCOME})
    wait_for(lambda: "Closed by" in post.text, what="the post to show Closed")


def initial_review(slack: SlackSimulator, user: str, post: Message) -> None:
    acknowledge(slack, user, post)
    wait_for(lambda: INITIAL_REVIEW_ACTION in repr(post.blocks), what="the Initial review button")
    modal(slack, user, post, INITIAL_REVIEW_ACTION)
    slack.submit_view(user, {"conditions": ["coercion"], "parents_told": "yes", "established": REVIEW_NOTE})
    wait_for(lambda: "Immediate referral required" in repr(post.blocks), what="the post's flag")
