"""The yearly cycle: AUP versions, signing rounds and requests; policy reviews; outbox priority.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("aup_annual_on", sa.String(length=5), server_default="09-01", nullable=False))
        batch.add_column(sa.Column("aup_reminder_limit", sa.Integer(), server_default="4", nullable=False))
        batch.add_column(sa.Column("aup_include_guests", sa.Boolean(), server_default="0", nullable=False))
        batch.add_column(sa.Column("aup_report_to", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("report_dates", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("aup_file_hash", sa.String(length=64), nullable=True))
    op.execute("UPDATE schools SET aup_report_to = '[]', report_dates = '[]'")
    with op.batch_alter_table("schools") as batch:
        batch.alter_column("aup_report_to", nullable=False, existing_type=sa.JSON())
        batch.alter_column("report_dates", nullable=False, existing_type=sa.JSON())
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("file_next_review", sa.Date(), nullable=True))
        batch.add_column(sa.Column("last_reviewed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("last_reviewed_by", sa.String(length=32), nullable=True))
    op.execute("UPDATE policies SET file_next_review = next_review")
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "policy_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("next_review", sa.Date(), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_policy_reviews_policy_id", "policy_reviews", ["policy_id"])
    op.create_table(
        "aup_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("changes", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("published_at", TZ, nullable=False),
        sa.Column("published_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["schools.team_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_aup_versions_team_id", "aup_versions", ["team_id"])
    op.create_table(
        "aup_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("started_by", sa.String(length=32), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["schools.team_id"]),
        sa.ForeignKeyConstraint(["version_id"], ["aup_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "key", name="uq_aup_campaign_key"),
    )
    op.create_table(
        "aup_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("delivered_at", TZ, nullable=True),
        sa.Column("reminders_sent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_contact_on", sa.Date(), nullable=False),
        sa.Column("signed_at", TZ, nullable=True),
        sa.Column("signed_hash", sa.String(length=64), nullable=True),
        sa.Column("superseded_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["schools.team_id"]),
        sa.ForeignKeyConstraint(["campaign_id"], ["aup_campaigns.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["aup_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_aup_request_key"),
    )
    op.create_index("ix_aup_requests_campaign_id", "aup_requests", ["campaign_id"])
    op.create_index("ix_aup_requests_team_user", "aup_requests", ["team_id", "user_id"])
    op.create_index("ix_aup_requests_pending", "aup_requests", ["team_id", "signed_at", "superseded_at"])


def downgrade() -> None:
    op.drop_table("aup_requests")
    op.drop_table("aup_campaigns")
    op.drop_table("aup_versions")
    op.drop_table("policy_reviews")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("priority")
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("last_reviewed_by")
        batch.drop_column("last_reviewed_on")
        batch.drop_column("file_next_review")
    with op.batch_alter_table("schools") as batch:
        for column in ("aup_file_hash", "report_dates", "aup_report_to", "aup_include_guests", "aup_reminder_limit", "aup_annual_on"):
            batch.drop_column(column)
