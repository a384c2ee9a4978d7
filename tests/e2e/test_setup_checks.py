"""Set-up resolution against the sandbox, and the start-up check on the DSL channel."""

from pathlib import Path

import pytest

from bot.runtime import Runtime
from bot.sandbox.demo_workspace import DSL_CHANNEL, GENERAL
from bot.school_setup import SetupError, read_school_file, resolve
from bot.demo import demo_school_file
from flows.concern import Role


def test_people_resolve_by_email_and_an_outside_chair_keeps_only_an_email(bot: Runtime) -> None:
    setup = resolve(bot.client, read_school_file(demo_school_file()), "T0OAKFIELD")
    people = {role: person for role, person in setup.people}
    assert people[Role.DSL].user_id == "U0DAN" and people[Role.DSL].name == "Dan Hughes"
    assert people[Role.CHAIR_OF_GOVERNORS].user_id is None
    assert people[Role.CHAIR_OF_GOVERNORS].email == "chair.of.governors@oakfield-governors.example"
    assert (setup.dsl_channel_id, setup.dsl_channel_name) == (DSL_CHANNEL, "dsl-team")


@pytest.mark.parametrize(("old", "new", "says"), [
    ("dsl: dan.hughes@oakfield.example", "dsl: U0NOBODY", "people.dsl: there is no user U0NOBODY"),
    ('dsl_channel: "#dsl-team"', 'dsl_channel: "#safeguarding"', "can't see a channel called #safeguarding"),
    ('dsl_channel: "#dsl-team"', "dsl_channel: C0MISSING", "can't see channel C0MISSING"),
    ("name: Oakfield Primary School", "name: Oakfield Primary School\n  team_id: T0ELSEWHERE", "belongs to workspace T0OAKFIELD"),
])
def test_setup_names_what_slack_cannot_find(bot: Runtime, tmp_path: Path, old: str, new: str, says: str) -> None:
    path = tmp_path / "school.yml"
    path.write_text(demo_school_file().read_text().replace(old, new))
    with pytest.raises(SetupError, match=says):
        resolve(bot.client, read_school_file(path), "T0OAKFIELD")


def test_a_dsl_who_has_left_the_workspace_is_refused(bot: Runtime, sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sandbox.workspace.users["U0DAN"].deleted = True
    path = tmp_path / "school.yml"
    path.write_text(demo_school_file().read_text().replace("dsl: dan.hughes@oakfield.example", "dsl: U0DAN"))
    with pytest.raises(SetupError, match="people.dsl: U0DAN has left this workspace; name who holds the role now."):
        resolve(bot.client, read_school_file(path), "T0OAKFIELD")


def test_start_up_check_says_to_invite_the_bot(bot: Runtime, sandbox) -> None:  # type: ignore[no-untyped-def]
    assert bot.check() == []
    sandbox.workspace.channels[DSL_CHANNEL].members.discard(sandbox.workspace.bot_user_id)
    assert bot.check() == ["concernbot cannot see #dsl-team: invite @concernbot to #dsl-team "
                           "(type /invite @concernbot in the channel)."]
    with bot.db.session() as session:
        from storage.schools import get_school
        school = get_school(session, "T0OAKFIELD")
        school.dsl_channel_id, school.dsl_channel_name = GENERAL, "general"
    sandbox.workspace.channels[GENERAL].members.discard(sandbox.workspace.bot_user_id)
    assert bot.check() == ["concernbot is not in #general: invite @concernbot to #general "
                           "(type /invite @concernbot there)."]
