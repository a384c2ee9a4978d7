"""Backups, restores and moving to another database, against the run's own database (SQLite or PostgreSQL).

The records are made by the project's own storage code; each test then compares every table, row by row.
"""

from __future__ import annotations

import stat
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from bot.backup import BackupError, backup, migrate_db, restore
from bot.scheduler import JOBS_TABLE
from flows.clock import ManualClock
from storage.concerns import acknowledge
from storage.db import Database
from storage.migrate import alembic_config, current_revision
from storage.models import Base, Concern, ConcernEvent, OutboxMessage, School
from tests.storage.helpers import DSL, TEAM, report, set_up_school

OTHER = "T0OTHER"


@contextmanager
def empty_database(like_url: str, tmp_path: Path) -> Iterator[Database]:
    """A second database of the run's kind, with nothing in it (not even tables)."""
    name = f"concernbot_backup_{uuid.uuid4().hex[:10]}"
    if make_url(like_url).get_backend_name() == "sqlite":
        database = Database(f"sqlite:///{tmp_path / f'{name}.db'}")
        try:
            yield database
        finally:
            database.dispose()
        return
    admin = create_engine(like_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(make_url(like_url).set(database=name).render_as_string(hide_password=False))
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(db: Database, clock: ManualClock, team: str = TEAM, concerns: int = 3) -> None:
    set_up_school(db, clock.now(), team=team)
    installed(db, team, clock)
    for n in range(concerns):
        concern = report(db, clock.advance(timedelta(minutes=5)), team=team, child_name_1=f"Child {team} {n}")
    with db.session() as session:
        acknowledge(session, team, concern.id, DSL, clock.advance(timedelta(minutes=2)))


def installed(db: Database, team: str, clock: ManualClock) -> None:
    """The school installed by OAuth: its token in slack-sdk's store, and how it is reached."""
    from slack_sdk.oauth.installation_store import Installation
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    from storage.installs import record_install

    SQLAlchemyInstallationStore(client_id="1.2", engine=db.engine).save(Installation(
        app_id="A0CONCERNBOT", team_id=team, team_name=team, bot_token=f"xoxb-{team.lower()}", bot_id="B0BOT",
        bot_user_id="U0BOT", bot_scopes="chat:write,commands", user_id="U0INSTALLER", installed_at=1795000000.0))
    with db.session() as session:
        record_install(session, team, enterprise_id=None, org_install=False, installed_by="U0INSTALLER",
                       timezone="Europe/London", now=clock.now())


def every_row(db: Database) -> dict[str, list[dict[str, Any]]]:
    with db.engine.connect() as connection:
        return {table.name: [dict(row._mapping) for row in connection.execute(
                    select(table).order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables}


def count(db: Database, model: Any) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def refused(call: Any, *words: str) -> str:
    with pytest.raises(BackupError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message and "://" not in message, message
    for word in words:
        assert word in message, message
    return message


def test_a_backup_restores_into_an_empty_database_whole(db: Database, clock: ManualClock, tmp_path: Path,
                                                          migrated_url: str) -> None:
    fill(db, clock)
    before = every_row(db)
    out = tmp_path / "nightly.backup"
    made = backup(db, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert (made.path, made.bytes, made.schools, made.concerns, made.dialect) == (
        out, out.stat().st_size, 1, 3, db.dialect)
    assert made.revision == current_revision(db.engine) is not None
    assert [p.name for p in tmp_path.iterdir()] == ["nightly.backup"]  # no partial file left beside it
    with empty_database(migrated_url, tmp_path) as fresh:
        back = restore(fresh, out)
        assert (back.schools, back.concerns) == (1, 3)
        assert back.revision == back.backup_revision == made.revision
        after = every_row(fresh)
    assert after == before
    assert len(after["concern_events"]) == 4 and len(after["outbox"]) >= 6
    assert [bot["bot_token"] for bot in after["slack_bots"]] == [f"xoxb-{TEAM.lower()}"]  # installs survive
    assert [i["installed_by"] for i in after["school_installs"]] == ["U0INSTALLER"]
    names = {concern["details"]["children"][0]["name"] for concern in after["concerns"]}
    assert names == {f"Child {TEAM} {n}" for n in range(3)}  # the details JSON came back whole


def test_restoring_over_records_is_refused_unless_forced(db: Database, clock: ManualClock, tmp_path: Path,
                                                           migrated_url: str) -> None:
    fill(db, clock)
    out = tmp_path / "school.backup"
    backup(db, out)
    with empty_database(migrated_url, tmp_path) as other:
        other.upgrade()
        fill(other, clock, team=OTHER, concerns=2)
        kept = every_row(other)
        refused(lambda: restore(other, out), "already holds 2 concerns from 1 school",
                "restore into an empty database, or pass --force to replace it")
        assert every_row(other) == kept  # the refusal changed nothing
        replaced = restore(other, out, force=True)
        assert (replaced.schools, replaced.concerns) == (1, 3)
        with other.session() as session:
            assert list(session.scalars(select(School.team_id))) == [TEAM]
        assert every_row(other) == every_row(db)


def test_what_is_not_a_backup_for_this_database_is_refused(db: Database, clock: ManualClock, tmp_path: Path,
                                                             migrated_url: str) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a backup\n")
    refused(lambda: restore(db, notes), "is not a concernbot backup")
    refused(lambda: restore(db, tmp_path / "missing.backup"), "there is no file at")
    if db.dialect == "postgresql":  # a SQLite backup offered to PostgreSQL
        sqlite_db = Database(f"sqlite:///{tmp_path / 'small.db'}")
        sqlite_db.upgrade()
        wrong = backup(sqlite_db, tmp_path / "sqlite.backup").path
        sqlite_db.dispose()
        refused(lambda: restore(db, wrong), "is a SQLite backup", "is PostgreSQL", "concernbot migrate-db")
    else:  # a pg_dump archive (by its magic bytes) offered to SQLite
        wrong = tmp_path / "postgres.backup"
        wrong.write_bytes(b"PGDMP\x01\x0e\x00" + bytes(64))
        refused(lambda: restore(db, wrong), "is a PostgreSQL backup", "is SQLite")
    # A backup from a newer concernbot (a schema this code does not know) is refused before anything changes.
    fill(db, clock, concerns=1)
    head = current_revision(db.engine)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    try:
        future = backup(db, tmp_path / "future.backup").path
    finally:
        with db.engine.begin() as connection:
            connection.execute(text(f"UPDATE alembic_version SET version_num = '{head}'"))
    with empty_database(migrated_url, tmp_path) as fresh:
        refused(lambda: restore(fresh, future), "was made by a newer concernbot", "9999_future")


def test_an_older_backup_is_brought_up_to_date(tmp_path: Path, migrated_url: str) -> None:
    with empty_database(migrated_url, tmp_path) as old:
        command.upgrade(alembic_config(old.engine), "0009")  # the schema before the yearly cycle's tables
        made = backup(old, tmp_path / "old.backup")
    assert made.revision == "0009"
    with empty_database(migrated_url, tmp_path) as fresh:
        fresh.upgrade()  # e.g. the new bot started once before the restore: its tables must not linger
        back = restore(fresh, made.path)
        assert (back.backup_revision, back.revision) == ("0009", current_revision(fresh.engine))
        assert back.revision != "0009" and every_row(fresh)["aup_versions"] == []


def test_a_backup_taken_while_concerns_are_written_is_consistent(db: Database, clock: ManualClock,
                                                                 tmp_path: Path, migrated_url: str) -> None:
    set_up_school(db, clock.now())
    stop, started, errors = threading.Event(), threading.Event(), []

    def keep_reporting() -> None:
        try:
            while not stop.is_set():
                report(db, clock.now())
                if count(db, Concern) >= 2:
                    started.set()
        except Exception as exc:  # surfaced below
            errors.append(exc)
            started.set()

    writer = threading.Thread(target=keep_reporting)
    writer.start()
    try:
        assert started.wait(30)
        made = backup(db, tmp_path / "busy.backup")
    finally:
        stop.set()
        writer.join()
    assert errors == []
    assert count(db, Concern) > made.concerns >= 2  # the writer went on after the snapshot
    with empty_database(migrated_url, tmp_path) as fresh:
        assert restore(fresh, made.path).concerns == made.concerns
        rows = every_row(fresh)
    concern_ids = {c["id"] for c in rows["concerns"]}
    assert len(concern_ids) == made.concerns
    assert sorted(e["concern_id"] for e in rows["concern_events"] if e["kind"] == "reported") == sorted(concern_ids)
    assert {o["concern_id"] for o in rows["outbox"] if o["concern_id"]} == concern_ids
    assert {s["concern_id"] for s in rows["status_changes"]} == concern_ids


def test_migrating_from_sqlite_copies_every_row_and_new_records_follow(db: Database, clock: ManualClock,
                                                                       tmp_path: Path) -> None:
    source = Database(f"sqlite:///{tmp_path / 'old.db'}")
    source.upgrade()
    fill(source, clock)
    fill(source, clock, team=OTHER, concerns=2)
    with source.engine.begin() as connection:  # the scheduler's own table: it remakes its jobs, so not copied
        connection.execute(text(f"CREATE TABLE {JOBS_TABLE} (id VARCHAR(191) PRIMARY KEY, job_state BLOB)"))
        connection.execute(text(f"INSERT INTO {JOBS_TABLE} VALUES ('yearly-cycle:{TEAM}', x'00')"))
    try:
        copied = migrate_db(source, db)
        expected = every_row(source)
        assert every_row(db) == expected
        assert copied == {name: len(rows) for name, rows in expected.items()}
        assert copied["concerns"] == 5 and copied["concern_events"] == 7
        assert JOBS_TABLE not in copied
        with db.engine.connect() as connection:
            assert not inspect(connection).has_table(JOBS_TABLE) or not connection.scalar(
                text(f"SELECT count(*) FROM {JOBS_TABLE}"))
        refused(lambda: migrate_db(source, db), "already holds 2 schools and 5 concerns", "empty database")
    finally:
        source.dispose()
    newest = report(db, clock.advance(timedelta(minutes=5)))  # the id sequences start after the copied ids
    assert newest.id > max(c["id"] for c in expected["concerns"]) and newest.reference == "OS-2026-0004"
    assert count(db, ConcernEvent) == 8 and count(db, OutboxMessage) > copied["outbox"]


def test_missing_postgres_client_tools_are_one_sentence(db: Database, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    if db.dialect != "postgresql":
        pytest.skip("pg_dump is used only for PostgreSQL")
    monkeypatch.setenv("PATH", str(tmp_path))
    refused(lambda: backup(db, tmp_path / "x.backup"), "pg_dump is not installed",
            "apt-get install postgresql-client")
    assert not list(tmp_path.iterdir())


def test_migrating_into_a_new_sqlite_file_makes_it_readable_by_its_owner_only(db: Database, clock: ManualClock,
                                                                              tmp_path: Path) -> None:
    fill(db, clock)
    target = Database(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        migrate_db(db, target)
        assert (tmp_path / "new.db").stat().st_mode & 0o777 == 0o600
        assert every_row(target) == every_row(db)
    finally:
        target.dispose()
