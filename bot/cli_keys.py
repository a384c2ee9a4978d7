"""`concernbot keys`: make a key, see what each key seals, and re-seal every record under the newest.

Rotating a key, in three steps: `concernbot keys new --file KEYFILE` puts a new key first in the key file
(the old one stays after it, so the bot still starts); `concernbot keys rotate` re-seals every record under
the new key and retires the old; then the old key's line can be deleted from the file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.settings import ConfigError, Settings
from flows.clock import SystemClock
from storage.crypto import KeyProblem, new_key, parse_keys
from storage.keys import write_key_file


def add_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="the records' encryption keys: new, status, rotate")
    do = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    new = do.add_parser("new", help="make a key: print it, or put it first in a key file (older keys kept)")
    new.add_argument("--file", type=Path, help="the key file to add it to (made readable by you only)")
    do.add_parser("status", help="the key in use, and how many stored values each key seals")
    do.add_parser("rotate", help="re-seal every record under the newest key, and retire the older keys")


def run(settings: Settings, args: argparse.Namespace) -> int | None:
    if args.command != "keys":
        return None
    if args.keys_command == "new":
        return _new(args.file)
    from bot.runtime import open_database
    from storage.keys import indexed_by_key, sealed_by_key
    from storage.rekey import rotate

    db = open_database(settings)
    if args.keys_command == "status":
        with db.session() as session:
            values, names = sealed_by_key(session), indexed_by_key(session)
        print(f"sealing with key {db.keyring.current_id}, from {db.keyring.source}")
        for kid in [*db.keyring.ids, *sorted((set(values) | set(names)) - set(db.keyring.ids))]:
            held = "" if kid in db.keyring.ids else ", and this key is not held: add it before anything else"
            print(f"  key {kid}: {values[kid]} stored values, {names[kid]} children's name keys{held}")
        return 0
    try:
        done = rotate(db, SystemClock().now())
    except SQLAlchemyError as exc:  # e.g. SQLite: someone saved a record as a chunk was being re-sealed
        raise ConfigError(f"the rotation stopped part-way ({type(exc).__name__}); nothing is lost: run "
                          "`concernbot keys rotate` again.") from None
    print(f"re-sealed {sum(done.resealed.values())} values and {done.child_keys} children's name keys under "
          f"key {done.key_id}")
    if done.retired:
        print(f"key {', '.join(done.retired)} now seals nothing: remove it from {db.keyring.source}")
    if done.still_used:
        print(f"key {', '.join(done.still_used)} is still sealing new records: a running bot was started before "
              "the new key was added. Restart every bot process, then run `concernbot keys rotate` again.")
        return 1
    return 0


def _new(path: Path | None) -> int:
    key = new_key()
    if path is None:
        print(key)
        print("keep it in a file only the bot's user can read, named by ENCRYPTION_KEY_FILE, and a copy apart "
              "from the database's backups", file=sys.stderr)
        return 0
    older: list[str] = []
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
            parse_keys(text, str(path))
        except (OSError, KeyProblem) as exc:
            raise ConfigError(f"{path} cannot be added to ({exc}): check the path.") from None
        older = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    write_key_file(path, [key, *older])
    print(f"a new key is first in {path}" + (f", before {len(older)} older" if older else "")
          + ("; run `concernbot keys rotate` to re-seal every record under it" if older else ""))
    return 0
