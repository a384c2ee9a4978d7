"""The database handle: one engine per process, one session per unit of work, migrations on demand."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.crypto import Keyring, attach
from storage.sqlite_writer import serialise_writes


class DatabaseUrlError(ValueError):
    """DATABASE_URL names something this bot cannot use."""


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick the driver we ship (psycopg 3)."""
    try:
        parsed = make_url(url)
    except Exception:  # SQLAlchemy raises ArgumentError with a long message; ours names the fix.
        raise DatabaseUrlError(
            f"DATABASE_URL {url!r} is not a database URL; use sqlite:///concernbot.db "
            "or postgresql://user@host/dbname"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise DatabaseUrlError(
            f"DATABASE_URL uses {backend!r}; concernbot supports sqlite and postgresql"
        )
    return parsed.render_as_string(hide_password=False)


# libpq: give up connecting after 3 s, and notice a silent peer within about a minute (TCP keepalives).
SERVER_CONNECT_ARGS = {"connect_timeout": 3, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                       "keepalives_count": 3}
POOL_SIZE, POOL_OVERFLOW = 10, 20  # per process: three workers stay under PostgreSQL's default 100
# How long a unit of work waits for a lock someone else holds. Background work can wait; a person in Slack
# cannot (Slack gives up after 3 seconds and closes the form as if it had worked), so theirs fails sooner
# and they are told, with what they typed still in place.
BUSY_WAIT_MS, INTERACTIVE_WAIT_MS = 10_000, 1_500  # the second leaves room inside Slack's 3 s
_INTERACTIVE = "concernbot_interactive"
# PostgreSQL: at most this many units of work run at once in a process; the next waits its turn, for up to
# TURN_WAIT_SECONDS, then goes ahead anyway (so a stuck unit can delay the others, never block them). Each
# unit is a few milliseconds of the interpreter's time between round trips to the database: under a burst,
# dozens at once took turns with the interpreter lock so often that the threads acknowledging new requests
# waited behind them, and the hand-overs themselves cost CPU (README, design notes: *Fast*). Slack calls and
# email are made outside units of work, except the outbox's one sender thread's and the start-up check's.
# (SQLite's writers already take turns, in the order they came, in storage.sqlite_writer; a second queue in
# front of that one would reorder them.)
UNITS_AT_ONCE, TURN_WAIT_SECONDS = 4, 0.5
# A server connection back in the pool for less than this is used again as it is; one idle longer is pinged
# first (`_pinger`). Under load connections come back within milliseconds, and a ping on every
# checkout was one more round trip (and a good part of the CPU) in every unit of work.
PING_AFTER_IDLE_SECONDS = 10.0
_RETURNED_AT = "concernbot_returned_at"


# PostgreSQL: the lock_timeout a server connection has (its info's _LOCK_TIMEOUT: INTERACTIVE_WAIT_MS; absent, the
# server's default, which background work keeps). It is set for the session, so it stays with the connection
# in the pool and the next interactive unit on it needs no statement for it: `SET LOCAL` in every unit was a
# round trip of its own, one in five of a /report-concern's. Set inside a transaction, it is undone if that
# rolls back (however it comes to: the unit raising, or a rollback in its body), and so is the note: the
# engine's rollback and commit events (_undone, _kept) put the note back or keep it.
_LOCK_TIMEOUT, _CHANGED_FROM = "concernbot_lock_timeout_ms", "concernbot_lock_timeout_was"


def _set_lock_timeout(connection: Any, wanted_ms: int | None, autocommit: bool = False) -> None:
    info: dict[str, Any] = connection.info
    had = info.get(_LOCK_TIMEOUT)
    info.pop(_CHANGED_FROM, None)
    if had != wanted_ms:
        # Through SQLAlchemy: the first statement of the unit is the one to find a dropped connection, and
        # SQLAlchemy then renews the pool and raises the error the listeners explain.
        connection.exec_driver_sql("SET lock_timeout TO DEFAULT" if wanted_ms is None else
                                   f"SET lock_timeout = {int(wanted_ms)}")
        if not autocommit:  # in no transaction, it is kept whatever happens next
            info[_CHANGED_FROM] = had
        if wanted_ms is None:
            info.pop(_LOCK_TIMEOUT, None)
        else:
            info[_LOCK_TIMEOUT] = wanted_ms


def _kept(connection: Any) -> None:
    """A transaction committed: a SET made in it is the connection's now."""
    if not (connection.closed or connection.invalidated):
        connection.info.pop(_CHANGED_FROM, None)


def _undone(connection: Any) -> None:
    """A transaction rolled back, and with it a SET made in it: the note goes back to what it was. (A lost
    connection's info is emptied by SQLAlchemy, and it stays unnoted: the server's default.)"""
    if connection.closed or connection.invalidated:
        return
    info = connection.info
    if _CHANGED_FROM in info:
        had = info.pop(_CHANGED_FROM)
        if had is None:
            info.pop(_LOCK_TIMEOUT, None)
        else:
            info[_LOCK_TIMEOUT] = had


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_WAIT_MS}")
    # WAL is a property of the file, kept once set; setting it takes a lock, so only when it is not set yet
    # (setting it on every new connection made each one wait behind whoever was writing).
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _utc_session(dbapi_connection: Any, _record: Any) -> None:
    """Times come back in UTC whatever the server's own time zone, so as the driver's plain UTC (psycopg gives
    `timezone.utc` for a session in "UTC", a zoneinfo for any other), which storage.models.UTCDateTime passes
    on as it is rather than converting each value of an export's thousands. Nothing in the bot's SQL reads
    the session's zone (times are stored, compared and returned as instants)."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()


def _patient_again(dbapi_connection: Any, record: Any) -> None:
    if dbapi_connection is not None and record is not None and record.info.pop(_INTERACTIVE, False):
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_WAIT_MS}")


def _note_returned(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def _pinger(engine: Engine) -> Any:
    """SQLAlchemy's pessimistic disconnect handling, for connections that have sat idle: one that no longer
    answers is thrown away and the pool connects afresh (DisconnectionError), so a database restarted at
    night costs nobody a failed click. A connection that dies while in use (or within the idle window) fails
    that unit of work instead: SQLAlchemy sees the disconnect and renews the whole pool, and the person is
    told to press again, with what they typed kept."""
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"a pooled connection did not answer ({type(exc).__name__})") from None

    return ping_if_idle


def _writer_wait(info: dict[str, Any]) -> float:
    """How long a connection waits for its turn to write: as long as its busy timeout would."""
    return (INTERACTIVE_WAIT_MS if info.get(_INTERACTIVE) else BUSY_WAIT_MS) / 1000


def _read_only_is_a_disconnect(context: Any) -> None:
    """A SQLite connection opened while the file could not be written stays read-only for good: treat that
    error as a lost connection, so the pool opens fresh ones and writing works again once the file can be
    written (with no restart)."""
    error = context.original_exception
    if isinstance(error, sqlite3.Error) and getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_READONLY:
        context.is_disconnect = True


class Database:
    def __init__(self, url: str, *, echo: bool = False, keys: Keyring | None = None) -> None:
        """`keys` seal the records' free text; without them, from the environment (see storage.keys)."""
        from storage.keys import keyring_from_environment

        self.url = normalise_url(url)
        self.keyring = keys or keyring_from_environment(self.url)
        # hide_parameters: an error message must never carry a child's name from a bound parameter.
        parsed = make_url(self.url)
        sqlite = parsed.get_backend_name() == "sqlite"
        in_memory = sqlite and parsed.database in (None, "", ":memory:")  # one connection per thread, no pool size
        # A server database's connections can go stale (pinged when idle: `_pinger`); a file's cannot. The
        # pool is big enough that the listeners' threads reuse connections rather than open and close one per
        # request.
        pool = {} if in_memory else {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
        # A server that goes silent (host down, packets dropped) must fail a connection in seconds, not minutes.
        server = {} if sqlite else {"connect_args": SERVER_CONNECT_ARGS}
        self.engine: Engine = create_engine(self.url, echo=echo, hide_parameters=True,
                                            **pool, **server)
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "checkin", _patient_again)
            event.listen(self.engine, "handle_error", _read_only_is_a_disconnect)
            if not in_memory:
                serialise_writes(self.engine, str(Path(parsed.database).resolve()), _writer_wait)
        else:
            event.listen(self.engine, "connect", _utc_session)
            event.listen(self.engine, "connect", _note_returned)  # a new connection needs no ping
            event.listen(self.engine, "checkin", _note_returned)
            event.listen(self.engine, "checkout", _pinger(self.engine))
            event.listen(self.engine, "commit", _kept)
            event.listen(self.engine, "rollback", _undone)
        attach(self.engine.dialect, self.keyring)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._turns = None if sqlite else threading.BoundedSemaphore(UNITS_AT_ONCE)
        self._held = threading.local()  # how many units this thread is inside: one inside another takes no turn

    @property
    def missing_file(self) -> str | None:
        """A SQLite database's file, if it does not exist yet (connecting would create an empty one)."""
        url = make_url(self.url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return None if Path(url.database).exists() else url.database

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, interactive: bool = False, autocommit: bool = False) -> Iterator[Session]:
        """One unit of work: committed if the block finishes, rolled back if it raises.

        `interactive`: someone in Slack is waiting for the answer, so a lock held elsewhere fails it after
        INTERACTIVE_WAIT_MS (an OperationalError, for the listener to explain) rather than after Slack's
        3 seconds have run out. PostgreSQL: every unit waits its turn (UNITS_AT_ONCE).

        `autocommit` (PostgreSQL; SQLite ignores it): each statement is committed as it runs, so the unit costs
        no BEGIN and COMMIT round trips. Only for a unit whose writes each stand on their own, as opening the
        form (storage.drafts.open_form: the school's row made on first use, then a new empty draft)."""
        inside = getattr(self._held, "units", 0)
        turn = not inside and self._turns is not None and self._turns.acquire(timeout=TURN_WAIT_SECONDS)
        self._held.units = inside + 1
        try:
            session = self._sessions()
            try:
                on_server = self.dialect == "postgresql"
                if on_server and autocommit:
                    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})  # until it goes back
                if interactive:
                    self._wait_briefly(session, autocommit)
                elif on_server:
                    _set_lock_timeout(session.connection(), None, autocommit)
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
        finally:
            self._held.units = inside
            if turn:
                self._turns.release()

    def _wait_briefly(self, session: Session, autocommit: bool = False) -> None:
        """Make this unit's lock waits short (PostgreSQL: noted in the connection's info, `_LOCK_TIMEOUT`)."""
        connection = session.connection()
        if self.dialect == "sqlite":
            # Straight on the driver's connection: a setting of this connection that cannot fail, so none of
            # SQLAlchemy's execution machinery (half the CPU of an interactive unit that does nothing else).
            connection.connection.driver_connection.execute(f"PRAGMA busy_timeout={INTERACTIVE_WAIT_MS}")
            connection.connection.info[_INTERACTIVE] = True  # back to BUSY_WAIT_MS when it returns to the pool
        elif self.dialect == "postgresql":
            _set_lock_timeout(connection, INTERACTIVE_WAIT_MS, autocommit)

    def upgrade(self) -> None:
        from storage.migrate import upgrade_to_head

        upgrade_to_head(self.engine)

    def check_keys(self) -> None:
        """Refuse (KeyProblem) if the records need a key this process lacks; note the key sealing from now."""
        from storage.keys import check_keys

        with self.session() as session:
            check_keys(session, self.keyring, datetime.now(timezone.utc))

    def dispose(self) -> None:
        self.engine.dispose()
