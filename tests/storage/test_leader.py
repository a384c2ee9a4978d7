"""The leader lock and Leadership: one holder per database, taken over when the holder dies.

Runs on SQLite (flock on a sidecar file) and, with DATABASE_URL set, on PostgreSQL (advisory lock).
Each test uses a lock name of its own, because the migrated database is shared by the whole run.
"""

from __future__ import annotations

import logging
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.leadership import Leadership
from storage.db import Database
from storage.leader import LeaderLock, advisory_key, leader_lock

REPO = Path(__file__).resolve().parents[2]
FAST = dict(retry_seconds=0.05, check_seconds=0.05)

# A second process: takes the lock on the URL it is given, says so, and waits to be killed.
HOLDER = """
import sys, time
from storage.db import Database
from storage.leader import leader_lock
lock = leader_lock(Database(sys.argv[1]), sys.argv[2])
print("held" if lock.try_acquire() else "busy", flush=True)
time.sleep(120)
"""


def eventually(condition: Callable[[], bool], within: float = 5.0) -> bool:
    """Poll `condition` until it is true or `within` seconds pass."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def name() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def databases(migrated_url: str) -> Iterator[tuple[Database, Database]]:
    """Two handles on one database, as two processes would have."""
    first, second = Database(migrated_url), Database(migrated_url)
    yield first, second
    first.dispose()
    second.dispose()


@pytest.fixture
def locks(databases: tuple[Database, Database], name: str) -> Iterator[tuple[LeaderLock, LeaderLock]]:
    first, second = leader_lock(databases[0], name), leader_lock(databases[1], name)
    yield first, second
    first.release()
    second.release()


class Calls:
    """Records a Leadership's callbacks, in order, thread-safely."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._guard = threading.Lock()

    def elected(self) -> None:
        with self._guard:
            self.events.append("elected")

    def deposed(self) -> None:
        with self._guard:
            self.events.append("deposed")

    def count(self, event: str) -> int:
        with self._guard:
            return self.events.count(event)


def test_advisory_key_is_a_stable_signed_64_bit_integer() -> None:
    key = advisory_key("scheduler")
    assert key == 6142502238394985581  # the same in every process and every run (no salted hash())
    assert -(2**63) <= advisory_key("other") < 2**63
    assert advisory_key("other") != key


def test_only_one_holder_until_it_releases(locks: tuple[LeaderLock, LeaderLock]) -> None:
    first, second = locks
    assert first.try_acquire() is True
    assert first.try_acquire() is True  # already ours: still True, and not taken twice
    assert first.still_held() is True
    assert second.try_acquire() is False
    assert second.still_held() is False

    first.release()  # one release frees it, however often try_acquire said yes
    assert first.still_held() is False
    assert second.try_acquire() is True
    assert second.still_held() is True
    assert first.try_acquire() is False

    second.release()
    second.release()  # idempotent
    assert first.try_acquire() is True


def test_an_in_memory_sqlite_database_always_acquires(name: str) -> None:
    database = Database("sqlite://")
    try:
        first, second = leader_lock(database, name), leader_lock(database, name)
        assert first.try_acquire() and second.try_acquire()
        assert first.still_held()
        first.release()
        assert not first.still_held()
    finally:
        database.dispose()


def test_a_killed_holder_lets_another_process_take_over(migrated_url: str, name: str,
                                                        databases: tuple[Database, Database]) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, migrated_url, name], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = leader_lock(databases[0], name)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        line = proc.stdout.readline().strip() if ready else ""  # type: ignore[union-attr]
        assert line == "held", f"holder said {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"  # type: ignore[union-attr]
        assert lock.try_acquire() is False

        proc.kill()  # SIGKILL: no cleanup of any kind in the holder
        proc.wait(timeout=5)
        assert eventually(lock.try_acquire, within=5.0), "the lock was not released when its holder died"
        assert lock.still_held()
    finally:
        lock.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


def test_a_terminated_connection_is_noticed_and_frees_the_lock(locks: tuple[LeaderLock, LeaderLock],
                                                               databases: tuple[Database, Database],
                                                               name: str) -> None:
    if databases[0].dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's lock is a file lock, with no server connection to cut")
    holder, other = locks
    assert holder.try_acquire()
    unsigned = advisory_key(name) & (2**64 - 1)
    with databases[1].engine.connect() as admin:
        pid = admin.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid::bigint = :high AND objid::bigint = :low"),
            {"high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF}).scalar_one()  # held by a server session
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one() is True
    assert eventually(lambda: not holder.still_held(), within=5.0)
    assert other.try_acquire(), "the server should have released the lock with the session"
    assert holder.try_acquire() is False


def test_leadership_elects_exactly_one_and_hands_over_when_it_stops(locks: tuple[LeaderLock, LeaderLock]) -> None:
    calls = Calls(), Calls()
    sides = [Leadership(lock, c.elected, c.deposed, **FAST) for lock, c in zip(locks, calls)]
    try:
        for side in sides:
            side.start()
        assert eventually(lambda: any(s.is_leader for s in sides))
        time.sleep(0.3)  # several retries by the other side
        assert sum(s.is_leader for s in sides) == 1
        assert sorted(c.events for c in calls) == [[], ["elected"]]
        leader = 0 if sides[0].is_leader else 1
        standby = 1 - leader

        started = time.monotonic()
        sides[leader].stop(timeout=2)
        assert time.monotonic() - started < 1.0
        assert calls[leader].events == ["elected", "deposed"]
        assert not sides[leader].is_leader
        assert eventually(lambda: sides[standby].is_leader, within=3.0)
        assert calls[standby].events == ["elected"]
    finally:
        for side in sides:
            side.stop(timeout=2)
    assert [c.events for c in calls] == [["elected", "deposed"]] * 2


def test_leadership_steps_down_when_the_lock_is_lost(locks: tuple[LeaderLock, LeaderLock]) -> None:
    mine, thief = locks
    calls = Calls()
    side = Leadership(mine, calls.elected, calls.deposed, **FAST).start()
    try:
        assert eventually(lambda: side.is_leader)
        mine.release()  # behind its back: as if the session died...
        assert thief.try_acquire()  # ...and another process took the lock at once
        assert eventually(lambda: calls.count("deposed") == 1)
        assert not side.is_leader
        time.sleep(0.2)
        assert calls.events == ["elected", "deposed"]  # stands by while the other holds it

        thief.release()
        assert eventually(lambda: side.is_leader)
        assert calls.events == ["elected", "deposed", "elected"]
    finally:
        side.stop(timeout=2)
    assert calls.events == ["elected", "deposed", "elected", "deposed"]


def test_leadership_stop_is_prompt_while_standing_by(locks: tuple[LeaderLock, LeaderLock],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    holder, mine = locks
    assert holder.try_acquire()
    calls = Calls()
    caplog.set_level(logging.INFO, logger="bot.leadership")
    side = Leadership(mine, calls.elected, calls.deposed, retry_seconds=0.05, check_seconds=60).start()
    assert eventually(lambda: "standing by" in caplog.text)
    time.sleep(0.3)  # a few more failed tries: logged once, not each time
    assert caplog.text.count("scheduler: standing by; another process leads") == 1

    slow = Leadership(mine, calls.elected, calls.deposed, retry_seconds=60, check_seconds=60).start()
    side.stop(timeout=2)
    started = time.monotonic()
    slow.stop(timeout=2)  # mid-way through a 60 s wait
    assert time.monotonic() - started < 1.0
    assert calls.events == []
    assert not side.is_leader and not slow.is_leader


class FlakyLock:
    """A lock whose first tries fail with an error, then succeed."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.held = False
        self.releases = 0

    def try_acquire(self) -> bool:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unreachable: secret payload")
        self.held = True
        return True

    def still_held(self) -> bool:
        return self.held

    def release(self) -> None:
        self.held = False
        self.releases += 1


def test_leadership_survives_failing_locks_and_callbacks(caplog: pytest.LogCaptureFixture) -> None:
    lock = FlakyLock(failures=3)
    calls = Calls()
    attempts = []

    def elected() -> None:
        attempts.append("try")
        if len(attempts) == 1:
            raise RuntimeError("scheduler would not start: secret payload")
        calls.elected()

    def deposed() -> None:
        calls.deposed()
        raise RuntimeError("shutdown went wrong: secret payload")

    caplog.set_level(logging.INFO, logger="bot.leadership")
    side = Leadership(lock, elected, deposed, **FAST).start()
    try:
        assert eventually(lambda: side.is_leader and calls.count("elected") == 1)
        # three lock errors, then an election whose start failed and was stepped down (lock released), then a real one
        assert attempts == ["try", "try"]
        assert calls.events == ["deposed", "elected"]
        assert lock.releases >= 1
    finally:
        side.stop(timeout=2)
    assert calls.events == ["deposed", "elected", "deposed"]
    assert not lock.held
    assert caplog.text.count("acquiring the lock failed (ConnectionError)") == 3
    assert "could not start as leader (RuntimeError)" in caplog.text
    assert caplog.text.count("scheduler: this process leads") == 1
    assert "secret payload" not in caplog.text
