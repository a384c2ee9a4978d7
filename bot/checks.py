"""Start-up checks that tell a person exactly what to do when something is not ready."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.school_setup import channel_in
from storage.models import School


def dsl_channel_problem(client: WebClient, school: School | None) -> str | None:
    """None when the bot can post to the DSL channel; otherwise one sentence saying how to fix it."""
    if school is None or not school.dsl_channel_id:
        return ("No school is set up yet, so concerns are recorded but nobody is told: "
                "run `concernbot setup school.yml`.")
    name = f"#{school.dsl_channel_name}" if school.dsl_channel_name else school.dsl_channel_id
    try:
        channel = client.conversations_info(channel=school.dsl_channel_id)["channel"]
    except SlackApiError as exc:
        if exc.response.get("error") == "channel_not_found":
            return (f"concernbot cannot see {name}: invite @concernbot to {name} "
                    f"(type /invite @concernbot in the channel).")
        return f"concernbot could not check {name} ({exc.response.get('error')}); check the bot token."
    except (SlackClientError, OSError) as exc:
        return f"concernbot could not reach Slack to check {name} ({type(exc).__name__}); check the network."
    if not channel_in(channel, school.team_id):
        return (f"{name} belongs to another workspace of the organisation: name this school's own DSL channel "
                "in its settings.")
    if not channel.get("is_member"):
        return f"concernbot is not in {name}: invite @concernbot to {name} (type /invite @concernbot there)."
    if not channel.get("is_private"):
        return (f"{name} is a public channel, and every post names the reporter and the category: use a private "
                "channel for the DSL team.")
    return None
