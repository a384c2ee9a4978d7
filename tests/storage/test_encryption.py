"""Records sealed at rest: nothing typed is in the database in the clear, a child is found by a keyed hash,
keys rotate, and a missing or wrong key is a plain error at start, never a silent loss."""

from __future__ import annotations

import os
import stat
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import event, inspect, select, text
from sqlalchemy.exc import OperationalError

from flows.clock import ManualClock
from flows.handling import ActionAnswers, ActionKind
from storage.access import open_record
from storage.children import child_keys
from storage.concerns import acknowledge
from storage.crypto import KeyProblem, Keyring, new_key, parse_keys
from storage.db import Database
from storage.drafts import save_answers, start_draft
from storage.handling import record_action
from storage.keys import key_file_beside, keyring_for
from storage.migrate import alembic_config
from storage.outcomes import Result
from storage.models import Concern, ConcernAction, ConcernChild, Draft
from storage.keys import sealed_by_key as _sealed_by_key
from storage.rekey import rotate
from tests.e2e.test_backup import empty_database
from tests.storage.helpers import DSL, TEAM, report, set_up_school

NAME, NARRATIVE, NOTE = "Zephyrine Quillfeather", "Zephyrine showed me messages from Balthazar.", "Rang Mrs Ng."


def _fill(db: Database, clock: ManualClock) -> Concern:
    set_up_school(db, clock.now())
    first = report(db, clock.now(), child_name_1=NAME, why_concerned=NARRATIVE)
    clock.advance(timedelta(days=1))
    second = report(db, clock.now(), child_name_1="zephyrine  QUILLFEATHER")  # the same child, typed otherwise
    with db.session() as session:
        assert acknowledge(session, TEAM, first.id, DSL, clock.now()).result is Result.DONE
        done = record_action(session, TEAM, first.id, DSL, ActionAnswers(
            action=ActionKind.PARENTS_INFORMED, taken_on=clock.now().date(), note=NOTE), clock.now())
        assert done.result is Result.DONE
    return second


def _everything_in_the_clear(db: Database) -> str:
    """Every value of every column of every table, as the database itself holds it."""
    out = []
    with db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                out.extend(str(value) for value in row)
    return "\n".join(out)


def test_nothing_typed_is_stored_in_the_clear_and_all_of_it_reads_back(db: Database, clock: ManualClock) -> None:
    second = _fill(db, clock)
    stored = _everything_in_the_clear(db)
    for planted in ("Zephyrine", "QUILLFEATHER", "quillfeather", "Balthazar", "Mrs Ng", "stranger asked"):
        assert planted not in stored
    with db.session() as session:
        assert session.scalars(select(Concern.details).order_by(Concern.id)).first()["children"][0]["name"] == NAME
        assert session.scalars(select(ConcernAction.note)).one() == NOTE
        assert all(d.answers for d in session.scalars(select(Draft)))
        found = session.scalars(select(ConcernChild.concern_id).where(
            ConcernChild.name_key.in_(child_keys(session, "ZEPHYRINE quillfeather")))).all()
        record = open_record(session, TEAM, second.id, DSL, clock.now())
    assert len(found) == 2  # found by the keyed hash of the name, no record opened
    assert record is not None and [c.reference for c in record.chronology[0]] != []  # the chronology still links


def test_rotating_re_seals_everything_and_the_old_key_is_then_not_needed(db: Database, clock: ManualClock,
                                                                         migrated_url: str) -> None:
    db.check_keys()
    second = _fill(db, clock)
    old = db.keyring
    newer = Database(migrated_url, keys=Keyring([parse_keys(new_key(), "n")[0], *_raw(old)], "new then old"))
    try:
        newer.check_keys()  # the bot starts with both keys: the new one seals, the old one still opens
        done = rotate(newer, clock.now())
        assert done.retired == [old.current_id] and done.child_keys == 2
        assert sum(done.resealed.values()) >= 5  # two drafts, two concerns, one note
        assert set(sealed_by_key(newer)) == {newer.keyring.current_id}
        assert rotate(newer, clock.now()).resealed.total() == 0  # run again: nothing left to move
    finally:
        newer.dispose()
    only_new = Database(migrated_url, keys=Keyring([_raw(newer.keyring)[0]], "the new key alone"))
    try:
        only_new.check_keys()
        with only_new.session() as session:
            record = open_record(session, TEAM, second.id, DSL, clock.now())
        assert record is not None and record.answers.children[0].name == "zephyrine  QUILLFEATHER"
        assert len(record.chronology[0]) == 1  # the child's earlier concern, found under the new key
    finally:
        only_new.dispose()
    with pytest.raises(KeyProblem, match=f"sealed with key {newer.keyring.current_id}, which is not among"):
        db.check_keys()  # the old key alone can no longer start the bot


def sealed_by_key(db: Database) -> Counter[str]:
    with db.session() as session:
        return _sealed_by_key(session)


def _raw(ring: Keyring) -> list[bytes]:
    return [key for key in ring._keys]  # noqa: SLF001 - tests only: the keys a ring was made from


def test_a_sqlite_database_keeps_its_key_beside_it_and_refuses_to_start_without_it(
        tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENCRYPTION_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'school.db'}"
    first = Database(url)
    first.upgrade()
    first.check_keys()
    beside = key_file_beside(tmp_path / "school.db")
    assert stat.S_IMODE(beside.stat().st_mode) == 0o600
    _fill(first, clock)
    first.dispose()
    assert keyring_for(url).current_id == first.keyring.current_id  # the same key next time
    os.rename(beside, tmp_path / "elsewhere.key")
    with pytest.raises(KeyProblem, match="holds encrypted records but its key file .* is missing"):
        Database(url)
    assert not beside.exists()  # no new key was made over the records' heads
    elsewhere = Database(url, keys=keyring_for(url, key_file=tmp_path / "elsewhere.key"))
    elsewhere.check_keys()
    elsewhere.dispose()
    wrong = Database(url, keys=keyring_for(url, key=new_key()))
    with pytest.raises(KeyProblem, match="give the key they were sealed with"):
        wrong.check_keys()
    wrong.dispose()


def test_where_no_key_can_be_found_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENCRYPTION_KEY", raising=False)
    with pytest.raises(KeyProblem, match="PostgreSQL database needs an encryption key .* ENCRYPTION_KEY_FILE"):
        keyring_for("postgresql+psycopg://postgres@127.0.0.1/test")
    with pytest.raises(KeyProblem, match="names .*nowhere.key, which does not exist"):
        keyring_for("sqlite://", key_file=tmp_path / "nowhere.key")
    with pytest.raises(KeyProblem, match="not a concernbot key"):
        keyring_for("sqlite://", key="swordfish")


def test_records_stored_before_encryption_are_sealed_by_the_upgrade(clock: ManualClock, tmp_path: Path,
                                                                     migrated_url: str) -> None:
    with empty_database(migrated_url, tmp_path) as database:
        database.upgrade()
        _fill(database, clock)
        command.downgrade(alembic_config(database.engine), "0014")  # as the records were before 0015
        plain = _everything_in_the_clear(database)
        assert NAME in plain and "zephyrine quillfeather" in plain and NOTE in plain
        database.upgrade()
        assert "Zephyrine" not in _everything_in_the_clear(database) and NOTE not in _everything_in_the_clear(database)
        with database.session() as session:
            assert session.scalars(select(ConcernAction.note)).one() == NOTE
            assert len(session.scalars(select(ConcernChild.id).where(
                ConcernChild.name_key.in_(child_keys(session, NAME)))).all()) == 2


def test_an_old_key_still_sealing_new_records_is_not_retired(db: Database, clock: ManualClock,
                                                             migrated_url: str) -> None:
    """A bot started before the new key was added keeps sealing with the old one while the rotation runs."""
    db.check_keys()
    _fill(db, clock)
    newer = Database(migrated_url, keys=Keyring([parse_keys(new_key(), "n")[0], *_raw(db.keyring)], "new, old"))
    late = []

    def old_bot_writes(_conn, _cursor, statement: str, *_args: object) -> None:
        if "substr" in statement.lower() and not late:  # as the rotation counts what is left
            late.append(report(db, clock.now(), child_name_1="Written Late"))

    event.listen(newer.engine, "before_cursor_execute", old_bot_writes)
    try:
        done = rotate(newer, clock.now())
        assert late and done.retired == [] and done.still_used == [db.keyring.current_id]
        event.remove(newer.engine, "before_cursor_execute", old_bot_writes)
        again = rotate(newer, clock.now())  # every bot restarted with the new key: the rest moves, the old retires
        assert again.retired == [db.keyring.current_id] and set(sealed_by_key(newer)) == {newer.keyring.current_id}
    finally:
        newer.dispose()


def test_a_record_sealed_with_a_retired_key_still_stops_a_start_without_that_key(
        db: Database, clock: ManualClock, migrated_url: str) -> None:
    """The register says the old key is retired, but a bot that was never restarted sealed with it since."""
    db.check_keys()
    _fill(db, clock)
    new = parse_keys(new_key(), "n")[0]
    both = Database(migrated_url, keys=Keyring([new, *_raw(db.keyring)], "new, old"))
    assert rotate(both, clock.now()).retired == [db.keyring.current_id]
    both.dispose()
    report(db, clock.now(), child_name_1="Written With The Old Key")  # the old process, still running
    alone = Database(migrated_url, keys=Keyring([new], "the new key alone"))
    try:
        with pytest.raises(KeyProblem, match=f"sealed with key {db.keyring.current_id}"):
            alone.check_keys()
    finally:
        alone.dispose()


def test_a_step_saved_while_the_rotation_runs_is_never_overwritten(db: Database, clock: ManualClock,
                                                                    migrated_url: str) -> None:
    db.check_keys()
    set_up_school(db, clock.now())
    with db.session() as session:
        draft = start_draft(session, TEAM, "U0TEACHER", "report", "child", clock.now())
        save_answers(draft, {"child_name_1": "First Typed"}, clock.now())
        draft_id = draft.id
    newer = Database(migrated_url, keys=Keyring([parse_keys(new_key(), "n")[0], *_raw(db.keyring)], "new, old"))
    saved = []

    def reporter_saves_a_step(_conn, _cursor, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT DRAFTS.ID") and not saved:
            saved.append(True)  # between the rotation reading the draft and writing it back
            with db.session() as session:
                save_answers(session.get_one(Draft, draft_id), {"child_name_1": "Saved Meanwhile"}, clock.now())

    # Once the rotation has read the draft, before it writes (and so before it takes its turn to write,
    # storage.sqlite_writer), the reporter's next step is saved.
    event.listen(newer.engine, "after_cursor_execute", reporter_saves_a_step)
    try:
        try:
            rotate(newer, clock.now())
        except OperationalError:
            pass  # SQLite: the rotation stops (run it again); it must not win over the reporter
    finally:
        event.remove(newer.engine, "after_cursor_execute", reporter_saves_a_step)
        newer.dispose()
    assert saved
    with db.session() as session:
        assert session.get_one(Draft, draft_id).answers["child_name_1"] == "Saved Meanwhile"


def test_a_childs_chronology_spans_records_sealed_under_the_old_key_and_the_new(
        db: Database, clock: ManualClock, migrated_url: str) -> None:
    """After `keys new` and a restart, and before (or without) a rotation: old and new records still link."""
    set_up_school(db, clock.now())
    report(db, clock.now(), child_name_1=NAME)  # under the old key
    both = Database(migrated_url, keys=Keyring([parse_keys(new_key(), "n")[0], *_raw(db.keyring)], "new, old"))
    try:
        clock.advance(timedelta(days=1))
        later = report(both, clock.now(), child_name_1=NAME)  # the restarted bot, sealing with the new key
        with both.session() as session:
            record = open_record(session, TEAM, later.id, DSL, clock.now())
        assert record is not None and len(record.chronology[0]) == 1
    finally:
        both.dispose()
