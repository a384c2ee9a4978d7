"""Each Slack event handled once, by its event_id; and each school's fallback email address.

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(32)),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_seen_events_seen_at", "seen_events", ["seen_at"])
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("fallback_email", sa.String(254)))


def downgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("fallback_email")
    op.drop_index("ix_seen_events_seen_at", "seen_events")
    op.drop_table("seen_events")
