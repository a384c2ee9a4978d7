"""Where the encryption keys come from, and the database's memory of which keys sealed its records.

Keys come, in this order, from ENCRYPTION_KEY (one key, or several comma-separated, newest first), from the
file ENCRYPTION_KEY_FILE names (one key per line, newest first), or, for a SQLite database with neither,
from a `.key` file beside the database, made the first time (readable by its owner only). A PostgreSQL
database needs one of the first two: there is no file to put a key beside.

`encryption_keys` remembers every key that has sealed a record here, so starting with a missing or wrong
key is a plain error at start-up, not a record that cannot be opened later.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, String, Text, func, select, type_coerce
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.crypto import VERSION, KeyProblem, Keyring, SealedJSON, SealedText, new_key, parse_keys
from storage.models import Base, ConcernChild

KEY_ID_LENGTH = 12


class EncryptionKey(Base):
    """A key that has sealed records in this database (by id only: the key itself is never stored here)."""

    __tablename__ = "encryption_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_used_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]  # `keys rotate` re-sealed everything under a newer key


BESIDE_THE_DATABASE = "the database's key file"  # how a key file made beside a SQLite database is named


def sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def key_file_beside(database: Path) -> Path:
    return database.with_name(database.name + ".key")


def read_key_file(path: Path, source: str) -> Keyring:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyProblem(f"{source} names {path}, which does not exist: give the path of the key file, or make "
                         f"one with `concernbot keys new --file {path}`.") from None
    except OSError as exc:
        raise KeyProblem(f"{source} names {path}, which cannot be read ({exc.strerror}): let the bot's user "
                         "read it.") from None
    return Keyring(parse_keys(text, f"{source} ({path})"), f"{source} ({path})")


def write_key_file(path: Path, keys: list[str]) -> None:
    """Write keys (newest first) to a file only its owner can read, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("# concernbot encryption keys, newest first. Keep a copy apart from the database's backups.\n")
        handle.writelines(f"{key}\n" for key in keys)
    os.replace(temporary, path)


def _has_sealed_records(database: Path) -> bool:
    if not database.exists():
        return False
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        known = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'encryption_keys'").fetchone()
        return bool(known and connection.execute("SELECT 1 FROM encryption_keys LIMIT 1").fetchone())
    finally:
        connection.close()


def keyring_for(url: str, key: str | None = None, key_file: str | Path | None = None) -> Keyring:
    if key:
        return Keyring(parse_keys(key, "ENCRYPTION_KEY"), "ENCRYPTION_KEY")
    if key_file:
        return read_key_file(Path(key_file), "ENCRYPTION_KEY_FILE")
    database = sqlite_file(url)
    if database is None:
        if make_url(url).get_backend_name() == "sqlite":  # in memory: gone when the process ends, as its key is
            return Keyring(parse_keys(new_key(), "a key made for this run"), "a key made for this run")
        raise KeyProblem("a PostgreSQL database needs an encryption key kept outside it: make one with "
                         "`concernbot keys new --file /etc/concernbot/key` and set ENCRYPTION_KEY_FILE to it.")
    beside = key_file_beside(database)
    if beside.exists():
        return read_key_file(beside, BESIDE_THE_DATABASE)
    if _has_sealed_records(database):
        raise KeyProblem(f"{database} holds encrypted records but its key file {beside} is missing: put the key "
                         "file back from where you keep it, or set ENCRYPTION_KEY_FILE to it.")
    write_key_file(beside, [new_key()])
    return read_key_file(beside, BESIDE_THE_DATABASE)


def keyring_from_environment(url: str, environ: Mapping[str, str] = os.environ) -> Keyring:
    return keyring_for(url, environ.get("ENCRYPTION_KEY") or None, environ.get("ENCRYPTION_KEY_FILE") or None)


def sealed_columns() -> list[Column]:  # type: ignore[type-arg]
    return [column for table in Base.metadata.sorted_tables for column in table.columns
            if isinstance(column.type, (SealedText, SealedJSON))]


def sealed_by_key(session: Session) -> Counter[str]:
    """How many stored values each key id seals, over every sealed column (read from the values' prefixes)."""
    counts: Counter[str] = Counter()
    for column in sealed_columns():
        kid = func.substr(type_coerce(column, Text), len(VERSION) + 2, KEY_ID_LENGTH)
        for key, n in session.execute(select(kid, func.count()).where(column.is_not(None)).group_by(kid)):
            counts[key] += n
    return counts


def indexed_by_key(session: Session) -> Counter[str]:
    """How many children's name keys each key id made."""
    kid = func.substr(ConcernChild.name_key, 1, KEY_ID_LENGTH)
    return Counter({key: n for key, n in session.execute(select(kid, func.count()).group_by(kid))})


def missing_keys(session: Session, keyring: Keyring) -> list[str]:
    """The ids of keys that records here need and that are not held: from what is stored, whatever the
    register says (a process that was not restarted may have sealed with a key rotation retired)."""
    needed = set(session.scalars(select(EncryptionKey.key_id).where(EncryptionKey.retired_at.is_(None))))
    needed |= set(sealed_by_key(session)) | set(indexed_by_key(session))
    return sorted(needed - set(keyring.ids))


def check_keys(session: Session, keyring: Keyring, now: datetime) -> None:
    """Refuse to start without every key the records need; remember the key that seals from now on."""
    missing = missing_keys(session, keyring)
    if missing:
        raise KeyProblem(f"this database's records were sealed with key {', '.join(missing)}, which is not among "
                         f"the keys in {keyring.source}: give the key they were sealed with (your key file's "
                         "backup), or nothing can be read.")
    current = session.get(EncryptionKey, keyring.current_id)
    if current is None:
        session.add(EncryptionKey(key_id=keyring.current_id, first_used_at=now))
    elif current.retired_at is not None:
        current.retired_at = None
