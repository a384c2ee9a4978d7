"""Who receives a concern and who may open it, as a table (ROUTING.md).

The foundation routes concerns about pupils; each further kind of subject is a new row here, with its
tests, and the storage layer's access policy reads this table rather than deciding for itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flows.concern import DSL_TEAM, Role, SubjectKind
from flows.escalation import LADDER


class Destination(StrEnum):
    DSL_CHANNEL = "dsl_channel"


@dataclass(frozen=True)
class Route:
    notify: tuple[Destination, ...]
    may_open: frozenset[Role]


ROUTES: dict[SubjectKind, Route] = {
    SubjectKind.PUPIL: Route(notify=(Destination.DSL_CHANNEL,), may_open=DSL_TEAM),
}


# Immediate risk of harm to a child: everyone who can act is paged at once, before the record is finished.
IMMEDIATE_RISK_PAGED: frozenset[Role] = DSL_TEAM | {Role.HEADTEACHER}


def route_for(subject: SubjectKind) -> Route:
    return ROUTES[subject]


def handles(subject: SubjectKind, roles: frozenset[Role]) -> bool:
    """Is this person one of the route's own handlers (who can be assigned), escalation aside?"""
    return bool(route_for(subject).may_open & roles)


def may_open(subject: SubjectKind, viewer_roles: frozenset[Role], escalation_level: int = 0) -> bool:
    """The route's own people always; and whoever a concern has been escalated to (the head, for a pupil)."""
    if handles(subject, viewer_roles):
        return True
    return any(r.notify & viewer_roles for r in LADDER[:escalation_level])
