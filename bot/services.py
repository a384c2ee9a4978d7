"""What listeners need, built once per process and injected into Bolt's context by one middleware."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.metadata import MetadataCodec
from flows.clock import Clock
from storage.db import Database

if TYPE_CHECKING:
    from bot.workspaces import Workspaces


@dataclass(frozen=True)
class Services:
    db: Database
    clock: Clock
    codec: MetadataCodec
    default_timezone: str
    kick_outbox: Callable[[], None]
    workspaces: Workspaces  # each school's own Web API client (token mode: the one)

    def local_now(self, timezone: str) -> datetime:
        return self.clock.now().astimezone(ZoneInfo(timezone))


SERVICES_KEY = "concernbot_services"


def inject(services: Services) -> Callable[..., Any]:
    """A Bolt global middleware (bot.app.Direct) that puts the services into every request's context."""

    def middleware(context: Any, body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's
        context[SERVICES_KEY] = services
        return next()

    return middleware


def services_of(context: Any) -> Services:
    return context[SERVICES_KEY]
