"""Children linked across concerns (chronology); the afternoon time for nudging unsent drafts.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "concern_children",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["concern_id"], ["concerns.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("concern_children") as batch:
        batch.create_index("ix_concern_children_key", ["team_id", "name_key"], unique=False)
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("draft_nudge_at", sa.Time(), nullable=False, server_default="15:30:00"))


def downgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("draft_nudge_at")
    op.drop_table("concern_children")
