"""App Home for each role: what each person sees there, and that nobody sees what they must not."""

from __future__ import annotations

from datetime import timedelta

from bot.render.messages import ACKNOWLEDGE_ACTION
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, OWEN, PRIYA, TOM
from flows.clock import ManualClock
from tests.e2e.journey import ADULT_ACCOUNT, CHILD, STEPS, dsl_post, open_form, report, report_about_adult


def _home(slack: SlackSimulator, user: str) -> str:
    slack.ws.home.pop(user, None)
    assert slack.event({"type": "app_home_opened", "user": user, "tab": "home"}).status == 200
    return repr(wait_for(lambda: slack.ws.home.get(user), what=f"{user}'s App Home"))


def test_each_role_sees_its_own_part_and_nothing_more(slack: SlackSimulator, clock: ManualClock) -> None:
    report(slack, AMY)  # OS-2026-0001, about a pupil: the DSL team's
    post = dsl_post(slack, DSL_CHANNEL)
    report_about_adult(slack, PRIYA, "staff", {"adult_user": TOM})  # OS-2026-0002: the head's alone
    wait_for(lambda: any("Concern OS-2026-0002" in m.text for m in slack.ws.dms_to(HELEN)), what="the head's DM")
    clock.advance(timedelta(minutes=31))  # past the escalation wait, unacknowledged

    amy = _home(slack, AMY)
    assert "OS-2026-0001" in amy and "waiting to be acknowledged" in amy and "Report a concern" in amy
    assert "Concerns you handle" not in amy and "OS-2026-0002" not in amy and "Grooming" not in amy

    dan = _home(slack, DAN)
    assert "Concerns you handle" in dan and "OS-2026-0001" in dan and ":alarm_clock:" in dan
    assert "OS-2026-0002" not in dan and "1 open" in dan  # a concern about staff: never the DSL team's

    helen = _home(slack, HELEN)
    assert "OS-2026-0002" in helen and "OS-2026-0001" not in helen  # a pupil concern not escalated to her yet

    for outsider in (TOM, OWEN):  # Tom is who the staff concern is about; Owen handles none
        home = _home(slack, outsider)
        assert "OS-2026" not in home and "Concerns you handle" not in home
    assert "OS-2026-0002" in _home(slack, PRIYA) and "Concerns you handle" in _home(slack, PRIYA)

    slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: "acknowledged by <@U0DAN>" in _home(slack, AMY), what="Amy's home to show who acknowledged")
    everything = "".join(repr(v) for v in slack.ws.home.values())
    assert CHILD not in everything and ADULT_ACCOUNT[:25] not in everything


def test_unsent_reports_today_show_to_whoever_they_would_go_to(slack: SlackSimulator) -> None:
    open_form(slack, AMY)
    slack.submit_view(AMY, STEPS[0])
    slack.submit_view(AMY, STEPS[1])  # a pupil concern, grooming, not sent yet
    open_form(slack, OWEN)
    slack.submit_view(OWEN, {"subject": "staff"})
    slack.submit_view(OWEN, {"adult_user": TOM, "threshold": "harm"})  # about a member of staff
    dan = _home(slack, DAN)
    assert "Not sent yet today" in dan and "<@U0AMY> started one" in dan and "(Grooming)" in dan
    assert "<@U0OWEN>" not in dan
    helen = _home(slack, HELEN)
    assert "<@U0OWEN> started one" in helen and "<@U0AMY>" not in helen
    assert "Not sent yet" not in _home(slack, TOM)
