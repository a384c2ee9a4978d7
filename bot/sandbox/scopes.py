"""The bot-token scope each Web API method needs (Slack's API reference); the sandbox enforces them."""

from __future__ import annotations

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "auth.teams.list": (),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "conversations.open": ("im:write",),
    "conversations.list": ("channels:read",),  # private channels also need groups:read
    "conversations.info": ("channels:read",),  # groups:read for a private channel
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "views.open": (),
    "views.update": (),
    "views.push": (),
    "views.publish": (),
}
PRIVATE_CHANNEL_SCOPE = "groups:read"
