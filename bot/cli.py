"""The `concernbot` command. With no Slack credentials and no sub-command it runs the demo."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.logs import configure as configure_logging
from bot.stopping import stop_on_signals
from bot.backup import BackupError
from bot.runtime import (
    Runtime, connect_school, connect_to_slack, database_for, freeze_start_up_objects, open_database,
)
from bot.export import ExportRefused
from bot.school_setup import SetupError, apply_school_file
from bot.settings import ConfigError, Settings, load_settings
from flows.clock import SystemClock
from flows.incident_log import FilterError
from storage.crypto import KeyProblem, RecordUnreadable
from storage.db import Database, DatabaseUrlError

log = logging.getLogger("concernbot")

# Commands that live in modules of their own. Each has add_commands(commands), adding its sub-parsers, and
# run(settings, args) -> int | None, answering for its own commands and None for anyone else's.
COMMAND_MODULES = ("bot.cli_keys", "bot.cli_records")


def _command_modules() -> list[Any]:
    return [importlib.import_module(name) for name in COMMAND_MODULES]


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
    serve.add_argument("--workers", type=int, default=None,
                       help="HTTP mode: worker processes (default HTTP_WORKERS, else 1)")
    setup = commands.add_parser("setup", help="load the school's set-up file (idempotent), or --export it")
    setup.add_argument("file", type=Path, help="the school's YAML file (with --export: the file to write)")
    setup.add_argument("--export", action="store_true", help="write the current configuration to FILE instead")
    setup.add_argument("--team", help="the school's Slack team id, when concernbot serves several")
    export = commands.add_parser("export", help="the incident log (CSV, DSL team), the governors' summary, or one "
                                 "child's or member of staff's whole record (PDF and JSON)")
    export.add_argument("what", nargs="?", choices=["incidents", "summary"])
    export.add_argument("--child", metavar="NAME", help="a child's whole record, for a subject access request or their "
                        "next school: their full name, or - to type it (kept out of shell history and ps)")
    export.add_argument("--staff", metavar="USER", help="the concerns about a member of staff, for their subject "
                        "access request: their Slack user id or email")
    export.add_argument("--as", dest="viewer", required=True, help="Slack user id of the person it is for")
    export.add_argument("--out", type=Path, help="incidents: the file to write (required); summary: a file, else "
                        "stdout; --child/--staff: the directory to write into (required)")
    export.add_argument("--team", help="the school's Slack team id, when the database holds several")
    export.add_argument("--filter", default="status:all", help="as /concerns, e.g. 'since:2026-09-01'")
    export.add_argument("--format", default="pdf,json", help="--child/--staff: pdf, json, or pdf,json (the default)")
    export.add_argument("--font", type=Path, help="--child/--staff: a TrueType font for the PDF (default: DejaVu "
                        "Sans from the system)")
    aup = commands.add_parser("aup", help="the staff Acceptable Use Policy: publish a version, or who has signed")
    aup_do = aup.add_subparsers(dest="aup_command", metavar="ACTION", required=True)
    publish = aup_do.add_parser("publish", help="put a version in force; every member of staff is asked to sign")
    publish.add_argument("--version", required=True, help="its label, e.g. 2026-09")
    source = publish.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", type=Path, help="a UTF-8 text file with the AUP's words")
    source.add_argument("--url", help="a link to the AUP (its signature is bound to the link)")
    publish.add_argument("--title", help="default: Staff Acceptable Use Policy")
    publish.add_argument("--changes", help="what changed since the last version, for the message to staff")
    publish.add_argument("--as", dest="by", help="your Slack user id: you are told how the round goes")
    status = aup_do.add_parser("status", help="everyone's latest request and signature, as CSV")
    status.add_argument("--out", type=Path, help="file to write (readable by you only); default: stdout")
    for sub in (publish, status):
        sub.add_argument("--team", help="the school's Slack team id, when the database holds several")
    reminders = commands.add_parser("reminders", help="what the yearly cycle would send, and when")
    reminders.add_argument("--dry-run", action="store_true", required=True, help="print only; send nothing")
    reminders.add_argument("--days", type=int, default=30, help="how far ahead (default 30)")
    reminders.add_argument("--team", help="the school's Slack team id, when the database holds several")
    commands.add_parser("doctor", help="check tokens, scopes, the DSL channel, the database, the scheduler, email")
    backup = commands.add_parser("backup", help="a consistent copy of the database (SQLite's backup, or pg_dump)")
    backup.add_argument("file", type=Path, help="the file to write (readable by you only)")
    restore = commands.add_parser("restore", help="restore a backup into the database in DATABASE_URL")
    restore.add_argument("file", type=Path, help="a file `concernbot backup` wrote")
    restore.add_argument("--force", action="store_true", help="replace the records already there")
    migrate = commands.add_parser("migrate-db", help="copy every record to another database (SQLite to PostgreSQL)")
    migrate.add_argument("--to", required=True, dest="target", help="the database URL to copy into (empty)")
    for module in _command_modules():
        module.add_commands(commands)
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="upgrade: apply migrations")
    return parser


def _serve(settings: Settings, host: str, port: int) -> int:
    settings.require_slack()
    # SIGTERM (a container or systemd stopping us) and SIGINT (Ctrl-C) both stop cleanly: set here, so an
    # inherited "ignore SIGINT" (a background job) cannot leave the bot deaf to them; and set before anything
    # starts, so a stop asked for while /healthz already answers but start-up is not done is not lost.
    stop = stop_on_signals()
    runtime = Runtime(settings)
    socket_mode = settings.slack_app_token is not None
    try:
        runtime.start(host=host, port=port)  # in Socket Mode too: /healthz and /metrics for the container
    except OSError as exc:
        runtime.stop()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): stop whatever is using it, "
                          "or choose another with --port.") from None
    for warning in runtime.warnings:
        log.warning("%s", warning)
    freeze_start_up_objects()
    handler = None
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("concernbot serving %s over Socket Mode", runtime.client_team)
            handler = SocketModeHandler(runtime.app, settings.slack_app_token.get_secret_value(),  # type: ignore[union-attr]
                                        web_client=runtime.client)
            try:
                handler.connect()
            except SlackApiError as exc:
                raise ConfigError(f"Slack refused SLACK_APP_TOKEN ({exc.response.get('error')}): generate an "
                                  "app-level token with the connections:write scope on your app's Basic "
                                  "Information page.") from None
        else:
            log.info("concernbot serving %s over HTTP at %s/slack/events", runtime.client_team, runtime.url)
        stop.wait()
        log.info("concernbot stopping")
    finally:
        if handler is not None:
            handler.close()
        runtime.stop()
    return 0


def _serve_workers(settings: Settings, host: str, port: int, workers: int, argv: Sequence[str]) -> int:
    """HTTP mode with several worker processes (bot/workers.py)."""
    settings.require_slack()
    if not 1 <= workers <= 32:
        raise ConfigError("--workers must be a number from 1 to 32.")
    if not settings.oauth:
        connect_to_slack(settings)  # one sentence now if the token is wrong, not one traceback per worker
    open_database(settings)  # migrations once, before the workers start
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): stop whatever is using it, "
                          "or choose another with --port.") from None
    from bot.workers import WorkerServer, metrics_directory

    if not metrics_directory(os.environ):
        # prometheus-client chooses its multiprocess counters when imported, which has happened: start
        # again as the same command (same pid) with the shared directory in the environment.
        os.execv(sys.executable, [sys.executable, "-m", "bot", *argv])
    log.info("concernbot serving over HTTP at http://%s:%s/slack/events with %s workers", host, port, workers)
    WorkerServer(settings, host, port, workers).run()
    return 0


def _existing_database(settings: Settings) -> Database:
    """The database as it is: never created or migrated by a command that only reads it."""
    from storage.migrate import current_revision, head_revision

    db = database_for(settings)
    if db.missing_file:
        raise ConfigError(f"there is no database at {db.missing_file}: check DATABASE_URL (the bot's environment "
                          "file sets it).")
    current, head = current_revision(db.engine), head_revision(db.engine)
    if current != head:
        raise ConfigError(f"the database is at migration {current or 'none'} and this version of concernbot needs "
                          f"{head}: run the version that matches it, or `concernbot db upgrade` first.")
    return db


def _backup(settings: Settings, command: str, args: argparse.Namespace) -> int:
    from bot.backup import backup, describe, migrate_db, restore

    db = _existing_database(settings) if command != "restore" else database_for(settings)
    if command == "backup":
        report = backup(db, args.file)
        print(f"backed up {report.concerns} concerns from {report.schools} schools ({report.dialect}, migration "
              f"{report.revision}) to {report.path}, "
              f"{report.bytes} bytes, readable by you only")
    elif command == "restore":
        restored = restore(db, args.file, force=args.force)
        print(f"restored {restored.concerns} concerns from {restored.schools} schools into {describe(db)} "
              f"(backup at migration {restored.backup_revision}, now {restored.revision})")
    else:
        target = Database(args.target, keys=db.keyring)  # sealed with the same key, so every index still holds
        copied = migrate_db(db, target)
        print(f"copied {sum(copied.values())} rows in {len(copied)} tables to {describe(target)}; set "
              f"DATABASE_URL to it, give the bot the same key ({db.keyring.source}) in ENCRYPTION_KEY_FILE or "
              "ENCRYPTION_KEY, and start it")
    return 0


def _setup(settings: Settings, path: Path, team: str | None) -> int:
    client, db, team_id, name = connect_school(settings, team)
    changes = apply_school_file(client, team_id, db, path, SystemClock().now())
    print(f"{name}: " + ("; ".join(changes) if changes else "no changes"))
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.export import export_incidents, export_summary, school_for
    from flows.incident_log import parse_filters

    if sum(given is not None for given in (args.what, args.child, args.staff)) != 1:
        raise ConfigError("export needs exactly one of: incidents, summary, --child NAME or --staff USER.")
    if args.what is None:
        return _export_subject(settings, args)
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


def _child_name(given: str) -> str:
    """The name as given, or with `-`, read from the terminal (hidden) or a pipe: never in `ps` or history."""
    if given != "-":
        return given
    if sys.stdin.isatty():
        import getpass

        name = getpass.getpass("The child's full name (not shown): ")
    else:
        name = sys.stdin.readline()
    if not name.strip():
        raise ConfigError("export --child - read no name: type the child's full name, or pipe it in.")
    return name.strip()


def _export_subject(settings: Settings, args: argparse.Namespace) -> int:
    """One child's or member of staff's whole record. Prints the files and a count only: never a name."""
    from bot.export import school_for
    from bot.subject_export import export_subject, parse_formats, slack_names, staff_user_id
    from storage.subject_access import ExportKind

    if args.out is None:
        raise ConfigError("export --child or --staff needs --out DIR: the directory to write the PDF and JSON into.")
    formats = parse_formats(args.format)
    client = None
    if settings.has_slack_credentials:  # for names beside Slack ids, and to find --staff by email
        try:
            client, db, team_id, _ = connect_school(settings, args.team)
        except ConfigError as exc:
            if args.staff is not None and "@" in args.staff:
                raise
            print(f"concernbot: people are shown by Slack user id only, as Slack could not be asked ({exc})",
                  file=sys.stderr)
    if client is None:
        db = open_database(settings)
        team_id = school_for(db, args.team)
    kind = ExportKind.CHILD if args.child is not None else ExportKind.STAFF
    subject = _child_name(args.child) if kind is ExportKind.CHILD else staff_user_id(client, args.staff)
    written = export_subject(db, SystemClock(), team_id, args.viewer, kind=kind, subject=subject, out_dir=args.out,
                             formats=formats, font=args.font, names=slack_names(client) if client else None)
    for path in written.paths:
        print(path)
    print(f"{written.count} concerns exported (readable by you only); the export is logged on each.")
    return 0


def _aup(settings: Settings, args: argparse.Namespace) -> int:
    from bot import yearly_cli
    from bot.export import school_for

    if args.aup_command == "status":
        db = open_database(settings)
        unsigned = yearly_cli.export_status(db, school_for(db, args.team), args.out, sys.stdout)
        if args.out:
            print(f"written to {args.out} (readable by you only): {unsigned} not yet signed")
        return 0
    doc = yearly_cli.read_document(args.version, args.title, args.file, args.url, args.changes)
    client, db, team_id, _ = connect_school(settings, args.team)
    print(yearly_cli.publish(client, db, team_id, doc, args.by, SystemClock().now()))
    return 0


def _reminders(settings: Settings, args: argparse.Namespace) -> int:
    from bot import yearly_cli
    from bot.export import school_for

    if not 1 <= args.days <= 400:
        raise ConfigError("--days must be a number of days from 1 to 400.")
    db = open_database(settings)
    yearly_cli.dry_run(db, SystemClock(), school_for(db, args.team), args.days, sys.stdout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        command = args.command or ("serve" if settings.has_slack_credentials else "demo")
        # The demo prints a transcript; its logs stay quiet unless LOG_LEVEL asks for them.
        quiet = command == "demo" and "log_level" not in settings.model_fields_set
        configure_logging("WARNING" if quiet else settings.log_level, settings.log_format)
        if command == "demo":
            from bot.demo import run_demo

            return run_demo(sys.stdout, getattr(args, "database_url", None))
        if command == "serve":
            workers = getattr(args, "workers", None) or settings.http_workers
            if workers > 1 and settings.slack_app_token is None:
                return _serve_workers(settings, getattr(args, "host", "0.0.0.0"), getattr(args, "port", 3000),
                                      workers, argv)
            return _serve(settings, getattr(args, "host", "0.0.0.0"), getattr(args, "port", 3000))
        if command == "setup" and args.export:
            from bot.export import school_for
            from bot.school_export import export_yaml

            db = open_database(settings)
            args.file.write_text(export_yaml(db, school_for(db, args.team)), encoding="utf-8")
            print(f"written to {args.file}")
            return 0
        if command == "setup":
            return _setup(settings, args.file, args.team)
        if command == "export":
            return _export(settings, args)
        if command in ("backup", "restore", "migrate-db"):
            return _backup(settings, command, args)
        if command == "doctor":
            from bot.doctor import Verdict, diagnose

            findings = diagnose(settings, SystemClock())
            for finding in findings:
                print(finding.line())
            return 1 if any(f.verdict is Verdict.FAIL for f in findings) else 0
        if command == "aup":
            return _aup(settings, args)
        if command == "reminders":
            return _reminders(settings, args)
        for module in _command_modules():
            answered = module.run(settings, args)
            if answered is not None:
                return answered
        open_database(settings)
        print("database is up to date")
        return 0
    except (ConfigError, SetupError, DatabaseUrlError, ExportRefused, FilterError, BackupError, KeyProblem,
            RecordUnreadable) as exc:
        print(f"concernbot: {exc}", file=sys.stderr)
        return 2
