"""Re-sealing every record under the newest key (`concernbot keys rotate`), and what each key still seals.

Works in chunks, each its own transaction, so a rotation interrupted half-way is simply run again: rows
already under the newest key are not touched twice. Older keys are marked retired only when nothing is
left under them, and from then on the bot starts without them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Column, Text, select, type_coerce, update

from flows.children import name_key
from storage.crypto import VERSION
from storage.db import Database
from storage.keys import EncryptionKey, indexed_by_key, sealed_by_key, sealed_columns
from storage.models import ConcernChild

CHUNK = 500


@dataclass
class Rotation:
    key_id: str
    resealed: Counter[str] = field(default_factory=Counter)  # per column, values moved to the newest key
    child_keys: int = 0
    retired: list[str] = field(default_factory=list)
    still_used: list[str] = field(default_factory=list)  # older keys a process still seals with


def _prefix(kid: str) -> str:
    return f"{VERSION}:{kid}:"


def _reseal_column(db: Database, column: Column, current: str) -> int:  # type: ignore[type-arg]
    table, moved = column.table, 0
    stale = type_coerce(column, Text).not_like(_prefix(current) + "%")
    while True:
        with db.session() as session:
            raw = type_coerce(column, Text)
            rows = session.execute(select(table.c.id, column, raw.label("raw")).where(column.is_not(None), stale)
                                   .order_by(table.c.id).limit(CHUNK)).all()
            for row_id, value, was in rows:  # opened with whichever key sealed it; written sealed with the newest,
                # unless someone saved the row meanwhile (a reporter's next step): theirs stands
                session.execute(update(table).where(table.c.id == row_id, raw == was).values({column.name: value}))
        moved += len(rows)
        if len(rows) < CHUNK:
            return moved


def _rekey_children(db: Database, current: str) -> int:
    moved = 0
    while True:
        with db.session() as session:
            keyring = db.keyring
            # Each child's own (sealed) name, not the report it came from: a rotation has no need to open
            # what was said, and a report is most of a row.
            rows = session.execute(
                select(ConcernChild.id, ConcernChild.name, ConcernChild.name_key)
                .where(ConcernChild.name_key.not_like(f"{current}:%"))
                .order_by(ConcernChild.id).limit(CHUNK)).all()
            for child_id, name, was in rows:
                session.execute(update(ConcernChild).where(ConcernChild.id == child_id, ConcernChild.name_key == was)
                                .values(name_key=keyring.index(name_key(name or ""))))
        moved += len(rows)
        if len(rows) < CHUNK:
            return moved


def rotate(db: Database, now: datetime) -> Rotation:
    current = db.keyring.current_id
    done = Rotation(current)
    for column in sealed_columns():
        done.resealed[f"{column.table.name}.{column.name}"] = _reseal_column(db, column, current)
    done.child_keys = _rekey_children(db, current)
    # A bot started before the new key was added still seals with the old one: such a key stays needed.
    with db.session() as session:
        left = sealed_by_key(session) + indexed_by_key(session)
    with db.session() as session:
        if session.get(EncryptionKey, current) is None:
            session.add(EncryptionKey(key_id=current, first_used_at=now))
        older = session.scalars(select(EncryptionKey).where(EncryptionKey.key_id != current,
                                                            EncryptionKey.retired_at.is_(None))).all()
        for key in older:
            if left[key.key_id]:
                done.still_used.append(key.key_id)
            else:
                key.retired_at = now
                done.retired.append(key.key_id)
    return done
