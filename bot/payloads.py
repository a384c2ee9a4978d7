"""Typed models of the payloads Slack sends us: parse once at the edge, then use fields, not dict keys."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from flows.aup import Member


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SlashCommand(_Payload):
    team_id: str
    user_id: str
    trigger_id: str
    command: str
    text: str = ""


class Ref(_Payload):
    id: str


class ViewState(_Payload):
    values: dict[str, dict[str, dict[str, Any]]] = {}


class View(_Payload):
    id: str
    type: str = "modal"
    hash: str | None = None
    callback_id: str = ""
    private_metadata: str = ""
    state: ViewState = ViewState()


class ViewPayload(_Payload):
    """A view_submission or view_closed."""

    team: Ref
    user: Ref
    view: View


class Action(_Payload):
    action_id: str
    block_id: str | None = None
    value: str | None = None


class BlockActions(_Payload):
    team: Ref
    user: Ref
    trigger_id: str
    actions: list[Action]
    view: View | None = None

    @property
    def action(self) -> Action:
        return self.actions[0]


class AppHomeOpened(_Payload):
    user: str
    tab: str = "home"


class TeamJoinEvent(_Payload):
    user: Member


class TeamJoin(_Payload):
    """A `team_join` event: someone new in the workspace (Slack sends their whole user object)."""

    team_id: str
    event: TeamJoinEvent
