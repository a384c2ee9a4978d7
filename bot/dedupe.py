"""Each Slack event is handled once, however many times Slack delivers it.

Slack delivers an event again when it did not get our answer in 3 seconds, or got an error, saying so in
X-Slack-Retry-Num and X-Slack-Retry-Reason (over Socket Mode, in the envelope). Every delivery carries the
same `event_id`. Bolt acknowledges an event before its listener runs; the listener, wrapped in
`once_per_event`, then claims the id (storage.seen_events) as its first step, off the request's path, and a
later delivery, retry or not, finds it claimed and goes no further (it was acknowledged, so Slack stops
retrying). A retry of an event nobody claimed (the first delivery never reached us) is handled as the
first. Interactions and slash commands carry no event_id and Slack never retries them (each button is
idempotent itself).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.request import BoltRequest
from sqlalchemy.exc import SQLAlchemyError

from bot.services import services_of
from storage.seen_events import claim_event

log = logging.getLogger(__name__)
# What an event listener may take (Bolt gives each by its parameter name).
GIVEN = ("ack", "body", "event", "client", "context", "request")


def _retry(request: BoltRequest, body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(which retry, why) when Slack says this delivery is a retry; (None, None) for a first delivery."""
    headers = request.headers or {}
    number = (headers.get("x-slack-retry-num") or [None])[0] or body.get("retry_attempt")
    reason = (headers.get("x-slack-retry-reason") or [None])[0] or body.get("retry_reason")
    return (str(number) if number else None), (str(reason) if reason else None)


def first_delivery(request: BoltRequest, body: dict[str, Any], context: Any) -> bool:
    """Claim this delivery's event id: True if nobody had (handle it), False if it was handled already."""
    event_id = body.get("event_id")
    if not event_id:
        return True
    svc = services_of(context)
    retry, reason = _retry(request, body)
    team_id = body.get("team_id") or context.get("team_id")
    try:
        with svc.db.session() as session:
            first = claim_event(session, str(event_id), str(team_id) if team_id else None, svc.clock.now())
    except SQLAlchemyError as exc:  # better handled twice (each listener is idempotent) than never
        log.warning("could not check whether event %s was handled already (%s): handling it", event_id,
                    type(exc).__name__)
        return True
    if first and retry:
        log.info("Slack retried event %s (retry %s, %s) that never reached us: handling it now",
                 event_id, retry, reason or "no reason given")
    elif not first:
        log.info("event %s was delivered again (retry %s, %s): it is handled already, so it is acknowledged and "
                 "ignored", event_id, retry or "none", reason or "no reason given")
    return first


def once_per_event(listener: Callable[..., None]) -> Callable[..., None]:
    """An event listener that runs once per event id. Bolt reads which arguments to give from the
    wrapper's own parameters (GIVEN), and the listener is given those of them it names."""
    wanted = list(inspect.signature(listener).parameters)
    if not set(wanted) <= set(GIVEN):
        raise TypeError(f"{listener.__name__} takes {sorted(set(wanted) - set(GIVEN))}, which once_per_event "
                        "does not pass on")

    def handled_once(ack: Any, body: dict[str, Any], event: Any, client: Any, context: Any,
                     request: BoltRequest) -> None:
        if first_delivery(request, body, context):
            given = {"ack": ack, "body": body, "event": event, "client": client, "context": context,
                     "request": request}
            listener(**{name: given[name] for name in wanted})

    handled_once.__name__ = handled_once.__qualname__ = listener.__name__
    return handled_once
