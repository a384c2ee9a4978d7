"""Backups, restores, and moving the records from one database to another (SQLite to PostgreSQL).

A backup is one file, readable by its owner only: a SQLite database copied with SQLite's online backup
API, or a `pg_dump` custom-format archive. It is written beside its final name and renamed when whole,
so a failed backup never leaves half a file under that name. A restore refuses a database that already
holds records (unless forced), a file that is not a backup for this kind of database, and a schema newer
than this code's; then it brings an older backup up to date. Every failure is a `BackupError` whose message
is one sentence saying what is wrong and what to do; none carries a password or a whole URL.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.request import pathname2url

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, Integer, create_engine, func, insert, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from storage.db import Database
from storage.keys import missing_keys
from storage.migrate import alembic_config
from storage.models import Base, Concern, School

BACKUP_COMMAND, MIGRATE_COMMAND = "concernbot backup", "concernbot migrate-db"
SQLITE_MAGIC, PGDUMP_MAGIC = b"SQLite format 3\x00", b"PGDMP"
KINDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
CLIENT_TOOLS = "install PostgreSQL's client tools (apt-get install postgresql-client)"
BATCH = 1000  # rows per round trip when copying between databases
_OURS = {table.name for table in Base.metadata.sorted_tables} | {"alembic_version"}  # not apscheduler_jobs
# libpq settings a URL's query string may carry: pg_dump and pg_restore get them as PG<NAME> variables.
LIBPQ_QUERY = ("host", "port", "sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout")


class BackupError(Exception):
    """A backup, restore or migration was refused or failed; one sentence saying why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    revision: str | None
    schools: int
    concerns: int
    dialect: str


@dataclass(frozen=True)
class RestoreReport:
    source: Path
    backup_revision: str
    revision: str | None  # after bringing it up to date
    schools: int
    concerns: int
    dialect: str


def describe(db: Database) -> str:
    """Where a database is, for a message: its file, or its name and server; never a password."""
    url = db.engine.url
    if db.dialect == "sqlite":
        return str(url.database or ":memory:")
    return f"{url.database} on {url.host or 'localhost'}:{url.port or 5432}"


def backup(db: Database, out: Path) -> BackupReport:
    """Write a consistent copy of the database to `out` (mode 0600) while the bot keeps running."""
    out = Path(out)
    with _partial(out) as partial:
        revision, schools, concerns = (_sqlite_backup(_sqlite_path(db), partial) if db.dialect == "sqlite"
                                       else _pg_backup(db, partial))
    return BackupReport(out, out.stat().st_size, revision, schools, concerns, db.dialect)


def restore(db: Database, source: Path, *, force: bool = False) -> RestoreReport:
    """Put a backup into `db` (empty, unless `force`), then bring it up to this code's schema."""
    source, where = Path(source), describe(db)
    kind = _kind_of(source)
    if kind != db.dialect:
        raise BackupError(f"{source} is a {KINDS[kind]} backup but the database at {where} is {KINDS[db.dialect]}: "
                          f"restore it into a {KINDS[kind]} database, or copy its records with `{MIGRATE_COMMAND}`.")
    found, *_, dumped = _sqlite_file(source) if kind == "sqlite" else _pg_contents(db, source)
    revision = _check_revision(db, source, found)
    with _connected(db.engine, where) as connection:
        _, schools, concerns = _facts(connection)
        present = set(inspect(connection).get_table_names())
    if (schools or concerns) and not force:
        raise BackupError(f"the database at {where} already holds {_n(concerns, 'concern')} from "
                          f"{_n(schools, 'school')}; restore into an empty database, or pass --force to replace it.")
    db.engine.dispose()  # no pooled connection may keep the old pages or tables open
    if kind == "sqlite":
        _sqlite_restore(source, _sqlite_path(db))
    else:
        _pg_restore(db, source, sorted((present & _OURS) - dumped), holds_records=bool(schools or concerns))
    db.engine.dispose()
    _upgrade(db, where)
    with _connected(db.engine, where) as connection:
        now_at, schools, concerns = _facts(connection)
    with db.session() as session:
        missing = missing_keys(session, db.keyring)
    if missing:
        raise BackupError(f"restored, but its records were sealed with key {', '.join(missing)}, which "
                          f"{db.keyring.source} does not hold: give the bot that key (ENCRYPTION_KEY_FILE) before "
                          "starting it.")
    return RestoreReport(source, revision, now_at, schools, concerns, db.dialect)


def migrate_db(source: Database, target: Database) -> dict[str, int]:
    """Copy every table from `source` into an empty `target` in one transaction; rows copied per table."""
    here, there = describe(source), describe(target)
    head = ScriptDirectory.from_config(alembic_config(target.engine)).get_current_head()
    with _connected(source.engine, here) as connection:
        revision = _revision(connection)
    if revision != head:
        raise BackupError(f"the database at {here} is at schema {revision or 'none'}, not {head}: check it is the "
                          "right one, and bring it up to date (`concernbot db upgrade` with DATABASE_URL set to it).")
    new_file = target.missing_file
    if new_file:  # a new SQLite file holds children's records: readable by its owner only
        os.close(os.open(new_file, os.O_WRONLY | os.O_CREAT, 0o600))
    _upgrade(target, there)
    copied: dict[str, int] = {}
    with _connected(target.engine, there) as into, _connected(source.engine, here) as out_of:
        _, schools, concerns = _facts(into)
        if schools or concerns:
            raise BackupError(f"the database at {there} already holds {_n(schools, 'school')} and "
                              f"{_n(concerns, 'concern')}; copy into an empty database.")
        # One read snapshot for every table, so the copy is consistent even if the bot is still writing.
        if source.dialect == "sqlite":
            out_of.exec_driver_sql("BEGIN")
        else:
            out_of.execution_options(isolation_level="REPEATABLE READ")
        name = ""
        try:
            for table in Base.metadata.sorted_tables:  # parents before children
                name, copied[table.name] = table.name, 0
                query = select(table).order_by(*table.primary_key.columns).execution_options(yield_per=BATCH)
                for batch in out_of.execute(query).partitions():
                    into.execute(insert(table), [dict(row._mapping) for row in batch])
                    copied[table.name] += len(batch)
            if target.dialect == "postgresql":
                _reset_sequences(into)
            into.commit()
        except SQLAlchemyError as exc:
            raise BackupError(f"copying {name} into {there} failed ({_first_line(exc, target.engine.url)}), so "
                              "nothing was copied: fix the cause and run it again.") from None
    return copied


def _sqlite_path(db: Database) -> Path:
    name = db.engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("this SQLite database is not a plain file: set DATABASE_URL to sqlite:///path/to/file.db.")
    return Path(name)


def _sqlite_backup(path: Path, partial: Path) -> tuple[str | None, int, int]:
    if not path.is_file():
        raise BackupError(f"there is no database at {path}: check DATABASE_URL.")
    try:
        with closing(sqlite3.connect(path, timeout=30)) as live, closing(sqlite3.connect(partial)) as copy:
            live.backup(copy)  # in one step: a single read snapshot, while writers carry on (WAL)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    except sqlite3.Error as exc:
        raise BackupError(f"could not copy {path} ({exc}): check it is concernbot's database and the disk "
                          "has room.") from None
    return _sqlite_file(partial)[:3]


def _sqlite_file(path: Path) -> tuple[str | None, int, int, set[str]]:
    """What a SQLite file holds (revision, schools, concerns, tables), read without changing it."""
    uri = f"file:{pathname2url(str(path))}?mode=ro"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    try:
        with engine.connect() as connection:
            return (*_facts(connection), set(inspect(connection).get_table_names()))
    except SQLAlchemyError:
        raise BackupError(f"{path} is damaged or not a database: choose a file that `{BACKUP_COMMAND}` "
                          "wrote.") from None
    finally:
        engine.dispose()


def _sqlite_restore(source: Path, target: Path) -> None:
    if target.exists() and target.samefile(source):
        raise BackupError(f"{source} is the database itself: restore from a backup file instead.")
    try:
        if not target.exists():
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with closing(sqlite3.connect(f"file:{pathname2url(str(source))}?mode=ro", uri=True)) as backup_file, \
                closing(sqlite3.connect(target, timeout=30)) as live:
            backup_file.backup(live)  # every page replaced in one transaction: all or nothing
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"could not restore {source} into {target} ({exc}): check both files can be read "
                          "and written, and that the disk has room.") from None


def _pg_backup(db: Database, partial: Path) -> tuple[str | None, int, int]:
    where = describe(db)
    with _connected(db.engine, where) as connection:
        # Count in the snapshot pg_dump will use, so the report describes exactly what the file holds.
        connection.execution_options(isolation_level="REPEATABLE READ")
        snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
        facts = _facts(connection)
        with partial.open("wb") as handle:
            _pg_tool("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}"],
                     db, f"back up {where}", stdout=handle)
    return facts


def _pg_contents(db: Database, source: Path) -> tuple[str | None, set[str]]:
    """The schema revision a dump holds, and its tables, read from the file without touching a database."""
    listing = _pg_tool("pg_restore", ["--list", str(source)], db, f"read {source}")
    entries = re.finditer(r"^\d+;\s+\d+\s+\d+\s+TABLE\s+(\S+)\s+(\S+)\s", listing, re.MULTILINE)
    tables = {m[2] for m in entries if m[1] != "DATA"}  # "TABLE DATA public x" entries are rows, not tables
    if "alembic_version" not in tables:
        return None, tables
    data = _pg_tool("pg_restore", ["--data-only", "--table=alembic_version", "--file=-", str(source)], db,
                    f"read {source}")
    copy = r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n(.*?)^\\\.$"
    found = re.search(copy, data, re.MULTILINE | re.DOTALL)
    return ((found[1].split() or [None])[0] if found else None), tables


def _pg_restore(db: Database, source: Path, leftovers: list[str], *, holds_records: bool) -> None:
    where = describe(db)
    if leftovers and holds_records:  # pg_restore --clean drops only the tables in the dump
        raise BackupError(f"the database at {where} has tables the backup lacks ({', '.join(leftovers)}), so "
                          "restoring over it would mix two schemas; restore into an empty database instead.")
    if leftovers:  # made by a newer migration in a database that holds no records yet
        with _connected(db.engine, where) as connection:
            for table in leftovers:
                connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
            connection.commit()
    name = (db.engine.url.database or "").replace("\\", "\\\\").replace("'", "\\'")
    _pg_tool("pg_restore", ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                            f"--dbname=dbname='{name}'", str(source)], db, f"restore {source} into {where}")


def _pg_tool(name: str, args: list[str], db: Database, doing: str, stdout: IO[bytes] | None = None) -> str:
    """Run pg_dump or pg_restore with the connection in its environment: its output, or one sentence."""
    binary, url = shutil.which(name), db.engine.url
    if binary is None:
        raise BackupError(f"{name} is not installed: {CLIENT_TOOLS}.")
    try:
        done = subprocess.run([binary, "--no-password", *args], env=_pg_env(url), stderr=subprocess.PIPE,
                              stdout=stdout if stdout is not None else subprocess.PIPE, check=False)
    except OSError as exc:
        raise BackupError(f"{name} could not be started ({exc.strerror}): {CLIENT_TOOLS}.") from None
    if done.returncode == 0:
        return "" if stdout is not None else done.stdout.decode("utf-8", "replace")
    lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    reason = next((line.split("error:", 1)[1] for line in lines if "error:" in line), lines[0] if lines else "")
    reason = _first_line(reason.removeprefix(f"{name}: ") or f"exit status {done.returncode}", url)
    if "--list" in args or "--data-only" in args:  # reading the file: damaged, or from a newer pg_dump
        fix = f"choose a file that `{BACKUP_COMMAND}` wrote" + (
            f", or if a newer pg_dump made it, {CLIENT_TOOLS} of that version" if "version" in reason else "")
    elif "version mismatch" in reason:
        fix = f"{CLIENT_TOOLS} of the server's version or newer"
    else:
        fix = "check the database is running and DATABASE_URL is right"
    raise BackupError(f"{name} could not {doing} ({reason}): {fix}.")


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[key] = str(value)
    env.update({f"PG{key.upper()}": v if isinstance(v, str) else v[-1] for key, v in url.query.items()
                if key in LIBPQ_QUERY})
    return env


def _reset_sequences(connection: Connection) -> None:
    """After copying ids across, start each id sequence after the highest id, so new rows don't collide."""
    for table in Base.metadata.sorted_tables:
        key = list(table.primary_key.columns)
        if len(key) == 1 and key[0].name == "id" and isinstance(key[0].type, Integer):
            connection.execute(text("SELECT setval(pg_get_serial_sequence(:table, 'id'), COALESCE(MAX(id), 1), "
                                    f'MAX(id) IS NOT NULL) FROM "{table.name}"'), {"table": table.name})


@contextmanager
def _partial(out: Path) -> Iterator[Path]:
    """A private (0600) temporary file beside `out`, renamed to `out` only if the block finishes."""
    if out.is_dir() or not out.parent.is_dir():
        raise BackupError(f"{out} is a folder: name the file to write." if out.is_dir() else
                          f"the folder {out.parent} does not exist: create it, or write the backup elsewhere.")
    try:
        handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    except OSError as exc:
        raise BackupError(f"cannot write in {out.parent} ({exc.strerror}): choose a folder you may write to.") from None
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        os.chmod(partial, 0o600)
        os.replace(partial, out)
    except OSError as exc:
        raise BackupError(f"could not write {out} ({exc.strerror}): check the folder and the free space.") from None
    finally:
        for leftover in (partial, *(Path(f"{partial}{end}") for end in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)


def _kind_of(source: Path) -> str:
    try:
        with source.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"there is no file at {source}: check the path.") from None
    except OSError as exc:
        raise BackupError(f"cannot read {source} ({exc.strerror}): check the path and its permissions.") from None
    for magic, kind in ((SQLITE_MAGIC, "sqlite"), (PGDUMP_MAGIC, "postgresql")):
        if head.startswith(magic):
            return kind
    raise BackupError(f"{source} is not a concernbot backup (neither a SQLite database nor a pg_dump custom-format "
                      f"archive): choose a file that `{BACKUP_COMMAND}` wrote.")


def _check_revision(db: Database, source: Path, revision: str | None) -> str:
    if revision is None:
        raise BackupError(f"{source} holds no concernbot records: choose a file that `{BACKUP_COMMAND}` wrote.")
    scripts = ScriptDirectory.from_config(alembic_config(db.engine))
    if revision not in {script.revision for script in scripts.walk_revisions()}:
        raise BackupError(f"{source} was made by a newer concernbot (schema {revision}; this one knows up to "
                          f"{scripts.get_current_head()}): upgrade concernbot, then restore it.")
    return revision


def _upgrade(db: Database, where: str) -> None:
    try:
        db.upgrade()
    except (SQLAlchemyError, CommandError) as exc:
        raise BackupError(f"could not bring the database at {where} up to date ({_first_line(exc, db.engine.url)}): "
                          "check DATABASE_URL and that its user may create tables.") from None


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _facts(connection: Connection) -> tuple[str | None, int, int]:
    """The schema revision, and how many schools and concerns (none where the tables are not made yet)."""
    present = set(inspect(connection).get_table_names())
    schools, concerns = (int(connection.scalar(select(func.count()).select_from(model.__table__)) or 0)
                         if model.__tablename__ in present else 0 for model in (School, Concern))
    return _revision(connection), schools, concerns


@contextmanager
def _connected(engine: Engine, where: str) -> Iterator[Connection]:
    try:
        with engine.connect() as connection:
            yield connection
    except SQLAlchemyError as exc:
        raise BackupError(f"could not use the database at {where} ({_first_line(exc, engine.url)}): check it is "
                          "running and DATABASE_URL is right.") from None


def _first_line(error: BaseException | str, url: URL) -> str:
    """The first line of an error (the driver's own, not SQLAlchemy's wrapper), tidied, without the password."""
    orig = error if isinstance(error, str) else getattr(error, "orig", None) or error
    line = " ".join((str(orig).strip().splitlines() or [type(orig).__name__])[0].split()).rstrip(".")[:300]
    return line.replace(url.password, "***") if url.password else line


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
