"""`concernbot doctor`: everything the bot needs, checked in turn, each with what to do if it is wrong.

It changes nothing: it does not apply migrations, send email or post to Slack. A check that fails is one
the bot cannot work without; a warning is something a school would want to know (email not set up, no
process running the scheduler, messages waiting).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.slack_client import web_client
from bot.checks import dsl_channel_problem
from bot.email import Emailer
from bot.fallback import FallbackPolicy, schools_without_fallback
from bot.settings import ConfigError, Settings
from bot.slack_needs import BOT_SCOPES
from flows.clock import Clock
from storage.db import Database
from storage.keys import BESIDE_THE_DATABASE, missing_keys
from storage.leader import leader_lock
from storage.migrate import current_revision, head_revision
from storage.models import OutboxMessage, School
from storage.schools import active_team_ids

STUCK_AFTER = timedelta(minutes=10)


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    what: str
    detail: str

    def line(self) -> str:
        return f"{self.verdict.value:<4}  {self.what}: {self.detail}"


def _slack(settings: Settings) -> tuple[list[Finding], str | None]:
    if settings.slack_bot_token is None:
        return [Finding(Verdict.FAIL, "Slack", "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token from "
                                               "your app's OAuth & Permissions page (or, to install into many "
                                               "workspaces, set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)")], None
    client = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    findings, team_id = _token(client, "Slack", "copy it again from your app's OAuth & Permissions page")
    return findings + _signing_secret(settings), team_id


def _token(client: WebClient, what: str, remedy: str) -> tuple[list[Finding], str | None]:
    """The token works, and carries every scope the manifest asks for."""
    try:
        reply = client.auth_test()
    except SlackApiError as exc:
        return [Finding(Verdict.FAIL, what, f"the bot token was refused ({exc.response.get('error')}): {remedy}")], None
    except (SlackClientError, OSError) as exc:
        return [Finding(Verdict.FAIL, what, f"cannot reach Slack ({type(exc).__name__}); check the network or "
                                            "SLACK_API_URL")], None
    findings = [Finding(Verdict.OK, what, f"connected to {reply.get('team')} ({reply['team_id']}) as "
                                          f"@{reply.get('user')}")]
    headers = {str(k).lower(): v for k, v in (reply.headers or {}).items()}
    granted = {s.strip() for s in str(headers.get("x-oauth-scopes", "")).split(",") if s.strip()}
    missing = sorted(set(BOT_SCOPES) - granted)
    if missing:
        findings.append(Finding(Verdict.FAIL, f"{what} scopes", f"the app lacks {', '.join(missing)}: update it "
                                                                "from manifest.yml and reinstall it to the workspace"))
    else:
        findings.append(Finding(Verdict.OK, f"{what} scopes", "every scope in manifest.yml is granted"))
    return findings, str(reply["team_id"])


def _signing_secret(settings: Settings) -> list[Finding]:
    if settings.slack_signing_secret is None:
        return [Finding(Verdict.FAIL, "Slack", "SLACK_SIGNING_SECRET is not set: copy the Signing Secret "
                                               "from your app's Basic Information page")]
    return []


def _oauth_app(settings: Settings) -> list[Finding]:
    if settings.slack_client_id is None or settings.slack_client_secret is None:
        return [Finding(Verdict.FAIL, "Slack app", "set both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (Basic "
                                                   "Information > App Credentials)")]
    if settings.slack_bot_token is not None:
        return [Finding(Verdict.FAIL, "Slack app", "SLACK_BOT_TOKEN is set too: unset it, as installed into many "
                                                   "workspaces each school's token comes from its installation")]
    findings = [Finding(Verdict.OK, "Slack app", f"installs by OAuth as client {settings.slack_client_id}")]
    if settings.slack_redirect_uri is None:
        findings.append(Finding(Verdict.WARN, "Slack app", "SLACK_REDIRECT_URI is not set: Slack uses the app's "
                                                           "only Redirect URL, which must end /slack/oauth_redirect"))
    return findings + _signing_secret(settings)


def _installed_schools(db: Database, settings: Settings) -> list[Finding]:
    from bot.install_flow import installation_store
    from bot.workspaces import InstalledWorkspaces, NotInstalled

    workspaces = InstalledWorkspaces(db, installation_store(settings, db), settings.slack_api_url)
    with db.session() as session:
        teams = active_team_ids(session)
    if not teams:
        return [Finding(Verdict.WARN, "schools", "no workspace has installed concernbot yet: open the bot's "
                                                 "/slack/install page in a browser")]
    findings: list[Finding] = []
    for team_id in teams:
        try:
            client = workspaces.client(team_id)
        except NotInstalled as exc:
            findings.append(Finding(Verdict.FAIL, f"school {team_id}", str(exc)))
            continue
        checked, _ = _token(client, f"school {team_id}", "install concernbot again from /slack/install")
        findings += checked
        if checked[0].verdict is Verdict.OK:
            findings += _school_and_channel(db, client, team_id)
    return findings


def _database(db: Database) -> list[Finding]:
    if db.missing_file:
        return [Finding(Verdict.FAIL, "database", f"there is no database at {db.missing_file}: check DATABASE_URL, "
                                                  "or start the bot once to create it")]
    try:
        revision = current_revision(db.engine)
    except SQLAlchemyError as exc:
        return [Finding(Verdict.FAIL, "database", f"cannot connect ({type(exc).__name__}); check DATABASE_URL "
                                                  "and that the database server is running")]
    head = head_revision(db.engine)
    if revision != head:
        return [Finding(Verdict.FAIL, "database", f"at migration {revision or 'none'}, this version needs {head}: "
                                                  "run `concernbot db upgrade` (back up first)")]
    with db.session() as session:
        missing = missing_keys(session, db.keyring)
    if missing:
        return [Finding(Verdict.FAIL, "encryption key", f"the records were sealed with key {', '.join(missing)}, "
                                                        f"which {db.keyring.source} does not hold: give that key")]
    key = (Finding(Verdict.WARN, "encryption key", f"key {db.keyring.current_id} is kept in {db.keyring.source}, "
                                                   "beside the database: a copy of that folder holds both. Move the "
                                                   "file elsewhere and set ENCRYPTION_KEY_FILE to it")
           if db.keyring.source.startswith(BESIDE_THE_DATABASE) else
           Finding(Verdict.OK, "encryption key", f"key {db.keyring.current_id} from {db.keyring.source}; "
                                                 "keep a copy apart from the database's backups"))
    return [Finding(Verdict.OK, "database", f"{db.dialect}, migrations up to date ({head})"), key]


def _school_and_channel(db: Database, client: WebClient, team_id: str) -> list[Finding]:
    with db.session() as session:
        school = session.get(School, team_id)
        if school is None or not school.dsl_channel_id:
            return [Finding(Verdict.FAIL, f"school {team_id}", "not set up: open concernbot's Home tab in Slack, "
                                                               "or run `concernbot setup school.yml`")]
        problem = dsl_channel_problem(client, school)
    if problem:
        return [Finding(Verdict.FAIL, "DSL channel", problem)]
    return [Finding(Verdict.OK, "DSL channel", f"concernbot can post to #{school.dsl_channel_name}")]


def _scheduler(db: Database) -> Finding:
    lock = leader_lock(db)
    try:
        free = lock.try_acquire()
    finally:
        lock.release()
    if free:
        return Finding(Verdict.WARN, "scheduler", "no process holds the scheduler lock: escalations and reminders "
                                                  "wait until `concernbot serve` is running")
    return Finding(Verdict.OK, "scheduler", "a running bot holds the scheduler lock")


def _email(settings: Settings) -> Finding:
    emailer = Emailer(settings.smtp())
    if not emailer.configured:
        return Finding(Verdict.WARN, "email", "SMTP_HOST and SMTP_FROM are not set: emails to the LADO wait in "
                                              "the outbox, and case managers are told to phone")
    try:
        emailer.check()
    except smtplib.SMTPAuthenticationError:
        return Finding(Verdict.FAIL, "email", "the relay refused SMTP_USERNAME / SMTP_PASSWORD")
    except (smtplib.SMTPException, OSError) as exc:
        return Finding(Verdict.FAIL, "email", f"cannot use {settings.smtp_host}:{settings.smtp_port} "
                                              f"({type(exc).__name__}); check SMTP_HOST, SMTP_PORT, SMTP_SECURITY")
    return Finding(Verdict.OK, "email", f"{settings.smtp_host}:{settings.smtp_port} accepts a login")


def _outbox(db: Database, clock: Clock) -> Finding:
    with db.session() as session:
        stuck = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.sent_at.is_(None), OutboxMessage.due_at < clock.now() - STUCK_AFTER)) or 0
    if stuck:
        return Finding(Verdict.WARN, "outbox", f"{stuck} messages are over 10 minutes late: see the bot's log "
                                               "for 'not sent' lines, which give the reason")
    return Finding(Verdict.OK, "outbox", "nothing waiting long")


def _fallback(db: Database, settings: Settings) -> Finding:
    """Whom to email when a concern's alert cannot reach Slack: FALLBACK_EMAIL, or each school's own."""
    if settings.fallback_email:
        return Finding(Verdict.OK, "fallback email", f"{settings.fallback_email} is told if a concern's alert has "
                                                     f"not reached Slack after {settings.notify_fallback_after_minutes} "
                                                     "minutes (unless a school gives its own address)")
    with db.session() as session:
        missing = schools_without_fallback(session, FallbackPolicy())
        any_school = session.scalar(select(func.count()).select_from(School).where(
            School.dsl_channel_id.is_not(None), School.uninstalled_at.is_(None))) or 0
    if missing or not any_school:
        where = f" for {', '.join(missing)}" if missing and settings.oauth else ""
        return Finding(Verdict.WARN, "fallback email", f"no fallback address is set{where}: if a concern's alert "
                                                       "cannot reach Slack, nobody is emailed. Set FALLBACK_EMAIL, or "
                                                       "contacts.fallback_email in the school's set-up file")
    return Finding(Verdict.OK, "fallback email", "each school gives its own fallback address")


def diagnose(settings: Settings, clock: Clock) -> list[Finding]:
    from bot.runtime import database_for

    try:
        db = database_for(settings)
    except ConfigError as exc:
        return [Finding(Verdict.FAIL, "encryption key", str(exc))]
    try:
        database = _database(db)
        up = database[0].verdict is Verdict.OK
        if settings.oauth:  # installed into many workspaces: each school's own token, channel and set-up
            findings = _oauth_app(settings) + database + (_installed_schools(db, settings) if up else [])
        else:
            findings, team_id = _slack(settings)
            findings += database
            if up and team_id:
                token = settings.slack_bot_token.get_secret_value()  # type: ignore[union-attr]
                findings += _school_and_channel(db, web_client(token, settings.slack_api_url), team_id)
        if up:
            findings += [_scheduler(db), _outbox(db, clock), _fallback(db, settings)]
    finally:
        db.dispose()
    findings.append(_email(settings))
    return findings
