"""Prometheus metrics, served at GET /metrics: what an IT lead's dashboard and alerts need.

Counts and timings only, labelled by school (Slack team id) and kind: never a name, a reference or text.
Each Runtime has its own registry (no process-wide state), and the database figures are read when
Prometheus scrapes, so they are never stale. Under `serve --workers` the counters are prometheus-client's
multiprocess kind, so a scrape of any worker gives the whole server's counts.
"""

from __future__ import annotations

import os
from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from flows.clock import Clock
from flows.concern import DSL_TEAM, Status
from storage.db import Database
from storage.models import Concern, OutboxMessage

DSL_TEAM_ROLES = frozenset(r.value for r in DSL_TEAM)
# prometheus-client's multiprocess mode: set before it is imported (`serve --workers` sees to that).
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
RESPONSE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


class DatabaseFigures(Collector):
    """Concerns by status, concerns waiting for acknowledgement (and past their escalation time), and the
    outbox's depth, read from the database at each scrape."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db, self._clock = db, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_status = GaugeMetricFamily("concernbot_concerns", "The DSL team's concerns by status",
                                      labels=["team", "status"])
        waiting = GaugeMetricFamily("concernbot_unacknowledged_concerns",
                                    "The DSL team's concerns nobody has acknowledged yet", labels=["team"])
        overdue = GaugeMetricFamily("concernbot_unacknowledged_overdue_concerns",
                                    "The DSL team's unacknowledged concerns past their next escalation time",
                                    labels=["team"])
        outbox = GaugeMetricFamily("concernbot_outbox_unsent", "Messages waiting in the outbox", labels=["team"])
        outbox_due = GaugeMetricFamily("concernbot_outbox_due", "Unsent messages already due", labels=["team"])
        up = GaugeMetricFamily("concernbot_database_up", "1 if the database answered this scrape")
        now = self._clock.now()
        try:
            with self._db.session() as session:
                # Concerns about adults are left out altogether: whoever reads a dashboard must not be able
                # to count them (ROUTING.md), and their own clocks have reminders of their own.
                statuses: Tally[tuple[str, str]] = Tally()
                late: Tally[str] = Tally()
                for team, status, roles, escalate_at in session.execute(
                        select(Concern.team_id, Concern.status, Concern.case_roles, Concern.escalate_at)
                        .where(Concern.status != Status.CLOSED.value)):
                    if not DSL_TEAM_ROLES & set(roles or ()):
                        continue
                    statuses[(team, status)] += 1
                    if status == Status.NEW.value and escalate_at is not None and escalate_at < now:
                        late[team] += 1
                for (team, status), count in sorted(statuses.items()):
                    by_status.add_metric([team, status], count)
                    if status == Status.NEW.value:
                        waiting.add_metric([team], count)
                for team, count in sorted(late.items()):
                    overdue.add_metric([team], count)
                unsent = select(OutboxMessage.team_id, func.count()).where(OutboxMessage.sent_at.is_(None))
                for team, count in session.execute(unsent.group_by(OutboxMessage.team_id)):
                    outbox.add_metric([team], count)
                for team, count in session.execute(
                        unsent.where(OutboxMessage.due_at <= now).group_by(OutboxMessage.team_id)):
                    outbox_due.add_metric([team], count)
            up.add_metric([], 1)
        except SQLAlchemyError:
            up.add_metric([], 0)
        yield from (by_status, waiting, overdue, outbox, outbox_due, up)


class Metrics:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("concernbot_slack_requests", "Slack requests received, by kind", ["kind"],
                                registry=self.registry)
        self.response_seconds = Histogram("concernbot_slack_response_seconds",
                                          "Time from a Slack request arriving to its answer (the acknowledgement)",
                                          buckets=RESPONSE_BUCKETS, registry=self.registry)
        self.sent = Counter("concernbot_outbox_sent", "Messages sent from the outbox, by kind", ["kind"],
                            registry=self.registry)
        self.send_failures = Counter("concernbot_outbox_send_failures", "Failed attempts to send, by kind", ["kind"],
                                     registry=self.registry)
        self.errors = Counter("concernbot_listener_errors", "Requests whose listener failed", registry=self.registry)
        self._figures = DatabaseFigures(db, clock)
        self.registry.register(self._figures)

    def render(self) -> tuple[bytes, str]:
        if MULTIPROCESS_DIR not in os.environ:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        # Several worker processes (serve --workers): each writes its counts to the shared directory, and
        # whichever worker is scraped adds up every worker's, the dead ones' included.
        merged = CollectorRegistry()
        MultiProcessCollector(merged)
        merged.register(self._figures)
        return generate_latest(merged), CONTENT_TYPE_LATEST

    def count_request(self, body: dict[str, Any]) -> None:
        kind = body.get("type") or ("command" if body.get("command") else "other")
        if kind == "event_callback":
            kind = f"event:{(body.get('event') or {}).get('type', 'other')}"
        self.requests.labels(kind=str(kind)[:40]).inc()
