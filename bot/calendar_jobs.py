"""Calendar jobs in APScheduler's SQLAlchemy job store: each school's yearly cycle, every school morning.

One job per school, with a stable id (`yearly-cycle:<team id>`), a cron trigger at the start of its school
day in its own time zone (so 08:00 stays 08:00 when the clocks change in March and October), Monday to
Friday. The job store keeps each job's next run time in the database, so after downtime the missed runs are
run once (coalesced), not once per missed morning, however late. The cycle itself skips bank holidays and
closure days and acts only within school hours (a late run at night does nothing, and the next morning
catches up); what it does is keyed, so a run repeated does nothing new.

APScheduler's stored jobs name a function, not an object, so the function finds this process's cycle
through `bind`: one reference, set when the scheduler starts and cleared when it stops.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from bot.yearly import YearlyCycle
from storage.db import Database
from storage.models import School

log = logging.getLogger(__name__)
JOB_PREFIX = "yearly-cycle:"
JOBSTORE = "default"
MISFIRE_GRACE = None  # however late: a morning missed while down runs once when the bot is back

_cycle: YearlyCycle | None = None


def bind(cycle: YearlyCycle | None) -> None:
    global _cycle
    _cycle = cycle


def run_yearly_cycle(team_id: str) -> None:
    """The stored job's function."""
    if _cycle is None:
        log.warning("yearly cycle for %s skipped: no cycle is bound in this process", team_id)
        return
    _cycle.run_school(team_id)


def trigger_for(school: School) -> CronTrigger:
    return CronTrigger(day_of_week="mon-fri", hour=school.day_starts.hour, minute=school.day_starts.minute,
                       timezone=ZoneInfo(school.timezone))


def sync_jobs(scheduler: BaseScheduler, db: Database) -> int:
    """One job per school, its trigger kept in step with the school's hours; returns how many changed.

    A job whose trigger is unchanged is left alone, so its stored next run time (and any run it missed while
    the bot was down) survives a restart.
    """
    with db.session() as session:
        schools = list(session.scalars(select(School)))
    wanted = {JOB_PREFIX + s.team_id: s for s in schools}
    changed = 0
    for job_id, school in wanted.items():
        trigger = trigger_for(school)
        job = scheduler.get_job(job_id, jobstore=JOBSTORE)
        if job is not None and (str(job.trigger), str(job.trigger.timezone)) == (str(trigger), str(trigger.timezone)):
            continue
        scheduler.add_job(run_yearly_cycle, trigger, args=[school.team_id], id=job_id, jobstore=JOBSTORE,
                          replace_existing=True, coalesce=True, max_instances=1,
                          misfire_grace_time=MISFIRE_GRACE)
        changed += 1
    for job in scheduler.get_jobs(jobstore=JOBSTORE):
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            job.remove()
            changed += 1
    return changed
