"""The app factory: one Bolt app per process, with its listeners and its one error handler."""

from __future__ import annotations

import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, ServerErrorRetryHandler,
)

from bot.listeners import concern_actions, handling, home, incident_log, report
from bot.services import Services, inject

log = logging.getLogger(__name__)
LISTENER_THREADS = 64


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is in its workspace, from auth.test at start-up (so no request waits for it)."""

    team_id: str
    team_name: str
    bot_user_id: str
    enterprise_id: str | None
    authorize_result: AuthorizeResult


def web_client(token: str | None, base_url: str, logger: logging.Logger | None = None) -> WebClient:
    """A Web API client that waits out 429s (Retry-After) and retries server and connection errors."""
    return WebClient(token=token, base_url=base_url, timeout=10, logger=logger, retry_handlers=[
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ])


def identify(client: WebClient, token: str) -> BotIdentity:
    response = client.auth_test(token=token)
    return BotIdentity(
        team_id=response["team_id"], team_name=response.get("team", ""), bot_user_id=response["user_id"],
        enterprise_id=response.get("enterprise_id") or None,
        authorize_result=AuthorizeResult.from_auth_test_response(bot_token=token, auth_test_response=response),
    )


def create_app(*, signing_secret: str, client: WebClient, identity: BotIdentity, services: Services) -> App:
    def authorize(team_id: str | None) -> AuthorizeResult | None:
        # One workspace per token: a request from any other team is not ours to answer.
        return identity.authorize_result if team_id == identity.team_id else None

    app = App(
        signing_secret=signing_secret, client=client, authorize=authorize,
        process_before_response=False, logger=logging.getLogger("concernbot.bolt"),
        # Bolt runs each listener (its ack, then the slow part) on this pool; with Bolt's default of 5
        # threads, five slow Web API calls would leave the sixth request unacknowledged past 3 seconds.
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
    )
    app.use(inject(services))
    report.register(app)
    concern_actions.register(app)
    handling.register(app)
    incident_log.register(app)
    home.register(app)
    app.error(on_error)
    return app


def on_error(error: Exception, body: dict[str, Any]) -> None:
    """The one error handler: log what failed and where, never the payload (it may hold a child's name)."""
    kind = body.get("type") or body.get("command") or (body.get("event") or {}).get("type")
    callback = (body.get("view") or {}).get("callback_id") or [
        a.get("action_id") for a in body.get("actions") or []]
    # The code path, never the message: an error's text can carry what someone typed (pydantic quotes input).
    where = "".join(traceback.format_tb(error.__traceback__)[-3:])
    log.error("listener failed on %s %s: %s\n%s", kind, callback, type(error).__name__, where)
