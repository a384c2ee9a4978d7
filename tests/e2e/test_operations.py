"""Operations from the command line: `concernbot doctor`, `setup --export`, `backup` and `restore`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.demo import demo_school_file
from bot.sandbox.webapi import SandboxServer
from storage.crypto import new_key
from tests.conftest import MailServer


def _doctor(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "doctor"], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_a_healthy_set_up_passes_with_warnings_for_what_is_not_running(slack_env: dict[str, str], tmp_path: Path,
                                                                        mailbox: MailServer) -> None:
    setup = subprocess.run([sys.executable, "-m", "bot", "setup", str(demo_school_file())], env=slack_env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert setup.returncode == 0, setup.stderr
    env = {**slack_env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port), "SMTP_SECURITY": "none",
           "SMTP_FROM": "concernbot@oakfield.example"}
    result = _doctor(env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ok    Slack: connected to Oakfield Primary School (sandbox) (T0OAKFIELD) as @concernbot"
    assert "ok    Slack scopes: every scope in manifest.yml is granted" in lines
    assert "ok    DSL channel: concernbot can post to #dsl-team" in lines
    assert any(line.startswith("ok    database: ") and "migrations up to date" in line for line in lines)
    assert any(line.startswith("warn  scheduler: no process holds the scheduler lock") for line in lines)
    assert f"ok    email: 127.0.0.1:{mailbox.port} accepts a login" in lines
    assert any(line.startswith("ok    encryption key: key ") and "from ENCRYPTION_KEY" in line for line in lines)
    assert mailbox.box.messages == []  # it sent nothing


def test_doctor_warns_of_a_key_beside_the_database_and_fails_without_the_records_key(
        slack_env: dict[str, str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'school.db'}"
    beside = {k: v for k, v in {**slack_env, "DATABASE_URL": url}.items() if k != "ENCRYPTION_KEY"}
    assert subprocess.run([sys.executable, "-m", "bot", "setup", str(demo_school_file())], env=beside,
                          cwd=tmp_path, capture_output=True, text=True, timeout=60).returncode == 0
    lines = _doctor(beside, tmp_path).stdout.splitlines()
    assert any(line.startswith("warn  encryption key: key ") and "beside the database: a copy of that folder holds "
               "both. Move the file elsewhere and set ENCRYPTION_KEY_FILE to it" in line for line in lines), lines
    wrong = _doctor({**beside, "ENCRYPTION_KEY": new_key()}, tmp_path)
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert any(line.startswith("FAIL  encryption key: the records were sealed with key ") and "give that key" in line
               for line in wrong.stdout.splitlines()), wrong.stdout


def test_what_is_wrong_is_said_with_what_to_do(slack_env: dict[str, str], tmp_path: Path,
                                               sandbox: SandboxServer) -> None:
    sandbox.workspace.scopes.discard("users:read.email")
    sandbox.workspace.channels["C0DSLTEAM"].members.discard(sandbox.workspace.bot_user_id)
    result = _doctor({**slack_env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "1", "SMTP_SECURITY": "none",
                      "SMTP_FROM": "concernbot@oakfield.example"}, tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert ("FAIL  Slack scopes: the app lacks users:read.email: update it from manifest.yml and reinstall it to "
            "the workspace") in lines
    assert ("FAIL  school T0OAKFIELD: not set up: open concernbot's Home tab in Slack, or run `concernbot setup "
            "school.yml`") in lines
    assert any(line.startswith("FAIL  email: cannot use 127.0.0.1:1 (ConnectionRefusedError)") for line in lines)
    refused = _doctor({**slack_env, "SLACK_BOT_TOKEN": "xoxb-not-the-token"}, tmp_path)
    assert refused.returncode == 1 and refused.stdout.splitlines()[0].startswith(
        "FAIL  Slack: the bot token was refused (invalid_auth)")
    assert "Traceback" not in result.stderr + refused.stderr


def test_setup_export_writes_a_file_that_loads_back_with_no_changes(slack_env: dict[str, str],
                                                                     tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", *args], env=slack_env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)

    assert run("setup", str(demo_school_file())).returncode == 0
    publish = run("aup", "publish", "--version", "2026-27", "--url", "https://oakfield.example/aup.pdf")
    assert publish.returncode == 0, publish.stderr
    exported = tmp_path / "exported.yml"
    result = run("setup", "--export", str(exported))
    assert result.returncode == 0, result.stderr
    text = exported.read_text()
    assert "dsl: U0DAN" in text and "dsl_channel: C0DSLTEAM" in text and "lado_email: lado@county-council.example" in text
    assert "chair_of_governors: chair.of.governors@oakfield-governors.example" in text
    assert "url: https://oakfield.example/aup.pdf" in text and "next_review: '2027-07-01'" in text
    again = run("setup", str(exported))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "Oakfield Primary School (sandbox): no changes"


def test_backup_and_restore_from_the_command_line(slack_env: dict[str, str], tmp_path: Path) -> None:
    def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)

    assert run(slack_env, "setup", str(demo_school_file())).returncode == 0
    saved = run(slack_env, "backup", str(tmp_path / "school.backup"))
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.startswith("backed up 0 concerns from 1 schools") and "readable by you only" in saved.stdout
    assert (tmp_path / "school.backup").stat().st_mode & 0o777 == 0o600
    refused = run(slack_env, "restore", str(tmp_path / "school.backup"))
    assert refused.returncode == 2 and refused.stderr.startswith("concernbot: ") and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    forced = run(slack_env, "restore", "--force", str(tmp_path / "school.backup"))
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("restored 0 concerns from 1 schools into ")


def test_backup_of_a_database_that_is_not_there_says_so_and_creates_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'missing.db'}"
    result = subprocess.run([sys.executable, "-m", "bot", "backup", str(tmp_path / "x.backup")], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith(f"concernbot: there is no database at {tmp_path}")
    assert not (tmp_path / "missing.db").exists() and not (tmp_path / "x.backup").exists()
