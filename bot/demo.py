"""`concernbot demo`: the real bot against the sandbox workspace, one concern from report to receipt."""

from __future__ import annotations

import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bot.render.aup import SIGN_ACTION
from bot.render.messages import ACKNOWLEDGE_ACTION, OPEN_RECORD_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, PRIYA, TEAM_ID, TOM, demo_workspace
from bot.sandbox.webapi import SandboxServer
from bot.school_setup import apply_school_file
from bot.settings import load_settings
from bot.yearly import publish_aup
from flows.aup import AupDocument
from flows.clock import ShiftedClock
from storage import audit
from storage.events import events_for
from storage.models import School
from storage.schools import school_day

DEMO_AUP = AupDocument(version="2026-27", text="I use the school's devices and accounts for school work. I never "
                                               "share passwords. I report any concern the same day, with "
                                               "/report-concern.", changes="Reporting is now done in Slack.")


CHILD = "Sam Taylor"  # the demo's pupil: never in a message, never in the database in the clear


def demo_school_file() -> Path:
    return Path(__file__).with_name("demo_school.yml")


def _when(runtime: Runtime) -> dict[str, str | None]:
    local_now = runtime.clock.now().astimezone(ZoneInfo(runtime.settings.school_timezone))
    today, earlier = local_now.date(), local_now - timedelta(minutes=20)
    return {"occurred_on": today.isoformat(), "occurred_time": earlier.strftime("%H:%M") if earlier.date() == today else None}


def _submit_all(sim: SlackSimulator, user: str, steps: list[dict]) -> None:
    for answers in steps:
        reply = sim.submit_view(user, answers).json()
        if "Recording it late" in repr(reply.get("view")):  # midnight passed mid-demo: say why it is late
            reply = sim.submit_view(user, {"late_reason": "The demo ran across midnight."}).json()
        if reply.get("response_action") == "errors":
            raise RuntimeError(f"the demo's answers were refused: {reply['errors']}")


def _fill_report(sim: SlackSimulator, runtime: Runtime) -> None:
    steps = [
        {"subject": "pupil", "child_count": "1"},
        {"category": "cyberbullying", "urgency": "urgent"},
        {"child_name_1": CHILD, "year_group_1": "year_4"},
        _when(runtime),
        {"disclosure": "People in my class made a group chat about me and keep posting photos of me with "
                       "horrible comments."},
        {"why_concerned": "Sam was upset and didn't want to go back into class after break.",
         "told": "Sam told me at break, by the library door.", "reporter_position": "Year 4 class teacher"},
        {"online_details": "A group chat on a messaging app; Sam didn't know the chat's name."},
        {},
    ]
    _submit_all(sim, AMY, steps)


def _adult_story(sim: SlackSimulator, runtime: Runtime) -> None:
    ws = sim.ws
    ws.note("Priya Shah has a low-level concern about a member of staff, Tom Reed.")
    sim.slash_command(PRIYA)
    wait_for(lambda: ws.current_view(PRIYA), what="Priya's form")
    posts_before = len(ws.messages_in(DSL_CHANNEL))
    _submit_all(sim, PRIYA, [
        {"subject": "staff"}, {"adult_user": TOM, "threshold": "low_level"},
        {"category": "social_networking", "urgency": "routine"}, _when(runtime), {},
        {"why_concerned": "He follows several Year 6 pupils on a personal social media account.",
         "reporter_position": "Deputy DSL"}, {}, {}])
    wait_for(lambda: any("low-level concern" in m.text for m in ws.dms_to(HELEN)), what="the head's confidential message")
    ws.note(f"#dsl-team: {len(ws.messages_in(DSL_CHANNEL)) - posts_before} new posts. Tom Reed: "
            f"{len(ws.dms_to(TOM))} messages from concernbot. Only the headteacher was told.")


def _next_school_morning(runtime: Runtime, clock: ShiftedClock, after_days: int) -> None:
    """Move the demo's clock to when the school is next open, `after_days` days on."""
    with runtime.db.session() as session:
        school = session.get_one(School, TEAM_ID)
        clock.set(school_day(school).next_opening(clock.now() + timedelta(days=after_days), school.timezone))


def _yearly_story(sim: SlackSimulator, runtime: Runtime) -> None:
    ws, clock = sim.ws, runtime.clock
    assert isinstance(clock, ShiftedClock)
    ws.note("The yearly cycle: Helen Brooks puts this year's staff Acceptable Use Policy in force.")
    for change in publish_aup(runtime.client, runtime.db, TEAM_ID, DEMO_AUP, HELEN, clock.now()):
        ws.note(f"concernbot: {change}.")
    _next_school_morning(runtime, clock, 0)
    runtime.sender.drain_all()
    request = wait_for(lambda: [m for m in ws.dms_to(AMY) if (m.metadata or {}).get("event_type") == "aup_request"],
                       what="Amy's request to sign")[0]
    sim.click_in_message(AMY, request, SIGN_ACTION)
    wait_for(lambda: request.edits, what="Amy's receipt")
    ws.note("A week later, at the start of the school day, the morning's calendar job runs:")
    _next_school_morning(runtime, clock, 7)
    runtime.yearly.run_school(TEAM_ID)
    runtime.sender.drain_all()
    wait_for(lambda: any("reminder" in m.text for m in ws.dms_to(TOM)), what="Tom's reminder")


def run_demo(out: TextIO, database_url: str | None = None) -> int:
    """Print the transcript of one concern. A fresh SQLite file unless `database_url` is given."""
    workdir = Path(tempfile.mkdtemp(prefix="concernbot-demo-"))
    ws = demo_workspace()
    sandbox = SandboxServer(ws).start()
    secret = secrets.token_hex(16)
    settings = load_settings(slack_bot_token=ws.bot_token, slack_signing_secret=secret, slack_app_token=None,
                             slack_api_url=sandbox.api_url,
                             database_url=database_url or f"sqlite:///{workdir / 'demo.db'}")
    # The demo's clock is the system's, moved on by the story to show the yearly cycle's weeks.
    runtime = Runtime(settings, clock=ShiftedClock(), calendar_jobs=False)
    try:
        runtime.build()
        changes = apply_school_file(runtime.client, TEAM_ID, runtime.db,
                                    demo_school_file(), runtime.clock.now())
        runtime.start(port=0)
        print("concernbot demo: the real bot (Bolt over HTTP at "
              f"{runtime.url}, database {settings.database_url}, scheduler running) "
              f"against a sandbox Slack workspace at {sandbox.url}.\n", file=out)
        print("School set-up from demo_school.yml:", file=out)
        for change in changes:
            print(f"  - {change}", file=out)
        for warning in runtime.check():
            print(f"  ! {warning}", file=out)
        print(file=out)
        concern_id = _story(SlackSimulator(sandbox, runtime.url, secret, settled=runtime.listeners_done), runtime)
        for line in ws.timeline:
            print(f"  {line}", file=out)
        print("\nThe record's event log (who did what, when; never the content):", file=out)
        with runtime.db.session() as session:
            for event in events_for(session, ws.team_id, concern_id):
                who = ws.users[event.actor_id].real_name if event.actor_id in ws.users else "concernbot"
                print(f"  {event.at:%H:%M:%S} {event.kind:<20} {who}", file=out)
        print("\nNothing in any message above names the child, the member of staff, or says what happened: "
              "those stay in the records, which only the people the policy names can open.", file=out)
        _at_rest(runtime, out)
        return 0
    finally:
        runtime.stop()
        sandbox.stop()


def _at_rest(runtime: Runtime, out: TextIO) -> None:
    """How the records sit in the database: sealed, and their event logs chained."""
    with runtime.db.engine.connect() as connection:  # as the database itself holds it, no key applied
        stored = " ".join(str(v) for v in connection.execute(text("SELECT details FROM concerns")).scalars())
    with runtime.db.session() as session:
        broken, (chains, events) = audit.verify(session), audit.counts(session)
    print(f"\nIn the database, the child's name appears {stored.count(CHILD)} times in the clear: every "
          f"record's text is sealed with key {runtime.db.keyring.current_id} ({runtime.db.keyring.source}).", file=out)
    print(f"`concernbot audit verify`: {len(broken)} broken of {chains} hash-chained event logs ({events} events).",
          file=out)


def _story(sim: SlackSimulator, runtime: Runtime) -> int:
    """Act out the journey; returns the concern's id (from the button on the DSL post)."""
    ws = sim.ws
    ws.note("Amy Clarke, a Year 4 teacher, is told something worrying by a pupil at break.")
    sim.slash_command(AMY)
    wait_for(lambda: ws.current_view(AMY), what="the report form to open")
    _fill_report(sim, runtime)
    post = wait_for(lambda: ws.messages_in(DSL_CHANNEL), what="the post in #dsl-team")[0]
    wait_for(lambda: ws.dms_to(AMY), what="Amy's receipt")
    sim.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: len(ws.dms_to(AMY)) >= 2 and post.edits >= 1, what="the acknowledgement to arrive")
    sim.click_in_message(DAN, post, OPEN_RECORD_ACTION)
    wait_for(lambda: ws.current_view(DAN), what="the record to open for Dan")
    ws.note("Tom Reed, the IT technician, is in #dsl-team but not on the safeguarding team.")
    sim.click_in_message(TOM, post, OPEN_RECORD_ACTION)
    wait_for(lambda: ws.current_view(TOM), what="Tom's answer")
    _adult_story(sim, runtime)
    _yearly_story(sim, runtime)
    return int(sim.find_action(post.blocks, OPEN_RECORD_ACTION)[1]["value"])
