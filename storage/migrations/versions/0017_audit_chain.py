"""Each concern's events hash-chained, so an edit behind the bot's back is caught.

The events already there are chained in id order, each concern's from the genesis hash, exactly as
storage.events chains a new one; each concern counts its events (`event_seq`).

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

from storage.events import GENESIS, chain_hash
from storage.models import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

PAGE = 2000

events = sa.table(
    "concern_events",
    sa.column("id", sa.Integer()), sa.column("team_id", sa.String()), sa.column("concern_id", sa.Integer()),
    sa.column("kind", sa.String()), sa.column("actor_id", sa.String()), sa.column("at", UTCDateTime()),
    sa.column("data", sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("concern_events") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    # In place: rebuilding `concerns` on SQLite would trip every foreign key to it.
    with op.batch_alter_table("concerns", recreate="never") as batch:
        batch.add_column(sa.Column("event_seq", sa.Integer(), nullable=False, server_default="0"))
    _chain(op.get_bind())
    with op.batch_alter_table("concern_events") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_concern_event_seq", ["concern_id", "seq"])


def _chain(bind: sa.Connection) -> None:
    """A page of events at a time, in id order; only each concern's last (seq, hash) is kept in memory."""
    heads: dict[int, tuple[int, str]] = {}
    after = 0
    while True:
        rows = bind.execute(sa.select(events).where(events.c.id > after).order_by(events.c.id).limit(PAGE)).all()
        if not rows:
            break
        updates = []
        for row in rows:
            seq, prev = heads.get(row.concern_id, (0, GENESIS))
            seq += 1
            digest = chain_hash(prev, row.team_id, row.concern_id, seq, row.kind, row.actor_id, row.at, row.data)
            heads[row.concern_id] = (seq, digest)
            updates.append({"row_id": row.id, "seq": seq, "prev": prev, "digest": digest})
        bind.execute(sa.text("UPDATE concern_events SET seq = :seq, prev_hash = :prev, hash = :digest "
                             "WHERE id = :row_id"), updates)
        after = rows[-1].id
    bind.execute(sa.text("UPDATE concerns SET event_seq = "
                         "(SELECT COUNT(*) FROM concern_events e WHERE e.concern_id = concerns.id)"))


def downgrade() -> None:
    with op.batch_alter_table("concern_events") as batch:
        batch.drop_constraint("uq_concern_event_seq", type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    with op.batch_alter_table("concerns", recreate="never") as batch:
        batch.drop_column("event_seq")
