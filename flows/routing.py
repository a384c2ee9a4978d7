"""Who receives a concern and who may open it, as a table (ROUTING.md, the seed policies, KCSIE Part 4).

`resolve()` turns the table into a decision for one concern, given who holds which role: whom to tell
(the DSL channel, direct messages to named roles, email to the LADO or an outside chair) and which roles
may open it. The person a concern is about is never told and can never open it, whatever roles they
hold; whoever would receive a concern about themselves is skipped, and it goes to the next in the chain
(headteacher → chair of governors → LADO).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from flows.concern import DSL_TEAM, Role, SubjectKind
from flows.escalation import LADDER


class Lado(StrEnum):
    NEVER = "never"
    IF_HARM = "if_harm"  # when the concern meets the harm threshold (an allegation, not low-level)
    ALWAYS = "always"


@dataclass(frozen=True)
class Route:
    channel: bool  # posted to the DSL team's private channel
    chain: tuple[Role, ...] = ()  # told by DM: the first role in the chain with a holder who may receive it
    lado: Lado = Lado.NEVER
    never: frozenset[Role] = frozenset()  # roles that must not see it, unless they are the case manager


ADULT_CHAIN = (Role.HEADTEACHER, Role.CHAIR_OF_GOVERNORS)

ROUTES: dict[SubjectKind, Route] = {
    SubjectKind.PUPIL: Route(channel=True),
    SubjectKind.PARENT_VISITOR: Route(channel=True),
    SubjectKind.NOBODY: Route(channel=True),
    SubjectKind.STAFF: Route(channel=False, chain=ADULT_CHAIN, lado=Lado.IF_HARM, never=DSL_TEAM),
    SubjectKind.VOLUNTEER: Route(channel=False, chain=ADULT_CHAIN, lado=Lado.IF_HARM, never=DSL_TEAM),
    SubjectKind.DSL_MEMBER: Route(channel=False, chain=ADULT_CHAIN, lado=Lado.IF_HARM, never=DSL_TEAM),
    SubjectKind.GOVERNOR: Route(channel=False, chain=ADULT_CHAIN, lado=Lado.IF_HARM, never=DSL_TEAM),
    SubjectKind.CHAIR: Route(channel=False, chain=(Role.HEADTEACHER,), lado=Lado.IF_HARM, never=DSL_TEAM),
    SubjectKind.HEADTEACHER: Route(channel=False, chain=(Role.CHAIR_OF_GOVERNORS,), lado=Lado.ALWAYS,
                                   never=DSL_TEAM | {Role.HEADTEACHER}),
}

# Immediate risk of harm to a child: everyone who can act is paged at once, before the record is finished.
IMMEDIATE_RISK_PAGED: frozenset[Role] = DSL_TEAM | {Role.HEADTEACHER}
# A personal-data breach also goes to the DPO and the head as Senior Information Risk Owner.
BREACH_ROLES: frozenset[Role] = frozenset({Role.DPO, Role.HEADTEACHER})


def route_for(subject: SubjectKind) -> Route:
    return ROUTES[subject]


def effective_subject(chosen: SubjectKind, subject_roles: frozenset[Role]) -> SubjectKind:
    """What the concern is really about, from the named person's roles, whatever option was chosen."""
    if chosen in (SubjectKind.PUPIL, SubjectKind.PARENT_VISITOR, SubjectKind.NOBODY):
        return chosen
    if Role.HEADTEACHER in subject_roles:
        return SubjectKind.HEADTEACHER
    if Role.CHAIR_OF_GOVERNORS in subject_roles:
        return SubjectKind.CHAIR
    if subject_roles & DSL_TEAM:
        return SubjectKind.DSL_MEMBER
    return chosen


@dataclass(frozen=True)
class Decision:
    """Where one concern goes. `case_roles` may open and act on it; `dm` are told by direct message."""

    subject: SubjectKind
    channel: bool
    case_roles: frozenset[Role]
    dm: tuple[str, ...] = ()
    email_chair: bool = False  # the chair is the case manager but is not in the workspace
    email_lado: bool = False
    subject_user_id: str | None = None
    nobody_inside: bool = False  # the chain ended with nobody in the workspace: only the LADO is told
    breach: bool = False
    holders_seen: Mapping[Role, tuple[str, ...]] = field(default_factory=dict, compare=False)


def resolve(subject: SubjectKind, holders: Mapping[Role, tuple[str | None, ...]], *, subject_user_id: str | None,
            meets_harm_threshold: bool, breach: bool = False) -> Decision:
    """Decide where a concern goes. `holders` maps each role to its holders' user ids (None: email only)."""
    route = route_for(subject)
    if route.channel:
        case_roles = DSL_TEAM | (BREACH_ROLES if breach else frozenset())
        dm = tuple(u for r in sorted(BREACH_ROLES) if breach for u in holders.get(r, ()) if u and u != subject_user_id)
        return Decision(subject, True, case_roles, dm=tuple(dict.fromkeys(dm)), subject_user_id=subject_user_id,
                        breach=breach)
    for role in route.chain:
        eligible = [u for u in holders.get(role, ()) if u != subject_user_id]
        in_workspace = tuple(u for u in eligible if u)
        if in_workspace:
            return Decision(subject, False, frozenset({role}), dm=in_workspace, subject_user_id=subject_user_id,
                            email_lado=_lado(route, meets_harm_threshold))
        if eligible:  # held by someone outside the workspace (a chair with only an email address)
            return Decision(subject, False, frozenset({role}), email_chair=role is Role.CHAIR_OF_GOVERNORS,
                            subject_user_id=subject_user_id, email_lado=_lado(route, meets_harm_threshold))
    # Nobody in the chain can receive it: it is still recorded, and the LADO is told.
    return Decision(subject, False, frozenset(), subject_user_id=subject_user_id, email_lado=True, nobody_inside=True)


def _lado(route: Route, meets_harm_threshold: bool) -> bool:
    return route.lado is Lado.ALWAYS or (route.lado is Lado.IF_HARM and meets_harm_threshold)


def handles(case_roles: frozenset[Role], roles: frozenset[Role]) -> bool:
    """Is this person one of the concern's case handlers (who can be assigned), escalation aside?"""
    return bool(case_roles & roles)


def may_open(case_roles: frozenset[Role], viewer_roles: frozenset[Role], escalation_level: int = 0, *,
             viewer_id: str | None = None, subject_user_id: str | None = None) -> bool:
    """The case handlers, and whoever a channel concern has been escalated to; never the subject."""
    if subject_user_id is not None and viewer_id == subject_user_id:
        return False
    if handles(case_roles, viewer_roles):
        return True
    if not case_roles & DSL_TEAM:  # escalation is the DSL team's ladder: it never widens an adult concern
        return False
    return any(r.notify & viewer_roles for r in LADDER[:escalation_level])
