"""Email to the LADO and to a chair of governors outside the workspace, over SMTP.

The seed policies forbid personal data in email: messages say only that a concern needing attention
has been recorded, its reference, the school, the date, and how to reach the case manager.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

Security = Literal["starttls", "tls", "none"]


class EmailNotConfigured(Exception):
    """SMTP is not set up; the message names the setting to add."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int
    username: str | None
    password: str | None
    sender: str | None
    security: Security
    ca_file: str | None = None  # a private CA to trust for the relay's certificate (default: the system's)
    timeout: float = 20.0


class Emailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    @property
    def configured(self) -> bool:
        return bool(self._settings.host and self._settings.sender)

    @contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        """A connection to the relay, secured and logged in as the settings say."""
        s = self._settings
        if not s.host or not s.sender:
            raise EmailNotConfigured("email is not configured: set SMTP_HOST and SMTP_FROM")
        context = ssl.create_default_context(cafile=s.ca_file)
        if s.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        with client:
            if s.security == "starttls":
                client.starttls(context=context)
            if s.username:
                client.login(s.username, s.password or "")
            yield client

    def send(self, to: str, subject: str, body: str) -> None:
        s = self._settings
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.sender, to, subject
        message.set_content(body)
        with self._session() as client:
            client.send_message(message)

    def check(self) -> None:
        """Connect, secure, log in and say NOOP, sending nothing; raises what `send` would."""
        with self._session() as client:
            client.noop()
