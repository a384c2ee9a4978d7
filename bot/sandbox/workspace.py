"""The sandbox workspace's state: users, channels, messages, open views, and a readable timeline."""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.faults import Fault, Faults
from bot.sandbox.ratelimit import RateLimit

TRIGGER_LIFETIME_SECONDS = 3.0  # Slack's own: a trigger_id must be used within 3 seconds
# One counter for every workspace in the process, so a view, DM or trigger id never names two things.
_IDS = itertools.count(1)


@dataclass
class SandboxUser:
    id: str
    name: str
    real_name: str
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False
    is_restricted: bool = False        # a multi-channel guest
    is_ultra_restricted: bool = False  # a single-channel guest
    is_app_user: bool = False
    is_admin: bool = False  # a workspace admin or owner (the school's IT lead, say)
    is_org_admin: bool = False  # on Enterprise Grid: an admin of the whole organisation

    def as_api(self, team_id: str) -> dict[str, Any]:
        return {"id": self.id, "team_id": team_id, "name": self.name, "real_name": self.real_name,
                "deleted": self.deleted, "is_bot": self.is_bot, "is_app_user": self.is_app_user,
                "is_admin": self.is_admin, "is_owner": False,
                "is_restricted": self.is_restricted, "is_ultra_restricted": self.is_ultra_restricted,
                "tz": "Europe/London",
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

    def __init__(self, team_id: str, team_name: str, *, bot_token: str | None, scopes: set[str],
                 bot_user_id: str = "U0BOT", bot_name: str = "concernbot", enterprise_id: str | None = None,
                 enterprise_name: str | None = None, bot_id: str = "B0BOT", domain: str = "sandbox") -> None:
        self.team_id, self.team_name, self.domain = team_id, team_name, domain
        self.bot_token, self.scopes = bot_token, set(scopes)  # bot_token None: the app is not installed here
        self.installed_by: str | None = None  # who installed the app here, when it came by OAuth
        self.enterprise_id, self.enterprise_name = enterprise_id, enterprise_name  # its Enterprise Grid org
        self.app_token: str | None = None  # Socket Mode's xapp- token, when a test grants one
        self.bot_user_id, self.bot_id, self.bot_name = bot_user_id, bot_id, bot_name
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
        self.rate_limited = 0  # calls answered 429
        self.rate_limit: RateLimit | None = None
        self.failures: dict[str, deque[tuple[int, str]]] = {}  # method -> (HTTP status, error) to answer next
        self.faults = Faults()  # 5xx, 429, timeouts, cut connections: for some methods or all (faults.py)
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

    def add_staff(self, count: int, prefix: str = "S") -> list[str]:
        """`count` ordinary people (U{prefix}000001, staff1, staff1@oakfield.example, ...): a big school."""
        ids = [f"U{prefix}{n:06d}" for n in range(1, count + 1)]
        with self.lock:
            for n, user_id in enumerate(ids, start=1):
                self.users[user_id] = SandboxUser(user_id, f"staff{n}", f"Staff Member {n}",
                                                  email=f"staff{n}@oakfield.example")
        return ids

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(_IDS):07d}"

    def rename_bot_user(self, bot_user_id: str) -> None:
        """The bot user takes another id (an org-wide app has one bot user in all its workspaces)."""
        with self.lock:
            old = self.bot_user_id
            if old == bot_user_id:
                return
            bot = self.users.pop(old)
            bot.id = bot_user_id
            self.users[bot_user_id] = bot
            for channel in self.channels.values():
                if old in channel.members:
                    channel.members = (channel.members - {old}) | {bot_user_id}
            self.bot_user_id = bot_user_id

    def holds(self, name: str, value: str) -> bool:
        """Whether the thing an argument names (a channel, user, view or trigger) is in this workspace."""
        with self.lock:
            if name == "channel":
                return value in self.channels or value in self.users
            if name in ("user", "users", "user_id"):
                return value.split(",")[0] in self.users
            if name == "email":  # users.lookupByEmail: one person across an organisation
                return any(u.email == value for u in self.users.values())
            if name == "view_id":
                return value in self.views
            if name == "external_id":
                return any(v.view.get("external_id") == value for v in self.views.values())
            if name == "trigger_id":
                return value in self.triggers
            return False

    def new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._clock):06d}"

    # -- triggers ------------------------------------------------------------------------------
    def issue_trigger(self, user_id: str) -> str:
        trigger = f"{next(_IDS)}.{secrets.token_hex(6)}"
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

    # -- a less obliging Slack, for load and fault tests --------------------------------------
    def set_rate_limit(self, per_second: float | None, methods: frozenset[str] | None = None) -> None:
        """Share `per_second` calls among `methods` (None: all but auth.test); `per_second=None`: no limit."""
        with self.lock:
            self.rate_limit = None if per_second is None else RateLimit(per_second, methods)

    def admit(self, method: str) -> int | None:
        """None when the call may go ahead; else the Retry-After seconds, the call recorded as rate limited."""
        limit = self.rate_limit
        retry_after = limit.admit(method) if limit is not None else None
        if retry_after is not None:
            with self.lock:
                self.rate_limited += 1
                self.calls.append((method, "ratelimited"))
        return retry_after

    def fail_next(self, method: str, times: int = 1, status: int = 500, error: str = "internal_error") -> None:
        """The next `times` calls of `method` answer HTTP `status` with `{"ok": false, "error": error}`."""
        with self.lock:
            self.failures.setdefault(method, deque()).extend([(status, error)] * times)

    def take_failure(self, method: str) -> tuple[int, str] | None:
        """The injected failure this call of `method` answers with, if any (recorded in `calls`)."""
        with self.lock:
            queued = self.failures.get(method)
            if not queued:
                return None
            failure = queued.popleft()
            self.calls.append((method, failure[1]))
            return failure

    def inject(self, fault: Fault, methods: Iterable[str] | str | None = None, times: int | None = None) -> None:
        """`times` calls (None: every call until `clear_faults`) of `methods` (None: all) meet `fault`."""
        self.faults.inject(fault, methods, times)

    def clear_faults(self) -> None:
        self.faults.clear()

    def take_fault(self, method: str) -> Fault | None:
        """The injected fault this call of `method` meets, if any (recorded in `calls`)."""
        fault = self.faults.take(method)
        if fault is not None:
            with self.lock:
                self.calls.append((method, fault.error))
        return fault

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
