"""Each child named in a concern keeps their name (sealed) and year group on their own row, found by concern;
and the events' second index on `concern_id` goes.

The incident-log export named the children by opening every concern's whole report (`concerns.details`), the
largest part of its time; it now reads `concern_children`, so it never opens what was said at all. Each row
already there is filled from its report, read through the sealed column's own type (so with the key the
database was opened with) and sealed again, under the current key, by its own.

They are found by concern (`ix_concern_children_concern`): until now only by name, so each lookup by concern
(retention's deletes too) read the whole table.

`ix_concern_events_concern_id` is redundant: `uq_concern_event_seq` (concern_id, seq) begins with the same
column, and each of an export's thousands of appends paid to keep both.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

from storage.crypto import SealedJSON, SealedText

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

PAGE = 500

children = sa.table(
    "concern_children",
    sa.column("id", sa.Integer()), sa.column("concern_id", sa.Integer()), sa.column("position", sa.Integer()),
    sa.column("name", SealedText("concern_children.name")), sa.column("year_group", sa.String()),
)
concerns = sa.table("concerns", sa.column("id", sa.Integer()), sa.column("details", SealedJSON("concerns.details")))


def upgrade() -> None:
    with op.batch_alter_table("concern_children", recreate="never") as batch:  # in place: nullable, no default
        batch.add_column(sa.Column("name", sa.Text(), nullable=True))
        batch.add_column(sa.Column("year_group", sa.String(length=32), nullable=True))
    op.create_index("ix_concern_children_concern", "concern_children", ["concern_id", "position"])
    _backfill(op.get_bind())
    op.drop_index("ix_concern_events_concern_id", "concern_events")


def _backfill(bind: sa.Connection) -> None:
    after = 0
    while True:
        rows = bind.execute(
            sa.select(children.c.id, children.c.position, concerns.c.details)
            .join(concerns, concerns.c.id == children.c.concern_id)
            .where(children.c.id > after).order_by(children.c.id).limit(PAGE)).all()
        if not rows:
            return
        named = []
        for row in rows:
            listed = (row.details or {}).get("children") or []
            child = listed[row.position - 1] if 0 < row.position <= len(listed) else {}
            named.append({"row_id": row.id, "name": child.get("name"), "year_group": child.get("year_group")})
        bind.execute(sa.update(children).where(children.c.id == sa.bindparam("row_id"))
                     .values(name=sa.bindparam("name"), year_group=sa.bindparam("year_group")), named)
        after = rows[-1].id


def downgrade() -> None:
    op.create_index("ix_concern_events_concern_id", "concern_events", ["concern_id"])
    op.drop_index("ix_concern_children_concern", "concern_children")
    with op.batch_alter_table("concern_children", recreate="never") as batch:  # in place, as upgrade() added them
        batch.drop_column("year_group")
        batch.drop_column("name")
