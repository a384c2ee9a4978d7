"""Concerns about adults: each concern keeps its routing decision, its subject, and the harm threshold.

Existing concerns are all about pupils, handled by the DSL team.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("concerns") as batch:
        batch.alter_column("subject_kind", type_=sa.String(length=32), existing_type=sa.String(length=16),
                           existing_nullable=False)
        batch.add_column(sa.Column("subject_user_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("case_roles", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("meets_harm_threshold", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("personal_data_breach", sa.Boolean(), nullable=False, server_default="0"))
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("office_contact", sa.String(length=200), nullable=True))
    op.execute("UPDATE concerns SET case_roles = '[\"dsl\", \"deputy_dsl\"]'")
    with op.batch_alter_table("concerns") as batch:
        batch.alter_column("case_roles", nullable=False, existing_type=sa.JSON())


def downgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("office_contact")
    with op.batch_alter_table("concerns") as batch:
        batch.drop_column("personal_data_breach")
        batch.drop_column("meets_harm_threshold")
        batch.drop_column("case_roles")
        batch.drop_column("subject_user_id")
        batch.alter_column("subject_kind", type_=sa.String(length=16), existing_type=sa.String(length=32),
                           existing_nullable=False)
