"""APScheduler wiring: the school's time zone, a persistent job store, and the outbox sweep.

Persistent jobs (escalations, reminders) live in the SQLAlchemy job store with stable ids, so they
survive restarts; in-process housekeeping lives in the memory store. Nothing starts at import.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.outbox_sender import OutboxSender
from storage.db import Database

OUTBOX_SWEEP_JOB = "outbox-sweep"
OUTBOX_SWEEP_SECONDS = 15
JOBS_TABLE = "apscheduler_jobs"


def build_scheduler(db: Database, timezone: str, sender: OutboxSender) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename=JOBS_TABLE),
                   "local": MemoryJobStore()},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=ZoneInfo(timezone),
    )
    scheduler.add_job(sender.drain, "interval", seconds=OUTBOX_SWEEP_SECONDS, id=OUTBOX_SWEEP_JOB,
                      jobstore="local", replace_existing=True)
    return scheduler
