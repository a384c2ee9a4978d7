"""The database handle: one engine per process, one session per unit of work, migrations on demand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


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


POOL_SIZE, POOL_OVERFLOW = 10, 20  # per process: three workers stay under PostgreSQL's default 100


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL is a property of the file, kept once set; setting it takes a lock, so only when it is not set yet
    # (setting it on every new connection made each one wait behind whoever was writing).
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        # hide_parameters: an error message must never carry a child's name from a bound parameter.
        parsed = make_url(self.url)
        sqlite = parsed.get_backend_name() == "sqlite"
        in_memory = sqlite and parsed.database in (None, "", ":memory:")  # one connection per thread, no pool size
        # A server database's connections can go stale (pre-ping); a file's cannot. The pool is big enough
        # that the listeners' threads reuse connections rather than open and close one per request.
        pool = {} if in_memory else {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
        self.engine: Engine = create_engine(self.url, echo=echo, pool_pre_ping=not sqlite, hide_parameters=True,
                                            **pool)
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

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
    def session(self) -> Iterator[Session]:
        """One unit of work: committed if the block finishes, rolled back if it raises."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def upgrade(self) -> None:
        from storage.migrate import upgrade_to_head

        upgrade_to_head(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
