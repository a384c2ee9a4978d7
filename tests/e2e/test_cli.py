"""The `concernbot` command as a person runs it: a real process, real HTTP, one-line errors."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.demo import demo_school_file
from bot.sandbox.webapi import SandboxServer
from tests.e2e.conftest import clean_env


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_setup_loads_the_school_and_is_idempotent(slack_env: dict[str, str], tmp_path: Path) -> None:
    first = run(["setup", str(demo_school_file())], slack_env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Designated Safeguarding Lead: Dan Hughes added" in first.stdout
    assert "DSL channel set to #dsl-team (C0DSLTEAM)" in first.stdout
    again = run(["setup", str(demo_school_file())], slack_env, tmp_path)
    assert again.stdout.strip() == "Oakfield Primary School (sandbox): no changes"


def test_setup_explains_a_bad_file_in_one_line(slack_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "school.yml"
    bad.write_text(demo_school_file().read_text().replace("dsl: dan.hughes@", "dsl: nobody.here@"))
    result = run(["setup", str(bad)], slack_env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == ("concernbot: people.dsl: nobody in this workspace has the email "
                                     "nobody.here@oakfield.example; check it, or use their Slack user id.")


@pytest.mark.parametrize(("settings", "says"), [
    ({"SCHOOL_TIMEZONE": "Mars/Olympus"}, "concernbot: SCHOOL_TIMEZONE 'Mars/Olympus' is not a time zone name"),
    ({"SLACK_BOT_TOKEN": "xoxb-wrong"}, "concernbot: Slack rejected SLACK_BOT_TOKEN (invalid_auth)"),
    ({"SLACK_API_URL": "http://127.0.0.1:9/api/"}, "concernbot: cannot reach the Slack Web API at http://127.0.0.1:9/api/"),
    ({"SLACK_SIGNING_SECRET": ""}, "concernbot: SLACK_SIGNING_SECRET is not set"),
])
def test_a_misconfiguration_stops_serve_with_one_line(slack_env: dict[str, str], tmp_path: Path,
                                                      settings: dict[str, str], says: str) -> None:
    env = {**slack_env, **settings}
    if settings.get("SLACK_SIGNING_SECRET") == "":
        del env["SLACK_SIGNING_SECRET"]
    result = run(["serve", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(says), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_an_app_token_selects_socket_mode(slack_env: dict[str, str], tmp_path: Path, sandbox: SandboxServer) -> None:
    # The sandbox grants no app token, so Slack's answer to apps.connections.open is invalid_auth:
    # reaching that call at all shows serve chose Socket Mode rather than HTTP.
    result = run(["serve", "--port", str(free_port())], {**slack_env, "SLACK_APP_TOKEN": "xapp-1-not-granted"},
                 tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        "concernbot: Slack refused SLACK_APP_TOKEN (invalid_auth): generate an app-level token")
    assert ("apps.connections.open", "invalid_auth") in sandbox.workspace.calls
    assert "Traceback" not in result.stderr


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "concernbot"
    assert script.exists(), "install the package (pip install -e '.[test]') to get the concernbot command"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "demo" in result.stdout and "setup" in result.stdout


def test_serve_answers_health_checks_and_warns_about_the_channel(slack_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=slack_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started, body = time.monotonic(), None
        while time.monotonic() - started < 15 and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                    body = json.loads(reply.read())
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        assert body is not None and {k: body[k] for k in ("status", "database", "team")} == \
            {"status": "ok", "database": "ok", "team": "T0OAKFIELD"}
        assert body["scheduler"] in ("leader", "standby") and body["pid"] == process.pid
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "No school is set up yet" in stderr and "concernbot setup school.yml" in stderr


def test_demo_prints_the_whole_journey_without_the_childs_details(tmp_path: Path) -> None:
    result = run([], clean_env(), tmp_path, timeout=120)  # no credentials: the demo
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in ("Amy Clarke types /report-concern", "Step 1 of 8", "Recorded as OS-",
                     "#dsl-team ← concernbot: Concern OS-", "Dan Hughes presses [Acknowledge]",
                     "acknowledged by @Dan Hughes", "record_view_refused  Tom Reed"):
        assert expected in out, expected
    assert re.search(r"DM to Amy Clarke ← concernbot: Thank you\. Your concern OS-\d{4}-0001 was recorded", out)
    assert "Sam Taylor" not in out and "group chat" not in out
    assert "DM to Helen Brooks ← concernbot: Concern OS-" in out and "a low-level concern about a member of staff" in out
    assert "#dsl-team: 0 new posts. Tom Reed: 0 messages from concernbot. Only the headteacher was told." in out
    assert "Year 6 pupils" not in out
    for expected in ("AUP version 2026-27 is in force: 6 members of staff will be asked to sign it",
                     "DM to Tom Reed ← concernbot: Please read and sign the Staff Acceptable Use Policy",
                     "DM to Amy Clarke ✎ concernbot updates its post: You signed the Staff Acceptable Use Policy",
                     "AUP signing this week: 5 of 6", "DM to Tom Reed ← concernbot: A friendly reminder (1 of 4)"):
        assert expected in out, expected
    assert "DM to Amy Clarke ← concernbot: A friendly reminder" not in out  # she signed
    assert "the child's name appears 0 times in the clear: every record's text is sealed with key" in out
    assert "`concernbot audit verify`: 0 broken of 2 hash-chained event logs" in out
    assert result.stderr == ""


def test_a_port_in_use_or_out_of_range_is_one_line(slack_env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(["serve", "--host", "127.0.0.1", "--port", str(port)], slack_env, tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"concernbot: cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    out_of_range = run(["serve", "--port", "70000"], slack_env, tmp_path)
    assert out_of_range.returncode == 2 and "70000 is not a port" in out_of_range.stderr


def test_db_upgrade(slack_env: dict[str, str], tmp_path: Path) -> None:
    result = run(["db", "upgrade"], {**slack_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, "database is up to date")
