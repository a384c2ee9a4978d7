"""The bot (`python -m bot serve`) and the floor (a bare Bolt app) each in a process of its own, as they would
run in production: the load client's threads never share an interpreter lock with what they measure."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Process:
    def __init__(self, argv: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._argv, self._env = argv, {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.process: subprocess.Popen[str] | None = None
        # Its log goes to a file: a pipe nobody reads fills up under load and stops the process mid-write.
        self.log = tempfile.NamedTemporaryFile(prefix="concernbot-bench-", suffix=".log", delete=False)
        self.started_at = 0.0
        self.ready_after = 0.0  # seconds from start to the first 200 from /healthz

    def start(self, timeout: float = 30) -> _Process:
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(self._argv, env=self._env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=self.log, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self._argv} exited: {Path(self.log.name).read_text()[-2000:]}")
            if self.healthy():
                self.ready_after = time.perf_counter() - self.started_at
                return self
            time.sleep(0.02)
        raise RuntimeError(f"{self._argv} did not answer /healthz within {timeout}s")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as reply:
                return reply.status == 200 and json.loads(reply.read()).get("status") == "ok"
        except (OSError, ValueError):
            return False

    def rss_mb(self) -> float:
        """Resident memory of the process and its children (workers), from /proc."""
        assert self.process is not None
        pids = [self.process.pid] + _children(self.process.pid)
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total / 1024

    def stop(self) -> str:
        """Stop it; returns what it logged."""
        if self.process is None:
            return ""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        logged = Path(self.log.name).read_text(errors="replace")
        os.unlink(self.log.name)
        return logged


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(p) for p in found]


class BotProcess(_Process):
    def __init__(self, env: dict[str, str], args: list[str]) -> None:
        port = free_port()
        super().__init__([sys.executable, "-m", "bot", *args, "--port", str(port)], env, port)
        self.database_url = env["DATABASE_URL"]

    def settle(self, timeout: float = 120) -> None:
        """Wait until the bot's outbox has nothing due left unsent."""
        from datetime import datetime, timezone

        from storage.db import Database
        from storage.models import OutboxMessage

        db = Database(self.database_url)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with db.session() as session:
                    waiting = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.sent_at.is_(None), OutboxMessage.due_at <= datetime.now(timezone.utc)))
                if not waiting:
                    return
                time.sleep(0.2)
        finally:
            db.dispose()


class FloorProcess(_Process):
    def __init__(self) -> None:
        port = free_port()
        super().__init__([sys.executable, "-m", "tests.bench.floor", str(port)], {}, port)
