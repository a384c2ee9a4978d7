"""What arrives over HTTP: signatures, timestamps, acknowledgement speed, events, other workspaces."""

import time
from urllib.parse import urlencode

from sqlalchemy import func, select

from bot.render.messages import HOME_REPORT_ACTION
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY
from storage.db import Database
from storage.models import Draft
from tests.e2e.journey import view_text


def _command_body(slack: SlackSimulator, team_id: str | None = None) -> str:
    return urlencode({"team_id": team_id or slack.ws.team_id, "user_id": AMY, "command": "/report-concern",
                      "text": "", "trigger_id": slack.ws.issue_trigger(AMY), "api_app_id": "A0CONCERNBOT",
                      "response_url": slack.sandbox.response_url(AMY), "channel_id": "D1"})


def _drafts(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Draft))


def test_a_forged_signature_is_refused_and_nothing_is_stored(slack: SlackSimulator, db: Database) -> None:
    body = _command_body(slack)
    calls = list(slack.ws.calls)
    reply = slack.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    assert reply.status == 401
    missing = slack.post(body, "application/x-www-form-urlencoded", signature="")
    assert missing.status == 401
    # Verification happens before any listener is dispatched, so a 401 means nothing ran, now or later.
    assert _drafts(db) == 0 and slack.ws.views == {} and slack.ws.calls == calls


def test_a_stale_timestamp_is_refused_even_when_correctly_signed(slack: SlackSimulator, db: Database) -> None:
    calls = list(slack.ws.calls)
    six_minutes_ago = int(time.time()) - 360
    reply = slack.post(_command_body(slack), "application/x-www-form-urlencoded", timestamp=six_minutes_ago)
    assert reply.status == 401
    assert _drafts(db) == 0 and slack.ws.calls == calls


def test_commands_are_acknowledged_before_any_web_api_call(slack: SlackSimulator) -> None:
    slack.ws.delays["views.open"] = 1.5  # a slow Slack must not delay the acknowledgement
    started = time.perf_counter()
    reply = slack.slash_command(AMY, settle=False)  # the answer itself, not what the bot does after it
    elapsed = time.perf_counter() - started
    assert reply.status == 200 and elapsed < 0.5, f"acknowledged after {elapsed:.3f}s"
    wait_for(lambda: slack.ws.current_view(AMY), what="the form, once Slack catches up")


def test_app_home_offers_a_report_button_that_opens_the_form(slack: SlackSimulator) -> None:
    reply = slack.event({"type": "app_home_opened", "user": AMY, "channel": "D1", "tab": "home"})
    assert reply.status == 200
    home = wait_for(lambda: slack.ws.home.get(AMY), what="App Home to be published")
    assert "Report a concern" in repr(home)
    slack.click_in_home(AMY, HOME_REPORT_ACTION)
    form = wait_for(lambda: slack.ws.current_view(AMY), what="the form from App Home").view
    assert "Step 1 of 8" in view_text(form)


def test_a_request_from_another_workspace_changes_nothing(slack: SlackSimulator, db: Database) -> None:
    calls = list(slack.ws.calls)
    reply = slack.post(_command_body(slack, team_id="T0ELSEWHERE"), "application/x-www-form-urlencoded")
    # Bolt's authorization answers before any listener: acknowledged, and nothing done.
    assert (reply.status, reply.body) == (200, "")
    assert _drafts(db) == 0 and slack.ws.views == {} and slack.ws.calls == calls


def test_many_commands_at_once_are_all_acknowledged_while_slack_is_slow(slack: SlackSimulator) -> None:
    import concurrent.futures

    from bot.sandbox.demo_workspace import DAN, HELEN, OWEN, PRIYA, TOM

    slack.ws.delays["views.open"] = 2.0  # every views.open hangs; acknowledgements must not wait for them
    users = [AMY, DAN, PRIYA, HELEN, OWEN, TOM] * 2

    def command(user: str) -> tuple[int, float]:
        started = time.perf_counter()
        reply = slack.slash_command(user, settle=False)
        return reply.status, time.perf_counter() - started

    with concurrent.futures.ThreadPoolExecutor(len(users)) as pool:
        results = list(pool.map(command, users))
    assert all(status == 200 for status, _ in results)
    slowest = max(elapsed for _, elapsed in results)
    assert slowest < 1.5, f"the slowest of {len(users)} acknowledgements took {slowest:.2f}s"
