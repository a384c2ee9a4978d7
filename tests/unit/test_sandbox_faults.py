"""The sandbox's injected faults as slack-sdk sees them: 5xx, 429 with Retry-After, timeouts, cut and refused
connections, for some methods or all, a number of times or until cleared."""

from __future__ import annotations

import socket
import time
import urllib.error
from http.client import RemoteDisconnected

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.demo_workspace import AMY, DAN
from bot.sandbox.faults import Fault
from bot.sandbox.webapi import SandboxServer
from bot.slack_client import web_client


def plain_client(sandbox: SandboxServer, timeout: int = 10) -> WebClient:
    """No retry handlers: what the sandbox answers, exactly."""
    return WebClient(token=sandbox.workspace.bot_token, base_url=sandbox.api_url, timeout=timeout, retry_handlers=[])


def test_a_server_error_for_chosen_methods_until_cleared(sandbox: SandboxServer) -> None:
    ws, client = sandbox.workspace, plain_client(sandbox)
    ws.inject(Fault.server_error(503, "service_unavailable"), methods={"chat.postMessage", "conversations.open"})
    for _ in range(3):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel=AMY, text="hello")
        assert (raised.value.response.status_code, raised.value.response["error"]) == (503, "service_unavailable")
    assert client.users_info(user=DAN)["user"]["id"] == DAN  # another method is unaffected
    ws.clear_faults()
    assert client.chat_postMessage(channel=AMY, text="hello")["ok"]
    assert [m.text for m in ws.dms_to(AMY)] == ["hello"]  # the failed calls were never carried out
    assert ws.calls.count(("chat.postMessage", "service_unavailable")) == 3


def test_a_rate_limit_says_when_to_come_back_and_counts_down(sandbox: SandboxServer) -> None:
    ws, client = sandbox.workspace, plain_client(sandbox)
    ws.inject(Fault.rate_limited(retry_after=7), times=2)  # every method
    for method in (lambda: client.users_info(user=DAN), lambda: client.chat_postMessage(channel=AMY, text="x")):
        with pytest.raises(SlackApiError) as raised:
            method()
        assert raised.value.response.status_code == 429 and raised.value.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel=AMY, text="x")["ok"]
    assert not ws.faults.active


def test_a_timeout_holds_the_request_and_never_carries_it_out(sandbox: SandboxServer) -> None:
    ws, client = sandbox.workspace, plain_client(sandbox, timeout=1)
    ws.inject(Fault.timeout(hold=5), methods="chat.postMessage", times=1)
    started = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout)):
        client.chat_postMessage(channel=AMY, text="hello")
    assert 0.9 < time.monotonic() - started < 4
    assert client.chat_postMessage(channel=AMY, text="again")["ok"]
    assert [m.text for m in ws.dms_to(AMY)] == ["again"]
    assert ("chat.postMessage", "timeout") in ws.calls


def test_clearing_the_faults_lets_a_held_request_go_at_once(sandbox: SandboxServer) -> None:
    import threading

    ws, client = sandbox.workspace, plain_client(sandbox, timeout=30)
    ws.inject(Fault.timeout(hold=60), methods="users.info")
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.users_info(user=DAN)
        except BaseException as exc:  # noqa: BLE001 - what the client saw
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while ("users.info", "timeout") not in ws.calls:
        time.sleep(0.01)
    ws.clear_faults()
    caller.join(5)
    assert not caller.is_alive() and outcome and isinstance(outcome[0], (RemoteDisconnected, ConnectionError))


def test_a_refused_call_is_cut_without_an_answer(sandbox: SandboxServer) -> None:
    ws, client = sandbox.workspace, plain_client(sandbox)
    ws.inject(Fault.refused(), methods="chat.postMessage", times=1)
    with pytest.raises((ConnectionError, RemoteDisconnected, urllib.error.URLError)):
        client.chat_postMessage(channel=AMY, text="hello")
    assert ws.dms_to(AMY) == []


def test_the_bots_client_retries_through_a_cut_connection(sandbox: SandboxServer) -> None:
    ws = sandbox.workspace
    ws.inject(Fault.refused(), methods="users.info", times=1)
    assert web_client(ws.bot_token, sandbox.api_url).users_info(user=DAN)["user"]["id"] == DAN
    assert [c for c in ws.calls if c[0] == "users.info"] == [("users.info", "refused"), ("users.info", None)]


def test_offline_refuses_every_connection_and_online_answers_again(sandbox: SandboxServer) -> None:
    client = plain_client(sandbox)
    sandbox.offline()
    with pytest.raises(urllib.error.URLError) as raised:
        client.auth_test()
    assert isinstance(raised.value.reason, ConnectionRefusedError)
    sandbox.online()
    assert client.auth_test()["team_id"] == sandbox.workspace.team_id
    assert client.chat_postMessage(channel=AMY, text="back")["ok"]


def test_bad_injections_are_refused() -> None:
    with pytest.raises(ValueError):
        Fault.server_error(404)
    from bot.sandbox.faults import Faults

    with pytest.raises(ValueError):
        Faults().inject(Fault.refused(), times=0)
