"""Concerns about adults, end to end: only the case manager hears of it, the person concerned and the
DSL team never do, and the LADO or an outside chair gets an email with no names and no narrative."""

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.render.messages import ACKNOWLEDGE_ACTION, OPEN_RECORD_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, OWEN, PRIYA, TOM
from bot.school_setup import apply_school_file
from bot.demo import demo_school_file
from storage.db import Database
from storage.models import Concern
from tests.e2e.journey import (
    ADULT_ACCOUNT as ACCOUNT, STEPS, fill_steps, open_form, report_about_adult as _report_about_adult, shown, view_text,
)

def _everything_said(slack: SlackSimulator, mailbox) -> str:  # type: ignore[no-untyped-def]
    return slack.ws.all_visible_text() + "\n".join(m.as_string() for m in mailbox.box.messages)


def _refused(slack: SlackSimulator, user: str, message) -> bool:  # type: ignore[no-untyped-def]
    before = slack.ws.current_view(user)
    slack.click_in_message(user, message, OPEN_RECORD_ACTION)
    view = wait_for(lambda: slack.ws.current_view(user) is not before and slack.ws.current_view(user), what="answer")
    return "only available to the people the school's safeguarding policy names" in view_text(view.view)


def test_a_concern_about_staff_goes_only_to_the_head_and_the_lado(slack: SlackSimulator, db: Database,
                                                                  mailbox) -> None:  # type: ignore[no-untyped-def]
    reply = _report_about_adult(slack, AMY, "staff", {"adult_user": TOM, "adult_role": "IT technician"})
    assert "Recorded as OS-2026-0001" in view_text(reply["view"])
    assert "The person the school's policy names is being notified now" in view_text(reply["view"])
    assert "safeguarding team" not in view_text(reply["view"])  # the reporter is not told it went to the team
    alert = wait_for(lambda: slack.ws.dms_to(HELEN), what="the head's confidential DM")[0]
    assert "allegation of harm about a member of staff" in alert.text and "Tom" not in alert.text
    assert ACKNOWLEDGE_ACTION in repr(alert.blocks)
    email = wait_for(lambda: mailbox.box.messages, what="the LADO's email")[0]
    assert email["To"] == "lado@county-council.example"
    assert email["Subject"].strip() == "Oakfield Primary School: a concern needing your attention (OS-2026-0001)"
    body = email.get_content()
    assert "Please contact the headteacher through the school (the school office, 01234 567890)." in body
    # Nobody else hears of it: not the DSL channel, not the person concerned, not the DSL team.
    receipt = wait_for(lambda: slack.ws.dms_to(AMY), what="Amy's receipt")[0]
    assert "going only to the person the school's policy names" in receipt.text
    assert slack.ws.messages_in(DSL_CHANNEL) == [] and not slack.ws.dms_to(TOM) and not slack.ws.dms_to(DAN)
    for outsider in (TOM, DAN, PRIYA, OWEN):
        assert _refused(slack, outsider, alert)
    said = _everything_said(slack, mailbox)
    for secret in ("Tom Reed", "Mr Reed", "Year 6 pupil", "IT technician", "Amy Clarke"):
        assert secret not in said, secret
    slack.click_in_message(HELEN, alert, ACKNOWLEDGE_ACTION)
    wait_for(lambda: "Acknowledged by <@U0HELEN>" in alert.text, what="the head's DM to update")
    slack.click_in_message(HELEN, alert, OPEN_RECORD_ACTION)
    record = view_text(wait_for(lambda: slack.ws.current_view(HELEN), what="the record for the head").view)
    assert "*About a member of staff* · An allegation of harm" in record and "In the workspace: <@U0TOM>" in record
    assert "IT technician" in record and ACCOUNT in record
    with db.session() as session:
        concern = session.scalars(select(Concern)).one()
        assert (concern.subject_kind, concern.subject_user_id, concern.case_roles) == ("staff", TOM, ["headteacher"])


def test_a_concern_about_the_head_goes_to_the_chair_and_lado_and_the_head_never_knows(
        slack: SlackSimulator, bot: Runtime, mailbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Even when the head is also on the DSL team.
    school = tmp_path / "school.yml"
    school.write_text(demo_school_file().read_text().replace(
        "    - priya.shah@oakfield.example", "    - priya.shah@oakfield.example\n    - helen.brooks@oakfield.example"))
    apply_school_file(bot.client, "T0OAKFIELD", bot.db, school, bot.clock.now())
    _report_about_adult(slack, AMY, "headteacher", {})
    emails = wait_for(lambda: len(mailbox.box.messages) == 2 and mailbox.box.messages, what="two emails")
    assert sorted(m["To"] for m in emails) == ["chair.of.governors@oakfield-governors.example",
                                               "lado@county-council.example"]
    chair = next(m for m in emails if m["To"].startswith("chair"))
    assert "Please contact the chair of governors through the school" in chair.get_content()
    wait_for(lambda: slack.ws.dms_to(AMY), what="Amy's receipt")
    assert not slack.ws.dms_to(HELEN) and slack.ws.messages_in(DSL_CHANNEL) == []
    slack.slash_command(HELEN, "/concerns", "status:all")
    shown = view_text(wait_for(lambda: slack.ws.current_view(HELEN), what="Helen's incident log").view)
    assert "OS-2026-0001" not in shown and "No concerns match" in shown
    assert "Helen" not in _everything_said(slack, mailbox)
    lado = next(m for m in emails if m["To"].startswith("lado")).get_content()
    assert "headteacher" not in lado and "Please contact the chair of governors through the school" in lado


def test_a_concern_about_a_dsl_goes_to_the_head_and_never_to_the_dsl_team(slack: SlackSimulator, mailbox) -> None:  # type: ignore[no-untyped-def]
    _report_about_adult(slack, AMY, "staff", {"adult_user": DAN}, threshold="low_level")
    alert = wait_for(lambda: slack.ws.dms_to(HELEN), what="the head's DM")[0]
    assert "a low-level concern about a member of the DSL team" in alert.text
    assert slack.ws.messages_in(DSL_CHANNEL) == [] and mailbox.box.messages == []  # low-level: no LADO email
    for dsl in (DAN, PRIYA):
        assert _refused(slack, dsl, alert)
        slack.slash_command(dsl, "/concerns", "status:all")
        assert "OS-2026-0001" not in view_text(wait_for(lambda u=dsl: slack.ws.current_view(u), what="log").view)


def test_a_personal_data_breach_goes_to_the_dsl_channel_and_the_head_as_siro(slack: SlackSimulator) -> None:
    open_form(slack, AMY)
    fill_steps(slack, AMY, [{"subject": "nobody"}, {"personal_data": "yes"},
                            {"category": "data_device_loss", "urgency": "urgent"}, STEPS[3],
                            {"disclosure": None}, {"why_concerned": "A laptop with pupil records was left on a train.",
                                                   "reporter_position": "Office manager"}, {}])
    slack.submit_view(AMY, {})
    wait_for(lambda: slack.ws.messages_in(DSL_CHANNEL), what="the DSL channel post")
    breach = wait_for(lambda: [m for m in slack.ws.dms_to(HELEN) if "OS-2026-0001" in m.text], what="the SIRO's DM")
    assert breach and "laptop" not in breach[0].text.lower()
    assert "a possible personal-data breach about a technical or data matter" in breach[0].text
    assert "The ICO must be told within 72 hours" in repr(breach[0].blocks)


def test_an_email_that_cannot_be_sent_is_retried_and_the_case_manager_told(
        slack: SlackSimulator, bot: Runtime, mailbox, clock) -> None:  # type: ignore[no-untyped-def]
    mailbox.stop()  # the mail server is down
    _report_about_adult(slack, AMY, "staff", {"adult_user": TOM})
    wait_for(lambda: slack.ws.dms_to(HELEN), what="the head's DM")
    def warned() -> list:  # type: ignore[type-arg]
        return [m for m in slack.ws.dms_to(HELEN) if "has not gone through" in m.text]

    for _ in range(8):  # each failure backs off; the clock moves past it and the sender tries again
        clock.advance(timedelta(minutes=10))
        bot.sender.drain()
        if warned():
            break
    warning = warned()[0]
    assert "telling the LADO about concern OS-2026-0001" in warning.text and "phone" in warning.text
    assert mailbox.box.messages == []
    mailbox.start()  # back up: the same email goes, once
    clock.advance(timedelta(minutes=10))
    bot.sender.drain()
    assert [m["To"] for m in wait_for(lambda: mailbox.box.messages, what="the email")] == ["lado@county-council.example"]
    clock.advance(timedelta(hours=1))
    bot.sender.drain()
    assert len(mailbox.box.messages) == 1
    assert len([m for m in slack.ws.dms_to(HELEN) if "has not gone through" in m.text]) == 1


def test_the_lado_clock_reminds_the_head_and_the_record_shows_when_it_was_met(
        slack: SlackSimulator, bot: Runtime, clock, mailbox) -> None:  # type: ignore[no-untyped-def]
    from bot.render.messages import RECORD_ACTION_ACTION
    _report_about_adult(slack, AMY, "staff", {"adult_user": TOM})
    alert = wait_for(lambda: slack.ws.dms_to(HELEN), what="the head's DM")[0]
    wait_for(lambda: mailbox.box.messages, what="the LADO's email, before time moves on")
    bot.sender.drain_all()  # waits for the sender's batch to commit (the email is logged as it is sent)
    clock.advance(timedelta(hours=21, minutes=1))  # 3 hours before 10:00 tomorrow
    assert bot.school_day.run() == 1
    reminder = wait_for(lambda: [m for m in slack.ws.dms_to(HELEN) if "one working day" in m.text], what="reminder")[0]
    assert "is due by 25 Nov 2026, 10:00" in reminder.text and "Tom" not in reminder.text
    slack.click_in_message(HELEN, alert, ACKNOWLEDGE_ACTION)
    wait_for(lambda: RECORD_ACTION_ACTION in repr(alert.blocks), what="the DM to offer Record action")
    slack.click_in_message(HELEN, alert, OPEN_RECORD_ACTION)
    record = view_text(wait_for(lambda: slack.ws.current_view(HELEN), what="record").view)
    assert "The LADO must be told within one working day: *due by 25 Nov 2026, 10:00*." in record
    assert "Emailed the LADO (no names, no details) at 24 Nov 2026, 10:00." in record
    slack.ws.current_view(HELEN).closed = True
    slack.click_in_message(HELEN, alert, RECORD_ACTION_ACTION)
    wait_for(lambda: "Record of action" in repr(shown(slack, HELEN)), what="the action form")
    assert slack.submit_view(HELEN, {"action": "lado", "note": "Spoke to the LADO; advised to wait."}).body == ""
    clock.advance(timedelta(hours=4))
    assert bot.school_day.run() == 0  # no overdue reminder once the referral is recorded
    slack.click_in_message(HELEN, alert, OPEN_RECORD_ACTION)
    record = view_text(wait_for(lambda: "done at" in view_text(shown(slack, HELEN)) and
                                slack.ws.current_view(HELEN), what="the record with the clock met").view)
    assert "The LADO must be told within one working day: done at 25 Nov 2026, 07:01." in record


def test_an_outside_chair_gets_deadline_reminders_and_failure_notices_by_email(
        slack: SlackSimulator, bot: Runtime, clock, mailbox) -> None:  # type: ignore[no-untyped-def]
    _report_about_adult(slack, AMY, "headteacher", {})
    wait_for(lambda: len(mailbox.box.messages) == 2, what="the chair's and the LADO's emails")
    bot.sender.drain_all()  # waits for the sender's batch to commit
    clock.advance(timedelta(hours=21, minutes=1))
    assert bot.school_day.run() == 1
    bot.sender.drain()
    reminder = wait_for(lambda: [m for m in mailbox.box.messages if "action needed" in m["Subject"]], what="reminder")[0]
    assert reminder["To"] == "chair.of.governors@oakfield-governors.example"
    body = reminder.get_content()
    assert "within one working day; that is due by 25 Nov 2026, 10:00" in body
    assert "Helen" not in body and "Year 6" not in body and not slack.ws.dms_to(HELEN)
