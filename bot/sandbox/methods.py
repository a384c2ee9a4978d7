"""The Web API methods the sandbox answers, with Slack's argument checks and error names."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from typing import Any

from bot.sandbox.blockkit import check_message, check_view
from bot.sandbox.workspace import Message, OpenView, Workspace

Args = dict[str, Any]
Result = dict[str, Any]

DEFAULT_PAGE, MAX_PAGE = 200, 1000  # users.list's limit: Slack's default page, and the most it gives


class ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.extra = error, extra


def _need(args: Args, *names: str) -> None:
    for name in names:
        if args.get(name) in (None, ""):
            raise ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] missing {name}"]})


def _invalid(problems: list[str], error: str = "invalid_blocks") -> None:
    if problems:
        raise ApiError(error, response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})


def _user(ws: Workspace, user_id: str) -> Any:
    user = ws.users.get(user_id)
    if user is None:
        raise ApiError("user_not_found")
    return user


def _channel_for_post(ws: Workspace, channel_id: str) -> Any:
    channel = ws.channels.get(channel_id)
    if channel is None and channel_id in ws.users:
        channel = ws.im_with(channel_id)
    if channel is None or (channel.is_private and ws.bot_user_id not in channel.members):
        raise ApiError("channel_not_found")
    if ws.bot_user_id not in channel.members:
        raise ApiError("not_in_channel")
    return channel


def _buttons(blocks: list[dict[str, Any]]) -> str:
    labels = [e["text"]["text"] for b in blocks if b.get("type") == "actions" for e in b.get("elements", [])
              if e.get("type") == "button"]
    return "  " + " ".join(f"[{label}]" for label in labels) if labels else ""


def auth_test(ws: Workspace, args: Args) -> Result:
    grid = {"enterprise_id": ws.enterprise_id} if ws.enterprise_id else {}
    return {"url": f"https://{ws.team_id.lower()}.slack.test/", "team": ws.team_name, "user": ws.bot_name,
            "team_id": ws.team_id, "user_id": ws.bot_user_id, "bot_id": ws.bot_id, **grid,
            "is_enterprise_install": False}


def auth_teams_list(ws: Workspace, args: Args) -> Result:
    """With a workspace's own token: that one workspace (an org-wide token lists the organisation's)."""
    return {"teams": [{"id": ws.team_id, "name": ws.team_name}], "response_metadata": {"next_cursor": ""}}


def users_info(ws: Workspace, args: Args) -> Result:
    _need(args, "user")
    return {"user": _user(ws, args["user"]).as_api(ws.team_id)}


def _page_size(args: Args) -> int:
    try:
        limit = int(args.get("limit") or 0)
    except (TypeError, ValueError):
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] invalid limit"]}) from None
    return DEFAULT_PAGE if limit <= 0 else min(limit, MAX_PAGE)


def user_cursor(user_id: str) -> str:
    """Slack's cursor shape: base64 of "user:<the next page's first user>"."""
    return base64.b64encode(f"user:{user_id}".encode()).decode()


def _cursor_start(cursor: str, ids: list[str]) -> int:
    try:
        kind, _, user_id = base64.b64decode(cursor, validate=True).decode().partition(":")
    except ValueError:  # not base64, not ASCII, or not UTF-8 underneath (binascii.Error is a ValueError)
        raise ApiError("invalid_cursor") from None
    if kind != "user" or user_id not in ids:
        raise ApiError("invalid_cursor")
    return ids.index(user_id)


def users_list(ws: Workspace, args: Args) -> Result:
    """Everyone, deleted people included, a page at a time in the order they joined."""
    limit = _page_size(args)
    ids = list(ws.users)
    start = _cursor_start(str(args["cursor"]), ids) if args.get("cursor") else 0
    page = ids[start:start + limit]
    following = ids[start + limit] if start + limit < len(ids) else None
    return {"members": [ws.users[user_id].as_api(ws.team_id) for user_id in page], "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": user_cursor(following) if following else ""}}


def users_lookup_by_email(ws: Workspace, args: Args) -> Result:
    _need(args, "email")
    for user in ws.users.values():
        if user.email and user.email.lower() == str(args["email"]).lower() and not user.deleted:
            return {"user": user.as_api(ws.team_id)}
    raise ApiError("users_not_found")


def _channel_api(ws: Workspace, channel: Any) -> Result:
    return {"id": channel.id, "name": channel.name, "is_channel": not channel.is_private,
            "is_private": channel.is_private, "is_im": channel.is_im,
            "is_member": ws.bot_user_id in channel.members, "num_members": len(channel.members)}


def conversations_info(ws: Workspace, args: Args) -> Result:
    _need(args, "channel")
    channel = ws.channels.get(args["channel"])
    if channel is None or (channel.is_private and ws.bot_user_id not in channel.members):
        raise ApiError("channel_not_found")
    if channel.is_private and "groups:read" not in ws.scopes:
        raise ApiError("missing_scope", needed="groups:read", provided=",".join(sorted(ws.scopes)))
    return {"channel": _channel_api(ws, channel)}


def conversations_list(ws: Workspace, args: Args) -> Result:
    types = str(args.get("types") or "public_channel").split(",")
    if "private_channel" in types and "groups:read" not in ws.scopes:
        raise ApiError("missing_scope", needed="groups:read", provided=",".join(sorted(ws.scopes)))
    visible = [c for c in ws.channels.values() if not c.is_im and (
        ("public_channel" in types and not c.is_private)
        or ("private_channel" in types and c.is_private and ws.bot_user_id in c.members))]
    return {"channels": [_channel_api(ws, c) for c in visible], "response_metadata": {"next_cursor": ""}}


def conversations_open(ws: Workspace, args: Args) -> Result:
    _need(args, "users")
    user_id = str(args["users"]).split(",")[0]
    _user(ws, user_id)
    return {"channel": {"id": ws.im_with(user_id).id}}


def chat_post_message(ws: Workspace, args: Args) -> Result:
    _need(args, "channel")
    _invalid(check_message(args.get("text"), args.get("blocks")))
    channel = _channel_for_post(ws, args["channel"])
    message = Message(channel.id, ws.new_ts(), ws.bot_user_id, args.get("text") or "",
                      args.get("blocks") or [], args.get("metadata"))
    ws.messages.append(message)
    ws.note(f"{ws.where(channel.id)} ← concernbot: {message.text}{_buttons(message.blocks)}")
    return {"channel": channel.id, "ts": message.ts, "message": {"text": message.text, "ts": message.ts}}


def chat_update(ws: Workspace, args: Args) -> Result:
    _need(args, "channel", "ts")
    _invalid(check_message(args.get("text"), args.get("blocks")))
    for message in ws.messages:
        if message.channel == args["channel"] and message.ts == args["ts"]:
            if message.user != ws.bot_user_id:
                raise ApiError("cant_update_message")
            message.text = args.get("text") or message.text
            message.blocks = args.get("blocks") if args.get("blocks") is not None else message.blocks
            message.edits += 1
            ws.note(f"{ws.where(message.channel)} ✎ concernbot updates its post: {message.text}"
                    f"{_buttons(message.blocks)}")
            return {"channel": message.channel, "ts": message.ts, "text": message.text}
    raise ApiError("message_not_found")


def chat_post_ephemeral(ws: Workspace, args: Args) -> Result:
    _need(args, "channel", "user")
    _user(ws, args["user"])
    ws.ephemeral.append((args["user"], args.get("text") or ""))
    ws.note(f"only {ws.users[args['user']].real_name} sees: {args.get('text')}")
    return {"message_ts": ws.new_ts()}


def _new_hash() -> str:
    return f"{secrets.randbelow(10**10)}.{secrets.token_hex(4)}"


def _stored(view: dict[str, Any], view_id: str, view_hash: str) -> dict[str, Any]:
    return {**view, "id": view_id, "hash": view_hash, "state": {"values": {}},
            "private_metadata": view.get("private_metadata", ""), "callback_id": view.get("callback_id", "")}


def describe_view(view: dict[str, Any]) -> str:
    title = view.get("title", {}).get("text", "")
    first = next((b for b in view.get("blocks", []) if b.get("type") in ("context", "section", "header")), None)
    lead = ""
    if first:
        obj = first.get("text") or (first.get("elements") or [{}])[0]
        lead = " / " + str(obj.get("text", "")).replace("*", "")[:120]
    inputs = [b["label"]["text"] for b in view.get("blocks", []) if b.get("type") == "input"]
    asks = f" (asks: {'; '.join(inputs)})" if inputs else ""
    return f'"{title}"{lead}{asks}'


def views_open(ws: Workspace, args: Args) -> Result:
    _need(args, "trigger_id", "view")
    _invalid(check_view(args["view"]), "invalid_arguments")
    user_id, error = ws.use_trigger(args["trigger_id"])
    if error:
        raise ApiError(error)
    opened = OpenView(ws.new_id("V"), user_id or "", {}, _new_hash())
    opened.view = _stored(args["view"], opened.id, opened.hash)
    ws.views[opened.id] = opened
    ws.note(f"{ws.users[opened.user_id].real_name} sees a modal: {describe_view(opened.view)}")
    return {"view": opened.view}


def replace_view(ws: Workspace, opened: OpenView, view: dict[str, Any], how: str) -> dict[str, Any]:
    opened.hash = _new_hash()
    opened.view = _stored(view, opened.id, opened.hash)
    ws.note(f"{ws.users[opened.user_id].real_name}'s modal {how}: {describe_view(opened.view)}")
    return opened.view


def views_update(ws: Workspace, args: Args) -> Result:
    """By view_id, or by the external_id the app gave the view (not found until Slack shows that view)."""
    _need(args, "view")
    _invalid(check_view(args["view"]), "invalid_arguments")
    if args.get("external_id"):
        opened = next((v for v in ws.views.values() if v.view.get("external_id") == args["external_id"]), None)
    else:
        opened = ws.views.get(args.get("view_id") or "")
    if opened is None or opened.closed:
        raise ApiError("not_found")
    if args.get("hash") and args["hash"] != opened.hash:
        raise ApiError("hash_conflict")
    return {"view": replace_view(ws, opened, args["view"], "changes")}


def views_push(ws: Workspace, args: Args) -> Result:
    _need(args, "trigger_id", "view")
    _invalid(check_view(args["view"]), "invalid_arguments")
    user_id, error = ws.use_trigger(args["trigger_id"])
    if error:
        raise ApiError(error)
    opened = ws.current_view(user_id or "")
    if opened is None:
        raise ApiError("not_found")
    opened.stack.append(opened.view)
    return {"view": replace_view(ws, opened, args["view"], "shows a new page")}


def views_publish(ws: Workspace, args: Args) -> Result:
    _need(args, "user_id", "view")
    _invalid(check_view(args["view"]), "invalid_arguments")
    user = _user(ws, args["user_id"])
    ws.home[user.id] = args["view"]
    ws.note(f"{user.real_name}'s App Home shows: {describe_view(args['view'])}")
    return {"view": {**args["view"], "id": ws.new_id("V")}}


METHODS: dict[str, Callable[[Workspace, Args], Result]] = {
    "auth.test": auth_test,
    "auth.teams.list": auth_teams_list,
    "users.info": users_info,
    "users.list": users_list,
    "users.lookupByEmail": users_lookup_by_email,
    "conversations.info": conversations_info,
    "conversations.list": conversations_list,
    "conversations.open": conversations_open,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "views.open": views_open,
    "views.update": views_update,
    "views.push": views_push,
    "views.publish": views_publish,
}
