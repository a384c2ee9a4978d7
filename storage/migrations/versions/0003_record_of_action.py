"""The Record of Action: actions and outcomes, assignment, closing.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "concern_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("taken_time", sa.Time(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["concern_id"], ["concerns.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("concern_actions") as batch:
        batch.create_index("ix_concern_actions_concern_id", ["concern_id"], unique=False)
    with op.batch_alter_table("concerns") as batch:
        batch.add_column(sa.Column("assigned_to", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("closed_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("concerns") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("closed_by")
        batch.drop_column("assigned_to")
    op.drop_table("concern_actions")
