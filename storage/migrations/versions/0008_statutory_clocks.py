"""Statutory clocks on concerns: the LADO's one working day and the ICO's 72 hours.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["concern_id"], ["concerns.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("concern_id", "kind", name="uq_deadline_kind"),
    )
    with op.batch_alter_table("deadlines") as batch:
        batch.create_index("ix_deadlines_open", ["met_at", "due_at"], unique=False)


def downgrade() -> None:
    op.drop_table("deadlines")
