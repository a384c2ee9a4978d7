"""The app removed from a school's workspace (`app_uninstalled`, or its bot token revoked), or from a whole
organisation: from then on nothing is sent there, its stored token is deleted, and none of its records is,
as the law requires them kept. On Enterprise Grid, an org-wide install granted to (or taken from) a
workspace makes it a school (or stops messages to it)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App

from bot.services import services_of
from bot.dedupe import once_per_event
from storage.installs import Reach, installed_since, mark_removed, org_schools, reach_of, record_install

log = logging.getLogger(__name__)


def on_removed(ack: Ack, body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
    ack()
    if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
        return  # only user tokens were revoked: the bot still works
    svc = services_of(context)
    team_id = str(body.get("team_id") or context.get("team_id") or "")
    enterprise_id = body.get("enterprise_id") or context.get("enterprise_id")
    happened = datetime.fromtimestamp(int(body["event_time"]), UTC) if body.get("event_time") else None
    # Exactly the installation the event is about: an organisation's, or this one workspace's own.
    reach = Reach(team_id, enterprise_id, bool(context.get("is_enterprise_install")) and bool(enterprise_id))
    with svc.db.session() as session:
        if reach.org_install:
            teams = org_schools(session, str(enterprise_id))
        else:  # a workspace install removed: a school its organisation's install still reaches is not removed
            stored = reach_of(session, team_id)
            teams = [] if stored is not None and stored.org_install else [team_id]
        if any(installed_since(session, team, happened) for team in teams or [team_id]):
            log.info("a removal event from before the latest install of %s was ignored", team_id)
            return
        changed = mark_removed(session, teams, svc.clock.now())
    svc.workspaces.removed(reach)
    if not teams:
        log.info("the workspace install of %s was removed; its school is still reached through its "
                 "organisation's install", team_id)
    for removed in changed:
        log.warning("concernbot was removed from workspace %s: nothing more is sent there; its records are kept",
                    removed)


def on_access_granted(ack: Ack, body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
    ack()
    svc = services_of(context)
    enterprise_id = body.get("enterprise_id") or context.get("enterprise_id")
    teams = [str(team) for team in event.get("team_ids") or []]
    with svc.db.session() as session:
        for team_id in teams:
            record_install(session, team_id, enterprise_id=enterprise_id, org_install=True, installed_by=None,
                           timezone=svc.default_timezone, now=svc.clock.now())
    for team_id in teams:
        svc.workspaces.forget(team_id)
    log.info("organisation %s granted concernbot to %s workspace(s)", enterprise_id, len(teams))
    svc.kick_outbox()


def on_access_revoked(ack: Ack, event: dict[str, Any], context: Any) -> None:
    ack()
    svc = services_of(context)
    with svc.db.session() as session:
        changed = mark_removed(session, [str(t) for t in event.get("team_ids") or []], svc.clock.now())
    for removed in changed:
        log.warning("concernbot was taken from workspace %s: nothing more is sent there; its records are kept",
                    removed)


def register(app: App) -> None:
    app.event("app_uninstalled")(once_per_event(on_removed))
    app.event("tokens_revoked")(once_per_event(on_removed))
    app.event("team_access_granted")(once_per_event(on_access_granted))
    app.event("team_access_revoked")(once_per_event(on_access_revoked))
