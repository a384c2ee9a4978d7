"""References, routing, clocks: the small pure pieces."""

from datetime import datetime, timedelta, timezone

import pytest

from flows.clock import ManualClock, SystemClock
from flows.references import format_reference, parse_reference


def test_references_are_zero_padded_and_parse_back() -> None:
    assert format_reference(2026, 1) == "OS-2026-0001"
    assert format_reference(2026, 12345) == "OS-2026-12345"
    assert parse_reference(" os-2026-0042 ") == ("OS", 2026, 42)
    with pytest.raises(ValueError, match="not a concern reference"):
        parse_reference("2026-42")
    with pytest.raises(ValueError):
        format_reference(2026, 0)


def test_manual_clock_moves_only_when_told() -> None:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    clock = ManualClock(start)
    assert clock.now() == start
    assert clock.advance(timedelta(minutes=30)) == start + timedelta(minutes=30)
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 1, 1))
    assert SystemClock().now().tzinfo is timezone.utc
