"""Configuration from the environment (pydantic-settings), with one plain line for each mistake."""

from __future__ import annotations

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
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = DEFAULT_DATABASE_URL
    school_timezone: str = "Europe/London"
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_ca_file: str | None = None

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token", mode="before")
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

    @property
    def has_slack_credentials(self) -> bool:
        return self.slack_bot_token is not None

    def require_slack(self) -> None:
        """`serve` needs a bot token and, for HTTP or Socket Mode alike, the signing secret."""
        if self.slack_bot_token is None:
            raise ConfigError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) "
                              "from your Slack app's OAuth & Permissions page.")
        if self.slack_signing_secret is None:
            raise ConfigError("SLACK_SIGNING_SECRET is not set: copy the Signing Secret from your "
                              "Slack app's Basic Information page.")


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation failure into a ConfigError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} {message}.".replace("..", ".")) from None
