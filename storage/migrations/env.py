"""Alembic environment: runs against the engine handed in by storage.migrate (or sqlalchemy.url)."""

from alembic import context
from sqlalchemy import create_engine

from storage.models import Base

config = context.config
# APScheduler creates and owns its job table; autogenerate must never try to drop it.
LIBRARY_TABLES = {"apscheduler_jobs"}


def include_name(name, type_, parent_names):  # type: ignore[no-untyped-def]
    if type_ == "table":
        return name not in LIBRARY_TABLES
    return parent_names.get("table_name") not in LIBRARY_TABLES
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # batch mode copies and drops tables; foreign keys would refuse to drop a parent table
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


run_migrations_online()
