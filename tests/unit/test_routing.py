"""The routing table, cell by cell (ROUTING.md): who is told, who may open, who must never see it."""

import pytest

from flows.concern import DSL_TEAM, Role, SubjectKind
from flows.routing import ROUTES, Decision, effective_subject, may_open, resolve

DSL, DEPUTY, HEAD, CHAIR, GOVERNOR, DPO, STAFF = "U0DSL", "U0DEP", "U0HEAD", "U0CHAIR", "U0GOV", "U0DPO", "U0STAFF"
HOLDERS = {Role.DSL: (DSL,), Role.DEPUTY_DSL: (DEPUTY,), Role.HEADTEACHER: (HEAD,), Role.CHAIR_OF_GOVERNORS: (CHAIR,),
           Role.ONLINE_SAFETY_GOVERNOR: (GOVERNOR,), Role.DPO: (DPO,)}
ROLES_OF = {DSL: {Role.DSL}, DEPUTY: {Role.DEPUTY_DSL}, HEAD: {Role.HEADTEACHER}, CHAIR: {Role.CHAIR_OF_GOVERNORS},
            GOVERNOR: {Role.ONLINE_SAFETY_GOVERNOR}, DPO: {Role.DPO}, STAFF: set()}
# The subject of each kind, as the person a concern is about (None: nobody in particular).
SUBJECT_USER = {SubjectKind.PUPIL: None, SubjectKind.PARENT_VISITOR: None, SubjectKind.NOBODY: None,
                SubjectKind.STAFF: STAFF, SubjectKind.VOLUNTEER: None, SubjectKind.GOVERNOR: GOVERNOR,
                SubjectKind.DSL_MEMBER: DEPUTY, SubjectKind.CHAIR: CHAIR, SubjectKind.HEADTEACHER: HEAD}

# subject → (posted in the DSL channel, told by DM, may open, LADO emailed for an allegation, for low-level)
TABLE = {
    SubjectKind.PUPIL: (True, set(), {DSL, DEPUTY}, False, False),
    SubjectKind.PARENT_VISITOR: (True, set(), {DSL, DEPUTY}, False, False),
    SubjectKind.NOBODY: (True, set(), {DSL, DEPUTY}, False, False),
    SubjectKind.STAFF: (False, {HEAD}, {HEAD}, True, False),
    SubjectKind.VOLUNTEER: (False, {HEAD}, {HEAD}, True, False),
    SubjectKind.GOVERNOR: (False, {HEAD}, {HEAD}, True, False),
    SubjectKind.DSL_MEMBER: (False, {HEAD}, {HEAD}, True, False),
    SubjectKind.CHAIR: (False, {HEAD}, {HEAD}, True, False),
    SubjectKind.HEADTEACHER: (False, {CHAIR}, {CHAIR}, True, True),
}
PEOPLE = [DSL, DEPUTY, HEAD, CHAIR, GOVERNOR, DPO, STAFF]


def decide(kind: SubjectKind, harm: bool = True, holders=HOLDERS, breach: bool = False) -> Decision:  # type: ignore[no-untyped-def]
    return resolve(kind, holders, subject_user_id=SUBJECT_USER[kind], meets_harm_threshold=harm, breach=breach)


def opens(decision: Decision, person: str, level: int = 0) -> bool:
    return may_open(decision.case_roles, frozenset(ROLES_OF[person]), level, viewer_id=person,
                    subject_user_id=decision.subject_user_id)


def test_the_table_covers_every_kind_of_subject() -> None:
    assert set(TABLE) == set(SubjectKind) == set(ROUTES)


@pytest.mark.parametrize("kind", list(SubjectKind))
def test_who_is_told(kind: SubjectKind) -> None:
    channel, dm, _, lado_harm, lado_low = TABLE[kind]
    decision = decide(kind)
    assert (decision.channel, set(decision.dm), decision.email_lado) == (channel, dm, lado_harm)
    assert decide(kind, harm=False).email_lado is lado_low


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("kind", list(SubjectKind))
def test_who_may_open(kind: SubjectKind, person: str) -> None:
    decision = decide(kind)
    assert opens(decision, person) is (person in TABLE[kind][2])
    if person == SUBJECT_USER[kind]:
        assert not any(opens(decision, person, level) for level in (0, 1, 2))


@pytest.mark.parametrize("kind", [k for k in SubjectKind if k.is_adult])
def test_escalation_never_widens_a_concern_about_an_adult(kind: SubjectKind) -> None:
    decision = decide(kind)
    for person in (DSL, DEPUTY, GOVERNOR, DPO, STAFF):
        if person not in TABLE[kind][2]:
            assert not opens(decision, person, level=2)


def test_the_head_sees_a_pupil_concern_only_once_escalated_to_them() -> None:
    decision = decide(SubjectKind.PUPIL)
    assert [opens(decision, HEAD, level) for level in (0, 1, 2)] == [False, False, True]
    assert not opens(decision, GOVERNOR, 2) and not opens(decision, STAFF, 2)


def test_a_personal_data_breach_also_goes_to_the_dpo_and_the_head() -> None:
    decision = decide(SubjectKind.NOBODY, breach=True)
    assert decision.channel and set(decision.dm) == {DPO, HEAD} and decision.breach
    assert opens(decision, DPO) and opens(decision, HEAD) and not opens(decision, STAFF)


def test_the_person_concerned_is_never_told_whatever_their_roles() -> None:
    # The head who is also the DSL: a concern about them reaches neither them nor the rest of the team.
    assert effective_subject(SubjectKind.STAFF, frozenset({Role.HEADTEACHER, Role.DSL})) is SubjectKind.HEADTEACHER
    holders = {**HOLDERS, Role.DSL: (HEAD,)}
    decision = resolve(SubjectKind.HEADTEACHER, holders, subject_user_id=HEAD, meets_harm_threshold=False)
    assert set(decision.dm) == {CHAIR} and decision.email_lado
    assert not may_open(decision.case_roles, frozenset({Role.HEADTEACHER, Role.DSL}), 2, viewer_id=HEAD,
                        subject_user_id=HEAD)


@pytest.mark.parametrize(("chosen", "roles", "effective"), [
    (SubjectKind.STAFF, {Role.DEPUTY_DSL}, SubjectKind.DSL_MEMBER),
    (SubjectKind.STAFF, {Role.HEADTEACHER}, SubjectKind.HEADTEACHER),
    (SubjectKind.GOVERNOR, {Role.CHAIR_OF_GOVERNORS}, SubjectKind.CHAIR),
    (SubjectKind.VOLUNTEER, set(), SubjectKind.VOLUNTEER),
    (SubjectKind.PUPIL, {Role.HEADTEACHER}, SubjectKind.PUPIL),
])
def test_the_named_persons_roles_decide_the_route(chosen: SubjectKind, roles: set, effective: SubjectKind) -> None:
    assert effective_subject(chosen, frozenset(roles)) is effective


def test_an_outside_chair_is_emailed_and_nobody_in_the_chain_means_the_lado() -> None:
    outside = {**HOLDERS, Role.CHAIR_OF_GOVERNORS: (None,)}
    decision = decide(SubjectKind.HEADTEACHER, holders=outside)
    assert decision.email_chair and decision.email_lado and decision.dm == ()
    assert decision.case_roles == frozenset({Role.CHAIR_OF_GOVERNORS})
    no_chair = {r: h for r, h in HOLDERS.items() if r is not Role.CHAIR_OF_GOVERNORS}
    nobody = decide(SubjectKind.HEADTEACHER, holders=no_chair)
    assert nobody.nobody_inside and nobody.email_lado and nobody.dm == () and nobody.case_roles == frozenset()


def test_a_head_who_is_also_the_chair_skips_to_the_lado() -> None:
    holders = {**HOLDERS, Role.CHAIR_OF_GOVERNORS: (HEAD,)}
    decision = resolve(SubjectKind.HEADTEACHER, holders, subject_user_id=HEAD, meets_harm_threshold=True)
    assert decision.nobody_inside and decision.email_lado and HEAD not in decision.dm


def test_without_a_head_a_staff_concern_goes_to_the_chair() -> None:
    holders = {r: h for r, h in HOLDERS.items() if r is not Role.HEADTEACHER}
    decision = resolve(SubjectKind.STAFF, holders, subject_user_id=STAFF, meets_harm_threshold=False)
    assert set(decision.dm) == {CHAIR} and decision.case_roles == frozenset({Role.CHAIR_OF_GOVERNORS})


def test_the_dsl_team_never_handles_a_concern_about_an_adult() -> None:
    for kind in (k for k in SubjectKind if k.is_adult):
        assert not decide(kind).case_roles & DSL_TEAM
        assert ROUTES[kind].never >= DSL_TEAM
