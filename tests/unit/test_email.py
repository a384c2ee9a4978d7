"""The emailer against real local SMTP servers: STARTTLS with a login, implicit TLS, and refusals."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.email import Emailer, EmailNotConfigured, SmtpSettings
from tests.conftest import Mailbox


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"bot", b"s3cret")
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return server, str(path)


@pytest.fixture
def starttls(certificates) -> Iterator[tuple[Mailbox, int]]:  # type: ignore[no-untyped-def]
    box, port = Mailbox(), _port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=certificates[0], require_starttls=True,
                            authenticator=_authenticator, auth_required=True)
    controller.start()
    yield box, port
    controller.stop()


def settings(port: int, ca: str | None, security: str = "starttls", password: str = "s3cret") -> SmtpSettings:
    return SmtpSettings("127.0.0.1", port, "bot", password, "concernbot@school.example", security, ca)  # type: ignore[arg-type]


def test_starttls_with_a_login(starttls, certificates) -> None:  # type: ignore[no-untyped-def]
    box, port = starttls
    Emailer(settings(port, certificates[1])).send("lado@la.example", "Subject", "Body text")
    assert [(m["To"], m["Subject"], m.get_content().strip()) for m in box.messages] == [
        ("lado@la.example", "Subject", "Body text")]


def test_an_untrusted_certificate_is_refused(starttls) -> None:  # type: ignore[no-untyped-def]
    box, port = starttls
    with pytest.raises(ssl.SSLCertVerificationError):
        Emailer(settings(port, None)).send("lado@la.example", "S", "B")  # the system does not trust this CA
    assert box.messages == []


def test_implicit_tls(certificates) -> None:  # type: ignore[no-untyped-def]
    box, port = Mailbox(), _port()
    controller = Controller(box, hostname="127.0.0.1", port=port, ssl_context=certificates[0])
    controller.start()
    try:
        Emailer(SmtpSettings("127.0.0.1", port, None, None, "bot@school.example", "tls", certificates[1])).send(
            "chair@governors.example", "S", "B")
    finally:
        controller.stop()
    assert [m["To"] for m in box.messages] == ["chair@governors.example"]


def test_without_a_host_it_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(EmailNotConfigured, match="set SMTP_HOST and SMTP_FROM"):
        Emailer(SmtpSettings(None, 25, None, None, None, "none")).send("x@y.example", "S", "B")
