"""What happened when someone tried to act on a concern: one vocabulary for every handling operation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.access import ConcernSummary


class Result(StrEnum):
    DONE = "done"
    ALREADY = "already"  # someone else got there first (acknowledge)
    REFUSED = "refused"
    NOT_OPEN = "not_open"  # not acknowledged yet, or closed
    NOT_FOUND = "not_found"
    INVALID_ASSIGNEE = "invalid_assignee"


@dataclass(frozen=True)
class Outcome:
    result: Result
    summary: ConcernSummary | None = None
