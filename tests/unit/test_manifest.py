"""manifest.yml is a valid Slack app manifest and declares exactly what the code uses."""

import json
import re
from pathlib import Path

import jsonschema
import yaml

from bot.sandbox.scopes import METHOD_SCOPES, PRIVATE_CHANNEL_SCOPE
from bot.slack_needs import BOT_EVENTS, BOT_SCOPES, COMMANDS, ORG_EVENTS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "data" / "slack-manifest-schema" / "manifest.schema.1.0.0.json"


def manifest(name: str = "manifest.yml") -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def test_manifest_is_valid_against_slacks_schema() -> None:
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(manifest())
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(manifest("deploy/manifest-oauth.yml"))


def test_oauth_manifest_differs_only_in_addresses_mode_and_organisation_events() -> None:
    oauth, plain = manifest("deploy/manifest-oauth.yml"), manifest()
    assert oauth["settings"]["event_subscriptions"]["bot_events"] == list(BOT_EVENTS + ORG_EVENTS)
    assert oauth["oauth_config"]["redirect_urls"] == ["https://YOUR-HOST/slack/oauth_redirect"]
    assert oauth["settings"]["org_deploy_enabled"] is True and oauth["settings"]["socket_mode_enabled"] is False
    assert oauth["settings"]["interactivity"]["request_url"] == "https://YOUR-HOST/slack/events"
    for command in oauth["features"]["slash_commands"]:
        assert command.pop("url") == "https://YOUR-HOST/slack/events"
    del oauth["oauth_config"]["redirect_urls"], oauth["settings"]["interactivity"]["request_url"]
    assert oauth["settings"]["event_subscriptions"].pop("request_url") == "https://YOUR-HOST/slack/events"
    for key in ("org_deploy_enabled", "socket_mode_enabled"):
        del oauth["settings"][key], plain["settings"][key]
    oauth["settings"]["event_subscriptions"]["bot_events"] = list(BOT_EVENTS)
    assert oauth == plain


def test_manifest_declares_exactly_the_scopes_events_and_commands_the_code_needs() -> None:
    m = manifest()
    assert sorted(m["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    assert m["settings"]["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)
    assert [c["command"] for c in m["features"]["slash_commands"]] == list(COMMANDS)
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["settings"]["socket_mode_enabled"] is True
    assert m["features"]["app_home"]["messages_tab_read_only_enabled"] is True


def test_every_web_api_scope_the_bot_relies_on_is_requested() -> None:
    # The sandbox refuses any call whose scope is not granted, and grants only BOT_SCOPES, so the
    # end-to-end tests fail if code starts calling a method this list does not cover.
    needed = {s for scopes in METHOD_SCOPES.values() for s in scopes} | {PRIVATE_CHANNEL_SCOPE, "commands"}
    assert needed <= set(BOT_SCOPES)


def test_every_event_and_command_the_listeners_register_is_declared() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "bot" / "listeners").glob("*.py"))
    events = set(re.findall(r'\.event\("([a-z_]+)"\)', source))
    assert events == set(BOT_EVENTS + ORG_EVENTS)
    command_constants = set(re.findall(r'^COMMAND = "(/[a-z-]+)"', source, re.MULTILINE))
    assert command_constants == set(COMMANDS)
