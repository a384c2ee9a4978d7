"""What a request did, seen from outside: the answer's status and body, and every table's row count."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select

from bot.sandbox.browser import BotResponse
from bot.sandbox.client import SlackSimulator
from storage.db import Database
from storage.models import Base

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def row_counts(db: Database, *, besides: tuple[str, ...] = ()) -> dict[str, int]:
    """How many rows each of the bot's tables holds (`besides` some): a refused request changes none."""
    with db.session() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables
                if t.name not in besides}


def assert_answered_plainly(reply: BotResponse) -> None:
    """Never a 5xx, and never a traceback (or any of Python's own words) in the body."""
    assert reply.status < 500, (reply.status, reply.body[:300])
    for trace in ("Traceback", 'File "', "Error:", "Exception", "<html"):
        assert trace not in reply.body, reply.body[:300]


def signed(slack: SlackSimulator, body: bytes, content_type: str = FORM, **kwargs: Any) -> BotResponse:
    return slack.post_raw(body, slack.signed_headers(body, content_type, **kwargs))


def payload_body(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()
