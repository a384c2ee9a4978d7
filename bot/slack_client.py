"""The Web API client every part of the bot uses, and the bot's identity in a workspace."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, ServerErrorRetryHandler,
)


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
