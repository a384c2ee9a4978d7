"""The initial review of a concern about sharing nudes, and the immediate-referral flag.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "initial_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("established", sa.Text(), nullable=True),
        sa.Column("parents_told", sa.String(length=16), nullable=False),
        sa.Column("in_school_reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["concern_id"], ["concerns.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("concern_id", name="uq_initial_review_concern"),
    )
    with op.batch_alter_table("concerns") as batch:
        batch.add_column(sa.Column("immediate_referral", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("concerns") as batch:
        batch.drop_column("immediate_referral")
    op.drop_table("initial_reviews")
