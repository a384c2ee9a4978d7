"""Several bot processes on one database: all serve, exactly one runs the scheduler, and another takes over
when it stops."""

from __future__ import annotations

import time

from bot.runtime import Runtime
from bot.sandbox.client import wait_for
from bot.sandbox.webapi import SandboxServer
from flows.clock import ManualClock
from tests.conftest import bot_settings


def test_one_of_two_bots_leads_and_the_other_takes_over(bot: Runtime, sandbox: SandboxServer, migrated_url: str,
                                                        clock: ManualClock) -> None:
    wait_for(lambda: bot.is_scheduler_leader, what="the first bot to lead")
    second = Runtime(bot_settings(sandbox, migrated_url), clock=clock, sweeps_every=3600, calendar_jobs=False,
                     standby_retry_seconds=0.1).build()
    second.start(port=0)
    try:
        wait_for(lambda: second.health()["status"] == "ok", what="the second bot to serve")
        for _ in range(10):  # ten chances to take the lock (it retries every 0.1 s): never while the first leads
            assert not second.is_scheduler_leader
            time.sleep(0.1)
        bot.stop()
        wait_for(lambda: second.is_scheduler_leader, timeout=5, what="the second bot to take over")
    finally:
        second.stop()


def test_a_part_that_fails_to_stop_never_keeps_the_scheduler_lock(bot: Runtime, migrated_url: str) -> None:
    from storage.db import Database
    from storage.leader import leader_lock

    wait_for(lambda: bot.is_scheduler_leader, what="the bot to lead")

    def broken() -> None:
        raise OSError(9, "Bad file descriptor")  # as waitress once did, its trigger already closed

    bot._http.stop = broken  # type: ignore[union-attr,method-assign]
    try:
        bot.stop()
    except OSError:
        pass
    other = Database(migrated_url)
    lock = leader_lock(other)
    try:
        assert lock.try_acquire()  # the stopped bot let go of the lock: another process can lead
    finally:
        lock.release()
        other.dispose()
