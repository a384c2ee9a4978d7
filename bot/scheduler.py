"""APScheduler wiring: the school's time zone, a persistent job store, the sweeps and the calendar jobs.

Deadlines that must survive restarts (escalations) live in the database rows they belong to, written in
the same transaction as the record, and sweeps find what is due by the injected clock. Calendar jobs (each
school's yearly cycle, every school morning) live in the SQLAlchemy job store (bot/calendar_jobs.py). Only
the leading process runs a scheduler (bot/leadership.py). Nothing starts at import.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot import calendar_jobs
from bot.outbox_sender import OutboxSender
from bot.sweeps import EscalationSweep, SchoolDaySweep
from storage.db import Database

OUTBOX_SWEEP_JOB = "outbox-sweep"
OUTBOX_SWEEP_SECONDS = 15
ESCALATION_SWEEP_JOB = "escalation-sweep"
ESCALATION_SWEEP_SECONDS = 30
SCHOOL_DAY_SWEEP_JOB = "school-day-sweep"
SCHOOL_DAY_SWEEP_SECONDS = 60
CALENDAR_SYNC_JOB = "calendar-sync"
CALENDAR_SYNC_SECONDS = 600  # picks up a school added, or its hours changed, by `concernbot setup`
JOBS_TABLE = "apscheduler_jobs"


def build_scheduler(db: Database, timezone: str, sender: OutboxSender, escalations: EscalationSweep,
                    school_day: SchoolDaySweep, every: float | None = None,
                    calendar: bool = True) -> BackgroundScheduler:
    """`every` overrides each sweep's interval (tests that move the clock themselves use a long one);
    `calendar` false leaves the stored calendar jobs out (those tests run the yearly cycle themselves)."""
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename=JOBS_TABLE),
                   "local": MemoryJobStore()},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=ZoneInfo(timezone),
    )
    for job, seconds, run in ((OUTBOX_SWEEP_JOB, OUTBOX_SWEEP_SECONDS, sender.drain_all),
                              (ESCALATION_SWEEP_JOB, ESCALATION_SWEEP_SECONDS, escalations.run),
                              (SCHOOL_DAY_SWEEP_JOB, SCHOOL_DAY_SWEEP_SECONDS, school_day.run)):
        # A deadline that passed while no bot was running is acted on as soon as one leads again, not a
        # sweep's interval later (tests that move the clock themselves, `every`, start them on their own).
        first = {"next_run_time": datetime.now(ZoneInfo(timezone))} if every is None and job == ESCALATION_SWEEP_JOB \
            else {}
        scheduler.add_job(run, "interval", seconds=every or seconds, id=job, jobstore="local", replace_existing=True,
                          **first)
    if calendar:
        scheduler.add_job(calendar_jobs.sync_jobs, "interval", args=[scheduler, db], seconds=CALENDAR_SYNC_SECONDS,
                          id=CALENDAR_SYNC_JOB, jobstore="local", replace_existing=True)
    return scheduler
