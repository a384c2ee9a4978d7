"""The sandbox workspace's state: users, channels, messages, open views, and a readable timeline."""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

TRIGGER_LIFETIME_SECONDS = 3.0  # Slack's own: a trigger_id must be used within 3 seconds


@dataclass
class SandboxUser:
    id: str
    name: str
    real_name: str
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False

    def as_api(self, team_id: str) -> dict[str, Any]:
        return {"id": self.id, "team_id": team_id, "name": self.name, "real_name": self.real_name,
                "deleted": self.deleted, "is_bot": self.is_bot,
                "profile": {"real_name": self.real_name, "display_name": self.name, "email": self.email}}


@dataclass
class SandboxChannel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    members: set[str] = field(default_factory=set)
    im_user: str | None = None


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None
    edits: int = 0


@dataclass
class OpenView:
    id: str
    user_id: str
    view: dict[str, Any]
    hash: str
    stack: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False


class Workspace:
    """Everything the fake Slack holds. All access goes through the lock: requests arrive on threads."""

    def __init__(self, team_id: str, team_name: str, *, bot_token: str, scopes: set[str],
                 bot_user_id: str = "U0BOT", bot_name: str = "concernbot") -> None:
        self.team_id, self.team_name = team_id, team_name
        self.bot_token, self.scopes = bot_token, set(scopes)
        self.app_token: str | None = None  # Socket Mode's xapp- token, when a test grants one
        self.bot_user_id, self.bot_id = bot_user_id, "B0BOT"
        self.lock = threading.RLock()
        self.users: dict[str, SandboxUser] = {}
        self.channels: dict[str, SandboxChannel] = {}
        self.messages: list[Message] = []
        self.views: dict[str, OpenView] = {}
        self.home: dict[str, dict[str, Any]] = {}
        self.ephemeral: list[tuple[str, str]] = []  # (user id, text)
        self.triggers: dict[str, tuple[str, float]] = {}
        self.calls: list[tuple[str, str | None]] = []  # (method, error or None)
        self.timeline: list[str] = []
        self.delays: dict[str, float] = {}  # method -> seconds: a slow Slack, for latency tests
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)
        self.add_user(SandboxUser(bot_user_id, bot_name, bot_name, is_bot=True))

    # -- building the workspace -----------------------------------------------------------------
    def add_user(self, user: SandboxUser) -> SandboxUser:
        with self.lock:
            self.users[user.id] = user
        return user

    def add_channel(self, channel: SandboxChannel) -> SandboxChannel:
        with self.lock:
            self.channels[channel.id] = channel
        return channel

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):07d}"

    def new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._clock):06d}"

    # -- triggers ------------------------------------------------------------------------------
    def issue_trigger(self, user_id: str) -> str:
        trigger = f"{next(self._ids)}.{secrets.token_hex(6)}"
        with self.lock:
            self.triggers[trigger] = (user_id, time.monotonic())
        return trigger

    def use_trigger(self, trigger_id: str) -> tuple[str | None, str | None]:
        """The trigger's user, or Slack's error for an unknown or expired trigger."""
        with self.lock:
            found = self.triggers.pop(trigger_id, None)
        if found is None:
            return None, "invalid_trigger_id"
        user_id, issued = found
        if time.monotonic() - issued > TRIGGER_LIFETIME_SECONDS:
            return None, "expired_trigger_id"
        return user_id, None

    # -- reading, for tests and the demo -------------------------------------------------------
    def im_with(self, user_id: str) -> SandboxChannel:
        with self.lock:
            for channel in self.channels.values():
                if channel.is_im and channel.im_user == user_id:
                    return channel
            channel = SandboxChannel(self.new_id("D"), f"dm-{user_id}", is_private=True, is_im=True,
                                     members={user_id, self.bot_user_id}, im_user=user_id)
            self.channels[channel.id] = channel
            return channel

    def messages_in(self, channel_id: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.channel == channel_id]

    def dms_to(self, user_id: str) -> list[Message]:
        return self.messages_in(self.im_with(user_id).id)

    def current_view(self, user_id: str) -> OpenView | None:
        with self.lock:
            open_views = [v for v in self.views.values() if v.user_id == user_id and not v.closed]
            return open_views[-1] if open_views else None

    def all_visible_text(self) -> str:
        """Everything any message ever said: what a leak test searches."""
        with self.lock:
            parts = [m.text + " " + repr(m.blocks) for m in self.messages]
            parts += [text for _, text in self.ephemeral] + [repr(v) for v in self.home.values()]
            return "\n".join(parts)

    # -- the timeline --------------------------------------------------------------------------
    def display(self, text: str) -> str:
        """Slack-style mentions turned into names, the way a person would read them."""
        def name(match: re.Match[str]) -> str:
            user = self.users.get(match.group(1))
            return f"@{user.real_name}" if user else match.group(0)
        return re.sub(r"<@([UW][A-Z0-9]+)>", name, text)

    def where(self, channel_id: str) -> str:
        channel = self.channels.get(channel_id)
        if channel is None:
            return channel_id
        if channel.is_im and channel.im_user:
            return f"DM to {self.users[channel.im_user].real_name}"
        return f"#{channel.name}"

    def note(self, line: str) -> None:
        with self.lock:
            self.timeline.append(self.display(line))
