"""A signing round to 2,000 staff against a rate-limited sandbox, the bot killed (kill -9) half-way and
started again: everyone is reached, and the only repeats are messages that were in flight at the kill."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from bot.slack_client import web_client
from bot.demo import demo_school_file
from bot.sandbox.client import wait_for
from bot.sandbox.demo_workspace import TEAM_ID, demo_workspace
from bot.sandbox.webapi import SandboxServer
from bot.school_setup import apply_school_file
from bot.roster import staff_roster
from flows.aup import AupDocument, AupRules, Reason
from storage import aup
from storage.db import Database
from storage.models import OutboxMessage, School
from tests.conftest import SIGNING_SECRET

STAFF = 2_000
RATE = 100  # messages a second, workspace-wide, past which the sandbox answers 429 with Retry-After


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict[str, str], tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(_free_port())],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _aup_messages(sandbox: SandboxServer) -> list[tuple[str, int]]:
    """(recipient, outbox row) for every AUP message the sandbox holds."""
    ws = sandbox.workspace
    with ws.lock:
        return [(ws.channels[m.channel].im_user or "", int(m.metadata["event_payload"]["outbox_id"]))
                for m in ws.messages if (m.metadata or {}).get("event_type") == "aup_request"]


def _sent_rows(db: Database) -> set[int]:
    with db.session() as session:
        return set(session.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == "aup_request",
                                                                  OutboxMessage.sent_at.is_not(None))))


def test_a_round_to_2000_staff_survives_kill_9_half_way(db: Database, migrated_url: str, tmp_path: Path) -> None:
    ws = demo_workspace()
    staff = ws.add_staff(STAFF)
    sandbox = SandboxServer(ws).start()
    try:
        client = web_client(ws.bot_token, sandbox.api_url)
        now = datetime.now(timezone.utc)
        apply_school_file(client, TEAM_ID, db, demo_school_file(), now)
        roster = staff_roster(client, TEAM_ID, AupRules())
        assert len(roster) == STAFF + 6  # the demo school's six, and the 2,000
        with db.session() as session:  # the round, planned as the bot plans it; due now, whatever the hour
            school = session.get_one(School, TEAM_ID)
            version, _ = aup.add_version(session, TEAM_ID, AupDocument(version="2026-11", text="Be safe online."),
                                         None, now)
            aup.start_round(session, school, Reason.NEW_VERSION, f"version:{version.id}", version, roster,
                            listed_at=now, now=now, due_at=now, started_by=None)
        ws.set_rate_limit(RATE, frozenset({"chat.postMessage"}))
        # However fast this machine is, Slack pushes back at least this once (429, Retry-After: 1).
        ws.fail_next("chat.postMessage", times=3, status=429, error="ratelimited")
        env = {"PATH": os.environ.get("PATH", ""), "ENCRYPTION_KEY": os.environ["ENCRYPTION_KEY"], "SLACK_BOT_TOKEN": ws.bot_token,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": sandbox.api_url,
               "DATABASE_URL": migrated_url, "OUTBOX_LEASE_SECONDS": "5", "LOG_LEVEL": "WARNING"}

        first = _serve(env, tmp_path)
        wait_for(lambda: len(_aup_messages(sandbox)) >= len(roster) // 2, 120, "half the round to go out")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        time.sleep(0.2)  # a request the dead process had on the wire lands, or never does
        delivered = _aup_messages(sandbox)
        in_flight = {row for _, row in delivered} - _sent_rows(db)  # sent to Slack, not recorded as sent
        assert len(delivered) < len(roster) and len(in_flight) <= 1  # one sender: at most one call on the wire
        print(f"killed after {len(delivered)} messages; in flight at the kill: {len(in_flight)}")

        second = _serve(env, tmp_path)
        try:
            wait_for(lambda: len(_sent_rows(db)) == len(roster), 120, "the rest of the round")
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = second.communicate(timeout=30)
        assert second.returncode == 0, stderr
        assert "Traceback" not in stderr

        received = Counter(user for user, _ in _aup_messages(sandbox))
        assert set(received) == set(roster)  # nobody missed
        repeats = {user: n for user, n in received.items() if n > 1}
        assert sum(received.values()) == len(roster) + len(in_flight)
        assert all(n == 2 for n in repeats.values()) and len(repeats) == len(in_flight)
        pushed_back = sum(1 for method, error in ws.calls if (method, error) == ("chat.postMessage", "ratelimited"))
        assert pushed_back >= 3  # Slack pushed back (429), and the bot waited and went on
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.sent_at.is_(None), OutboxMessage.kind == "aup_request")) == 0
        assert set(staff) <= set(received)
    finally:
        sandbox.stop()
