"""Escalation when nobody acknowledges a concern: first the deputy DSLs, then the headteacher.

Each rung falls due a further `minutes` of school time after the one before (default 30).
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.concern import DSL_TEAM, Role, Urgency

DEFAULT_ESCALATION_MINUTES = 30


@dataclass(frozen=True)
class Rung:
    level: int
    notify: frozenset[Role]


LADDER: tuple[Rung, ...] = (
    Rung(1, frozenset({Role.DEPUTY_DSL})),
    Rung(2, frozenset({Role.HEADTEACHER})),
)


def rung(level: int) -> Rung:
    return LADDER[level - 1]


def is_last(level: int) -> bool:
    return level >= len(LADDER)


# An urgent concern does not wait for the ladder: everyone who can act is told at once.
URGENT_PAGED: frozenset[Role] = DSL_TEAM | {Role.HEADTEACHER}


def pages_everyone(urgency: Urgency) -> bool:
    """Urgent and immediate-risk concerns go to the top of the ladder at once."""
    return urgency in (Urgency.URGENT, Urgency.IMMEDIATE)


TOP = len(LADDER)
