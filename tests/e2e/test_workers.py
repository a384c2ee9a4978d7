"""HTTP mode with several worker processes: all answer Slack, exactly one runs the scheduler, and they stop
cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY
from bot.sandbox.webapi import SandboxServer
from tests.conftest import SIGNING_SECRET


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return json.loads(reply.read())
    except (OSError, ValueError):
        return None


def _commands_counted(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith('concernbot_slack_requests_total{kind="command"}'))


def test_three_workers_answer_slack_and_one_leads(slack_env: dict[str, str], tmp_path: Path,
                                                  sandbox: SandboxServer) -> None:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "3"], env=slack_env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _health(port), timeout=30, what="the workers to answer")
        roles: dict[int, set[str]] = {}

        def three_seen() -> bool:
            for _ in range(30):
                health = _health(port)
                if health:
                    roles.setdefault(health["pid"], set()).add(health["scheduler"])
            return len(roles) == 3 and sum("leader" in r for r in roles.values()) == 1

        wait_for(three_seen, timeout=30, what="three workers, one leading")
        assert server.pid not in roles  # the workers answer; the arbiter only watches them
        slack = SlackSimulator(sandbox, f"http://127.0.0.1:{port}", SIGNING_SECRET)
        assert slack.slash_command(AMY).status == 200
        wait_for(lambda: slack.ws.current_view(AMY), what="the form to open, from whichever worker")
        for _ in range(5):
            assert slack.slash_command(AMY, "/aup").status == 200
        # Whichever worker answers the scrape, it counts every worker's requests (multiprocess counters).
        counts = {_commands_counted(port) for _ in range(12)}
        assert counts == {6.0}, counts
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert " ERROR " not in stderr and "[ERROR]" not in stderr
