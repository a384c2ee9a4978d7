"""Encrypting the records' free text and children's names at rest.

Every value already stored is sealed with the key the database was opened with (storage.crypto), and
children's name keys become keyed hashes. The key comes from the engine the migration runs on.

Revision ID: 0015
Revises: 0014
"""
import json

import sqlalchemy as sa
from alembic import op

from flows.children import name_key
from storage.crypto import keyring_of

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# (table, column, was JSON): the columns sealed from here on.
SEALED = [
    ("drafts", "answers", True),
    ("concerns", "details", True),
    ("concern_actions", "note", False),
    ("initial_reviews", "established", False),
    ("initial_reviews", "in_school_reason", False),
    ("policy_reviews", "note", False),
]


def _rows(table: str, column: str) -> list[tuple[int, object]]:
    return list(op.get_bind().execute(sa.text(f'SELECT id, "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')))


def upgrade() -> None:
    op.create_table(
        "encryption_keys",
        sa.Column("key_id", sa.String(length=32), primary_key=True),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    )
    for table, column, was_json in SEALED:
        if was_json:
            with op.batch_alter_table(table) as batch:
                batch.alter_column(column, existing_type=sa.JSON(), type_=sa.Text(),
                                   postgresql_using=f'"{column}"::text')
    bind = op.get_bind()
    keyring = keyring_of(bind.dialect)
    for table, column, was_json in SEALED:
        for row_id, value in _rows(table, column):
            text = value if isinstance(value, str) else json.dumps(value)
            if was_json:  # the same JSON text the sealed column writes
                text = json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
            bind.execute(sa.text(f'UPDATE "{table}" SET "{column}" = :sealed WHERE id = :id'),
                         {"sealed": keyring.seal(text, f"{table}.{column}"), "id": row_id})
    for row_id, key in list(bind.execute(sa.text("SELECT id, name_key FROM concern_children"))):
        bind.execute(sa.text("UPDATE concern_children SET name_key = :key WHERE id = :id"),
                     {"key": keyring.index(key), "id": row_id})


def downgrade() -> None:
    bind = op.get_bind()
    keyring = keyring_of(bind.dialect)
    for table, column, _ in SEALED:
        for row_id, value in _rows(table, column):
            bind.execute(sa.text(f'UPDATE "{table}" SET "{column}" = :plain WHERE id = :id'),
                         {"plain": keyring.open(str(value), f"{table}.{column}"), "id": row_id})
    for table, column, was_json in SEALED:
        if was_json:
            with op.batch_alter_table(table) as batch:
                batch.alter_column(column, existing_type=sa.Text(), type_=sa.JSON(),
                                   postgresql_using=f'"{column}"::json')
    # Children's name keys cannot be turned back from their hashes; the chronology links are rebuilt from
    # the (now plain) records instead.
    for concern_id, details in list(bind.execute(sa.text("SELECT id, details FROM concerns"))):
        record = details if isinstance(details, dict) else json.loads(details)
        children = record.get("children") or []
        for position, child in enumerate(children, start=1):
            bind.execute(sa.text("UPDATE concern_children SET name_key = :key "
                                 "WHERE concern_id = :concern AND position = :position"),
                         {"key": name_key(str(child.get("name", ""))), "concern": concern_id,
                          "position": position})
    op.drop_table("encryption_keys")
