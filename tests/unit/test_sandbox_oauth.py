"""The sandbox with several schools: each token acts in its own workspace, Slack's OAuth v2 install flow,
Enterprise Grid org-wide installs, and removing the app."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import (
    AMY, B_DEPUTY, B_DSL, B_DSL_CHANNEL, B_GENERAL, B_HEAD, B_TEACHER, DSL_CHANNEL, HELEN, TEAM_ID, TEAM_ID2,
    demo_workspace, second_workspace,
)
from bot.sandbox.webapi import SandboxServer

CLIENT_ID, CLIENT_SECRET = "1111.2222", "sandbox-client-secret"
REDIRECT = "https://concernbot.example/slack/oauth_redirect"
ORG, ORG_NAME = "E0RIVERSIDE", "Riverside Learning Trust (sandbox)"
SECRET = "sandbox-oauth-test-secret"


def client(sandbox: SandboxServer, token: str | None = None) -> WebClient:
    return WebClient(token=token, base_url=sandbox.api_url, timeout=10, retry_handlers=[])


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return str(raised.value.response["error"])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def authorize(sandbox: SandboxServer, user: str | None, *, org: str | None = None, deny: bool = False,
              **params: str) -> tuple[int, str, str]:
    """The browser on Slack's authorize page: (status, Location, body)."""
    query = {"client_id": CLIENT_ID, "scope": "chat:write,commands", "user_scope": "", "state": "st4te", **params}
    headers = {"X-Sandbox-User": user} if user else {}
    headers |= ({"X-Sandbox-Org": org} if org else {}) | ({"X-Sandbox-Deny": "1"} if deny else {})
    request = urllib.request.Request(f"{sandbox.authorize_url}?{urlencode(query)}", headers=headers)
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=10) as reply:
            return reply.status, reply.headers.get("Location") or "", reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location") or "", exc.read().decode()


def code_for(sandbox: SandboxServer, user: str, **kwargs: Any) -> str:
    status, location, _ = authorize(sandbox, user, **kwargs)
    assert status == 302, location
    return parse_qs(urlsplit(location).query)["code"][0]


def exchange(sandbox: SandboxServer, code: str, secret: str = CLIENT_SECRET, **kwargs: Any) -> Any:
    return client(sandbox).oauth_v2_access(client_id=CLIENT_ID, client_secret=secret, code=code, **kwargs)


@pytest.fixture
def schools(sandbox: SandboxServer) -> SandboxServer:
    sandbox.add_workspace(second_workspace())
    sandbox.oauth_app(CLIENT_ID, CLIENT_SECRET, REDIRECT)
    return sandbox


@pytest.fixture
def trust(schools: SandboxServer) -> SandboxServer:
    schools.add_enterprise(ORG, ORG_NAME, [TEAM_ID, TEAM_ID2])
    schools.workspaces[TEAM_ID2].users[B_HEAD].is_admin = True
    return schools


# -- several workspaces ---------------------------------------------------------------------------
def test_ids_never_collide_between_workspaces() -> None:
    oak, birch = demo_workspace(), second_workspace()
    made = [(ws.new_id("V"), ws.issue_trigger(AMY if ws is oak else B_TEACHER)) for ws in (oak, birch, oak, birch)]
    dms = [oak.im_with(AMY).id, birch.im_with(B_TEACHER).id, oak.im_with(HELEN).id, birch.im_with(B_HEAD).id]
    ids = [i for pair in made for i in pair] + dms
    assert len(set(ids)) == len(ids)
    assert all(dm.startswith("D") and len(dm) == 8 for dm in dms)


def test_each_token_acts_in_its_own_workspace(sandbox: SandboxServer) -> None:
    oak = sandbox.workspace
    birch = sandbox.add_workspace(second_workspace("xoxb-birches"))
    assert sandbox.workspaces == {TEAM_ID: oak, TEAM_ID2: birch} and sandbox.workspace is oak
    one, two = client(sandbox, oak.bot_token), client(sandbox, "xoxb-birches")
    assert two.auth_test().data == {
        "ok": True, "url": "https://t0birches.slack.test/", "team": "Birches Academy (sandbox)", "user": "concernbot",
        "team_id": TEAM_ID2, "user_id": "U0BBOT", "bot_id": "B0BBOT", "is_enterprise_install": False}
    assert one.auth_test()["team_id"] == TEAM_ID and "enterprise_id" not in one.auth_test().data
    posted = two.chat_postMessage(channel=B_DSL_CHANNEL, text="to Birches")
    assert [m.text for m in birch.messages_in(B_DSL_CHANNEL)] == ["to Birches"] and posted["channel"] == B_DSL_CHANNEL
    assert error_of(lambda: one.chat_postMessage(channel=B_DSL_CHANNEL, text="x")) == "channel_not_found"
    assert error_of(lambda: two.users_info(user=AMY)) == "user_not_found"
    assert two.conversations_open(users=B_TEACHER)["channel"]["id"] == birch.im_with(B_TEACHER).id
    assert birch.calls[-4:] == [("auth.test", None), ("chat.postMessage", None), ("users.info", "user_not_found"),
                                ("conversations.open", None)]
    assert ("chat.postMessage", "channel_not_found") in oak.calls and ("chat.postMessage", None) not in oak.calls


def test_limits_failures_and_scopes_belong_to_one_workspace(sandbox: SandboxServer) -> None:
    oak, birch = sandbox.workspace, sandbox.add_workspace(second_workspace("xoxb-birches"))
    one, two = client(sandbox, oak.bot_token), client(sandbox, "xoxb-birches")
    birch.set_rate_limit(0.25)
    birch.fail_next("users.list")
    birch.scopes.discard("users:read.email")
    two.users_info(user=B_DSL)
    with pytest.raises(SlackApiError) as limited:
        two.users_info(user=B_DSL)
    assert limited.value.response.status_code == 429 and birch.rate_limited == 1
    birch.set_rate_limit(None)
    assert error_of(lambda: two.users_list()) == "internal_error"
    assert error_of(lambda: two.users_lookupByEmail(email="mark.ellison@birches.example")) == "missing_scope"
    assert all(one.users_info(user=AMY)["ok"] for _ in range(3)) and oak.rate_limited == 0
    assert one.users_list()["ok"] and one.users_lookupByEmail(email="amy.clarke@oakfield.example")["ok"]


def test_no_token_an_unknown_one_and_a_workspace_not_installed(schools: SandboxServer) -> None:
    assert schools.workspaces[TEAM_ID2].bot_token is None and schools.installed_token(TEAM_ID2) is None
    assert error_of(lambda: client(schools).auth_test()) == "not_authed"
    assert error_of(lambda: client(schools, "xoxb-nobody").auth_test()) == "invalid_auth"
    assert schools.workspace.calls[-2:] == [("auth.test", "not_authed"), ("auth.test", "invalid_auth")]
    assert schools.workspaces[TEAM_ID2].calls == []


def test_response_urls_are_per_workspace(schools: SandboxServer) -> None:
    assert schools.response_url(AMY) == schools.response_url(AMY, TEAM_ID) == f"{schools.url}/response/{AMY}"
    for url, user in ((schools.response_url(B_TEACHER, TEAM_ID2), B_TEACHER), (schools.response_url(AMY), AMY)):
        request = urllib.request.Request(url, data=b'{"text": "only you"}', method="POST",
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()
    assert schools.workspaces[TEAM_ID2].ephemeral == [(B_TEACHER, "only you")]
    assert schools.workspace.ephemeral == [(AMY, "only you")]


# -- OAuth v2 ------------------------------------------------------------------------------------------
def test_install_issues_a_token_for_the_approvers_workspace(schools: SandboxServer) -> None:
    status, location, _ = authorize(schools, B_HEAD)
    assert status == 302 and location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st4te"] and len(query["code"][0]) > 20
    reply = exchange(schools, query["code"][0]).data
    token = reply.pop("access_token")
    assert token.startswith("xoxb-t0birches-")
    birch = schools.workspaces[TEAM_ID2]
    assert reply == {"ok": True, "app_id": "A0CONCERNBOT", "authed_user": {"id": B_HEAD},
                     "scope": ",".join(sorted(birch.scopes)), "token_type": "bot", "bot_user_id": "U0BBOT",
                     "team": {"id": TEAM_ID2, "name": "Birches Academy (sandbox)"}, "enterprise": None,
                     "is_enterprise_install": False}
    assert birch.bot_token == token == schools.installed_token(TEAM_ID2) and birch.installed_by == B_HEAD
    assert client(schools, token).auth_test()["bot_id"] == "B0BBOT"  # what Bolt reads next
    assert error_of(lambda: exchange(schools, query["code"][0])) == "invalid_code"  # single use
    assert schools.oauth is not None and schools.oauth.calls == [("oauth.v2.access", None),
                                                                 ("oauth.v2.access", "invalid_code")]


def test_reinstalling_replaces_the_token(schools: SandboxServer) -> None:
    old = schools.workspace.bot_token
    new = exchange(schools, code_for(schools, HELEN))["access_token"]
    assert new != old and schools.installed_token(TEAM_ID) == new and schools.workspace.installed_by == HELEN
    assert error_of(lambda: client(schools, old).auth_test()) == "invalid_auth"
    assert client(schools, new).auth_test()["team_id"] == TEAM_ID


def test_credentials_may_come_as_form_fields_and_are_checked(schools: SandboxServer) -> None:
    code = code_for(schools, AMY)
    web = client(schools)
    assert error_of(lambda: web.api_call("oauth.v2.access", data={"client_id": "9.9", "client_secret": CLIENT_SECRET,
                                                                  "code": code})) == "invalid_client_id"
    assert error_of(lambda: exchange(schools, code, secret="wrong")) == "bad_client_secret"
    reply = web.api_call("oauth.v2.access", data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                                  "code": code})
    assert reply["team"]["id"] == TEAM_ID and reply["authed_user"] == {"id": AMY}
    assert error_of(lambda: exchange(schools, "123.456.nonsense")) == "invalid_code"


def test_a_code_expires(schools: SandboxServer) -> None:
    assert schools.oauth is not None
    schools.oauth.code_lifetime = 0.0
    assert error_of(lambda: exchange(schools, code_for(schools, AMY))) == "invalid_code"


def test_the_redirect_uri_given_must_fit_the_app_and_be_given_again(schools: SandboxServer) -> None:
    status, location, _ = authorize(schools, AMY, redirect_uri=REDIRECT + "/school?x=1")
    assert status == 302 and location.startswith(REDIRECT + "/school?x=1&code=")
    code = parse_qs(urlsplit(location).query)["code"][0]
    assert error_of(lambda: exchange(schools, code)) == "bad_redirect_uri"
    assert exchange(schools, code, redirect_uri=REDIRECT + "/school?x=1")["ok"]
    status, _, body = authorize(schools, AMY, redirect_uri="https://elsewhere.example/steal")
    assert status == 400 and "bad_redirect_uri" in body


def test_the_authorize_page_refuses_and_cancels(schools: SandboxServer) -> None:
    status, _, body = authorize(schools, AMY, client_id="0.0")
    assert status == 400 and "invalid_client_id" in body
    status, _, body = authorize(schools, None)
    assert status == 400 and "X-Sandbox-User" in body
    status, _, _ = authorize(schools, "U0NOBODY")
    assert status == 403
    status, location, _ = authorize(schools, B_TEACHER, deny=True)
    assert status == 302 and location == f"{REDIRECT}?error=access_denied&state=st4te"
    assert schools.installed_token(TEAM_ID2) is None


def test_uninstall_revokes_the_token(schools: SandboxServer) -> None:
    token = exchange(schools, code_for(schools, B_HEAD))["access_token"]
    schools.uninstall(TEAM_ID2)
    assert schools.installed_token(TEAM_ID2) is None and schools.workspaces[TEAM_ID2].installed_by is None
    assert error_of(lambda: client(schools, token).auth_test()) == "token_revoked"
    assert schools.workspaces[TEAM_ID2].calls[-1] == ("auth.test", "token_revoked")
    assert client(schools, schools.workspace.bot_token).auth_test()["ok"]  # the other school is untouched


# -- Enterprise Grid ------------------------------------------------------------------------------------
def test_an_organisation_has_one_bot_user(trust: SandboxServer) -> None:
    oak, birch = trust.workspace, trust.workspaces[TEAM_ID2]
    assert (oak.enterprise_id, birch.enterprise_id, birch.enterprise_name) == (ORG, ORG, ORG_NAME)
    assert birch.bot_user_id == oak.bot_user_id == "U0BOT" and "U0BBOT" not in birch.users
    assert "U0BOT" in birch.channels[B_DSL_CHANNEL].members
    assert trust.enterprises[ORG].team_ids == [TEAM_ID, TEAM_ID2] and not trust.enterprises[ORG].installed
    assert client(trust, oak.bot_token).auth_test()["enterprise_id"] == ORG  # a workspace token in an org


def test_an_org_wide_install_needs_an_org_admin(trust: SandboxServer) -> None:
    status, _, body = authorize(trust, B_TEACHER, org=ORG)
    assert status == 403 and "admin" in body
    reply = exchange(trust, code_for(trust, B_HEAD, org=ORG)).data
    token = reply.pop("access_token")
    assert reply == {"ok": True, "app_id": "A0CONCERNBOT", "authed_user": {"id": B_HEAD},
                     "scope": ",".join(sorted(trust.workspace.scopes)), "token_type": "bot", "bot_user_id": "U0BOT",
                     "team": None, "enterprise": {"id": ORG, "name": ORG_NAME}, "is_enterprise_install": True}
    enterprise = trust.enterprises[ORG]
    assert enterprise.org_token == token and enterprise.installed_by == B_HEAD
    assert trust.installed_token(TEAM_ID2) == token  # Birches has no token of its own
    assert client(trust, token).auth_test().data == {
        "ok": True, "url": "https://e0riverside.enterprise.slack.test/", "team": ORG_NAME, "user": "concernbot",
        "team_id": ORG, "user_id": "U0BOT", "bot_id": "B0RIVERSIDE", "enterprise_id": ORG,
        "is_enterprise_install": True}
    assert client(trust, token).auth_teams_list()["teams"] == [
        {"id": TEAM_ID, "name": "Oakfield Primary School (sandbox)"}, {"id": TEAM_ID2, "name": "Birches Academy (sandbox)"}]


def test_the_org_token_acts_where_the_call_points(trust: SandboxServer) -> None:
    org = client(trust, exchange(trust, code_for(trust, B_HEAD, org=ORG))["access_token"])
    oak, birch = trust.workspace, trust.workspaces[TEAM_ID2]
    org.chat_postMessage(channel=B_DSL_CHANNEL, text="to the Birches DSL team")
    org.chat_postMessage(channel=DSL_CHANNEL, text="to the Oakfield DSL team")
    org.chat_postMessage(channel=B_DEPUTY, text="a DM in Birches")
    assert [m.text for m in birch.messages_in(B_DSL_CHANNEL)] == ["to the Birches DSL team"]
    assert [m.text for m in oak.messages_in(DSL_CHANNEL)] == ["to the Oakfield DSL team"]
    assert [m.text for m in birch.dms_to(B_DEPUTY)] == ["a DM in Birches"]
    assert org.users_info(user=B_DSL)["user"]["team_id"] == TEAM_ID2
    trigger = birch.issue_trigger(B_TEACHER)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Report"}, "blocks": []}
    opened = org.views_open(trigger_id=trigger, view=view)["view"]
    assert birch.views[opened["id"]].user_id == B_TEACHER
    assert org.views_update(view_id=opened["id"], view=view)["view"]["id"] == opened["id"]
    assert org.views_publish(user_id=B_TEACHER, view={"type": "home", "blocks": []})["ok"] and B_TEACHER in birch.home
    assert error_of(lambda: org.users_list()) == "missing_argument"
    assert {m["id"] for m in org.users_list(team_id=TEAM_ID2)["members"]} == set(birch.users)
    assert error_of(lambda: org.conversations_list()) == "missing_argument"
    assert [c["id"] for c in org.conversations_list(team_id=TEAM_ID2)["channels"]] == [B_GENERAL]
    assert error_of(lambda: org.chat_postMessage(channel="C0NOWHERE", text="x")) == "channel_not_found"
    assert error_of(lambda: org.users_list(team_id="T0ELSEWHERE")) == "team_access_not_granted"
    assert ("users.list", None) in birch.calls and ("users.list", None) not in oak.calls


def test_a_workspace_install_inside_an_org(trust: SandboxServer) -> None:
    reply = exchange(trust, code_for(trust, B_TEACHER))
    assert reply["team"]["id"] == TEAM_ID2 and reply["enterprise"] == {"id": ORG, "name": ORG_NAME}
    assert reply["is_enterprise_install"] is False
    assert client(trust, reply["access_token"]).auth_test()["enterprise_id"] == ORG
    org_token = exchange(trust, code_for(trust, B_HEAD, org=ORG))["access_token"]
    assert error_of(lambda: exchange(trust, code_for(trust, B_TEACHER))) == "cannot_install_an_org_installed_app"
    assert trust.installed_token(TEAM_ID2) == reply["access_token"] != org_token  # its own comes first


def test_removing_the_app_from_one_workspace_or_the_org(trust: SandboxServer) -> None:
    token = exchange(trust, code_for(trust, B_HEAD, org=ORG))["access_token"]
    org = client(trust, token)
    trust.uninstall(TEAM_ID2)
    assert trust.installed_token(TEAM_ID2) is None and trust.org_install_for(TEAM_ID2) is None
    assert [t["id"] for t in org.auth_teams_list()["teams"]] == [TEAM_ID]
    assert error_of(lambda: org.users_list(team_id=TEAM_ID2)) == "team_access_not_granted"
    assert org.users_list(team_id=TEAM_ID)["ok"]
    trust.uninstall_org(ORG)
    assert error_of(lambda: org.auth_test()) == "token_revoked"
    assert trust.enterprises[ORG].org_token is None and trust.org_install_for(TEAM_ID) is None
    again = exchange(trust, code_for(trust, B_HEAD, org=ORG))["access_token"]
    assert again != token and len(client(trust, again).auth_teams_list()["teams"]) == 2


# -- the browser, against a real Bolt app with slack-sdk's SQLAlchemy stores ----------------------------
@pytest.fixture
def bolt(schools: SandboxServer, tmp_path: Any) -> Iterator[tuple[str, SQLAlchemyInstallationStore]]:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'bolt.db'}")
    installations = SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=engine)
    states = SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine)
    installations.create_tables()
    states.create_tables()
    app = App(signing_secret=SECRET, client=WebClient(base_url=schools.api_url), oauth_settings=OAuthSettings(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scopes=["chat:write", "commands"],
        installation_store=installations, state_store=states, authorization_url=schools.authorize_url))
    app.enable_token_revocation_listeners()  # app_uninstalled deletes the installation

    @app.command("/report-concern")
    def command(ack: Any, client: WebClient, context: Any) -> None:
        ack()
        client.chat_postMessage(channel=context.user_id, text=f"hello, {client.auth_test()['team']}")

    class Bot(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            path, _, query = self.path.partition("?")
            flow = app.oauth_flow
            assert flow is not None
            handle = flow.handle_installation if path == "/slack/install" else flow.handle_callback
            self._send(handle(BoltRequest(body="", query=query, headers=dict(self.headers.items()))))

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            self._send(app.dispatch(BoltRequest(body=body, headers=dict(self.headers.items()))))

        def _send(self, response: BoltResponse) -> None:
            body = response.body.encode()
            self.send_response(response.status)
            for name, values in response.headers.items():
                for value in values:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Bot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    schools.oauth_app(CLIENT_ID, CLIENT_SECRET, f"{url}/slack/oauth_redirect")
    yield url, installations
    server.shutdown()
    server.server_close()


def test_bolt_installs_a_school_and_then_answers_it(schools: SandboxServer,
                                                   bolt: tuple[str, SQLAlchemyInstallationStore]) -> None:
    url, installations = bolt
    birches = SlackSimulator(schools, url, SECRET, team_id=TEAM_ID2)
    birches.slash_command(B_TEACHER)  # not installed: Bolt finds no installation, and no listener runs
    assert not birches.ws.messages and schools.workspaces[TEAM_ID2].calls == []
    cancelled = birches.install(B_HEAD, deny=True)
    assert cancelled.status == 200 and "access_denied" in cancelled.body
    done = birches.install(B_HEAD)
    assert done.status == 200 and "Thank you" in done.body
    installed = installations.find_installation(enterprise_id=None, team_id=TEAM_ID2)
    assert installed is not None and installed.bot_token == schools.installed_token(TEAM_ID2)
    assert (installed.bot_id, installed.bot_user_id, installed.user_id) == ("B0BBOT", "U0BBOT", B_HEAD)
    assert birches.slash_command(B_TEACHER).status == 200
    wait_for(lambda: schools.workspaces[TEAM_ID2].dms_to(B_TEACHER), what="Bolt's reply in Birches")
    assert schools.workspaces[TEAM_ID2].dms_to(B_TEACHER)[0].text == "hello, Birches Academy (sandbox)"


def test_bolt_installs_an_organisation_and_answers_each_school(trust: SandboxServer,
                                                               bolt: tuple[str, SQLAlchemyInstallationStore]) -> None:
    url, installations = bolt
    birches, oakfield = (SlackSimulator(trust, url, SECRET, team_id=t) for t in (TEAM_ID2, TEAM_ID))
    with pytest.raises(AssertionError, match="403"):
        birches.install(B_TEACHER, org=ORG)  # not an org admin
    assert birches.install(B_HEAD, org=ORG).status == 200
    org = installations.find_installation(enterprise_id=ORG, team_id=None, is_enterprise_install=True)
    assert org is not None and org.bot_token == trust.enterprises[ORG].org_token and org.team_id is None
    assert org.enterprise_url == "https://e0riverside.enterprise.slack.test/" and org.bot_id == "B0RIVERSIDE"
    for sim, user in ((birches, B_TEACHER), (oakfield, AMY)):
        assert sim.slash_command(user).status == 200
        reply = wait_for(lambda s=sim, u=user: s.ws.dms_to(u), what="Bolt's reply")[0]  # type: ignore[misc]
        assert reply.text == f"hello, {ORG_NAME}"
    assert birches.uninstalled().status == 200
    assert trust.installed_token(TEAM_ID2) is None and trust.installed_token(TEAM_ID) == trust.workspace.bot_token
    wait_for(lambda: installations.find_installation(enterprise_id=ORG, team_id=None, is_enterprise_install=True)
             is None, what="Bolt to delete the org's installation")
