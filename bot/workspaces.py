"""Which Web API client speaks to a school's workspace.

With one school's bot token (`SLACK_BOT_TOKEN`) there is one client, for one workspace. Installed into many
workspaces by OAuth, each school's token is found in slack-sdk's installation store: its own workspace
install, or its organisation's org-wide install on Enterprise Grid. Everything that sends on its own (the
outbox, the yearly cycle, set-up, `doctor`) asks here for the school it is working for, so a message for
one school can only ever go out with that school's token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import InstallationStore

from bot.slack_client import BotIdentity, identify, web_client
from storage.db import Database
from storage.installs import Reach, reach_of

log = logging.getLogger(__name__)
CLIENT_TTL_SECONDS = 60.0  # a reinstall's new token is picked up within this, even in another process


class NotInstalled(Exception):
    """The school's workspace has no working installation of concernbot; the message says what to do."""


class Workspaces(Protocol):
    def client(self, team_id: str) -> WebClient:
        """The client for this school's workspace, or NotInstalled."""

    def removed(self, reach: Reach) -> None:
        """The app was removed from a workspace (or an organisation): forget its tokens."""

    def forget(self, team_id: str) -> None:
        """Drop any cached client, so the next call reads the token afresh (after a reinstall)."""


class OneWorkspace:
    """One school's bot token, for its one workspace."""

    def __init__(self, client: WebClient, identity: BotIdentity) -> None:
        self._client, self.identity = client, identity

    @classmethod
    def connect(cls, token: str, base_url: str) -> OneWorkspace:
        """The workspace this token is for (asks Slack's auth.test)."""
        client = web_client(token, base_url)
        return cls(client, identify(client, token))

    def client(self, team_id: str) -> WebClient:
        if team_id != self.identity.team_id:
            raise NotInstalled(f"this bot's token is for workspace {self.identity.team_id}, not {team_id}")
        return self._client

    def removed(self, reach: Reach) -> None:
        """The token is revoked with the app; there is nothing of it kept to delete."""

    def forget(self, team_id: str) -> None:
        """One client, one token: nothing cached to drop."""


class InstalledWorkspaces:
    """Many schools, each reached with the token its installation stored."""

    def __init__(self, db: Database, store: InstallationStore, base_url: str,
                 ttl: float = CLIENT_TTL_SECONDS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._db, self._store, self._base_url = db, store, base_url
        self._ttl, self._monotonic = ttl, monotonic
        self._cache: dict[str, tuple[WebClient, float]] = {}
        self._lock = threading.Lock()

    def client(self, team_id: str) -> WebClient:
        with self._lock:
            cached = self._cache.get(team_id)
        if cached is not None and self._monotonic() - cached[1] < self._ttl:
            return cached[0]
        with self._db.session() as session:
            reach = reach_of(session, team_id)
        token = self._token(reach) if reach is not None else None
        if token is None:
            raise NotInstalled(f"workspace {team_id} has no installation of concernbot: install it again "
                               "from the bot's /slack/install page")
        client = web_client(token, self._base_url)
        with self._lock:
            self._cache[team_id] = (client, self._monotonic())
        return client

    def _token(self, reach: Reach) -> str | None:
        bot = self._store.find_bot(enterprise_id=reach.enterprise_id,
                                   team_id=None if reach.org_install else reach.team_id,
                                   is_enterprise_install=reach.org_install)
        return bot.bot_token if bot is not None else None

    def removed(self, reach: Reach) -> None:
        team_id = None if reach.org_install else reach.team_id
        self._store.delete_bot(enterprise_id=reach.enterprise_id, team_id=team_id)
        self._store.delete_installation(enterprise_id=reach.enterprise_id, team_id=team_id)
        with self._lock:
            self._cache.clear()  # an org's removal touches every one of its schools

    def forget(self, team_id: str) -> None:
        with self._lock:
            self._cache.pop(team_id, None)
