"""APScheduler wiring: the school's time zone, a persistent job store, and the outbox sweep.

Deadlines that must survive restarts (escalations) live in the database rows they belong to, written in
the same transaction as the record, and sweeps find what is due by the injected clock. The SQLAlchemy
job store is configured for calendar jobs that need it. Nothing starts at import.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.outbox_sender import OutboxSender
from bot.sweeps import EscalationSweep, SchoolDaySweep
from storage.db import Database

OUTBOX_SWEEP_JOB = "outbox-sweep"
OUTBOX_SWEEP_SECONDS = 15
ESCALATION_SWEEP_JOB = "escalation-sweep"
ESCALATION_SWEEP_SECONDS = 30
SCHOOL_DAY_SWEEP_JOB = "school-day-sweep"
SCHOOL_DAY_SWEEP_SECONDS = 60
JOBS_TABLE = "apscheduler_jobs"


def build_scheduler(db: Database, timezone: str, sender: OutboxSender, escalations: EscalationSweep,
                    school_day: SchoolDaySweep, every: float | None = None) -> BackgroundScheduler:
    """`every` overrides each sweep's interval (tests that move the clock themselves use a long one)."""
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename=JOBS_TABLE),
                   "local": MemoryJobStore()},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=ZoneInfo(timezone),
    )
    for job, seconds, run in ((OUTBOX_SWEEP_JOB, OUTBOX_SWEEP_SECONDS, sender.drain),
                              (ESCALATION_SWEEP_JOB, ESCALATION_SWEEP_SECONDS, escalations.run),
                              (SCHOOL_DAY_SWEEP_JOB, SCHOOL_DAY_SWEEP_SECONDS, school_day.run)):
        scheduler.add_job(run, "interval", seconds=every or seconds, id=job, jobstore="local", replace_existing=True)
    return scheduler
