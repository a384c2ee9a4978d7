"""The command line when concernbot serves many schools: a command that acts in one school is told which
with --team and uses that school's own stored token; `doctor` checks every installed school."""

from __future__ import annotations

from pathlib import Path

from bot.demo import demo_school_file
from bot.sandbox.demo_workspace import B_HEAD, TEAM_ID, TEAM_ID2, TOM
from tests.e2e.conftest import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, Schools, clean_env
from tests.e2e.test_cli import run
from tests.e2e.test_many_schools import BIRCHES_FILE


def _env(schools: Schools, url: str) -> dict[str, str]:
    return clean_env(SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     SLACK_API_URL=schools.sandbox.api_url, DATABASE_URL=url,
                     SLACK_REDIRECT_URI=f"{schools.bot.url}/slack/oauth_redirect")


def test_setup_and_doctor_act_per_school(schools: Schools, migrated_url: str, tmp_path: Path) -> None:
    env = _env(schools, migrated_url)
    assert "no workspace has installed concernbot yet" in run(["doctor"], env, tmp_path).stdout
    schools.a.install(TOM)
    schools.b.install(B_HEAD)

    which = run(["setup", str(BIRCHES_FILE)], env, tmp_path)
    assert which.returncode == 2
    assert which.stderr.strip() == "concernbot: this database holds 2 schools: name one with --team."
    birches = run(["setup", str(BIRCHES_FILE), "--team", TEAM_ID2], env, tmp_path)
    assert birches.returncode == 0 and birches.stdout.startswith("Birches Academy (sandbox): name set to Birches Academy; ") and "DSL:" in birches.stdout
    oakfield = run(["setup", str(demo_school_file()), "--team", TEAM_ID], env, tmp_path)
    assert oakfield.returncode == 0, oakfield.stderr
    again = run(["setup", str(BIRCHES_FILE), "--team", TEAM_ID2], env, tmp_path)
    assert again.stdout.strip() == "Birches Academy: no changes"

    doctor = run(["doctor"], env, tmp_path).stdout.splitlines()
    assert f"ok    Slack app: installs by OAuth as client {CLIENT_ID}" in doctor
    for team in (TEAM_ID, TEAM_ID2):
        assert any(line.startswith(f"ok    school {team}: connected to") for line in doctor), doctor
        assert f"ok    school {team} scopes: every scope in manifest.yml is granted" in doctor
    assert doctor.count("ok    DSL channel: concernbot can post to #dsl-team") == 2

    schools.sandbox.uninstall(TEAM_ID2)  # its token revoked, and the event not (yet) received
    broken = run(["doctor"], env, tmp_path)
    assert broken.returncode == 1
    assert any(line.startswith(f"FAIL  school {TEAM_ID2}: the bot token was refused (token_revoked): install "
                               "concernbot again from /slack/install") for line in broken.stdout.splitlines())

    both = run(["serve"], {**env, "SLACK_BOT_TOKEN": "xoxb-also"}, tmp_path)
    assert both.returncode == 2 and "both SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set" in both.stderr
