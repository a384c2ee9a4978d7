"""The school's closure days (INSET days, snow days): no school time, no working day for the LADO clock.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("closure_days", sa.JSON(), nullable=True))
    op.execute("UPDATE schools SET closure_days = '[]'")
    with op.batch_alter_table("schools") as batch:
        batch.alter_column("closure_days", nullable=False, existing_type=sa.JSON())


def downgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("closure_days")
