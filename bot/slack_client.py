"""The Web API client every part of the bot uses, and the bot's identity in a workspace."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is in its workspace, from auth.test at start-up (so no request waits for it)."""

    team_id: str
    team_name: str
    bot_user_id: str
    enterprise_id: str | None
    authorize_result: AuthorizeResult


# A 429 asking for a longer wait than this is not waited out inside the call (it would hold a listener's or
# the sender's thread): the call fails, and the outbox tries again after Retry-After.
LONGEST_WAIT_IN_CALL = 5


class ShortRateLimitWaits(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, for Retry-After values up to LONGEST_WAIT_IN_CALL seconds."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None
        after = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        try:
            return int(after[0] if isinstance(after, list) else after) <= LONGEST_WAIT_IN_CALL
        except ValueError:
            return True


def web_client(token: str | None, base_url: str, logger: logging.Logger | None = None) -> WebClient:
    """A Web API client that waits out short 429s (Retry-After) and retries server and connection errors."""
    return WebClient(token=token, base_url=base_url, timeout=10, logger=logger, retry_handlers=[
        ConnectionErrorRetryHandler(max_retry_count=2),
        ShortRateLimitWaits(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ])


def identify(client: WebClient, token: str) -> BotIdentity:
    response = client.auth_test(token=token)
    return BotIdentity(
        team_id=response["team_id"], team_name=response.get("team", ""), bot_user_id=response["user_id"],
        enterprise_id=response.get("enterprise_id") or None,
        authorize_result=AuthorizeResult.from_auth_test_response(bot_token=token, auth_test_response=response),
    )
