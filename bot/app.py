"""The app factory: one Bolt app per process, with its listeners and its one error handler."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.middleware import Middleware
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient

from bot import failures
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
# Bolt runs each listener, its ack and then the slow part, on this pool. Too few threads, and slow Web API
# calls hold them all while the next request waits for one to acknowledge (Bolt's default of 5 left the
# sixth command unanswered past 3 seconds while views.open hung). Too many, and under load dozens of threads
# in the middle of their slow part contend for the interpreter lock with the ones about to acknowledge: on
# PostgreSQL, 64 threads gave an Acknowledge p99 of 143.5 and 164.8 ms where 16 gave 129.1 (README,
# design notes: *Fast*).
LISTENER_THREADS = 16


def listener_pool() -> ContextExecutor:
    return ContextExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener")


MiddlewareFn = Callable[[Any, dict[str, Any], Callable[[], Any]], Any]  # (context, body, next)


class Direct(Middleware):
    """One of our global middlewares, `fn(context, body, next)`, as Bolt calls its own: a plain function given
    to `app.use` is called through Bolt's build_required_kwargs, which works out its arguments from its
    signature on every request (with four of them, about 5 % of a click's CPU)."""

    def __init__(self, fn: MiddlewareFn) -> None:
        self._fn = fn

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]  # noqa: A002
                ) -> BoltResponse | None:
        return self._fn(req.context, req.body, next)

    @property
    def name(self) -> str:
        return f"Direct({getattr(self._fn, '__qualname__', self._fn)})"


def create_app(*, signing_secret: str, client: WebClient, services: Services, metrics: Metrics | None = None,
               identity: BotIdentity | None = None, oauth: OAuthSettings | None = None,
               middleware: Sequence[MiddlewareFn] = (), listeners: ContextExecutor | None = None) -> App:
    """Token mode (`identity`: one workspace's bot token) or OAuth mode (`oauth`: installed into many).
    `listeners`: the pool Bolt runs the listeners on (one of LISTENER_THREADS threads by default)."""
    def authorize(team_id: str | None) -> AuthorizeResult | None:
        # One workspace per token: a request from any other team is not ours to answer.
        return identity.authorize_result if identity is not None and team_id == identity.team_id else None

    app = App(
        signing_secret=signing_secret, client=client,
        **({"oauth_settings": oauth} if oauth is not None else {"authorize": authorize}),
        process_before_response=False, logger=logging.getLogger("concernbot.bolt"),
        user_facing_authorize_error_message=NOT_INSTALLED,
        listener_executor=listeners or listener_pool(),  # LISTENER_THREADS says why this size
    )
    app.use(Direct(failures.keep_acknowledged))
    app.use(Direct(request_middleware(metrics.count_request if metrics else None)))
    app.use(Direct(inject(services)))
    app.use(Direct(workspace_of_request))
    for extra in middleware:
        app.use(Direct(extra))
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
        def counted(error: Exception, body: dict[str, Any], request: BoltRequest,
                    response: BoltResponse | None) -> BoltResponse | None:
            metrics.errors.inc()
            return on_error(error, body, request, response)

        app.error(counted)
    return app


def workspace_of_request(context: Any, body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002
    """Installed organisation-wide, Slack may send an interaction with `team: null`: the school is then the
    workspace Bolt resolved (the view's installed team, or the person's), which every listener reads."""
    if "team" in body and not body.get("team") and context.get("team_id"):
        body["team"] = {"id": context["team_id"]}
    return next()


def on_error(error: Exception, body: dict[str, Any], request: BoltRequest | None = None,
             response: BoltResponse | None = None) -> BoltResponse | None:
    """The one error handler: log what failed and where, never the payload (it may hold a child's name);
    then answer Slack in place of Bolt's 500 (`bot.failures`). `response` is None once the listener has
    acknowledged. Nothing here may raise: Bolt would turn that into a 500 after all."""
    try:
        if failures.malformed(error, body):  # the request's fault, not ours: one line, no code path
            log.warning("refused a payload Slack would not send (%s)", type(error).__name__)
        else:
            _log_failure(error, body)
    except Exception:
        log.error("listener failed: %s", type(error).__name__)
    try:
        return failures.answer(error, body, response is None, request.context if request is not None else None)
    except Exception as exc:
        log.error("could not answer a failed request (%s)", type(exc).__name__)
        return None if response is None else BoltResponse(status=400, body=failures.NOT_A_PAYLOAD)


def _log_failure(error: Exception, body: dict[str, Any]) -> None:
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    kind = body.get("type") or body.get("command") or event.get("type")
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    actions = body.get("actions") if isinstance(body.get("actions"), list) else []
    callback = view.get("callback_id") or [a.get("action_id") for a in actions if isinstance(a, dict)]
    # The code path, never the message: an error's text can carry what someone typed (pydantic quotes input).
    where = "".join(traceback.format_tb(error.__traceback__)[-3:])
    log.error("listener failed on %.80r %.200r: %s\n%s", kind, callback, type(error).__name__, where)
