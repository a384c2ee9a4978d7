"""The floor: a bare Bolt app that only acknowledges, served like the bot (waitress, Bolt's WSGI adapter,
/healthz), in a process of its own. `python -m tests.bench.floor PORT`."""

from __future__ import annotations

import sys

from bot.http import HttpServer, wsgi_app
from bot.stopping import stop_on_signals
from tests.bench.latency import floor_app


def main() -> None:
    server = HttpServer(wsgi_app(floor_app(), lambda: {"status": "ok"}), "127.0.0.1", int(sys.argv[1]))
    stop = stop_on_signals()
    server.start()
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
