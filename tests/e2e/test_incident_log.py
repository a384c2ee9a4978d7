"""`/concerns` through Slack, and `concernbot export` as a real process: entitled people only."""

import csv
import io
import stat
from pathlib import Path

from bot.render.messages import OPEN_RECORD_ACTION
from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, OWEN, PRIYA, TOM
from tests.e2e.journey import CHILD, dsl_post, report, view_text
from tests.e2e.test_cli import clean_env, run


def _log(slack: SlackSimulator, user: str, text: str = "") -> str:
    before = slack.ws.current_view(user)
    slack.slash_command(user, "/concerns", text)
    return view_text(wait_for(lambda: slack.ws.current_view(user) is not before and slack.ws.current_view(user),
                              what="the incident log").view)


def test_the_dsl_team_sees_the_log_filtered(slack: SlackSimulator) -> None:
    report(slack, AMY)
    report(slack, AMY)
    dsl_post(slack, DSL_CHANNEL, index=1)
    shown = _log(slack, PRIYA)
    assert "Showing open" in shown and "OS-2026-0002" in shown and "OS-2026-0001" in shown
    assert CHILD not in shown
    assert "No concerns match" in _log(slack, PRIYA, "status:closed")
    assert "didn't understand 'nonsense'" in _log(slack, DAN, "nonsense")


def test_opening_a_record_from_the_log_stacks_it_on_the_list(slack: SlackSimulator) -> None:
    report(slack, AMY)
    dsl_post(slack, DSL_CHANNEL)
    _log(slack, DAN)
    log_view = slack.ws.current_view(DAN)
    slack.click_in_view(DAN, OPEN_RECORD_ACTION, view_id=log_view.id)
    wait_for(lambda: CHILD in view_text(log_view.view), what="the record pushed onto the log")
    assert len(log_view.stack) == 1 and "Incident log" in repr(log_view.stack[0])


def test_everyone_else_is_refused_the_log(slack: SlackSimulator) -> None:
    report(slack, AMY)
    dsl_post(slack, DSL_CHANNEL)
    for outsider in (TOM, HELEN, AMY, OWEN):
        shown = _log(slack, outsider)
        assert "only for the safeguarding team" in shown and "OS-2026" not in shown


def test_export_from_the_command_line(slack: SlackSimulator, migrated_url: str, tmp_path: Path) -> None:
    report(slack, AMY)
    dsl_post(slack, DSL_CHANNEL)
    env = clean_env(DATABASE_URL=migrated_url)
    out = tmp_path / "log.csv"
    done = run(["export", "incidents", "--as", DAN, "--out", str(out)], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 concerns written" in done.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["reference"] == "OS-2026-0001" and CHILD in rows[0]["children"]

    refused = run(["export", "incidents", "--as", TOM, "--out", str(tmp_path / "no.csv")], env, tmp_path)
    assert refused.returncode == 2 and not (tmp_path / "no.csv").exists()
    assert refused.stderr.strip() == "concernbot: U0TOM is not on the safeguarding team, so may not export the incident log."

    summary = run(["export", "summary", "--as", OWEN], env, tmp_path)
    assert summary.returncode == 0, summary.stderr
    table = list(csv.reader(io.StringIO(summary.stdout)))
    assert ["concerns", "all", "1"] in table and ["by category", "Grooming", "1"] in table
    assert CHILD not in summary.stdout and "OS-2026" not in summary.stdout and "U0" not in summary.stdout
    refused = run(["export", "summary", "--as", AMY], env, tmp_path)
    assert refused.returncode == 2 and "holds no role that receives the governors' summary" in refused.stderr
