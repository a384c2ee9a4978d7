"""What an IT lead watches: /metrics for Prometheus, and JSON log lines with school, request and reference."""

from __future__ import annotations

import io
import json
import logging
import urllib.request

from bot.http import wsgi_app
from bot.logs import configure
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DSL_CHANNEL, TEAM_ID
from tests.e2e.journey import ACCOUNT, CHILD, dsl_post, report


def _scrape(bot: Runtime) -> str:
    with urllib.request.urlopen(f"{bot.url}/metrics", timeout=5) as reply:
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain")
        return reply.read().decode()


def _value(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics_count_requests_concerns_and_the_outbox_and_name_no_one(bot: Runtime, slack: SlackSimulator) -> None:
    report(slack, AMY)
    dsl_post(slack, DSL_CHANNEL)
    text = wait_for(lambda: (t := _scrape(bot)) and _value(t, "concernbot_outbox_sent_total") >= 2 and t,
                    what="the sends to be counted")
    assert _value(text, f'concernbot_concerns{{status="new",team="{TEAM_ID}"}}') == 1
    assert _value(text, f'concernbot_unacknowledged_concerns{{team="{TEAM_ID}"}}') == 1
    assert _value(text, 'concernbot_slack_requests_total{kind="view_submission"}') == 8
    assert _value(text, 'concernbot_slack_requests_total{kind="command"}') == 1
    assert _value(text, "concernbot_slack_response_seconds_count") >= 9
    assert _value(text, "concernbot_database_up") == 1
    assert CHILD not in text and "OS-2026" not in text and ACCOUNT[:20] not in text


def test_metrics_are_for_the_machine_itself_or_a_scraper_with_the_token(bot: Runtime) -> None:
    def get(app, remote: str, auth: str | None = None) -> str:  # type: ignore[no-untyped-def]
        statuses: list[str] = []
        environ = {"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET", "REMOTE_ADDR": remote,
                   **({"HTTP_AUTHORIZATION": auth} if auth else {})}
        b"".join(app(environ, lambda status, headers: statuses.append(status)))
        return statuses[0]

    open_app = wsgi_app(bot.app, bot.health, bot.metrics)
    assert get(open_app, "127.0.0.1") == "200 OK" and get(open_app, "203.0.113.9") == "403 Forbidden"
    guarded = wsgi_app(bot.app, bot.health, bot.metrics, "scrape-secret")
    assert get(guarded, "203.0.113.9", "Bearer scrape-secret") == "200 OK"
    assert get(guarded, "203.0.113.9", "Bearer wrong") == "403 Forbidden"
    assert get(guarded, "127.0.0.1") == "403 Forbidden"


def test_json_logs_carry_school_request_and_reference_and_nothing_typed(bot: Runtime, slack: SlackSimulator) -> None:
    """At DEBUG, as the bot configures itself for `LOG_LEVEL=DEBUG LOG_FORMAT=json`."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.level, list(root.handlers), logging.getLogger("concernbot.bolt").level
    configure("DEBUG", "json", stream)
    try:
        report(slack, AMY)
        dsl_post(slack, DSL_CHANNEL)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        logging.getLogger("concernbot.bolt").setLevel(saved[2])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    recorded = [r for r in lines if r["message"].startswith("concern OS-2026-0001 recorded")]
    assert len(recorded) == 1 and recorded[0]["level"] == "INFO"
    assert recorded[0]["team"] == TEAM_ID and recorded[0]["concern"] == "OS-2026-0001"
    assert len(recorded[0]["request_id"]) == 12
    leaks = [r for r in lines if CHILD in json.dumps(r) or ACCOUNT[:20] in json.dumps(r)]
    assert leaks == []


def test_metrics_never_count_concerns_about_adults(bot: Runtime, slack: SlackSimulator) -> None:
    from tests.e2e.journey import report_about_adult

    report_about_adult(slack, AMY, "staff", {"adult_user": "U0TOM"})
    wait_for(lambda: any("OS-2026-0001" in m.text for m in slack.ws.dms_to("U0HELEN")), what="the head's DM")
    text = _scrape(bot)
    assert "concernbot_concerns{" not in text and "concernbot_unacknowledged_concerns{" not in text
    report(slack, AMY)  # a pupil concern: counted
    assert _value(_scrape(bot), f'concernbot_concerns{{status="new",team="{TEAM_ID}"}}') == 1
