"""A person's browser in Slack's OAuth install flow: the bot's install page, Slack's authorize page, and back.

No redirect is followed by itself: each step must redirect where Slack's flow says, or the install fails
with an AssertionError saying which step did not. The bot's state cookie is kept between its two pages.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from bot.sandbox.webapi import SandboxServer

REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class BotResponse:
    status: int
    body: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body.strip() else {}


@dataclass(frozen=True)
class _Answer:
    status: int
    body: str
    location: str | None
    cookies: list[str]  # name=value of each Set-Cookie


class _FirstLink(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and self.href is None:
            self.href = dict(attrs).get("href")


def first_link(html: str) -> str | None:
    parser = _FirstLink()
    parser.feed(html)
    return parser.href


def browser_get(url: str, headers: dict[str, str] | None = None, timeout: float = 15) -> _Answer:
    """One GET, redirects not followed."""
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=timeout)
    try:
        connection.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                           headers=headers or {})
        reply = connection.getresponse()
        body = reply.read().decode("utf-8", errors="replace")
        location = reply.getheader("Location")
        cookies = [c.split(";", 1)[0].strip() for c in reply.headers.get_all("Set-Cookie") or []]
        return _Answer(reply.status, body, urljoin(url, location) if location else None, cookies)
    finally:
        connection.close()


def install_in_browser(sandbox: SandboxServer, bot_url: str, user_id: str, *, team_id: str | None = None,
                       org: str | None = None, deny: bool = False) -> BotResponse:
    """GET the bot's /slack/install, approve (or cancel) on the sandbox's authorize page, and return
    the bot's answer on its redirect URL."""
    install_url = bot_url.rstrip("/") + "/slack/install"
    start = browser_get(install_url)
    if start.status in REDIRECTS and start.location:
        authorize = start.location
    elif start.status == 200 and first_link(start.body):
        authorize = urljoin(install_url, first_link(start.body) or "")
    else:
        raise AssertionError(f"the bot's install page {install_url} answered {start.status} with neither a "
                             f"redirect nor a link to Slack: {start.body[:300]!r}")
    if not authorize.startswith(sandbox.authorize_url):
        raise AssertionError(f"the bot's install page sends the browser to {authorize}, not to the sandbox's "
                             f"authorize page {sandbox.authorize_url} (set OAuthSettings(authorization_url=...))")
    approver = {"X-Sandbox-User": user_id}
    if team_id:
        approver["X-Sandbox-Team"] = team_id
    if org:
        approver["X-Sandbox-Org"] = org
    if deny:
        approver["X-Sandbox-Deny"] = "1"
    slack = browser_get(authorize, approver)
    if slack.status not in REDIRECTS or not slack.location:
        raise AssertionError(f"Slack's authorize page answered {slack.status} instead of redirecting back to "
                             f"the bot: {slack.body[:300]!r}")
    cookie = {"Cookie": "; ".join(start.cookies)} if start.cookies else {}
    back = browser_get(slack.location, cookie)
    return BotResponse(back.status, back.body)
