"""Escalation: each school's wait and day, each concern's next deadline and how far it has gone.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("escalation_minutes", sa.Integer(), nullable=False, server_default="30"))
        batch.add_column(sa.Column("day_starts", sa.Time(), nullable=False, server_default="08:00:00"))
        batch.add_column(sa.Column("day_ends", sa.Time(), nullable=False, server_default="17:00:00"))
    with op.batch_alter_table("concerns") as batch:
        batch.add_column(sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_concerns_escalate_at", ["status", "escalate_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("concerns") as batch:
        batch.drop_index("ix_concerns_escalate_at")
        batch.drop_column("escalate_at")
        batch.drop_column("escalation_level")
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("day_ends")
        batch.drop_column("day_starts")
        batch.drop_column("escalation_minutes")
