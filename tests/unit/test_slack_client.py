"""The Web API client waits out a short 429 in the call, and leaves a long one to the outbox."""

from __future__ import annotations

from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.slack_client import LONGEST_WAIT_IN_CALL, ShortRateLimitWaits


def _waits_in_call(headers: dict[str, list[str]], status: int = 429) -> bool:
    response = HttpResponse(status_code=status, headers=headers, body={}, data=b"")
    request = HttpRequest(method="POST", url="https://slack.example/api/chat.postMessage", headers={},
                          body_params=None)
    return ShortRateLimitWaits(max_retry_count=2).can_retry(state=RetryState(), request=request, response=response)


def test_only_short_waits_are_taken_inside_the_call() -> None:
    assert _waits_in_call({"Retry-After": ["1"]})
    assert _waits_in_call({"retry-after": [str(LONGEST_WAIT_IN_CALL)]})
    assert not _waits_in_call({"Retry-After": [str(LONGEST_WAIT_IN_CALL + 1)]})  # the outbox waits it out
    assert _waits_in_call({})  # no header: slack-sdk's own short wait
    assert not _waits_in_call({"Retry-After": ["1"]}, status=500)  # not a rate limit at all
