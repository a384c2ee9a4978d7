"""Settings and the school file: every mistake is one sentence naming the setting or field."""

from pathlib import Path

import pytest

from bot.demo import demo_school_file
from bot.school_setup import SetupError, read_school_file
from bot.settings import ConfigError, load_settings


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DATABASE_URL", "SCHOOL_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///concernbot.db"
    assert settings.school_timezone == "Europe/London"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert not settings.has_slack_credentials


@pytest.mark.parametrize(("env", "value", "says"), [
    ("SCHOOL_TIMEZONE", "Mars/Olympus", "SCHOOL_TIMEZONE 'Mars/Olympus' is not a time zone name"),
    ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN must be a bot token starting with xoxb-"),
    ("SLACK_APP_TOKEN", "xoxb-wrong-kind", "SLACK_APP_TOKEN must be an app-level token starting with xapp-"),
    ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL must be an http(s) URL"),
    ("DATABASE_URL", "mysql://root@localhost/school", "DATABASE_URL uses 'mysql'"),
    ("DATABASE_URL", "not a url", "DATABASE_URL 'not a url' is not a database URL"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
    ("SLACK_SIGNING_SECRET", "  ", "SLACK_SIGNING_SECRET is set but empty"),
    ("SLACK_REDIRECT_URI", "bot.example/slack/oauth_redirect", "SLACK_REDIRECT_URI must be an http(s) URL"),
    ("SLACK_CLIENT_SECRET", "", "SLACK_CLIENT_SECRET is set but empty"),
    ("SLACK_ALLOWED_TEAMS", "T0OAK,oakfield", "SLACK_ALLOWED_TEAMS has 'oakfield', which is not a Slack team (T…)"),
])
def test_a_bad_setting_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch, env: str, value: str, says: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("env", "says"), [
    ({"SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET is not set: copy it from your Slack app's Basic Information"),
    ({"SLACK_CLIENT_SECRET": "s"}, "SLACK_CLIENT_ID is not set"),
    ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1"},
     "both SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set"),
    ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "SLACK_APP_TOKEN": "xapp-1"},
     "installing into many workspaces needs HTTP mode"),
    ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}, "SLACK_SIGNING_SECRET is not set"),
])
def test_installing_into_many_workspaces_is_one_mode_or_the_other(monkeypatch: pytest.MonkeyPatch,
                                                                  env: dict[str, str], says: str) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.oauth and settings.has_slack_credentials
    with pytest.raises(ConfigError) as caught:
        settings.require_slack()
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_serving_needs_both_token_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
        load_settings().require_slack()


def test_the_demo_school_file_is_valid() -> None:
    school = read_school_file(demo_school_file())
    assert school.dsl_channel == "#dsl-team"
    assert [role.value for role, _ in school.people.by_role()][:3] == ["dsl", "deputy_dsl", "headteacher"]


@pytest.mark.parametrize(("mutation", "says"), [
    (("people:\n  dsl: dan.hughes@oakfield.example", "people:\n  dsl: dan"), "people.dsl: 'dan' is neither a Slack user id"),
    (("timezone: Europe/London", "timezone: Europe/Narnia"), "school.timezone: 'Europe/Narnia' is not a time zone"),
    (('dsl_channel: "#dsl-team"', "dsl_channel: dsl team"), "dsl_channel: 'dsl team' is neither a channel id"),
    (("cadence: annual\n    next_review: 2027-07-01", "cadence: weekly\n    next_review: 2027-07-01"), "policies.0.cadence"),
    (("key: staff-aup", "key: online-safety"), "two policies share a key"),
    (("contacts:", "colour: blue\ncontacts:"), "colour: Extra inputs are not permitted"),
    (("lado_email: lado@county-council.example", "lado_email: lado"), "contacts.lado_email: 'lado' is not an email"),
    (('draft_nudge_at: "15:30"', 'draft_nudge_at: "18:30"'), "draft_nudge_at must fall within the school day"),
    (('day_ends: "17:00"', 'day_ends: "07:00"'), "day_ends must be later than day_starts"),
    (("escalation_minutes: 30", "escalation_minutes: 1"), "school.escalation_minutes"),
])
def test_a_bad_school_file_is_named_in_one_line(tmp_path: Path, mutation: tuple[str, str], says: str) -> None:
    text = demo_school_file().read_text()
    assert mutation[0] in text
    path = tmp_path / "school.yml"
    path.write_text(text.replace(mutation[0], mutation[1], 1))
    with pytest.raises(SetupError) as caught:
        read_school_file(path)
    assert says in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_unreadable_yaml_and_missing_file_say_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "school.yml"
    path.write_text("school:\n  name: [unclosed\n")
    with pytest.raises(SetupError, match="not valid YAML at line"):
        read_school_file(path)
    with pytest.raises(SetupError, match="no such file"):
        read_school_file(tmp_path / "missing.yml")
    with pytest.raises(SetupError, match="cannot be read"):
        read_school_file(tmp_path)  # a directory
    binary = tmp_path / "school.pdf"
    binary.write_bytes(b"\xff\xfe\x00 not yaml")
    with pytest.raises(SetupError, match="cannot be read"):
        read_school_file(binary)
