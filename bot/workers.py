"""HTTP mode with several worker processes: gunicorn's pre-fork server, each worker a whole bot.

Each worker builds its own Runtime after the fork (its own database pool, outbox sender and Slack client;
nothing is shared through memory), answers Slack on threads, and sends the outbox; the database's leader
lock lets exactly one of them run the scheduler, and another takes over if that worker dies. gunicorn
restarts a worker that dies and stops them all cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from prometheus_client.multiprocess import mark_process_dead

from slack_sdk.errors import SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.http import wsgi_app
from bot.metrics import MULTIPROCESS_DIR
from bot.runtime import Runtime, freeze_start_up_objects
from bot.settings import ConfigError, Settings

log = logging.getLogger(__name__)
WORKER_BOOT_ERROR = 3  # gunicorn's code for "this worker cannot boot": the arbiter stops
THREADS = 16  # per worker: Slack's requests wait on the database, never on each other
FRESH_MARK = "CONCERNBOT_METRICS_DIR_READY"  # set once the directory is emptied for this server
OWNED_MARK = "CONCERNBOT_METRICS_DIR_OWNED"  # set when the server made the directory (and removes it)


class WorkerServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, host: str, port: int, workers: int) -> None:
        self._settings, self._bind, self._workers = settings, f"{host}:{port}", workers
        self._runtime: Runtime | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in {"bind": self._bind, "workers": self._workers, "worker_class": "gthread",
                           "threads": THREADS, "timeout": 30, "graceful_timeout": 10, "accesslog": None,
                           "errorlog": "-", "loglevel": "warning", "proc_name": "concernbot",
                           "worker_exit": _stop_worker, "child_exit": _child_exit, "on_exit": _on_exit}.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Iterable[bytes]]:
        """Runs in each worker, after the fork. A worker that cannot start says why in one line and exits
        with gunicorn's 'failed to boot' status, which stops the others rather than restarting in a loop."""
        try:
            runtime = Runtime(self._settings).start(http=False)
        except (ConfigError, SQLAlchemyError, SlackClientError, OSError) as exc:
            log.error("a worker could not start: %s", exc if isinstance(exc, ConfigError) else type(exc).__name__)
            raise SystemExit(WORKER_BOOT_ERROR) from None
        self._runtime = runtime
        freeze_start_up_objects()
        token = self._settings.metrics_token.get_secret_value() if self._settings.metrics_token else None
        return wsgi_app(runtime.app, runtime.health, runtime.metrics, token)

    def stop_runtime(self) -> None:
        if self._runtime is not None:
            self._runtime.stop()
            self._runtime = None


def _stop_worker(arbiter: Any, worker: Any) -> None:
    worker.app.stop_runtime()


def _child_exit(arbiter: Any, worker: Any) -> None:
    """A worker gone: its counts stay in the sum; its live files are marked dead (prometheus-client)."""
    if MULTIPROCESS_DIR in os.environ:
        mark_process_dead(worker.pid)


def _on_exit(arbiter: Any) -> None:
    owned = os.environ.get(OWNED_MARK)
    if owned and owned == os.environ.get(MULTIPROCESS_DIR):
        shutil.rmtree(owned, ignore_errors=True)


def metrics_directory(environ: MutableMapping[str, str]) -> bool:
    """Make ready the directory the workers' counters are shared through; True when it was already set
    when the process started (prometheus-client reads it at import), False when a re-exec is needed."""
    ready = MULTIPROCESS_DIR in environ and environ.get(FRESH_MARK) == environ[MULTIPROCESS_DIR]
    if MULTIPROCESS_DIR not in environ:
        environ[MULTIPROCESS_DIR] = environ[OWNED_MARK] = tempfile.mkdtemp(prefix="concernbot-metrics-")
    directory = Path(environ[MULTIPROCESS_DIR])
    if not ready:  # a new server: last run's counts (in a directory the operator chose) start again from 0
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        environ[FRESH_MARK] = str(directory)
    return ready
