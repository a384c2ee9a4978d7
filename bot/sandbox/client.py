"""Slack's side of a person's actions: signed requests to the bot, as Slack would send them.

It builds slash commands, block actions, view submissions and events from what the sandbox holds (the
modal on a person's screen, the message with the button), signs them with the app's signing secret,
posts them to the bot's /slack/events, and applies the bot's response to the sandbox as Slack would.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.browser import BotResponse, install_in_browser
from bot.sandbox.methods import replace_view
from bot.sandbox.webapi import SandboxServer
from bot.sandbox.workspace import Message, OpenView

API_APP_ID = "A0CONCERNBOT"
_EVENT_IDS = itertools.count(1)  # event ids are unique in the process, whichever simulator sends them


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll until `condition()` is truthy (returning it), or fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _initial(element: dict[str, Any]) -> str | list[str] | None:
    if "initial_options" in element:
        return [o["value"] for o in element["initial_options"]]
    if "initial_option" in element:
        return element["initial_option"]["value"]
    for key in ("initial_value", "initial_date", "initial_time", "initial_user", "initial_users",
                "initial_conversation"):
        if key in element:
            return element[key]
    return None


def _state_entry(element: dict[str, Any], value: Any) -> dict[str, Any]:
    kind = element["type"]
    if kind == "checkboxes":
        chosen = value or []
        return {"type": kind, "selected_options": [o for o in element.get("options", []) if o["value"] in chosen]}
    if kind in ("static_select", "radio_buttons"):
        option = next((o for o in element.get("options", []) if o["value"] == value), None)
        if option is None and value is not None:
            option = {"text": {"type": "plain_text", "text": value}, "value": value}
        return {"type": kind, "selected_option": option}
    if kind == "datepicker":
        return {"type": kind, "selected_date": value}
    if kind == "users_select":
        return {"type": kind, "selected_user": value}
    if kind == "multi_users_select":
        return {"type": kind, "selected_users": list(value or [])}
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": value}
    if kind == "timepicker":
        return {"type": kind, "selected_time": value}
    return {"type": kind, "value": value}


def state_values(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The view's state as Slack reports it: what the person typed, else what the input started with."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        action_id = element["action_id"]
        value = answers[action_id] if action_id in answers else _initial(element)
        values[block["block_id"]] = {action_id: _state_entry(element, value)}
    return values


class SlackSimulator:
    """Slack's side, in one workspace (`team_id`; default the sandbox's primary one).

    When the workspace is in an Enterprise Grid organisation, every payload carries the organisation as
    Slack sends it, and says whether the app was installed org-wide (`is_enterprise_install`).
    """

    def __init__(self, sandbox: SandboxServer, bot_url: str, signing_secret: str, team_id: str | None = None,
                 settled: Callable[[], object] | None = None) -> None:
        """`settled`, when given, is called after each request is answered and returns once the bot has done
        what the request set off (the bot answers Slack first and does the work after): a person who clicks
        looks at the result, and a test reads it then."""
        self.sandbox = sandbox
        self._settled = settled
        self.ws = sandbox.workspaces[team_id] if team_id else sandbox.workspace
        self.bot_url = bot_url.rstrip("/")
        self.events_url = self.bot_url + "/slack/events"
        self.verifier = SignatureVerifier(signing_secret)

    # -- Enterprise Grid -----------------------------------------------------------------------
    @property
    def org_installed(self) -> bool:
        """Whether the app reaches this workspace by its organisation's org-wide install."""
        return self.sandbox.org_install_for(self.ws.team_id) is not None

    def _enterprise(self) -> dict[str, str] | None:
        ws = self.ws
        return {"id": ws.enterprise_id, "name": ws.enterprise_name or ""} if ws.enterprise_id else None

    def response_url(self, user_id: str) -> str:
        return self.sandbox.response_url(user_id, self.ws.team_id)

    # -- transport -----------------------------------------------------------------------------
    def post(self, body: str, content_type: str, *, timestamp: int | None = None,
             signature: str | None = None, extra_headers: dict[str, str] | None = None,
             settle: bool = True) -> BotResponse:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                   "X-Slack-Signature": signature if signature is not None
                   else self.verifier.generate_signature(timestamp=ts, body=body)}
        headers.update(extra_headers or {})
        request = urllib.request.Request(self.events_url, data=body.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=15) as reply:
                answer = BotResponse(reply.status, reply.read().decode())
        except urllib.error.HTTPError as exc:
            answer = BotResponse(exc.code, exc.read().decode())
        if settle:
            self.settle()
        return answer

    def settle(self) -> None:
        """Return once the bot has done what the requests so far set off (see `settled`)."""
        if self._settled is not None:
            self._settled()

    def signed_headers(self, body: bytes, content_type: str, *, timestamp: int | None = None) -> dict[str, str]:
        """Slack's headers for exactly these bytes (which need not be UTF-8), signed with the app's secret."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(self.verifier.signing_secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
        return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": f"v0={digest.hexdigest()}"}

    def post_raw(self, body: bytes, headers: dict[str, str]) -> BotResponse:
        """Exactly these bytes, with exactly these headers (none added): for requests Slack would never send."""
        request = urllib.request.Request(self.events_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=15) as reply:
                return BotResponse(reply.status, reply.read().decode(errors="replace"))
        except urllib.error.HTTPError as exc:
            return BotResponse(exc.code, exc.read().decode(errors="replace"))

    def post_payload(self, payload: dict[str, Any], **kwargs: Any) -> BotResponse:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **kwargs)

    def _who(self, user_id: str) -> dict[str, Any]:
        """Who acts, where: `team`, `user`, and the Enterprise Grid fields of an interactive payload."""
        user, enterprise = self.ws.users[user_id], self._enterprise()
        team: dict[str, str] = {"id": self.ws.team_id, "domain": self.ws.domain}
        if enterprise:
            team |= {"enterprise_id": enterprise["id"], "enterprise_name": enterprise["name"]}
        # Installed organisation-wide, Slack may leave `team` null: the person's team_id says where they are.
        return {"team": None if self.org_installed else team, "enterprise": enterprise,
                "is_enterprise_install": self.org_installed,
                "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": self.ws.team_id}}

    # -- what people do ------------------------------------------------------------------------
    def slash_command(self, user_id: str, command: str = "/report-concern", text: str = "",
                      **kwargs: Any) -> BotResponse:
        self.ws.note(f"{self.ws.users[user_id].real_name} types {command}")
        enterprise = self._enterprise()
        grid = {"enterprise_id": enterprise["id"], "enterprise_name": enterprise["name"]} if enterprise else {}
        form = {"token": "unused", "team_id": self.ws.team_id, "team_domain": self.ws.domain, **grid,
                "channel_id": self.ws.im_with(user_id).id, "channel_name": "directmessage", "user_id": user_id,
                "user_name": self.ws.users[user_id].name, "command": command, "text": text,
                "api_app_id": API_APP_ID, "is_enterprise_install": "true" if self.org_installed else "false",
                "response_url": self.response_url(user_id), "trigger_id": self.ws.issue_trigger(user_id)}
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kwargs)

    def view_of(self, user_id: str, view_id: str | None = None) -> OpenView:
        opened = self.ws.views.get(view_id) if view_id else self.ws.current_view(user_id)
        if opened is None or opened.closed:
            raise AssertionError(f"{user_id} has no open modal")
        return opened

    def submit_view(self, user_id: str, answers: dict[str, Any] | None = None,
                    view_id: str | None = None) -> BotResponse:
        opened = self.view_of(user_id, view_id)
        view = {**opened.view, "state": {"values": state_values(opened.view, answers or {})}}
        payload = {"type": "view_submission", **self._who(user_id), "api_app_id": API_APP_ID,
                   "trigger_id": self.ws.issue_trigger(user_id), "view": view, "response_urls": []}
        response = self.post_payload(payload, settle=False)
        self._apply_view_response(opened, response)  # what the answer shows comes before what follows it
        self.settle()
        return response

    def _apply_view_response(self, opened: OpenView, response: BotResponse) -> None:
        if response.status != 200:
            return
        reply = response.json()
        action = reply.get("response_action")
        with self.ws.lock:
            if action == "update":
                replace_view(self.ws, opened, reply["view"], "moves on")
            elif action == "push":
                opened.stack.append(opened.view)
                replace_view(self.ws, opened, reply["view"], "shows a new page")
            elif action == "errors":
                self.ws.note(f"{self.ws.users[opened.user_id].real_name} sees on the form: "
                             + "; ".join(reply.get("errors", {}).values()))
            else:
                opened.closed = True
                self.ws.note(f"{self.ws.users[opened.user_id].real_name}'s modal closes")

    def close_view(self, user_id: str, view_id: str | None = None,
                   answers: dict[str, Any] | None = None) -> BotResponse:
        """Cancel: Slack tells the app (when asked to) and sends what was typed in the view's state."""
        opened = self.view_of(user_id, view_id)
        opened.closed = True
        self.ws.note(f"{self.ws.users[user_id].real_name} presses Cancel")
        if not opened.view.get("notify_on_close"):
            return BotResponse(200, "")
        view = {**opened.view, "state": {"values": state_values(opened.view, answers or {})}}
        payload = {"type": "view_closed", **self._who(user_id), "api_app_id": API_APP_ID,
                   "view": view, "is_cleared": False}
        return self.post_payload(payload)

    @staticmethod
    def find_action(blocks: list[dict[str, Any]], action_id: str) -> tuple[str | None, dict[str, Any]]:
        for block in blocks:
            elements = list(block.get("elements", [])) if block.get("type") == "actions" else []
            if block.get("accessory"):
                elements.append(block["accessory"])
            for element in elements:
                if element.get("action_id") == action_id:
                    return block.get("block_id"), element
        raise AssertionError(f"no button {action_id!r} is showing")

    def _action(self, block_id: str | None, element: dict[str, Any]) -> dict[str, Any]:
        return {"action_id": element["action_id"], "block_id": block_id, "value": element.get("value"),
                "type": element["type"], "action_ts": f"{time.time():.6f}"}

    def click_in_message(self, user_id: str, message: Message, action_id: str) -> BotResponse:
        block_id, element = self.find_action(message.blocks, action_id)
        self.ws.note(f"{self.ws.users[user_id].real_name} presses [{element['text']['text']}] "
                     f"in {self.ws.where(message.channel)}")
        payload = {"type": "block_actions", **self._who(user_id), "api_app_id": API_APP_ID,
                   "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
                   "trigger_id": self.ws.issue_trigger(user_id), "channel": {"id": message.channel},
                   "message": {"ts": message.ts, "text": message.text, "blocks": message.blocks},
                   "response_url": self.response_url(user_id),
                   "actions": [self._action(block_id, element)]}
        return self.post_payload(payload)

    def click_in_view(self, user_id: str, action_id: str, answers: dict[str, Any] | None = None,
                      view_id: str | None = None) -> BotResponse:
        opened = self.view_of(user_id, view_id)
        block_id, element = self.find_action(opened.view.get("blocks", []), action_id)
        self.ws.note(f"{self.ws.users[user_id].real_name} presses [{element['text']['text']}] in the modal")
        view = {**opened.view, "state": {"values": state_values(opened.view, answers or {})}}
        payload = {"type": "block_actions", **self._who(user_id), "api_app_id": API_APP_ID,
                   "container": {"type": "view", "view_id": opened.id}, "trigger_id": self.ws.issue_trigger(user_id),
                   "view": view, "actions": [self._action(block_id, element)]}
        return self.post_payload(payload)

    def click_in_home(self, user_id: str, action_id: str) -> BotResponse:
        block_id, element = self.find_action(self.ws.home[user_id].get("blocks", []), action_id)
        self.ws.note(f"{self.ws.users[user_id].real_name} presses [{element['text']['text']}] in App Home")
        payload = {"type": "block_actions", **self._who(user_id), "api_app_id": API_APP_ID,
                   "container": {"type": "view", "view_id": "VHOME"}, "trigger_id": self.ws.issue_trigger(user_id),
                   "view": {**self.ws.home[user_id], "id": "VHOME"}, "actions": [self._action(block_id, element)]}
        return self.post_payload(payload)

    def envelope(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        """The Events API envelope Slack wraps `event` in, for this workspace as it is installed now."""
        ws, org_wide = self.ws, self.org_installed
        grid = ({"enterprise_id": ws.enterprise_id, "context_team_id": ws.team_id,
                 "context_enterprise_id": ws.enterprise_id} if ws.enterprise_id else {})
        authorization = {"enterprise_id": ws.enterprise_id, "team_id": None if org_wide else ws.team_id,
                         "user_id": ws.bot_user_id, "is_bot": True, "is_enterprise_install": org_wide}
        return {"token": "unused", "team_id": ws.team_id, **grid, "api_app_id": API_APP_ID, "event": event,
                "type": "event_callback", "event_id": event_id or f"Ev{next(_EVENT_IDS):08d}",
                "event_time": int(time.time()), "authorizations": [authorization], "is_ext_shared_channel": False}

    def event(self, event: dict[str, Any], *, event_id: str | None = None, **kwargs: Any) -> BotResponse:
        return self.send_envelope(self.envelope(event, event_id), **kwargs)

    def send_envelope(self, envelope: dict[str, Any], **kwargs: Any) -> BotResponse:
        return self.post(json.dumps(envelope), "application/json", **kwargs)

    def team_join(self, user_id: str, **kwargs: Any) -> BotResponse:
        """Someone joins the workspace: Slack sends their whole user object as `event.user`."""
        user = self.ws.users[user_id]
        self.ws.note(f"{user.real_name} joins the workspace")
        return self.event({"type": "team_join", "user": user.as_api(self.ws.team_id),
                           "event_ts": f"{time.time():.6f}"}, **kwargs)

    # -- installing and removing the app -----------------------------------------------------------
    def install(self, user_id: str, *, org: str | None = None, deny: bool = False) -> BotResponse:
        """`user_id` installs the app from the bot's install page in a browser (org-wide with `org`)."""
        return install_in_browser(self.sandbox, self.bot_url, user_id, team_id=self.ws.team_id, org=org,
                                  deny=deny)

    def uninstalled(self, **kwargs: Any) -> BotResponse:
        """The app is removed (org-wide when it came that way): its token is revoked, then app_uninstalled."""
        enterprise = self.sandbox.org_install_for(self.ws.team_id)
        envelope = self.envelope({"type": "app_uninstalled"})  # as installed until now
        if enterprise is not None:
            self.sandbox.uninstall_org(enterprise.id)
            self.ws.note(f"concernbot is removed from {enterprise.name}")
        else:
            self.sandbox.uninstall(self.ws.team_id)
            self.ws.note(f"concernbot is removed from {self.ws.team_name}")
        return self.send_envelope(envelope, **kwargs)
