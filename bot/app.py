"""The app factory: one Bolt app per process, with its listeners and its one error handler."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from bot.logs import ContextExecutor, request_middleware
from bot.listeners import (
    admin, admin_register, aup, concern_actions, handling, home, incident_log, install, report, reviews,
)
from bot.metrics import Metrics
from bot.slack_client import BotIdentity
from bot.services import Services, inject

log = logging.getLogger(__name__)
# What someone sees who uses concernbot in a workspace it is not (or no longer) installed in.
NOT_INSTALLED = ("concernbot is not installed in this workspace: ask whoever looks after Slack here to install it "
                 "again. Anything recorded before is kept.")
LISTENER_THREADS = 64


def create_app(*, signing_secret: str, client: WebClient, services: Services, metrics: Metrics | None = None,
               identity: BotIdentity | None = None, oauth: OAuthSettings | None = None,
               middleware: Sequence[Callable[..., Any]] = ()) -> App:
    """Token mode (`identity`: one workspace's bot token) or OAuth mode (`oauth`: installed into many)."""
    def authorize(team_id: str | None) -> AuthorizeResult | None:
        # One workspace per token: a request from any other team is not ours to answer.
        return identity.authorize_result if identity is not None and team_id == identity.team_id else None

    app = App(
        signing_secret=signing_secret, client=client,
        **({"oauth_settings": oauth} if oauth is not None else {"authorize": authorize}),
        process_before_response=False, logger=logging.getLogger("concernbot.bolt"),
        user_facing_authorize_error_message=NOT_INSTALLED,
        # Bolt runs each listener (its ack, then the slow part) on this pool; with Bolt's default of 5
        # threads, five slow Web API calls would leave the sixth request unacknowledged past 3 seconds.
        listener_executor=ContextExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
    )
    app.use(request_middleware(metrics.count_request if metrics else None))
    app.use(inject(services))
    app.use(workspace_of_request)
    for extra in middleware:
        app.use(extra)
    report.register(app)
    concern_actions.register(app)
    handling.register(app)
    incident_log.register(app)
    home.register(app)
    aup.register(app)
    reviews.register(app)
    admin.register(app)
    admin_register.register(app)
    install.register(app)
    if metrics is None:
        app.error(on_error)
    else:
        def counted(error: Exception, body: dict[str, Any]) -> None:
            metrics.errors.inc()
            on_error(error, body)

        app.error(counted)
    return app


def workspace_of_request(body: dict[str, Any], context: Any, next: Callable[[], Any]) -> Any:  # noqa: A002
    """Installed organisation-wide, Slack may send an interaction with `team: null`: the school is then the
    workspace Bolt resolved (the view's installed team, or the person's), which every listener reads."""
    if "team" in body and not body.get("team") and context.get("team_id"):
        body["team"] = {"id": context["team_id"]}
    return next()


def on_error(error: Exception, body: dict[str, Any]) -> None:
    """The one error handler: log what failed and where, never the payload (it may hold a child's name)."""
    kind = body.get("type") or body.get("command") or (body.get("event") or {}).get("type")
    callback = (body.get("view") or {}).get("callback_id") or [
        a.get("action_id") for a in body.get("actions") or []]
    # The code path, never the message: an error's text can carry what someone typed (pydantic quotes input).
    where = "".join(traceback.format_tb(error.__traceback__)[-3:])
    log.error("listener failed on %s %s: %s\n%s", kind, callback, type(error).__name__, where)
