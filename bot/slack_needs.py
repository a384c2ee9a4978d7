"""What the bot needs from Slack. manifest.yml must declare exactly this (a test checks both ways),
and the sandbox grants only these scopes, so a Web API call needing anything else fails the tests."""

from __future__ import annotations

COMMANDS: tuple[str, ...] = ("/report-concern", "/concerns", "/aup")
BOT_EVENTS: tuple[str, ...] = ("app_home_opened", "team_join", "app_uninstalled", "tokens_revoked")
# An organisation-wide (Enterprise Grid) app is also told when a workspace is given or taken away:
# declared in deploy/manifest-oauth.yml only.
ORG_EVENTS: tuple[str, ...] = ("team_access_granted", "team_access_revoked")
BOT_SCOPES: tuple[str, ...] = (
    "commands",          # /report-concern
    "chat:write",        # posts to the DSL channel, DMs, updates to its own posts
    "im:write",          # opens the DM for receipts
    "users:read",        # resolves people named in the school's set-up; lists staff for the AUP; team_join
    "users:read.email",  # ... by their email address
    "channels:read",     # finds the DSL channel by name; checks membership
    "groups:read",       # ... when it is private, as it should be
)
