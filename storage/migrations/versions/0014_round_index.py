"""Finding whether a round has anyone left to send to, without counting the whole round.

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_aup_requests_undelivered", "aup_requests", ["campaign_id", "delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_aup_requests_undelivered", "aup_requests")
