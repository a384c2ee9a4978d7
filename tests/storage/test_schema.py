"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.scheduler import JOBS_TABLE
from storage.db import Database
from alembic.script import ScriptDirectory

from storage.migrate import alembic_config, current_revision
from storage.models import Base


def _scheduler_owned(difference: tuple) -> bool:
    """APScheduler creates and owns its job table; it is not part of our models."""
    kind, obj = difference[0], difference[1]
    table = obj if kind == "remove_table" else getattr(obj, "table", None)
    return getattr(table, "name", None) == JOBS_TABLE


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, Base.metadata) if not _scheduler_owned(d)]
    assert differences == []


def test_upgrade_is_idempotent(db: Database) -> None:
    db.upgrade()
    db.upgrade()
    head = ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head()
    assert current_revision(db.engine) == head



def test_the_migrations_create_slack_sdks_installation_tables() -> None:
    """The store tables on our metadata are slack-sdk's own (so the test above holds the migration to them)."""
    from storage.installs import slack_bots, slack_installations, slack_oauth_states

    assert {t.name for t in (slack_installations, slack_bots, slack_oauth_states)} <= set(Base.metadata.tables)
    assert "bot_token" in slack_bots.c and "expire_at" in slack_oauth_states.c
