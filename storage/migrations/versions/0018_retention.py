"""Retention dates, legal holds and the log of what retention deleted.

Every concern already there gets its `retain_until` by the rules in flows.retention (the default periods:
no school has set its own yet), reading its children through the sealed column's own type, so with the key
the database was opened with.

Revision ID: 0018
Revises: 0017
"""
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from flows.retention import DEFAULT_POLICY, facts_from, retain_until
from storage.crypto import SealedJSON
from storage.models import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

PAGE = 500

concerns = sa.table(
    "concerns",
    sa.column("id", sa.Integer()), sa.column("team_id", sa.String()), sa.column("subject_kind", sa.String()),
    sa.column("reported_at", UTCDateTime()), sa.column("details", SealedJSON("concerns.details")),
)
schools = sa.table("schools", sa.column("team_id", sa.String()), sa.column("timezone", sa.String()))


# SQLite cannot make a column NOT NULL in place, and rebuilding `concerns` would trip every foreign key to it
# (the bot's connections enforce them): so the columns are added in place, retain_until NOT NULL with a
# "kept for ever" default until each row is worked out (PostgreSQL then drops the default; SQLite keeps it,
# which the bot never relies on).
KEPT_FOR_EVER = "9999-12-31"


def upgrade() -> None:
    with op.batch_alter_table("concerns", recreate="never") as batch:
        batch.add_column(sa.Column("retain_until", sa.Date(), nullable=False, server_default=KEPT_FOR_EVER))
        batch.add_column(sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("legal_hold_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("legal_hold_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("legal_hold_reason", sa.Text(), nullable=True))
    _backfill(op.get_bind())
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("concerns", "retain_until", existing_type=sa.Date(), server_default=None)
    op.create_table(
        "retention_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_retention_log_team", "retention_log", ["team_id", "deleted_at"])
    op.create_table(
        "retention_settings",
        sa.Column("team_id", sa.String(length=32), sa.ForeignKey("schools.team_id"), primary_key=True),
        sa.Column("staff_years", sa.Integer(), nullable=False),
        sa.Column("other_years", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def _backfill(bind: sa.Connection) -> None:
    after = 0
    while True:
        rows = bind.execute(
            sa.select(concerns.c.id, concerns.c.subject_kind, concerns.c.reported_at, concerns.c.details,
                      schools.c.timezone)
            .join(schools, schools.c.team_id == concerns.c.team_id)
            .where(concerns.c.id > after).order_by(concerns.c.id).limit(PAGE)).all()
        if not rows:
            return
        dates = [{"row_id": row.id, "until": retain_until(facts_from(
            row.subject_kind, row.details, row.reported_at.astimezone(ZoneInfo(row.timezone)).date()), DEFAULT_POLICY)}
            for row in rows]
        bind.execute(sa.text("UPDATE concerns SET retain_until = :until WHERE id = :row_id")
                     .bindparams(sa.bindparam("until", type_=sa.Date())), dates)
        after = rows[-1].id


def downgrade() -> None:
    op.drop_table("retention_settings")
    op.drop_index("ix_retention_log_team", "retention_log")
    op.drop_table("retention_log")
    with op.batch_alter_table("concerns", recreate="never") as batch:  # in place, as upgrade() added them
        for column in ("legal_hold_reason", "legal_hold_at", "legal_hold_by", "legal_hold", "retain_until"):
            batch.drop_column(column)
