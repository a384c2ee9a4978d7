"""A Bolt global middleware: each Slack event is handled once, however many times Slack delivers it.

Slack delivers an event again when it did not get our answer in 3 seconds, or got an error, saying so in
X-Slack-Retry-Num and X-Slack-Retry-Reason (over Socket Mode, in the envelope). Every delivery carries the
same `event_id`. The first delivery claims the id (storage.seen_events); any later one, retry or
not, is acknowledged and goes no further, so Slack stops retrying. A retry of an event nobody claimed (the
first delivery never reached us) is handled as the first. Interactions and slash commands carry no
event_id and Slack never retries them: those pass straight through (each button is idempotent itself).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.services import services_of
from storage.seen_events import claim_event

log = logging.getLogger(__name__)


def _retry(request: BoltRequest, body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(which retry, why) when Slack says this delivery is a retry; (None, None) for a first delivery."""
    headers = request.headers or {}
    number = (headers.get("x-slack-retry-num") or [None])[0] or body.get("retry_attempt")
    reason = (headers.get("x-slack-retry-reason") or [None])[0] or body.get("retry_reason")
    return (str(number) if number else None), (str(reason) if reason else None)


def dedupe_events(request: BoltRequest, body: dict[str, Any], context: Any,
                  next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's argument name
    event_id = body.get("event_id")
    if not event_id:
        return next()
    svc = services_of(context)
    retry, reason = _retry(request, body)
    team_id = body.get("team_id") or context.get("team_id")
    try:
        with svc.db.session() as session:
            first = claim_event(session, str(event_id), str(team_id) if team_id else None, svc.clock.now())
    except SQLAlchemyError as exc:  # better handled twice (each listener is idempotent) than never
        log.warning("could not check whether event %s was handled already (%s): handling it", event_id,
                    type(exc).__name__)
        return next()
    if first:
        if retry:
            log.info("Slack retried event %s (retry %s, %s) that never reached us: handling it now",
                     event_id, retry, reason or "no reason given")
        return next()
    log.info("event %s was delivered again (retry %s, %s): it is handled already, so it is acknowledged and "
             "ignored", event_id, retry or "none", reason or "no reason given")
    return BoltResponse(status=200, body="")
