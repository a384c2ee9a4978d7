"""Each concern's event chain's head in a narrow table of its own (storage.models_chain), not on the concern.

Appending an event raised `concerns.event_seq`, which rewrote the whole (wide) concern row each time; now it
moves `concern_chains` on. Each concern's row is filled from what is there: its count, and the hash of its
event at that place (GENESIS if it has none). A concern whose last event has gone keeps its count and gets
GENESIS for its head, so storage.audit still reports the cut tail. Downgrading puts the count back.

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

from storage.events import GENESIS

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "concern_chains",
        sa.Column("concern_id", sa.Integer(), sa.ForeignKey("concerns.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
    )
    # One statement: (concern_id, seq) is unique on the events, so each concern joins at most one.
    op.get_bind().execute(sa.text(
        "INSERT INTO concern_chains (concern_id, seq, head) "
        "SELECT c.id, c.event_seq, COALESCE(e.hash, :genesis) FROM concerns c "
        "LEFT JOIN concern_events e ON e.concern_id = c.id AND e.seq = c.event_seq"), {"genesis": GENESIS})
    # In place: rebuilding `concerns` on SQLite would trip every foreign key to it.
    with op.batch_alter_table("concerns", recreate="never") as batch:
        batch.drop_column("event_seq")


def downgrade() -> None:
    with op.batch_alter_table("concerns", recreate="never") as batch:  # in place, as 0017 added it
        batch.add_column(sa.Column("event_seq", sa.Integer(), nullable=False, server_default="0"))
    op.get_bind().execute(sa.text(
        "UPDATE concerns SET event_seq = "
        "COALESCE((SELECT ch.seq FROM concern_chains ch WHERE ch.concern_id = concerns.id), 0)"))
    op.drop_table("concern_chains")
