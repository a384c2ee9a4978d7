"""The sandbox's Web API as slack-sdk sees it: users.list paging, rate limits, injected failures, DMs by user id,
and the signed team_join event."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt.request.internals import (
    extract_enterprise_id, extract_is_enterprise_install, extract_team_id, parse_body,
)
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.client import SlackSimulator
from bot.sandbox.demo_workspace import AMY, B_HEAD, B_TEACHER, DAN, TEAM_ID, TEAM_ID2, second_workspace
from bot.sandbox.methods import user_cursor
from bot.sandbox.ratelimit import RateLimit, TokenBucket, retry_after_seconds
from bot.sandbox.webapi import SandboxServer
from bot.sandbox.workspace import SandboxUser, Workspace
from bot.slack_client import web_client

SECRET = "sandbox-api-test-secret"


def plain_client(sandbox: SandboxServer) -> WebClient:
    """No retry handlers: what the sandbox answers, exactly."""
    return WebClient(token=sandbox.workspace.bot_token, base_url=sandbox.api_url, timeout=10, retry_handlers=[])


def error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value


# -- users.list --------------------------------------------------------------------------------
def test_users_list_pages_through_a_big_school_in_join_order(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    staff = ws.add_staff(2500)
    everyone = list(ws.users)
    assert len(everyone) == 2507 and everyone[7:] == staff
    client = plain_client(sandbox)

    first = client.users_list(limit=1000)
    assert len(first["members"]) == 1000
    assert first["response_metadata"]["next_cursor"] == user_cursor(everyone[1000])
    assert base64.b64decode(first["response_metadata"]["next_cursor"]) == b"user:US000994"
    second = client.users_list(limit=1000, cursor=first["response_metadata"]["next_cursor"])
    assert len(second["members"]) == 1000
    third = client.users_list(limit=1000, cursor=second["response_metadata"]["next_cursor"])
    assert len(third["members"]) == 507 and third["response_metadata"]["next_cursor"] == ""
    paged = [m["id"] for page in (first, second, third) for m in page["members"]]
    assert paged == everyone


def test_users_list_defaults_to_200_and_gives_at_most_1000(sandbox: SandboxServer) -> None:
    sandbox.workspace.add_staff(1500)
    client = plain_client(sandbox)
    assert len(client.users_list()["members"]) == 200
    assert len(client.users_list(limit=0)["members"]) == 200
    assert len(client.users_list(limit=5000)["members"]) == 1000
    assert [m["id"] for m in client.users_list(limit=3)["members"]] == ["U0BOT", "U0AMY", "U0DAN"]


def test_a_small_workspace_fits_one_page_with_an_empty_cursor(sandbox: SandboxServer) -> None:
    reply = plain_client(sandbox).users_list()
    assert [m["id"] for m in reply["members"]] == list(sandbox.workspace.users)
    assert len(reply["members"]) == 7 and reply["response_metadata"] == {"next_cursor": ""}


def test_a_garbled_or_unknown_cursor_is_invalid(sandbox: SandboxServer) -> None:
    client = plain_client(sandbox)
    for cursor in ("not a cursor!", "dXNlcjpVTk9CT0RZ", base64.b64encode(b"team:U0AMY").decode(), "\u00e9"):
        assert error_of(lambda c=cursor: client.users_list(cursor=c)).response["error"] == "invalid_cursor"
    assert sandbox.workspace.calls[-1] == ("users.list", "invalid_cursor")


def test_users_list_needs_users_read(sandbox: SandboxServer) -> None:
    sandbox.workspace.scopes.discard("users:read")
    error = error_of(lambda: plain_client(sandbox).users_list())
    assert error.response["error"] == "missing_scope" and error.response["needed"] == "users:read"


def test_members_carry_guests_apps_the_deleted_and_the_time_zone(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    ws.add_user(SandboxUser("U0GUEST", "gina.guest", "Gina Guest", is_restricted=True))
    ws.add_user(SandboxUser("U0SINGLE", "sam.single", "Sam Single", is_restricted=True, is_ultra_restricted=True))
    ws.add_user(SandboxUser("U0APP", "workflow", "Workflow", is_app_user=True))
    ws.add_user(SandboxUser("U0GONE", "gone.leaver", "Gone Leaver", deleted=True))
    members = {m["id"]: m for m in plain_client(sandbox).users_list()["members"]}
    flags = ("is_restricted", "is_ultra_restricted", "is_app_user", "deleted")
    assert {k: members["U0GUEST"][k] for k in flags} == {"is_restricted": True, "is_ultra_restricted": False,
                                                         "is_app_user": False, "deleted": False}
    assert members["U0SINGLE"]["is_ultra_restricted"] is True
    assert members["U0APP"]["is_app_user"] is True
    assert members["U0GONE"]["deleted"] is True
    assert members[AMY] == ws.users[AMY].as_api(ws.team_id)
    assert members[AMY]["tz"] == "Europe/London" and members[AMY]["team_id"] == "T0OAKFIELD"


def test_add_staff_makes_numbered_ordinary_people() -> None:
    ws = Workspace("T1", "School", bot_token="xoxb-1", scopes=set())
    assert ws.add_staff(3) == ["US000001", "US000002", "US000003"]
    assert ws.add_staff(2, prefix="T") == ["UT000001", "UT000002"]
    third = ws.users["US000003"]
    assert (third.name, third.email, third.is_bot, third.deleted) == ("staff3", "staff3@oakfield.example",
                                                                      False, False)
    started = time.monotonic()
    assert len(ws.add_staff(5000, prefix="X")) == 5000
    assert time.monotonic() - started < 2.0 and len(ws.users) == 5006


# -- rate limiting -----------------------------------------------------------------------------
def test_token_bucket_holds_one_seconds_burst_and_refills_at_the_rate() -> None:
    now = [100.0]
    bucket = TokenBucket(4, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [0.0] * 4
    assert bucket.take() == pytest.approx(0.25)
    now[0] += 0.25
    assert bucket.take() == 0.0
    now[0] += 60
    assert [bucket.take() for _ in range(5)][-1] == pytest.approx(0.25)  # capped at 4, not 240
    slow = TokenBucket(0.5, clock=lambda: now[0])
    assert (slow.capacity, slow.take(), slow.take()) == (1.0, 0.0, 2.0)
    assert [retry_after_seconds(w) for w in (0.01, 1.0, 1.2, 3.99)] == [1, 1, 2, 4]
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_a_call_past_the_limit_gets_429_with_retry_after(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    ws.set_rate_limit(0.25)  # one call, then the next token is four seconds away
    client = plain_client(sandbox)
    assert client.users_info(user=AMY)["user"]["id"] == AMY
    error = error_of(lambda: client.users_info(user=AMY))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "4"
    assert error.response.data == {"ok": False, "error": "ratelimited"}
    assert ws.rate_limited == 1 and ws.calls[-2:] == [("users.info", None), ("users.info", "ratelimited")]


def test_the_limit_is_shared_across_methods_and_never_touches_auth_test(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    ws.set_rate_limit(0.25)
    client = plain_client(sandbox)
    client.conversations_list()
    for _ in range(5):
        assert client.auth_test()["user_id"] == ws.bot_user_id
    assert error_of(lambda: client.users_info(user=DAN)).response.status_code == 429
    assert error_of(lambda: client.chat_postMessage(channel=AMY, text="hi")).response.status_code == 429
    assert ws.rate_limited == 2 and ws.calls.count(("auth.test", None)) == 5


def test_the_limit_can_cover_chosen_methods_and_be_turned_off(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    ws.set_rate_limit(0.25, methods=frozenset({"chat.postMessage"}))
    client = plain_client(sandbox)
    client.chat_postMessage(channel=AMY, text="one")
    assert error_of(lambda: client.chat_postMessage(channel=AMY, text="two")).response.status_code == 429
    assert all(client.users_info(user=AMY)["ok"] for _ in range(5))
    ws.set_rate_limit(None)
    assert all(client.chat_postMessage(channel=AMY, text=str(n))["ok"] for n in range(5))
    assert ws.rate_limited == 1


def test_the_bots_client_waits_out_429s_and_every_call_succeeds(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    ws.set_rate_limit(5)  # a burst of five, then one call each 0.2 s
    client = web_client(ws.bot_token, sandbox.api_url)
    started = time.monotonic()
    replies = [client.users_info(user=AMY) for _ in range(10)]
    elapsed = time.monotonic() - started
    assert all(r["ok"] and r["user"]["id"] == AMY for r in replies)
    assert ws.rate_limited >= 1 and ws.calls.count(("users.info", "ratelimited")) == ws.rate_limited
    assert ws.calls.count(("users.info", None)) == 10
    # Five calls beyond the burst at five a second take at least a second; Retry-After (1) plus
    # slack-sdk's jitter (under 1 s) for the one 429 a full bucket leaves keeps it well under four.
    assert 1.0 <= elapsed < 4.0


def test_concurrent_calls_never_beat_the_bucket(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    ws.rate_limit = RateLimit(3, clock=lambda: 0.0)  # time stands still: the burst is all there is
    client = plain_client(sandbox)
    statuses: list[int] = []

    def call() -> None:
        try:
            statuses.append(client.users_info(user=AMY).status_code)
        except SlackApiError as exc:
            statuses.append(exc.response.status_code)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 3 + [429] * 9 and ws.rate_limited == 9


# -- injected failures ---------------------------------------------------------------------------
def test_fail_next_answers_the_chosen_status_then_recovers(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    ws.fail_next("chat.postMessage", times=2)
    ws.fail_next("users.info", status=200, error="fatal_error")
    client = plain_client(sandbox)
    for _ in range(2):
        error = error_of(lambda: client.chat_postMessage(channel=AMY, text="hello"))
        assert error.response.status_code == 500 and error.response["error"] == "internal_error"
    assert client.chat_postMessage(channel=AMY, text="hello")["ok"]
    error = error_of(lambda: client.users_info(user=AMY))
    assert (error.response.status_code, error.response.data) == (200, {"ok": False, "error": "fatal_error"})
    assert client.users_info(user=AMY)["user"]["id"] == AMY
    assert [c for c in ws.calls if c[1]] == [("chat.postMessage", "internal_error")] * 2 + [
        ("users.info", "fatal_error")]
    assert len(ws.dms_to(AMY)) == 1


def test_the_bots_client_retries_through_a_server_error(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    ws.fail_next("users.info", status=503, error="service_unavailable")
    reply = web_client(ws.bot_token, sandbox.api_url).users_info(user=DAN)
    assert reply["user"]["id"] == DAN
    assert [c for c in ws.calls if c[0] == "users.info"] == [("users.info", "service_unavailable"),
                                                              ("users.info", None)]


# -- posting to a person -------------------------------------------------------------------------
def test_posting_to_a_user_id_lands_in_their_dm(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    client = plain_client(sandbox)
    reply = client.chat_postMessage(channel=AMY, text="Your report has been received")
    dm = ws.im_with(AMY)
    assert dm.id.startswith("D") and reply["channel"] == dm.id
    assert client.conversations_open(users=AMY)["channel"]["id"] == dm.id
    assert [(m.channel, m.ts, m.text) for m in ws.dms_to(AMY)] == [
        (dm.id, reply["ts"], "Your report has been received")]
    assert error_of(lambda: client.chat_postMessage(channel="UNOBODY", text="x")).response["error"] == \
        "channel_not_found"


# -- team_join -----------------------------------------------------------------------------------
class _Catcher(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def catcher() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Catcher", (_Catcher,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_team_join_sends_the_whole_user_signed(sandbox: SandboxServer,
                                               catcher: tuple[str, list[tuple[dict[str, str], bytes]]]) -> None:
    url, received = catcher
    ws = sandbox.workspace
    [newcomer] = ws.add_staff(1, prefix="N")
    reply = SlackSimulator(sandbox, url, SECRET).team_join(newcomer)
    assert reply.status == 200 and len(received) == 1
    headers, body = received[0]
    assert SignatureVerifier(SECRET).is_valid(body.decode(), headers["X-Slack-Request-Timestamp"],
                                              headers["X-Slack-Signature"])
    envelope = json.loads(body)
    assert envelope["type"] == "event_callback" and envelope["team_id"] == ws.team_id
    assert envelope["event"]["type"] == "team_join"
    assert envelope["event"]["user"] == ws.users[newcomer].as_api(ws.team_id)
    assert envelope["event"]["user"]["profile"]["email"] == "staff1@oakfield.example"
    assert ws.timeline[-1] == "Staff Member 1 joins the workspace"


# -- Enterprise Grid payloads --------------------------------------------------------------------
HOME = {"type": "home", "blocks": [{"type": "actions", "elements": [
    {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}}]}]}


def _three_payloads(sim: SlackSimulator, user: str, received: list[tuple[dict[str, str], bytes]]) -> list[Any]:
    """A slash command, an event and a click in App Home, as the bot receives them."""
    received.clear()
    sim.ws.home[user] = HOME
    sim.slash_command(user)
    sim.event({"type": "app_home_opened", "user": user, "tab": "home"})
    sim.click_in_home(user, "go")
    return [parse_body(body.decode(), headers.get("Content-Type")) for headers, body in received]


def _as_bolt_reads(payloads: list[Any]) -> list[tuple[str | None, str | None, bool | None]]:
    return [(extract_enterprise_id(p), extract_team_id(p), extract_is_enterprise_install(p)) for p in payloads]


def test_a_workspace_outside_any_org_sends_no_org(sandbox: SandboxServer,
                                                  catcher: tuple[str, list[tuple[dict[str, str], bytes]]]) -> None:
    url, received = catcher
    command, envelope, click = _three_payloads(SlackSimulator(sandbox, url, SECRET), AMY, received)
    assert _as_bolt_reads([command, envelope, click]) == [(None, TEAM_ID, False)] * 3
    assert command["is_enterprise_install"] == "false" and "enterprise_id" not in command
    assert command["response_url"] == sandbox.response_url(AMY)
    assert envelope["authorizations"] == [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": "U0BOT",
                                           "is_bot": True, "is_enterprise_install": False}]
    assert (click["enterprise"], click["team"], click["is_enterprise_install"]) == (
        None, {"id": TEAM_ID, "domain": "sandbox"}, False)


def test_grid_payloads_say_how_the_app_was_installed(sandbox: SandboxServer,
                                                     catcher: tuple[str, list[tuple[dict[str, str], bytes]]]) -> None:
    url, received = catcher
    sandbox.add_workspace(second_workspace())
    sandbox.add_enterprise("E0TRUST", "The Trust", [TEAM_ID, TEAM_ID2])
    sandbox.tenants.install_org("E0TRUST", B_HEAD)
    sim = SlackSimulator(sandbox, url, SECRET, team_id=TEAM_ID2)
    assert sim.ws is sandbox.workspaces[TEAM_ID2] and sim.org_installed
    command, envelope, click = _three_payloads(sim, B_TEACHER, received)
    assert _as_bolt_reads([command, envelope, click]) == [("E0TRUST", TEAM_ID2, True), ("E0TRUST", None, True),
                                                          ("E0TRUST", TEAM_ID2, True)]
    assert {k: command[k] for k in ("team_id", "enterprise_id", "enterprise_name", "is_enterprise_install")} == {
        "team_id": TEAM_ID2, "enterprise_id": "E0TRUST", "enterprise_name": "The Trust", "is_enterprise_install": "true"}
    assert command["response_url"] == f"{sandbox.url}/response/{TEAM_ID2}/{B_TEACHER}"
    assert (envelope["team_id"], envelope["enterprise_id"], envelope["is_ext_shared_channel"]) == (
        TEAM_ID2, "E0TRUST", False)
    assert envelope["authorizations"] == [{"enterprise_id": "E0TRUST", "team_id": None, "user_id": "U0BOT",
                                           "is_bot": True, "is_enterprise_install": True}]
    assert click["enterprise"] == {"id": "E0TRUST", "name": "The Trust"} and click["is_enterprise_install"] is True
    assert click["team"] is None and click["user"]["team_id"] == TEAM_ID2

    sandbox.uninstall_org("E0TRUST")
    sandbox.tenants.install_workspace(TEAM_ID2, B_HEAD)  # now installed in Birches alone
    assert not sim.org_installed
    command, envelope, click = _three_payloads(sim, B_TEACHER, received)
    assert _as_bolt_reads([command, envelope, click]) == [("E0TRUST", TEAM_ID2, False)] * 3
    assert envelope["authorizations"][0]["team_id"] == TEAM_ID2 and command["is_enterprise_install"] == "false"


def test_uninstalled_revokes_then_tells_the_bot(sandbox: SandboxServer,
                                               catcher: tuple[str, list[tuple[dict[str, str], bytes]]]) -> None:
    url, received = catcher
    token = sandbox.workspace.bot_token
    assert SlackSimulator(sandbox, url, SECRET).uninstalled().status == 200
    assert sandbox.installed_token(TEAM_ID) is None
    assert error_of(lambda: WebClient(token=token, base_url=sandbox.api_url).auth_test()).response["error"] == \
        "token_revoked"
    assert json.loads(received[-1][1])["event"] == {"type": "app_uninstalled"}
