"""Each child named in a concern has their name (sealed) and year group on their own row, so the incident-log
export never opens a report; migration 0020 fills the rows already there from their reports, and goes back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import event, inspect, select, text

from bot.export import export_incidents
from flows.clock import ManualClock
from flows.incident_log import Filters
from storage.children import child_keys
from storage.db import Database
from storage.migrate import alembic_config
from storage.models import ConcernChild
from tests.e2e.test_backup import empty_database
from tests.storage.helpers import DSL, TEAM, report, set_up_school

SAM = "Sam Zoë O'Neill"


def _children(db: Database) -> list[tuple[int, int, str | None, str | None]]:
    with db.session() as session:
        return [(c.concern_id, c.position, c.name, c.year_group) for c in session.scalars(
            select(ConcernChild).order_by(ConcernChild.concern_id, ConcernChild.position))]


def test_a_reports_children_are_stored_on_their_rows_sealed(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now(), child_count="2", child_name_2=SAM, year_group_2="reception")
    assert _children(db) == [(concern.id, 1, "Robin Example", "year_5"), (concern.id, 2, SAM, "reception")]
    with db.engine.connect() as connection:  # as the database holds them: the names sealed, the years not
        stored = connection.execute(text("SELECT name, year_group FROM concern_children ORDER BY position")).all()
    assert [year for _, year in stored] == ["year_5", "reception"]
    assert all(name.startswith("v1:") and "Robin" not in name and "Sam" not in name for name, _ in stored)


def test_the_export_never_reads_a_report(db: Database, clock: ManualClock, tmp_path: Path) -> None:
    set_up_school(db, clock.now())
    report(db, clock.now(), child_count="2", child_name_2=SAM, year_group_2="reception")
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, many) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert export_incidents(db, clock, TEAM, DSL, Filters(status="all"), tmp_path / "log.csv") == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert any("concern_children" in s for s in statements)
    assert not [s for s in statements if "details" in s]
    assert f"Robin Example (Year 5); {SAM} (Reception)" in (tmp_path / "log.csv").read_text(encoding="utf-8")


def test_0020_fills_the_children_from_their_reports_adds_missing_rows_and_goes_back(clock: ManualClock, tmp_path: Path,
                                                                  migrated_url: str) -> None:
    with empty_database(migrated_url, tmp_path) as database:
        database.upgrade()
        set_up_school(database, clock.now())
        two = report(database, clock.now(), child_count="2", child_name_2=SAM, year_group_2="reception")
        one = report(database, clock.now(), child_name_1="Alex Other", year_group_1="year_11")
        older = report(database, clock.now(), child_name_1="Jo Earlier", year_group_1="year_2")
        command.downgrade(alembic_config(database.engine), "0019")
        with database.engine.begin() as connection:  # as a concern reported before 0006 made the table is
            connection.execute(text("DELETE FROM concern_children WHERE concern_id = :id"), {"id": older.id})
        with database.engine.connect() as connection:
            assert not {"name", "year_group"} & {c["name"] for c in inspect(connection).get_columns("concern_children")}
            assert "ix_concern_events_concern_id" in {
                i["name"] for i in inspect(connection).get_indexes("concern_events")}
        database.upgrade()
        with database.engine.connect() as connection:
            assert "ix_concern_events_concern_id" not in {
                i["name"] for i in inspect(connection).get_indexes("concern_events")}
        assert _children(database) == [(two.id, 1, "Robin Example", "year_5"), (two.id, 2, SAM, "reception"),
                                       (one.id, 1, "Alex Other", "year_11"),
                                       (older.id, 1, "Jo Earlier", "year_2")]  # opened: sealed by the migration
        with database.session() as session:  # the row it added is found by the child's name, as the bot finds it
            assert session.scalars(select(ConcernChild.concern_id).where(
                ConcernChild.name_key.in_(child_keys(session, "jo  EARLIER")))).all() == [older.id]
