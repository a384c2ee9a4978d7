"""An export's many events are hashed by `chain_hasher`, which must give exactly `chain_hash`'s digest: the
audit (storage.audit) re-hashes every event with `chain_hash`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from storage.events import GENESIS, chain_hash, chain_hasher

AT = datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(("team_id", "kind", "actor_id", "at", "data"), [
    ("T0SCHOOL", "exported", "U0DSL", AT, {}),
    ("T0SCHOOL", "record_viewed", None, AT.replace(tzinfo=None), {"b": 1, "a": [1, "x"]}),
    ("T\"é\\", "action_recorded", "U0Ñ\n", AT, {"note": None, "zoë": "O'Neill \u2028", "n": 1.5, "t": True}),
    ("T0SCHOOL", "exported", "U0DSL", AT, {"export": "child", "formats": ["pdf", "json"], "nested": {"z": 0, "a": {}}}),
])
def test_the_hasher_gives_chain_hashs_digest(team_id: str, kind: str, actor_id: str | None, at: datetime,
                                            data: Any) -> None:
    hashed = chain_hasher(team_id, kind, actor_id, at, data)
    for prev, concern_id, seq in ((GENESIS, 1, 1), ("ab" * 32, 123456789, 42), ("0f" * 32, 7, 100000)):
        assert hashed(prev, concern_id, seq) == chain_hash(prev, team_id, concern_id, seq, kind, actor_id, at, data)
    assert hashed(GENESIS, 1, 1) != hashed(GENESIS, 1, 2) != hashed(GENESIS, 2, 1)  # the place is in the digest
