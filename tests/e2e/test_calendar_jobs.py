"""Calendar jobs in APScheduler's SQLAlchemy job store: one per school, stable ids, the school's time zone
across the clocks changing, and missed mornings run once after downtime."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from bot import calendar_jobs
from bot.workspaces import OneWorkspace
from bot.scheduler import JOBS_TABLE
from bot.yearly import YearlyCycle
from flows.clock import ManualClock
from storage.db import Database
from storage.models import OutboxMessage, Policy, School

LONDON = ZoneInfo("Europe/London")


def _school(db: Database, team_id: str, starts: time, tz: str = "Europe/London") -> None:
    now = datetime.now(timezone.utc)
    with db.session() as session:
        session.add(School(team_id=team_id, name=team_id, timezone=tz, day_starts=starts, closure_days=[],
                           report_dates=[], aup_report_to=[], created_at=now, updated_at=now))


def _scheduler(db: Database) -> BackgroundScheduler:
    return BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename=JOBS_TABLE)})


def test_one_stored_job_per_school_at_the_start_of_its_day(db: Database) -> None:
    _school(db, "T0ONE", time(8, 0))
    _school(db, "T0TWO", time(8, 30), "Europe/Dublin")
    scheduler = _scheduler(db)
    scheduler.start(paused=True)
    try:
        assert calendar_jobs.sync_jobs(scheduler, db) == 2
        assert calendar_jobs.sync_jobs(scheduler, db) == 0  # unchanged: left alone, next run time and all
        job = scheduler.get_job("yearly-cycle:T0ONE")
        assert (job.args, job.coalesce, job.max_instances, job.misfire_grace_time) == (("T0ONE",), True, 1, None)
        # 08:00 in London on each side of the clocks going forward (28 March 2027) and back (31 October 2027)
        fire = job.trigger.get_next_fire_time(None, datetime(2027, 3, 26, 9, 0, tzinfo=LONDON))
        assert fire.astimezone(timezone.utc) == datetime(2027, 3, 29, 7, 0, tzinfo=timezone.utc)
        fire = job.trigger.get_next_fire_time(None, datetime(2027, 10, 29, 9, 0, tzinfo=LONDON))
        assert fire.astimezone(timezone.utc) == datetime(2027, 11, 1, 8, 0, tzinfo=timezone.utc)
        with db.session() as session:
            session.get_one(School, "T0ONE").day_starts = time(8, 45)
            session.delete(session.get_one(School, "T0TWO"))
        assert calendar_jobs.sync_jobs(scheduler, db) == 2
        with db.session() as session:
            session.get_one(School, "T0ONE").timezone = "Asia/Dubai"  # a school abroad: the same hour, elsewhere
        assert calendar_jobs.sync_jobs(scheduler, db) == 1
        assert str(scheduler.get_job("yearly-cycle:T0ONE").trigger.timezone) == "Asia/Dubai"
        with db.session() as session:
            session.get_one(School, "T0ONE").timezone = "Europe/London"
        assert calendar_jobs.sync_jobs(scheduler, db) == 1
        assert "hour='8', minute='45'" in str(scheduler.get_job("yearly-cycle:T0ONE").trigger)
        assert scheduler.get_job("yearly-cycle:T0TWO") is None
    finally:
        scheduler.shutdown(wait=False)
    again = _scheduler(db)  # another process, later: the job is in the database
    again.start(paused=True)
    try:
        assert [j.id for j in again.get_jobs()] == ["yearly-cycle:T0ONE"]
    finally:
        again.shutdown(wait=False)


def test_mornings_missed_while_down_run_once(db: Database, sandbox) -> None:  # type: ignore[no-untyped-def]
    _school(db, "T0ONE", time(8, 0))
    with db.session() as session:  # something for the morning run to do: a policy due for review in 20 days
        session.add(Policy(team_id="T0ONE", key="online-safety", title="Online Safety Policy", owner_user_id="U0OWNER",
                           cadence="annual", next_review=date(2026, 12, 14), file_next_review=date(2026, 12, 14)))
    first = _scheduler(db)
    first.start(paused=True)
    calendar_jobs.sync_jobs(first, db)
    first.shutdown(wait=False)
    store = SQLAlchemyJobStore(engine=db.engine, tablename=JOBS_TABLE)
    job = store.lookup_job("yearly-cycle:T0ONE")
    job.next_run_time = datetime.now(timezone.utc) - timedelta(days=3)  # three mornings ago: down since
    store.update_job(job)

    runs: list[str] = []
    ran = threading.Event()

    def executed(event: JobExecutionEvent) -> None:
        runs.append(event.job_id)
        ran.set()

    clock = ManualClock(datetime(2026, 11, 24, 8, 0, tzinfo=LONDON))
    calendar_jobs.bind(YearlyCycle(db, clock, OneWorkspace.connect(sandbox.workspace.bot_token, sandbox.api_url),
                                   lambda: None))
    second = _scheduler(db)
    second.add_listener(executed, EVENT_JOB_EXECUTED)
    try:
        second.start()
        assert ran.wait(10)
        ran.clear()
        assert not ran.wait(1.0)  # and not again for the other missed mornings
        assert runs == ["yearly-cycle:T0ONE"]
        with db.session() as session:  # the bot's run, once: one reminder to the policy's owner
            reminders = list(session.scalars(select(OutboxMessage.dedupe_key)))
        assert reminders == ["T0ONE:policy:1:2026-12-14:30_days:U0OWNER"]
        assert second.get_job("yearly-cycle:T0ONE").next_run_time > datetime.now(timezone.utc)
    finally:
        second.shutdown(wait=False)
        calendar_jobs.bind(None)
