"""The floor: a bare Bolt app that only acknowledges, served like the bot (waitress, Bolt's WSGI adapter,
/healthz), in a process of its own. `python -m tests.bench.floor PORT`."""

from __future__ import annotations

import signal
import sys
import threading

from bot.http import HttpServer, wsgi_app
from tests.bench.latency import floor_app


def main() -> None:
    server = HttpServer(wsgi_app(floor_app(), lambda: {"status": "ok"}), "127.0.0.1", int(sys.argv[1]))
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    stopping.wait()
    server.stop()


if __name__ == "__main__":
    main()
