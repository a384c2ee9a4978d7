"""Configuration from the environment (pydantic-settings), with one plain line for each mistake."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.email import SmtpSettings
from flows.school import check_timezone
from storage.db import DatabaseUrlError, normalise_url

DEFAULT_DATABASE_URL = "sqlite:///concernbot.db"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one sentence saying which and what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    # Installing into many workspaces (OAuth): the app's client id and secret, instead of SLACK_BOT_TOKEN.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_redirect_uri: str | None = None  # https://<your host>/slack/oauth_redirect, as on the app's OAuth page
    slack_authorize_url: str = "https://slack.com/oauth/v2/authorize"
    # OAuth: the workspaces (T…) and organisations (E…) this deployment serves, comma-separated; unset: any.
    slack_allowed_teams: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = DEFAULT_DATABASE_URL
    school_timezone: str = "Europe/London"
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: Literal["text", "json"] = "text"
    metrics_token: SecretStr | None = None  # /metrics answers only the machine itself unless this is set
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_ca_file: str | None = None
    # How long a sender may hold a claimed outbox row before another may take it (a crashed sender's rows).
    outbox_lease_seconds: int = Field(default=60, ge=5, le=3600)
    # Staff-wide rounds (the AUP): messages a second per school and sending process; 0: as fast as Slack
    # takes them, waiting out each 429.
    slack_broadcast_rate: float = Field(default=0, ge=0, le=1000)
    http_workers: int = Field(default=1, ge=1, le=32)  # HTTP mode: worker processes (each a whole bot)
    # A concern's alert still not delivered in Slack after this many minutes: one email to the school's fallback
    # address (its set-up file's contacts.fallback_email, else FALLBACK_EMAIL), with the reference only.
    notify_fallback_after_minutes: int = Field(default=15, ge=1, le=1440)
    fallback_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    # The key that seals the records' free text and children's names (storage.keys): a key, or several
    # comma-separated, newest first; or a file of them. Unset with SQLite: a `.key` file beside the database.
    encryption_key: SecretStr | None = None
    encryption_key_file: str | None = None

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token", "slack_client_id",
                     "slack_client_secret", mode="before")
    @classmethod
    def _not_blank(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("is set but empty: set it to the value from your Slack app, or unset it")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb- (Slack app > OAuth & Permissions)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp- (Slack app > Basic Information)")
        return value

    @field_validator("slack_redirect_uri", "slack_authorize_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            normalise_url(value)
        except DatabaseUrlError as exc:
            raise ValueError(str(exc).removeprefix("DATABASE_URL ")) from None
        return value

    _tz = field_validator("school_timezone")(check_timezone)

    def smtp(self) -> SmtpSettings:
        password = self.smtp_password.get_secret_value() if self.smtp_password else None
        return SmtpSettings(self.smtp_host, self.smtp_port, self.smtp_username, password, self.smtp_from,
                            self.smtp_security, self.smtp_ca_file)

    @field_validator("slack_allowed_teams")
    @classmethod
    def _team_ids(cls, value: str | None) -> str | None:
        for item in (value or "").split(","):
            if item.strip() and not re.fullmatch(r"[TE][A-Z0-9]{2,31}", item.strip()):
                raise ValueError(f"has {item.strip()!r}, which is not a Slack team (T…) or organisation (E…) id")
        return value

    @property
    def allowed_teams(self) -> frozenset[str]:
        return frozenset(i.strip() for i in (self.slack_allowed_teams or "").split(",") if i.strip())

    @property
    def oauth(self) -> bool:
        """Installed into many workspaces by OAuth, rather than one workspace's bot token."""
        return self.slack_client_id is not None or self.slack_client_secret is not None

    @property
    def has_slack_credentials(self) -> bool:
        return self.slack_bot_token is not None or self.oauth

    def require_slack(self) -> None:
        """`serve` needs a bot token (or, to install into many workspaces, the app's client id and secret)
        and, for HTTP or Socket Mode alike, the signing secret."""
        if self.oauth:
            self._require_oauth()
        elif self.slack_bot_token is None:
            raise ConfigError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) "
                              "from your Slack app's OAuth & Permissions page.")
        if self.slack_signing_secret is None:
            raise ConfigError("SLACK_SIGNING_SECRET is not set: copy the Signing Secret from your "
                              "Slack app's Basic Information page.")

    def _require_oauth(self) -> None:
        if self.slack_bot_token is not None:
            raise ConfigError("both SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set: keep the bot "
                              "token for one school, or the client id and secret to install into many.")
        if self.slack_client_id is None or self.slack_client_secret is None:
            missing = "SLACK_CLIENT_SECRET" if self.slack_client_id else "SLACK_CLIENT_ID"
            raise ConfigError(f"{missing} is not set: copy it from your Slack app's Basic Information page "
                              "(App Credentials), or unset both to run with one school's SLACK_BOT_TOKEN.")
        if self.slack_app_token is not None:
            raise ConfigError("installing into many workspaces needs HTTP mode (Slack redirects installers to "
                              "the bot): unset SLACK_APP_TOKEN and give the app a public Request URL.")


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation failure into a ConfigError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} {message}.".replace("..", ".")) from None
