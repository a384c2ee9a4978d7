"""`concernbot keys` as an IT lead runs it: a new key, a rotation, the old key removed, and a missing key
file refused in one line before anything is read."""

from __future__ import annotations

import re
from pathlib import Path

from flows.clock import ManualClock
from storage.db import Database
from storage.keys import key_file_beside, keyring_for
from tests.e2e.conftest import clean_env
from tests.e2e.test_cli import run
from tests.storage.helpers import report, set_up_school


def _keys(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_a_key_is_rotated_and_the_old_one_retired(tmp_path: Path, clock: ManualClock) -> None:
    database = tmp_path / "school.db"
    env = {k: v for k, v in clean_env(DATABASE_URL=f"sqlite:///{database}").items() if k != "ENCRYPTION_KEY"}
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0
    key_file = key_file_beside(database)
    first_key = _keys(key_file)
    db = Database(f"sqlite:///{database}", keys=keyring_for(f"sqlite:///{database}", key_file=key_file))
    set_up_school(db, clock.now())
    report(db, clock.now(), child_name_1="Zephyrine Quillfeather")
    db.dispose()

    status = run(["keys", "status"], env, tmp_path)
    old_id = re.search(r"sealing with key (\w+)", status.stdout).group(1)
    # a draft, a concern and its child's name; the child's name key
    assert status.returncode == 0 and f"key {old_id}: 3 stored values, 1 children's name keys" in status.stdout

    added = run(["keys", "new", "--file", str(key_file)], env, tmp_path)
    assert added.returncode == 0 and "before 1 older; run `concernbot keys rotate`" in added.stdout
    assert _keys(key_file)[1:] == first_key
    rotated = run(["keys", "rotate"], env, tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    new_id = re.search(r"under key (\w+)", rotated.stdout).group(1)
    assert "re-sealed 3 values and 1 children's name keys" in rotated.stdout and new_id != old_id
    assert f"key {old_id} now seals nothing: remove it from" in rotated.stdout

    key_file.write_text(_keys(key_file)[0] + "\n")  # the IT lead deletes the old key's line
    after = run(["keys", "status"], env, tmp_path)
    assert after.returncode == 0 and old_id not in after.stdout
    assert f"key {new_id}: 3 stored values, 1 children's name keys" in after.stdout

    key_file.rename(tmp_path / "misplaced.key")
    refused = run(["db", "upgrade"], env, tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip() == (f"concernbot: {database} holds encrypted records but its key file {key_file} "
                                      "is missing: put the key file back from where you keep it, or set "
                                      "ENCRYPTION_KEY_FILE to it.")
    assert not key_file.exists()


def test_a_new_key_is_printed_for_a_secret_store(tmp_path: Path) -> None:
    made = run(["keys", "new"], clean_env(), tmp_path)
    assert made.returncode == 0 and len(made.stdout.strip()) == 44 and "ENCRYPTION_KEY_FILE" in made.stderr
