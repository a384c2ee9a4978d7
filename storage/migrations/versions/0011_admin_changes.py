"""Settings changed in Slack: who may change them, and the audit log of every change.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("admin_user_ids", sa.JSON(), nullable=True))
    op.execute("UPDATE schools SET admin_user_ids = '[]'")
    with op.batch_alter_table("schools") as batch:
        batch.alter_column("admin_user_ids", nullable=False, existing_type=sa.JSON())
    op.create_table(
        "admin_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_admin_changes_team", "admin_changes", ["team_id", "at"])


def downgrade() -> None:
    op.drop_table("admin_changes")
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("admin_user_ids")
