"""A real SMTP server for tests: aiosmtpd on a free 127.0.0.1 port.

``MailServer`` collects what it accepts (envelope sender, recipients, the
message bytes, parsed). Variants: scripted replies to DATA (``"451 ..."`` once,
then accept; ``"550 ..."`` always), STARTTLS with a self-signed certificate
(the client is made to trust it through ``SSL_CERT_FILE``), AUTH LOGIN/PLAIN
with one username and password.

Fixtures: ``mail_server`` (plain), ``make_mail_server`` (any variant), and
``tls_certificate`` (a self-signed certificate for 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import email.policy
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["Delivered", "MailServer", "free_port", "smtp_config_text"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Delivered:
    """One accepted message."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=email.policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    #: Replies to DATA, used up in order; "" or an exhausted script = accept.
    script: list[str] = field(default_factory=list)
    #: Reply to every DATA when set (a relay that always refuses).
    always: str | None = None
    delivered: list[Delivered] = field(default_factory=list)
    refused: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        reply = self.always or (self.script.pop(0) if self.script else "")
        if reply:
            self.refused += 1
            return reply
        data = envelope.original_content or envelope.content
        self.delivered.append(
            Delivered(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), data=data)
        )
        return "250 OK queued"


class MailServer:
    """An aiosmtpd server (its own thread and loop) on 127.0.0.1."""

    def __init__(
        self,
        *,
        port: int | None = None,
        script: list[str] | None = None,
        always: str | None = None,
        tls: tuple[Path, Path] | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.handler = _Handler(script=list(script or []), always=always)
        self.logins: list[str] = []
        kwargs: dict[str, Any] = {}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            kwargs.update(tls_context=context, require_starttls=True)
        if credentials is not None:
            kwargs.update(
                authenticator=self._authenticator(credentials),
                auth_required=True,
                auth_require_tls=tls is not None,
            )
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs
        )

    def _authenticator(self, credentials: tuple[str, str]) -> Callable[..., AuthResult]:
        def check(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == credentials
            )
            if ok:
                self.logins.append(mechanism)
            return AuthResult(success=ok, handled=False)

        return check

    @property
    def delivered(self) -> list[Delivered]:
        return self.handler.delivered

    def start(self) -> MailServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivered]:
        """The delivered messages, once there are ``count`` of them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.delivered) < count:
            assert loop.time() < deadline, f"{len(self.delivered)} of {count} messages arrived"
            await asyncio.sleep(0.05)
        return list(self.delivered)


def smtp_config_text(server: MailServer, **extra: str | int | bool) -> str:
    """An ``[smtp]`` section pointing at ``server``."""
    lines = ["[smtp]", 'host = "127.0.0.1"', f"port = {server.port}"]
    for key, value in extra.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


@pytest.fixture
def make_mail_server() -> Iterator[Callable[..., MailServer]]:
    """Start mail servers of any variant; all stop at the end of the test."""
    started: list[MailServer] = []

    def make(**kwargs: Any) -> MailServer:
        server = MailServer(**kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def mail_server(make_mail_server: Callable[..., MailServer]) -> MailServer:
    """A plain server that accepts everything."""
    return make_mail_server()


@pytest.fixture
def tls_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that outgoing TLS trusts (SSL_CERT_FILE)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key
