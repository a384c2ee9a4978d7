"""Times are stored and read back as the same instants, as plain UTC (`timezone.utc`), whatever the database
server's own time zone: on PostgreSQL each connection's session is in UTC (storage.db), so a read needs no
conversion."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from flows.clock import ManualClock
from storage.db import Database
from storage.models import Concern
from tests.e2e.test_backup import empty_database
from tests.storage.helpers import report, set_up_school


def test_times_read_back_as_the_same_instants_in_plain_utc(clock: ManualClock, tmp_path: Path,
                                                           migrated_url: str) -> None:
    with empty_database(migrated_url, tmp_path) as database:
        if database.dialect == "postgresql":  # a server whose own zone is not UTC
            admin = create_engine(migrated_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{make_url(database.url).database}" '
                                        "SET timezone TO 'America/New_York'"))
            admin.dispose()
        database.upgrade()
        set_up_school(database, clock.now())
        concern = report(database, clock.now())
        with database.session() as session:
            reported = session.scalars(select(Concern.reported_at).where(Concern.id == concern.id)).one()
            if database.dialect == "postgresql":
                assert session.execute(text("SHOW TimeZone")).scalar() == "UTC"
        assert reported == clock.now() and reported.tzinfo is timezone.utc
