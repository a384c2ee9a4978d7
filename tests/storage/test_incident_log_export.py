"""The incident-log CSV, cell by cell: what the DSL team's export shows of each concern it may handle."""

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from bot.export import INCIDENT_COLUMNS, export_incidents
from flows.clock import ManualClock
from flows.handling import ActionAnswers, ActionKind
from flows.incident_log import Filters
from storage import incident_log
from storage.audit import verify
from storage.concerns import acknowledge
from storage.db import Database
from storage.events import events_for
from storage.handling import close, record_action
from tests.storage.helpers import DEPUTY, DSL, TEAM, report, set_up_school


def _log(db: Database, clock: ManualClock) -> dict[str, int]:
    set_up_school(db, clock.now())
    closed = report(db, clock.now(), category="grooming", urgency="urgent", child_count="2",
                    child_name_2="Sam Zoë O'Neill", year_group_2="reception")
    with db.session() as session:
        acknowledge(session, TEAM, closed.id, DSL, clock.advance(timedelta(minutes=7)))
        for kind in (ActionKind.PARENTS_INFORMED, ActionKind.POLICE, ActionKind.SOCIAL_CARE):
            record_action(session, TEAM, closed.id, DEPUTY, ActionAnswers(action=kind, taken_on=date(2026, 11, 24),
                                                                          note="Spoke to mum, 24/11."), clock.now())
        close(session, TEAM, closed.id, DSL, "Safety plan agreed; police, no further action.",
              clock.advance(timedelta(days=2)), date(2026, 11, 26))
    late = report(db, clock.advance(timedelta(hours=1)), occurred_on="2026-11-20", late_reason="Away on a trip.")
    about_staff = report(db, clock.now(), subject="staff", adult_user="U0SUBJECT", threshold="harm",
                         child_count=None)
    return {"closed": closed.id, "late": late.id, "about_staff": about_staff.id}


def test_the_csv_shows_each_concern_the_team_may_handle(db: Database, clock: ManualClock, tmp_path: Path) -> None:
    ids = _log(db, clock)
    out = tmp_path / "log.csv"
    assert export_incidents(db, clock, TEAM, DSL, Filters(status="all"), out) == 2
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert rows == [INCIDENT_COLUMNS, [
        "OS-2026-0002", "2026-11-26 11:07", "2026-11-20", "True", "Gaming", "Routine", "new",
        "Robin Example (Year 5)", "U0TEACHER", "", "", "", "0", "", "", "", "False", "", "",
    ], [
        "OS-2026-0001", "2026-11-24 10:00", "2026-11-24", "False", "Grooming", "Urgent (today)", "closed",
        "Robin Example (Year 5); Sam Zoë O'Neill (Reception)", "U0TEACHER", "U0DSL", "2026-11-24 10:07", "7.0",
        "2", "", "Parents / carers informed; Reported to the police; Referred to children's social care",
        "Reported to the police; Referred to children's social care", "False", "2026-11-26 10:07",
        "Safety plan agreed; police, no further action.",
    ]]
    with db.session() as session:  # each exported concern has the export on its chain; the one about staff not
        assert [e.kind for e in events_for(session, TEAM, ids["closed"])][-1] == "exported"
        assert [e.kind for e in events_for(session, TEAM, ids["late"])][-1] == "exported"
        assert "exported" not in [e.kind for e in events_for(session, TEAM, ids["about_staff"])]
        assert verify(session) == []


def test_an_export_larger_than_a_chunk_has_every_concern_once(db: Database, clock: ManualClock, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(incident_log, "EXPORT_CHUNK", 2)
    ids = _log(db, clock)
    for _ in range(3):
        report(db, clock.now())  # the same instant: newest recorded first, export after export
    out = tmp_path / "log.csv"
    assert export_incidents(db, clock, TEAM, DSL, Filters(status="all"), out) == 5
    references = [row[0] for row in csv.reader(out.open(newline="", encoding="utf-8"))][1:]
    assert references == ["OS-2026-0006", "OS-2026-0005", "OS-2026-0004", "OS-2026-0002", "OS-2026-0001"]
    assert export_incidents(db, clock, TEAM, DSL, Filters(status="all"), out) == 5
    with db.session() as session:
        assert [e.kind for e in events_for(session, TEAM, ids["closed"])].count("exported") == 2
        assert verify(session) == []


def test_an_export_that_fails_half_way_leaves_no_file_and_no_record(db: Database, clock: ManualClock,
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _log(db, clock)
    written: list[object] = []

    def fails_on_the_second(row: incident_log.IncidentRow, zone: object) -> list[object]:
        if written:
            raise OSError("No space left on device")
        written.append(row)
        return ["a row"]

    monkeypatch.setattr("bot.export._incident_row", fails_on_the_second)
    out = tmp_path / "log.csv"
    with pytest.raises(OSError, match="No space left"):
        export_incidents(db, clock, TEAM, DSL, Filters(status="all"), out)
    assert written and not out.exists()
    with db.session() as session:  # rolled back: the export is not on record, the chains as they were
        assert "exported" not in [e.kind for e in events_for(session, TEAM, ids["closed"])]
        assert verify(session) == []


def test_an_export_whose_commit_fails_leaves_no_file(db: Database, clock: ManualClock, tmp_path: Path) -> None:
    ids = _log(db, clock)

    def lost(conn: object) -> None:  # the connection goes as the export commits its record
        raise OSError("server closed the connection unexpectedly")

    event.listen(db.engine, "commit", lost)
    out = tmp_path / "log.csv"
    try:
        with pytest.raises(OSError, match="closed the connection"):
            export_incidents(db, clock, TEAM, DSL, Filters(status="all"), out)
    finally:
        event.remove(db.engine, "commit", lost)
    assert not out.exists()  # the whole log was written, but it is not on record: it is not kept either
    with db.session() as session:
        assert "exported" not in [e.kind for e in events_for(session, TEAM, ids["late"])]
