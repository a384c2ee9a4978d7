"""The `concernbot` command. With no Slack credentials and no sub-command it runs the demo."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from slack_sdk.errors import SlackApiError

from bot.runtime import Runtime, connect_to_slack, open_database
from bot.export import ExportRefused
from bot.school_setup import SetupError, apply_school_file
from bot.settings import ConfigError, Settings, load_settings
from flows.clock import SystemClock
from flows.incident_log import FilterError
from storage.db import DatabaseUrlError

log = logging.getLogger("concernbot")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations report themselves only on trouble
    logging.getLogger("slack_sdk").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # Bolt logs whole request and response bodies at DEBUG, and those carry what people typed.
    logging.getLogger("concernbot.bolt").setLevel(max(logging.INFO, logging.getLevelName(level)))
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use a number from 1 to 65535")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concernbot", description=(
        "Record and act on online-safety concerns in Slack. With no Slack credentials in the environment "
        "and no command, runs the demo."))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="run the real bot against a built-in sandbox workspace")
    demo.add_argument("--database-url", help="use this database instead of a fresh SQLite file")
    serve = commands.add_parser("serve", help="run against a real workspace (Socket Mode if SLACK_APP_TOKEN)")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=_port, default=3000, help="HTTP mode: port (default 3000)")
    setup = commands.add_parser("setup", help="load the school's set-up file (idempotent)")
    setup.add_argument("file", type=Path, help="the school's YAML file")
    export = commands.add_parser("export", help="the incident log (CSV, DSL team) or governors' summary")
    export.add_argument("what", choices=["incidents", "summary"])
    export.add_argument("--as", dest="viewer", required=True, help="Slack user id of the person it is for")
    export.add_argument("--out", type=Path, help="file to write (required for incidents); summary: stdout")
    export.add_argument("--team", help="the school's Slack team id, when the database holds several")
    export.add_argument("--filter", default="status:all", help="as /concerns, e.g. 'since:2026-09-01'")
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="upgrade: apply migrations")
    return parser


def _serve(settings: Settings, host: str, port: int) -> int:
    settings.require_slack()
    runtime = Runtime(settings)
    socket_mode = settings.slack_app_token is not None
    try:
        runtime.start(host=host, port=port, http=not socket_mode)
    except OSError as exc:
        runtime.stop()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): stop whatever is using it, "
                          "or choose another with --port.") from None
    for warning in runtime.warnings:
        log.warning("%s", warning)
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("concernbot serving %s over Socket Mode", runtime.identity.team_id)
            handler = SocketModeHandler(runtime.app, settings.slack_app_token.get_secret_value(),  # type: ignore[union-attr]
                                        web_client=runtime.client)
            try:
                handler.start()
            except SlackApiError as exc:
                raise ConfigError(f"Slack refused SLACK_APP_TOKEN ({exc.response.get('error')}): generate an "
                                  "app-level token with the connections:write scope on your app's Basic "
                                  "Information page.") from None
        else:
            log.info("concernbot serving %s over HTTP at %s/slack/events", runtime.identity.team_id, runtime.url)
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.stop()
    return 0


def _setup(settings: Settings, path: Path) -> int:
    client, identity = connect_to_slack(settings)
    db = open_database(settings)
    changes = apply_school_file(client, identity.team_id, db, path, SystemClock().now())
    print(f"{identity.team_name or identity.team_id}: " + ("; ".join(changes) if changes else "no changes"))
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.export import export_incidents, export_summary, school_for
    from flows.incident_log import parse_filters

    filters = parse_filters(args.filter)
    db = open_database(settings)
    team_id = school_for(db, args.team)
    if args.what == "incidents":
        if args.out is None:
            raise ConfigError("export incidents needs --out FILE: the incident log holds children's names.")
        count = export_incidents(db, SystemClock(), team_id, args.viewer, filters, args.out)
        print(f"{count} concerns written to {args.out} (readable by you only); the export is logged on each.")
    elif args.out:
        with args.out.open("w", newline="", encoding="utf-8") as handle:
            export_summary(db, team_id, args.viewer, filters, handle)
    else:
        export_summary(db, team_id, args.viewer, filters, sys.stdout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        command = args.command or ("serve" if settings.has_slack_credentials else "demo")
        # The demo prints a transcript; its logs stay quiet unless LOG_LEVEL asks for them.
        quiet = command == "demo" and "log_level" not in settings.model_fields_set
        configure_logging("WARNING" if quiet else settings.log_level)
        if command == "demo":
            from bot.demo import run_demo

            return run_demo(sys.stdout, getattr(args, "database_url", None))
        if command == "serve":
            return _serve(settings, getattr(args, "host", "0.0.0.0"), getattr(args, "port", 3000))
        if command == "setup":
            return _setup(settings, args.file)
        if command == "export":
            return _export(settings, args)
        open_database(settings)
        print("database is up to date")
        return 0
    except (ConfigError, SetupError, DatabaseUrlError, ExportRefused, FilterError) as exc:
        print(f"concernbot: {exc}", file=sys.stderr)
        return 2
