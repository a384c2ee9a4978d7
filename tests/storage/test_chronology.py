"""A child's chronology: earlier concerns about the same child, whoever reported them."""

from datetime import timedelta

from flows.children import name_key
from flows.clock import ManualClock
from storage import access
from storage.db import Database
from tests.storage.helpers import DSL, TEAM, report, set_up_school


def test_names_are_folded_for_case_spacing_and_accents() -> None:
    assert name_key("  Zoë  O'Brien-Smith ") == name_key("zoe obrien smith") == "zoe obrien smith"
    assert name_key("Zoë") != name_key("Zara")


def test_the_record_lists_the_same_childs_other_concerns_newest_first(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    set_up_school(db, clock.now(), team="T0OTHER")
    first = report(db, clock.now(), child_name_1="Zoë Example", category="gaming")
    report(db, clock.advance(timedelta(days=1)), child_name_1="Someone Else")
    second = report(db, clock.advance(timedelta(days=1)), child_name_1="zoe  example", category="cyberbullying")
    report(db, clock.now(), team="T0OTHER", child_name_1="Zoë Example")  # another school's child
    latest = report(db, clock.advance(timedelta(days=1)), child_name_1="ZOË EXAMPLE", child_count="2",
                    child_name_2="Someone Else", year_group_2="year_5")
    with db.session() as session:
        record = access.open_record(session, TEAM, latest.id, DSL, clock.now())
    assert [[c.reference for c in child] for child in record.chronology] == [
        [second.reference, first.reference], ["OS-2026-0002"]]
    with db.session() as session:
        assert access.open_record(session, TEAM, first.id, DSL, clock.now()).chronology[0][0].reference \
            == latest.reference
