"""A trust's worth of data: 50 schools, 5,000 staff, up to 100,000 concerns with their histories, and the
four reads a safeguarding team waits for, timed on it with their query plans.

The distributions are a large trust's: most concerns closed, cyberbullying and social networking the most
common, nearly all about pupils (a few about staff, for the head), each with its report, notification,
acknowledgement, actions and closing in the log, and a few children with long chronologies."""

from __future__ import annotations

import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select, text

from bot.export import export_incidents
from bot.runtime import freeze_start_up_objects
from flows.clock import ManualClock
from flows.incident_log import parse_filters
from flows.retention import add_years
from storage import access, incident_log
from storage.children import child_index, child_keys
from storage.db import Database
from storage.events import GENESIS, chain_hash
from storage.models import Concern, ConcernAction, ConcernChain, ConcernChild, ConcernEvent, StatusChange
from storage.schools import apply_setup
from tests.storage.helpers import DEPUTY, DSL, HEAD, school_setup

SCHOOLS, STAFF_PER_SCHOOL, FULL = 50, 100, 100_000
SCALES = (1, 4, 16)  # x the smallest; 16x is the full trust (100,000 concerns)
CATEGORIES = {"cyberbullying": 25, "social_networking": 15, "gaming": 12, "harmful_content": 10, "nudes": 8,
              "grooming": 6, "camera_images": 6, "identity_password": 5, "data_device_loss": 4,
              "filtering_failure": 3, "radicalisation": 2, "underage_films_games": 2, "other": 2}
STATUSES = {"closed": 75, "in_progress": 10, "acknowledged": 8, "new": 7}
ACTIONS = ("parents_informed", "social_care", "police", "ceop", "technical_staff")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
FREQUENT_CHILDREN = 20  # per school, each in many concerns: the long chronologies
REPEATS = 20
# A report's answers as the form stores them (flows/report_form.ReportAnswers), child and dates filled in per row.
DETAILS: dict[str, Any] = {
    "subject": "pupil", "adult_user": None, "adult_name": None, "adult_role": None, "threshold": None,
    "other_name": None, "other_relation": None, "personal_data": None, "urgency": "routine", "involves": [],
    "occurred_time": "09:00:00", "others_present": None, "late_reason": None,
    "disclosure": "What was said, in the child's own words, as they said it. " * 4,
    "why_concerned": "Why the member of staff was concerned, and what they saw. " * 3, "observed": None,
    "heard": None, "told": None, "online_details": "Where it happened online: the app, the group, the account.",
    "reporter_position": "Class teacher", "device": None, "username": None}


def team(n: int) -> str:
    return f"T0TRUST{n:03d}"


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def generate(db: Database, concerns: int, seed: int = 7) -> None:
    """Fill an empty (migrated) database with `concerns` spread over the trust's schools."""
    rng = random.Random(seed)
    categories, c_weights = list(CATEGORIES), list(CATEGORIES.values())
    statuses, s_weights = list(STATUSES), list(STATUSES.values())
    with db.session() as session:
        for n in range(SCHOOLS):
            apply_setup(session, school_setup(team(n), name=f"Trust school {n}"), NOW)
    per_school = concerns // SCHOOLS
    rows, children, events, changes, actions = [], [], [], [], []
    cid = 0
    for n in range(SCHOOLS):
        for k in range(per_school):
            cid += 1
            reported = NOW - timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
            status = rng.choices(statuses, s_weights)[0]
            about_staff = rng.random() < 0.03
            child = (f"Frequent Child {rng.randint(1, FREQUENT_CHILDREN)}" if rng.random() < 0.2
                     else f"Child {n}-{rng.randint(1, per_school)}")
            acknowledged = reported + timedelta(minutes=rng.randint(2, 90)) if status != "new" else None
            category = rng.choices(categories, c_weights)[0]
            rows.append(dict(
                id=cid, team_id=team(n), reference=f"OS-{reported.year}-{k + 1:05d}", draft_id=f"d{cid}",
                reporter_id=f"U0STAFF{n:03d}{rng.randint(1, STAFF_PER_SCHOOL):03d}",
                subject_kind="staff" if about_staff else "pupil", subject_user_id=None,
                case_roles=["headteacher"] if about_staff else ["dsl", "deputy_dsl"], meets_harm_threshold=False,
                personal_data_breach=False, category=category, urgency="routine",
                status=status, occurred_on=reported.date(), reported_late=rng.random() < 0.05,
                details={**DETAILS, "category": category, "children": [{"name": child, "year_group": "year_5",
                                                                     "date_of_birth": None}],
                         "occurred_on": reported.date().isoformat()},
                reported_at=reported, acknowledged_by=DSL if acknowledged else None, acknowledged_at=acknowledged,
                immediate_referral=False, escalation_level=0, escalate_at=None if acknowledged else reported,
                assigned_to=None, closed_by=DSL if status == "closed" else None,
                closed_at=acknowledged + timedelta(days=rng.randint(1, 30)) if status == "closed" and acknowledged
                else None))
            children.append(dict(team_id=team(n), concern_id=cid, position=1, name_key=child, name=child,
                                 year_group="year_5"))  # name_key keyed below
            events += [dict(team_id=team(n), concern_id=cid, kind="reported", actor_id=rows[-1]["reporter_id"],
                            at=reported, data={}),
                       dict(team_id=team(n), concern_id=cid, kind="notified", actor_id=None, at=reported, data={})]
            changes.append(dict(team_id=team(n), concern_id=cid, from_status=None, to_status="new",
                                actor_id=rows[-1]["reporter_id"], at=reported))
            if acknowledged:
                events.append(dict(team_id=team(n), concern_id=cid, kind="acknowledged", actor_id=DSL,
                                   at=acknowledged, data={}))
                changes.append(dict(team_id=team(n), concern_id=cid, from_status="new", to_status="acknowledged",
                                    actor_id=DSL, at=acknowledged))
                for a in range(rng.randint(1, 2)):
                    actions.append(dict(team_id=team(n), concern_id=cid, kind=rng.choice(ACTIONS),
                                        taken_on=acknowledged.date(), taken_time=None, note="What was done. " * 4,
                                        recorded_by=DEPUTY, recorded_at=acknowledged + timedelta(hours=a + 1)))
                    events.append(dict(team_id=team(n), concern_id=cid, kind="action_recorded", actor_id=DEPUTY,
                                       at=acknowledged + timedelta(hours=a + 1), data={}))
            if rows[-1]["closed_at"]:
                events.append(dict(team_id=team(n), concern_id=cid, kind="closed", actor_id=DSL,
                                   at=rows[-1]["closed_at"], data={}))
    chains = _chain(rows, events)
    with db.session() as session:
        # Each child's name_key as the bot stores it (storage.children: a keyed hash), taken once per name.
        keys = {name: child_index(session, name) for name in {c["name_key"] for c in children}}
        for c in children:
            c["name_key"] = keys[c["name_key"]]
        for model, batch in ((Concern, rows), (ConcernChain, chains), (ConcernChild, children),
                             (ConcernEvent, events), (StatusChange, changes), (ConcernAction, actions)):
            for chunk in _chunks(batch):
                session.execute(insert(model), chunk)
    if db.dialect == "postgresql":
        # The database as a trust's is in use: vacuumed and analysed, as autovacuum keeps it, and checkpointed,
        # not freshly loaded. Otherwise autovacuum starts on the new rows in the middle of the timings, and the
        # checkpoint the load's WAL asks for runs through them: each page first written after a checkpoint
        # starts goes to the WAL whole (an export right after one wrote 15 MB of WAL rather than 1.2 MB, and
        # took 100 ms longer). In use, a checkpoint comes every 5 minutes (checkpoint_timeout); here each
        # read's untimed first run takes it. VACUUM and CHECKPOINT cannot run in a transaction.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
            connection.execute(text("CHECKPOINT"))


def _chain(rows: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each concern's events hash-chained, and each dated for retention, as the bot's own writes would be;
    returns each concern's chain head (storage.models_chain) as the bot keeps it."""
    heads: dict[int, tuple[int, str]] = {}
    for e in events:  # in each concern's order
        seq, prev = heads.get(e["concern_id"], (0, GENESIS))
        e.update(seq=seq + 1, prev_hash=prev, hash=chain_hash(prev, e["team_id"], e["concern_id"], seq + 1, e["kind"],
                                                               e["actor_id"], e["at"], e["data"]))
        heads[e["concern_id"]] = (seq + 1, e["hash"])
    for row in rows:
        row.update(retain_until=add_years(row["reported_at"].date(), 25))
    return [dict(concern_id=row["id"], seq=heads.get(row["id"], (0, GENESIS))[0],
                 head=heads.get(row["id"], (0, GENESIS))[1]) for row in rows]


@contextmanager
def captured(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run meanwhile (for their plans)."""
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not many:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def plan(db: Database, statement: str, parameters: Any) -> list[str]:
    with db.engine.connect() as connection:
        prefix = "EXPLAIN " if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
        rows = connection.exec_driver_sql(prefix + statement, parameters).all()
    return [str(row[-1]) for row in rows]


@dataclass(frozen=True)
class Timing:
    name: str
    p50: float
    p95: float
    peak_kb: float  # Python memory at its peak during one run
    plan: list[str]
    rows: int | None = None  # what one run returned, where that is a check on the data (the chronology's length)


def _time(db: Database, name: str, operation: Callable[[], object], main_table: str = "concerns") -> Timing:
    operation()  # warm
    with captured(db) as statements:
        tracemalloc.start()
        operation()
        peak = tracemalloc.get_traced_memory()[1] / 1024
        tracemalloc.stop()
    seconds = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        operation()
        seconds.append((time.perf_counter() - started) * 1000)
    seconds.sort()
    main = next((s for s in statements if f"FROM {main_table}" in s[0]), statements[0] if statements else None)
    return Timing(name, statistics.median(seconds), seconds[int(0.95 * len(seconds)) - 1], peak,
                  plan(db, *main) if main else [])


def measure(db: Database, tmp: Path) -> list[Timing]:
    # This process stands in for the bot's, which freeze what they made starting before they serve (bot.runtime).
    # Not frozen, a full collection came every fourth export or so and walked all of this process's 138,000
    # objects: 44 ms more CPU each time, an export's p95 122.5 ms beside a p50 of 80.3. Frozen: p95 84.8, p50
    # 78.0. (`concernbot export` runs one export in a process of its own: measured, no full collection at all.)
    freeze_start_up_objects()
    school = team(SCHOOLS // 2)
    clock = ManualClock(NOW)
    with db.session() as session:  # found as the bot finds a child: by their keys (storage.children)
        frequent = session.scalar(select(ConcernChild.concern_id).where(
            ConcernChild.team_id == school, ConcernChild.name_key.in_(child_keys(session, "Frequent Child 1")))
            .order_by(ConcernChild.concern_id).limit(1))
        others = session.scalar(select(func.count()).select_from(ConcernChild).where(
            ConcernChild.team_id == school, ConcernChild.name_key.in_(child_keys(session, "Frequent Child 1")))) or 0
    if frequent is None:
        raise LookupError("the frequent child's concerns are not found by their key: the generator and the bot "
                          "disagree on ConcernChild.name_key")

    def open_list() -> object:
        with db.session() as session:
            return incident_log.list_concerns(session, school, DSL, parse_filters("status:open"))

    def chronology() -> object:
        with db.session() as session:
            return access.open_record(session, school, frequent, DSL, NOW)

    def export() -> object:
        return export_incidents(db, clock, school, DSL, parse_filters("status:all"), tmp / "log.csv")

    def summary() -> object:
        with db.session() as session:
            return incident_log.governors_summary(session, school, HEAD, parse_filters("status:all"))

    record = chronology()
    shown = len(record.chronology[0]) if isinstance(record, access.ConcernRecord) and record.chronology else 0
    if others > 1 and not shown:
        raise LookupError(f"the frequent child is in {others} concerns, but the chronology shows none of the others")
    timings = [_time(db, "the DSL's open concerns", open_list), _time(db, "a child's chronology", chronology,
               "concerns JOIN concern_children"), _time(db, "incident-log export (whole school)", export),
               _time(db, "governors' summary (whole school)", summary)]
    timings[1] = replace(timings[1], rows=shown)
    return timings
