"""The workspace's members, from Slack's `users.list`, a page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk import WebClient

from flows.aup import AupRules, Member, is_staff

PAGE = 200


def members(client: WebClient, team_id: str) -> Iterator[dict[str, Any]]:
    """The school's workspace's members. `team_id` is what an organisation-wide token needs to know which
    workspace is meant (a workspace's own token may name its own team too)."""
    cursor: str | None = None
    while True:
        page = client.users_list(limit=PAGE, team_id=team_id, **({"cursor": cursor} if cursor else {}))
        yield from page["members"]
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return


def staff_roster(client: WebClient, team_id: str, rules: AupRules) -> list[str]:
    """Every member of staff: no bots, no deleted accounts, no guests unless the school says."""
    return [m["id"] for m in members(client, team_id) if is_staff(Member.model_validate(m), rules)]


def workspace_admins(client: WebClient, team_id: str) -> list[str]:
    """The workspace's admins and owners: the people who install apps."""
    return [m["id"] for m in members(client, team_id)
            if (m.get("is_admin") or m.get("is_owner")) and not m.get("deleted") and not m.get("is_bot")]
