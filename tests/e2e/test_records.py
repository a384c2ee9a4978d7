"""`concernbot audit verify` and `concernbot retention`, against records the running bot made through Slack."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text

from bot.cli_records import release_hold, retention_pass, set_hold, verify_chains
from bot.render.messages import ACKNOWLEDGE_ACTION, OPEN_RECORD_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, TEAM_ID
from flows.clock import ManualClock
from storage.db import Database
from storage.models import Base, Concern, ConcernEvent, Notification
from storage.retention import RetentionLog, dependent_tables
from tests.conftest import LONDON
from tests.e2e.journey import STEPS, dsl_post, report
from tests.e2e.yearly_helpers import settle

RECEPTION = [STEPS[0], STEPS[1], {**STEPS[2], "year_group_1": "reception"}, *STEPS[3:]]
# Year 5 reported in November 2026 (no date of birth): kept until 31 August 2042, their 25th birthday at the latest.
AFTER_YEAR_5 = datetime(2042, 9, 1, 9, 0, tzinfo=LONDON)


def _acknowledged_and_opened(slack: SlackSimulator, index: int) -> None:
    post = dsl_post(slack, DSL_CHANNEL, index)
    slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: OPEN_RECORD_ACTION in repr(post.blocks), what="the post to offer the record")
    before = slack.ws.current_view(DAN)
    slack.click_in_message(DAN, post, OPEN_RECORD_ACTION)
    wait_for(lambda: slack.ws.current_view(DAN) is not before, what="the record to open")


def _concerns(db: Database) -> list[Concern]:
    with db.session() as session:
        return list(session.scalars(select(Concern).order_by(Concern.id)))


def _everything(db: Database) -> dict[str, list[tuple]]:
    with db.engine.connect() as connection:
        return {t.name: sorted(map(tuple, connection.execute(select(t))), key=repr) for t in Base.metadata.sorted_tables}


def _hanging_on(db: Database, concern_id: int) -> dict[str, int]:
    with db.engine.connect() as connection:
        return {t.name: connection.scalar(select(func.count()).select_from(t).where(fk.parent == concern_id))
                for t in dependent_tables() for fk in t.foreign_keys if fk.column.table is Concern.__table__}


def test_the_chains_the_bot_wrote_verify_and_an_edit_behind_its_back_is_named(bot: Runtime,
                                                                                slack: SlackSimulator) -> None:
    report(slack, AMY)
    _acknowledged_and_opened(slack, 0)
    settle(bot)
    with bot.db.session() as session:
        events = session.scalar(select(func.count()).select_from(ConcernEvent))
        kinds = set(session.scalars(select(ConcernEvent.kind)))
    assert {"reported", "notified", "acknowledged", "record_viewed"} <= kinds
    out = io.StringIO()
    assert verify_chains(bot.db, None, out) == 0
    assert out.getvalue() == f"all 1 chains intact ({events} events)\n"
    with bot.db.engine.begin() as connection:  # someone with the database's password tidies the log
        connection.execute(text("UPDATE concern_events SET actor_id = 'U0TOM' WHERE kind = 'record_viewed'"))
    out = io.StringIO()
    assert verify_chains(bot.db, TEAM_ID, out) == 1
    reference = _concerns(bot.db)[0].reference
    line, = out.getvalue().splitlines()
    assert line.startswith(f"{reference} ({TEAM_ID}): chain broken: event ") and " edited: " in line


def test_retention_lists_then_deletes_what_is_due_and_keeps_what_is_held_or_not_due(
        bot: Runtime, slack: SlackSimulator) -> None:
    for steps in (STEPS, STEPS, RECEPTION):  # due, due but to be held, not due for years yet
        report(slack, AMY, steps)
    _acknowledged_and_opened(slack, 0)
    settle(bot)
    due, held, young = _concerns(bot.db)
    assert (due.retain_until, held.retain_until, young.retain_until) == (
        datetime(2042, 8, 31).date(), datetime(2042, 8, 31).date(), datetime(2047, 8, 31).date())
    later = ManualClock(AFTER_YEAR_5)

    before, out = _everything(bot.db), io.StringIO()
    assert retention_pass(bot.db, later, None, True, out) == 0
    assert out.getvalue().splitlines() == [
        "a dry run: nothing is deleted",
        f"due {due.reference} ({TEAM_ID}, about a child, kept until 2042-08-31)",
        f"due {held.reference} ({TEAM_ID}, about a child, kept until 2042-08-31)",
        "2 would be deleted, 0 kept under a legal hold"]
    assert _everything(bot.db) == before  # the dry run changed nothing

    assert set_hold(bot.db, later, held.reference, None, DAN, "Civil claim 2042/17", io.StringIO()) == 0
    hanging = _hanging_on(bot.db, due.id)
    assert all(hanging[t] for t in ("concern_events", "status_changes", "concern_children", "notifications",
                                    "outbox", "drafts"))
    out = io.StringIO()
    assert retention_pass(bot.db, later, TEAM_ID, False, out) == 0
    lines = out.getvalue().splitlines()
    assert lines[:2] == [f"deleted {due.reference} ({TEAM_ID}, about a child, kept until 2042-08-31)",
                         f"kept {held.reference} ({TEAM_ID}, about a child, kept until 2042-08-31): under a legal hold"]
    assert lines[2].startswith("run ") and lines[2].endswith(": 1 deleted, 1 kept")
    assert set(_hanging_on(bot.db, due.id).values()) == {0}
    assert [c.reference for c in _concerns(bot.db)] == [held.reference, young.reference]
    with bot.db.session() as session:
        entry, = session.scalars(select(RetentionLog))
        assert (entry.team_id, entry.reference, entry.kind, str(entry.retain_until), entry.run_id) == (
            TEAM_ID, due.reference, "child", "2042-08-31", lines[2].split()[1].rstrip(":"))
        assert session.scalar(select(func.count()).select_from(Notification)) == 2  # the others' posts
    out = io.StringIO()
    assert verify_chains(bot.db, None, out) == 0 and out.getvalue().startswith("all 2 chains intact")

    assert release_hold(bot.db, later, held.reference, TEAM_ID, DAN, io.StringIO()) == 0
    out = io.StringIO()
    retention_pass(bot.db, later, None, False, out)
    assert out.getvalue().splitlines()[0] == f"deleted {held.reference} ({TEAM_ID}, about a child, kept until 2042-08-31)"
    assert [c.reference for c in _concerns(bot.db)] == [young.reference]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_the_commands_as_an_operator_runs_them(bot: Runtime, slack: SlackSimulator, slack_env: dict[str, str],
                                               tmp_path: Path) -> None:
    report(slack, AMY)
    settle(bot)
    reference = _concerns(bot.db)[0].reference
    intact = _run(["audit", "verify"], slack_env, tmp_path)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith("all 1 chains intact (")
    nothing = _run(["retention", "--dry-run"], slack_env, tmp_path)
    assert nothing.returncode == 0 and nothing.stdout.splitlines() == [
        "a dry run: nothing is deleted", "no record is past its retention date"]

    held = _run(["retention", "hold", reference, "--reason", "Civil claim 2042/17", "--by", DAN], slack_env, tmp_path)
    assert held.returncode == 0, held.stderr
    assert held.stdout.strip() == (f"{reference} ({TEAM_ID}) is under a legal hold, set by {DAN}: it will not be "
                                   "deleted until the hold is released")
    released = _run(["retention", "release", reference, "--by", DAN], slack_env, tmp_path)
    assert released.returncode == 0 and "legal hold released by U0DAN; it is kept until 2042-08-31" in released.stdout
    for args, says in [
        (["retention", "hold", reference, "--reason", "x", "--by", "Dan Hughes"],
         "concernbot: --by 'Dan Hughes' is not a Slack user id: give the id of who decided it, like U012AB3CD."),
        (["retention", "release", "OS-1999-0001", "--by", DAN],
         "concernbot: there is no concern OS-1999-0001: check the reference."),
        (["audit", "verify", "--team", "T0NOWHERE"],
         "concernbot: there is no school T0NOWHERE in this database: check --team."),
        (["retention", "policy", "--staff-years", "5"],
         "concernbot: --staff-years must be from 10 to 60: allegations about staff are kept at least 10 years."),
    ]:
        refused = _run(args, slack_env, tmp_path)
        assert (refused.returncode, refused.stderr.strip()) == (2, says)

    longer = _run(["retention", "policy", "--other-years", "12"], slack_env, tmp_path)
    assert longer.stdout.strip() == f"{TEAM_ID}: retention for other records: 7 years -> 12 years; 0 records dated again"
    shown = _run(["retention", "policy"], slack_env, tmp_path)
    assert shown.stdout.strip() == (f"{TEAM_ID}: about a child until their 25th birthday; allegation about staff: "
                                    "10 years; other: 12 years")

    with bot.db.engine.begin() as connection:
        connection.execute(text("DELETE FROM concern_events WHERE seq = 2"))  # a row removed behind the bot's back
    broken = _run(["audit", "verify"], slack_env, tmp_path)
    assert broken.returncode == 1
    assert broken.stdout.strip() == f"{reference} ({TEAM_ID}): chain broken: event 2 missing: event 2 gone"

    # Sixteen years on, as far as the record's date goes (the command reads the system clock).
    with bot.db.engine.begin() as connection:
        connection.execute(text("UPDATE concerns SET retain_until = '2020-01-01'"))
    listed = _run(["retention", "--dry-run", "--team", TEAM_ID], slack_env, tmp_path)
    assert f"due {reference} ({TEAM_ID}, about a child, kept until 2020-01-01)" in listed.stdout.splitlines()
    assert len(_concerns(bot.db)) == 1
    done = _run(["retention"], slack_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"deleted {reference} ({TEAM_ID}, about a child, kept until 2020-01-01)"
    assert _concerns(bot.db) == []
    after = _run(["audit", "verify"], slack_env, tmp_path)
    assert (after.returncode, after.stdout.strip()) == (0, "all 0 chains intact (0 events)")
