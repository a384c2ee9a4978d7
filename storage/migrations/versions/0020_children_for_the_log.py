"""Each child named in a concern keeps their name (sealed) and year group on their own row, found by concern;
and the events' second index on `concern_id` goes.

The incident-log export named the children by opening every concern's whole report (`concerns.details`), the
largest part of its time; it now reads `concern_children`, so it never opens what was said at all. Each
concern's children are filled from its report, read through the sealed column's own type (so with the key
the database was opened with) and sealed again, under the current key, by their own. A child with no row at
all (concerns reported before 0006 made the table) gets one, name key and all, so the export and the
child's chronology both find them.

They are found by concern (`ix_concern_children_concern`): until now only by name, so each lookup by concern
(retention's deletes too) read the whole table.

`ix_concern_events_concern_id` is redundant: `uq_concern_event_seq` (concern_id, seq) begins with the same
column, and each of an export's thousands of appends paid to keep both.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

from flows.children import name_key
from storage.crypto import SealedJSON, SealedText, keyring_of

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

PAGE = 500

children = sa.table(
    "concern_children",
    sa.column("id", sa.Integer()), sa.column("team_id", sa.String()), sa.column("concern_id", sa.Integer()),
    sa.column("position", sa.Integer()), sa.column("name_key", sa.String()),
    sa.column("name", SealedText("concern_children.name")), sa.column("year_group", sa.String()),
)
concerns = sa.table("concerns", sa.column("id", sa.Integer()), sa.column("team_id", sa.String()),
                    sa.column("details", SealedJSON("concerns.details")))


def upgrade() -> None:
    with op.batch_alter_table("concern_children", recreate="never") as batch:  # in place: nullable, no default
        batch.add_column(sa.Column("name", sa.Text(), nullable=True))
        batch.add_column(sa.Column("year_group", sa.String(length=32), nullable=True))
    op.create_index("ix_concern_children_concern", "concern_children", ["concern_id", "position"])
    _backfill(op.get_bind())
    op.drop_index("ix_concern_events_concern_id", "concern_events")


def _backfill(bind: sa.Connection) -> None:
    keyring = keyring_of(bind.dialect)
    after = 0
    while True:
        page = bind.execute(sa.select(concerns.c.id, concerns.c.team_id, concerns.c.details)
                            .where(concerns.c.id > after).order_by(concerns.c.id).limit(PAGE)).all()
        if not page:
            return
        rows = {(row.concern_id, row.position): row.id for row in bind.execute(
            sa.select(children.c.id, children.c.concern_id, children.c.position)
            .where(children.c.concern_id.in_([concern.id for concern in page])))}
        named, added = [], []
        for concern in page:
            for position, child in enumerate((concern.details or {}).get("children") or [], start=1):
                name, year_group = child.get("name"), child.get("year_group")
                if (concern.id, position) in rows:
                    named.append({"row_id": rows[concern.id, position], "name": name, "year_group": year_group})
                elif name:
                    added.append({"team_id": concern.team_id, "concern_id": concern.id, "position": position,
                                  "name_key": keyring.index(name_key(name)), "name": name, "year_group": year_group})
        if named:
            bind.execute(sa.update(children).where(children.c.id == sa.bindparam("row_id"))
                         .values(name=sa.bindparam("name"), year_group=sa.bindparam("year_group")), named)
        if added:
            bind.execute(sa.insert(children), added)
        after = page[-1].id


def downgrade() -> None:
    op.create_index("ix_concern_events_concern_id", "concern_events", ["concern_id"])
    op.drop_index("ix_concern_children_concern", "concern_children")
    with op.batch_alter_table("concern_children", recreate="never") as batch:  # in place, as upgrade() added them
        batch.drop_column("year_group")
        batch.drop_column("name")
