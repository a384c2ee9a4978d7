"""The first journey, end to end over HTTP: report, notify, acknowledge, open the record."""

import copy

from sqlalchemy import select

from bot.render.messages import ACKNOWLEDGE_ACTION, OPEN_RECORD_ACTION
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, PRIYA, TOM
from storage.db import Database
from storage.events import events_for
from storage.models import Concern
from tests.e2e.journey import ACCOUNT, CHILD, dsl_post, report, view_text


def test_a_concern_goes_from_report_to_acknowledged_receipt(slack: SlackSimulator, db: Database) -> None:
    ws = slack.ws
    reply = report(slack, AMY).json()
    assert "Recorded as OS-2026-0001" in view_text(reply["view"])

    post = dsl_post(slack, DSL_CHANNEL)
    assert "OS-2026-0001" in post.text and "Grooming" in post.text and "Routine" in post.text
    assert "<@U0AMY>" in post.text and "24 Nov 2026, 10:00" in view_text({"blocks": post.blocks})
    assert post.metadata == {"event_type": "concern_alert", "event_payload": {"reference": "OS-2026-0001"}}
    receipt = wait_for(lambda: ws.dms_to(AMY), what="the reporter's receipt")[0]
    assert "OS-2026-0001 was recorded" in receipt.text

    assert slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION).status == 200
    wait_for(lambda: post.edits == 1, what="the post to update")
    assert "Acknowledged by <@U0DAN> at 24 Nov 2026, 10:00" in post.text
    assert ACKNOWLEDGE_ACTION not in repr(post.blocks)
    acknowledged = wait_for(lambda: ws.dms_to(AMY)[1:], what="the acknowledged DM")[0]
    assert acknowledged.text == "Your concern OS-2026-0001 has been acknowledged by <@U0DAN> at 24 Nov 2026, 10:00."

    slack.click_in_message(PRIYA, post, OPEN_RECORD_ACTION)
    record = wait_for(lambda: ws.current_view(PRIYA), what="the record modal").view
    shown = view_text(record)
    assert CHILD in shown and ACCOUNT in shown and "Year 5" in shown and "Acknowledged" in shown
    assert "Shadowfox" in shown and "Robin seemed frightened" in shown

    # Need to know: nothing sent as a message anywhere names the child or repeats what was said.
    everything = ws.all_visible_text()
    assert CHILD not in everything and "pictures" not in everything and "Shadowfox" not in everything

    with db.session() as session:
        concern = session.scalars(select(Concern)).one()
        kinds = [(e.kind, e.actor_id) for e in events_for(session, concern.team_id, concern.id)]
    assert kinds == [("reported", AMY), ("notified", None), ("acknowledged", DAN), ("record_viewed", PRIYA)]


def test_people_outside_the_dsl_team_are_refused_politely_and_logged(slack: SlackSimulator, db: Database) -> None:
    report(slack, AMY)
    post = dsl_post(slack, DSL_CHANNEL)
    for outsider in (TOM, HELEN, AMY):
        slack.click_in_message(outsider, post, OPEN_RECORD_ACTION)
        refusal = wait_for(lambda u=outsider: slack.ws.current_view(u), what="the refusal").view
        assert "only available to the people the school's safeguarding policy names" in view_text(refusal)
        assert CHILD not in view_text(refusal)
    slack.click_in_message(TOM, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: any(u == TOM for u, _ in slack.ws.ephemeral), what="Tom's refusal")
    assert post.edits == 0 and "· New" in post.text
    with db.session() as session:
        concern = session.scalars(select(Concern)).one()
        assert concern.status == "new"
        refused = [(e.kind, e.actor_id) for e in events_for(session, concern.team_id, concern.id)
                   if e.kind.endswith("refused")]
    assert refused == [("record_view_refused", TOM), ("record_view_refused", HELEN),
                       ("record_view_refused", AMY), ("acknowledge_refused", TOM)]


def test_the_second_acknowledgement_is_told_who_got_there_first(slack: SlackSimulator) -> None:
    report(slack, AMY)
    post = dsl_post(slack, DSL_CHANNEL)
    on_priyas_screen = copy.deepcopy(post)  # her Slack still shows the button when she presses it
    slack.click_in_message(DAN, post, ACKNOWLEDGE_ACTION)
    wait_for(lambda: post.edits == 1, what="Dan's acknowledgement to land")
    slack.click_in_message(PRIYA, on_priyas_screen, ACKNOWLEDGE_ACTION)
    told = wait_for(lambda: [t for u, t in slack.ws.ephemeral if u == PRIYA], what="Priya's notice")
    assert told == ["OS-2026-0001 was already acknowledged by <@U0DAN> at 24 Nov 2026, 10:00."]
    wait_for(lambda: len(slack.ws.dms_to(AMY)) == 2, what="one acknowledged DM")
    assert post.edits == 1


def test_health_check_answers(bot: Runtime) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(bot.url + "/healthz", timeout=5) as reply:
        assert reply.status == 200
        health = json.loads(reply.read())
        assert {k: health[k] for k in ("status", "database", "team")} == \
            {"status": "ok", "database": "ok", "team": "T0OAKFIELD"}
        assert health["scheduler"] in ("leader", "standby")


def test_the_record_shows_the_childs_earlier_concerns(slack: SlackSimulator) -> None:
    report(slack, AMY)
    report(slack, PRIYA)  # the same child, reported by someone else
    second = dsl_post(slack, DSL_CHANNEL, index=1)
    slack.click_in_message(DAN, second, OPEN_RECORD_ACTION)
    shown = view_text(wait_for(lambda: slack.ws.current_view(DAN), what="the record").view)
    assert "Other concerns about this child* (1)" in shown and f"{CHILD}:" in shown
    assert "OS-2026-0001 · 24 Nov 2026, 10:00 · Grooming · New" in shown
