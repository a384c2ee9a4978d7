"""Installing concernbot into a school's workspace (or a trust's whole Enterprise Grid organisation) by OAuth.

Bolt runs the flow (/slack/install, then Slack's consent page, then /slack/oauth_redirect) with slack-sdk's
SQLAlchemy installation and state stores on our own database; the tables come from our migrations. What is
ours: on success each workspace becomes a school that knows how it is reached and who installed it (the
one told when a concern waits for set-up), and the installer sees one plain page either way.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.slack_client import web_client
from bot.settings import Settings
from bot.slack_needs import BOT_SCOPES
from flows.clock import Clock
from storage.db import Database
from storage.installs import BOTS_TABLE, INSTALLATIONS_TABLE, STATES_TABLE, needs_recording, record_install

log = logging.getLogger(__name__)
STATE_SECONDS = 600  # an install link works for ten minutes
INSTALL_PATH, REDIRECT_PATH = "/slack/install", "/slack/oauth_redirect"

FAILURES = {
    "access_denied": "The installation was cancelled, so nothing was installed.",
    "invalid_browser": "This installation was started in another browser or has expired.",
    "invalid_state": "This installation link has expired or was already used.",
    "invalid_code": "Slack did not confirm the installation.",
    "missing_code": "Slack did not confirm the installation.",
    "storage_error": "The installation could not be saved: the bot's database is not answering.",
}


@dataclass(frozen=True)
class Installed:
    """What one successful installation covered: one workspace, or each workspace of an organisation."""

    team_ids: tuple[str, ...]
    enterprise_id: str | None
    org_install: bool


def installation_store(settings: Settings, db: Database) -> SQLAlchemyInstallationStore:
    return SQLAlchemyInstallationStore(client_id=str(settings.slack_client_id), engine=db.engine,
                                       bots_table_name=BOTS_TABLE, installations_table_name=INSTALLATIONS_TABLE,
                                       logger=logging.getLogger("concernbot.install"))


def oauth_settings(settings: Settings, db: Database, store: SQLAlchemyInstallationStore, clock: Clock,
                   installed: Callable[[Installed], None]) -> OAuthSettings:
    def success(args: SuccessArgs) -> BoltResponse:
        installation = args.installation
        if not allowed(settings, installation.team_id, installation.enterprise_id):
            _forget(store, installation)
            log.warning("an installation from %s was refused: not in SLACK_ALLOWED_TEAMS",
                        installation.enterprise_id if installation.is_enterprise_install else installation.team_id)
            return _page(403, "This concernbot serves only the schools its operator lists.",
                         "Ask whoever runs it to add your workspace (or organisation) to SLACK_ALLOWED_TEAMS, then "
                         "install again. Nothing was kept.")
        try:
            result = record(db, settings, installation, clock)
        except SQLAlchemyError as exc:
            log.error("an installation could not be recorded (%s)", type(exc).__name__)
            return _page(500, FAILURES["storage_error"], "Install again in a minute; nothing is lost by trying "
                         "twice. If it keeps failing, run concernbot doctor on the server.")
        installed(result)
        where = installation.enterprise_name if result.org_install else installation.team_name
        return _page(200, f"concernbot is installed in {where or 'your workspace'}.",
                     "Open concernbot's Home tab in Slack: whoever installed it is walked through set-up "
                     "there (the safeguarding team, the channel, the headteacher).")

    def failure(args: FailureArgs) -> BoltResponse:
        log.warning("installation failed: %s", args.reason)
        first = FAILURES.get(args.reason, "The installation did not complete.")
        return _page(args.suggested_status_code, first,
                     f'<a href="{INSTALL_PATH}">Start the installation again</a>; if it keeps failing, '
                     "ask whoever runs concernbot to run <code>concernbot doctor</code>.", raw=True)

    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),  # type: ignore[union-attr]
        scopes=list(BOT_SCOPES),
        redirect_uri=settings.slack_redirect_uri,
        authorization_url=settings.slack_authorize_url,
        install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        installation_store=store, installation_store_bot_only=True,
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=db.engine,
                                              table_name=STATES_TABLE),
        state_expiration_seconds=STATE_SECONDS,
        callback_options=CallbackOptions(success=success, failure=failure),
    )


def record(db: Database, settings: Settings, installation: Installation, clock: Clock) -> Installed:
    """Make each installed workspace a school (kept records untouched) and note how it is reached."""
    org = bool(installation.is_enterprise_install)
    teams = _org_workspaces(settings, installation) if org else {str(installation.team_id): installation.team_name}
    team_ids = [team for team in teams if allowed(settings, team, installation.enterprise_id)]
    now = clock.now()
    with db.session() as session:
        for team_id in team_ids:
            record_install(session, team_id, enterprise_id=installation.enterprise_id, org_install=org,
                           installed_by=installation.user_id, timezone=settings.school_timezone, now=now,
                           team_name=teams[team_id])
    log.info("concernbot installed: %s workspace(s)%s", len(team_ids),
             f" of organisation {installation.enterprise_id}" if org else f" ({team_ids[0]})")
    return Installed(tuple(team_ids), installation.enterprise_id, org)


def _org_workspaces(settings: Settings, installation: Installation) -> dict[str, str | None]:
    """An org-wide install serves each workspace the organisation grants it (id: name); more arrive as
    `team_access_granted` events, or with their first request."""
    client = web_client(installation.bot_token, settings.slack_api_url)
    teams: dict[str, str | None] = {}
    try:
        for page in client.auth_teams_list(limit=100):
            teams |= {team["id"]: team.get("name") for team in page.get("teams", [])}
    except (SlackApiError, SlackClientError) as exc:
        log.warning("could not list the organisation's workspaces (%s); each becomes a school with its "
                    "first request", type(exc).__name__)
    return teams


def _forget(store: SQLAlchemyInstallationStore, installation: Installation) -> None:
    team_id = None if installation.is_enterprise_install else installation.team_id
    store.delete_bot(enterprise_id=installation.enterprise_id, team_id=team_id)
    store.delete_installation(enterprise_id=installation.enterprise_id, team_id=team_id)


def _page(status: int, headline: str, detail: str, raw: bool = False) -> BoltResponse:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>concernbot</title></head><body>"
            f"<h1>{html.escape(headline)}</h1><p>{detail if raw else html.escape(detail)}</p></body></html>")
    return BoltResponse(status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"})


def remember_workspaces(db: Database, settings: Settings, clock: Clock) -> Callable[..., object]:
    """A Bolt global middleware (OAuth mode; bot.app.Direct): a request that reached a workspace through its
    organisation's install makes that workspace a school reached that way (again, if access was taken away and
    given back with the event missed), so its scheduled work and outbox find the token. Known workspaces cost
    nothing."""
    known: set[str] = set()

    def middleware(context: dict, body: dict, next: Callable[[], object]) -> object:  # noqa: A002 - Bolt's
        team_id, enterprise_id = context.get("team_id"), context.get("enterprise_id")
        if team_id and enterprise_id and context.get("is_enterprise_install") and team_id not in known:
            if allowed(settings, team_id, enterprise_id):
                with db.session() as session:
                    if needs_recording(session, team_id):
                        record_install(session, team_id, enterprise_id=enterprise_id, org_install=True,
                                       installed_by=None, timezone=settings.school_timezone, now=clock.now())
                        log.info("workspace %s of organisation %s is a school of its install", team_id,
                                 enterprise_id)
                known.add(team_id)
        return next()

    return middleware


def allowed(settings: Settings, team_id: str | None, enterprise_id: str | None) -> bool:
    """Whether this deployment serves the workspace: SLACK_ALLOWED_TEAMS lists team (T…) and organisation
    (E…) ids; unset, any workspace that installs it."""
    listed = settings.allowed_teams
    return not listed or bool({team_id, enterprise_id} & listed)
