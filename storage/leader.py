"""Which process leads: a database lock that exactly one bot process holds at a time.

Several bot processes may share one database (a rolling deploy, two replicas, a forgotten second
container). Scheduled sweeps must run in exactly one of them, and when that process dies, even by
``kill -9`` or with its host, a waiting process must be able to take over without anyone cleaning up.
So the lock is one the *system* releases when its holder dies, never a row a dead process would leave
behind:

PostgreSQL: a session-level advisory lock, ``pg_try_advisory_lock(key)``, taken on one dedicated
    connection that is held open for as long as this process leads. The lock belongs to that server
    session, so the server releases it by itself the moment the session ends: the process exits or is
    killed (the kernel closes its socket), or the connection is cut. That is also why the connection
    is never a pooled one: a pooled connection would go back to the pool still holding the lock, or be
    recycled and drop it unnoticed. It comes from its own engine with ``NullPool`` in autocommit mode
    (never "idle in transaction", so no idle-transaction timeout ends it). TCP keepalives on both ends
    and a client ``tcp_user_timeout`` bound how long a vanished host keeps the lock (about 30 s on the
    server) and make sure the holder notices a dead connection (about 20 s) before the server lets
    anyone else in. ``still_held()`` runs ``SELECT 1`` on that connection: if it fails the session, and
    with it the lock, is gone. Advisory locks are per database, so bots on different databases of one
    server never contend. The key is a signed 64-bit integer from a hash of a namespace and the lock's
    name (hashlib, stable across processes and runs, unlike Python's salted ``hash()``). The URL must
    reach PostgreSQL directly or through a *session*-mode pooler: in transaction mode a pooler hands
    each statement to a different server session and session locks mean nothing.

SQLite: only processes on one machine can share an SQLite file, so the lock is an OS file lock,
    ``flock(LOCK_EX | LOCK_NB)`` on a sidecar file next to the database (``<dbfile>.<name>.lock``),
    kept open while leading; the kernel releases it when the process dies, however it dies. ``flock``
    rather than ``fcntl``/``lockf`` record locks, because record locks belong to the whole process (a
    second lock object in the same process would "succeed") and are dropped when *any* descriptor of
    the file is closed; a ``flock`` belongs to the one open file. The sidecar is never deleted (deleting
    it on release would let two processes lock two different files of one name); ``still_held()`` checks
    that the file we locked is still the one at that path. The file holds the leader's pid, for people.
    Not for network file systems, where ``flock`` may be advisory-only or local-only.
    An in-memory SQLite database (``sqlite://``, ``:memory:``) lives inside one process, so there is
    nobody to contend with: that lock always acquires.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from typing import Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from storage.db import Database

try:
    import fcntl
except ImportError:  # not POSIX: the SQLite lock says so when used; PostgreSQL still works
    fcntl = None  # type: ignore[assignment]

KEY_NAMESPACE = "concernbot.leader"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

# How quickly a vanished holder is noticed, on the PostgreSQL lock's own connection only.
# The holder's side (libpq): unacknowledged data fails the connection after 10 s.
_CLIENT_TCP = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
               "tcp_user_timeout": 10_000, "connect_timeout": 10}
# The server's side: an idle session whose client stopped answering ends after about 10 + 5 * 4 s.
# Set with SET (not a startup option, which some poolers reject); settings an old server lacks are skipped.
_SERVER_SESSION = (("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"),
                   ("tcp_keepalives_count", "4"), ("idle_session_timeout", "0"),
                   ("idle_in_transaction_session_timeout", "0"))


class LeaderLock(Protocol):
    """A lock that at most one process holds, released by the system when its holder dies."""

    name: str

    def try_acquire(self) -> bool:
        """Take the lock without waiting: True if this object now holds it or already held it."""
        ...

    def still_held(self) -> bool:
        """A cheap check that the lock is really still ours; False (and let go) if it is not."""
        ...

    def release(self) -> None:
        """Give the lock up; harmless if it is not held."""
        ...


def advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock key for `name`: a signed 64-bit integer, the same in every process."""
    digest = hashlib.blake2b(f"{KEY_NAMESPACE}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def leader_lock(db: Database, name: str = "scheduler") -> LeaderLock:
    """The lock called `name` for the database `db` points at (not yet acquired)."""
    if not _NAME.match(name):
        raise ValueError(f"leader lock name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    if db.dialect == "postgresql":
        return PostgresAdvisoryLock(db.url, name)
    if db.dialect == "sqlite":
        database_file = _sqlite_file(db.url)
        return SqliteFileLock(None if database_file is None else f"{database_file}.{name}.lock", name)
    raise ValueError(f"no leader lock for the {db.dialect!r} dialect")


def _sqlite_file(url: str) -> str | None:
    """The database file's absolute path, or None for an in-memory database."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):  # sqlite:///file:path?uri=true
        database = database[len("file:"):].split("?", 1)[0]
    if database in ("", ":memory:"):
        return None
    return os.path.abspath(database)


class PostgresAdvisoryLock:
    """A session-level advisory lock on one dedicated connection, kept open while held."""

    def __init__(self, url: str, name: str) -> None:
        self.name = name
        self.key = advisory_key(name)
        connect_args: dict[str, object] = dict(_CLIENT_TCP)
        connect_args["application_name"] = f"concernbot leader lock ({name})"[:63]
        self._engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                                     hide_parameters=True, connect_args=connect_args)
        self._connection: Connection | None = None
        self._guard = threading.Lock()

    def try_acquire(self) -> bool:
        with self._guard:
            if self._connection is not None:
                return True
            connection = self._engine.connect()
            try:
                for setting, value in _SERVER_SESSION:
                    _set_if_known(connection, setting, value)
                won = connection.execute(text("SELECT pg_try_advisory_lock(CAST(:key AS bigint))"),
                                         {"key": self.key}).scalar_one()
            except BaseException:
                _drop(connection)
                raise
            if won:
                self._connection = connection
                return True
            connection.close()  # a standby holds no connection between attempts
            return False

    def still_held(self) -> bool:
        with self._guard:
            connection = self._connection
            if connection is None:
                return False
            try:
                connection.execute(text("SELECT 1")).scalar_one()
                return True
            except Exception:
                # A broken session has lost its locks on the server. Any other failure: closing the
                # connection ends the session, which releases the lock, so the state is clear either way.
                self._connection = None
                _drop(connection)
                return False

    def release(self) -> None:
        with self._guard:
            connection, self._connection = self._connection, None
            if connection is None:
                return
            try:
                connection.execute(text("SELECT pg_advisory_unlock(CAST(:key AS bigint))"), {"key": self.key})
            except Exception:
                _drop(connection)  # the session is gone, and its lock with it
                return
            connection.close()  # NullPool: really closed, so the session (and anything it held) ends


def _set_if_known(connection: Connection, setting: str, value: str) -> None:
    try:
        connection.execute(text(f"SET {setting} = {value}"))
    except DBAPIError as error:
        if error.connection_invalidated:
            raise
        # An older server without this setting: autocommit, so nothing else is affected.


def _drop(connection: Connection) -> None:
    """Throw a connection away without trusting it (it may already be dead)."""
    try:
        connection.invalidate()
    except Exception:
        pass
    try:
        connection.close()
    except Exception:
        pass


class SqliteFileLock:
    """`flock` on a sidecar file next to the SQLite database; `path` None for an in-memory database."""

    def __init__(self, path: str | None, name: str) -> None:
        self.name = name
        self.path = path
        self._fd: int | None = None
        self._memory_held = False
        self._guard = threading.Lock()

    def try_acquire(self) -> bool:
        with self._guard:
            if self.path is None:
                self._memory_held = True
                return True
            if self._fd is not None:
                return True
            if fcntl is None:
                raise RuntimeError("the SQLite leader lock needs POSIX file locks (flock)")
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError:
                pass  # the pid is for people; the lock is what counts
            self._fd = fd
            return True

    def still_held(self) -> bool:
        with self._guard:
            if self.path is None:
                return self._memory_held
            fd = self._fd
            if fd is None:
                return False
            try:
                ours, there = os.fstat(fd), os.stat(self.path)
                if (ours.st_dev, ours.st_ino) == (there.st_dev, there.st_ino):
                    return True
            except OSError:
                pass
            # The sidecar was deleted or replaced: another process could lock the new one, so ours is void.
            self._fd = None
            os.close(fd)
            return False

    def release(self) -> None:
        with self._guard:
            self._memory_held = False
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)  # closing the only descriptor releases the flock
