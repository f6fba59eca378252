"""A real Radicale CalDAV server for tests, run as a subprocess on loopback.

``RadicaleServer(directory)`` writes a config (htpasswd auth with plain
passwords, filesystem storage, ``owner_only`` rights) into ``directory``;
``start()`` runs it on a free 127.0.0.1 port and waits until it answers,
``stop()`` ends it (the storage stays, so a restart sees the same data).
Radicale re-reads its htpasswd file on every login (``htpasswd_cache`` off),
so ``add_user`` works while it runs.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["RadicaleServer", "free_port", "radicale"]

_CONFIG = """\
[server]
hosts = 127.0.0.1:{port}
max_connections = 64
timeout = 30

[auth]
type = htpasswd
htpasswd_filename = {users}
htpasswd_encryption = plain
htpasswd_cache = False
delay = 0
realm = radicale-test

[rights]
{rights}

[storage]
filesystem_folder = {collections}

[logging]
level = warning
mask_passwords = True
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RadicaleServer:
    """One Radicale process; its data lives in ``directory``."""

    def __init__(self, directory: Path, *, rights: str | None = None) -> None:
        """``rights``: the text of a Radicale rights file (``from_file``);
        None for ``owner_only``."""
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._users = directory / "users"
        self._users.touch()
        self._config = directory / "radicale.conf"
        rights_setting = "type = owner_only"
        if rights is not None:
            (directory / "rights").write_text(rights, encoding="utf-8")
            rights_setting = f"type = from_file\nfile = {directory / 'rights'}"
        self._config.write_text(
            _CONFIG.format(
                port=self.port,
                users=self._users,
                collections=directory / "collections",
                rights=rights_setting,
            ),
            encoding="utf-8",
        )
        self._log = directory / "radicale.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def collections(self) -> Path:
        """Where Radicale keeps a user's collections: ``collections / login``."""
        return self.directory / "collections" / "collection-root"

    @property
    def url(self) -> str:
        """The server's root URL (what ``store.url`` is set to)."""
        return f"http://127.0.0.1:{self.port}/"

    def add_user(self, login: str | None = None, password: str | None = None) -> tuple[str, str]:
        """Append a user to the htpasswd file; returns (login, password)."""
        login = login or f"user-{secrets.token_hex(4)}"
        password = password or secrets.token_urlsafe(12)
        with self._users.open("a", encoding="utf-8") as users:
            users.write(f"{login}:{password}\n")
        return login, password

    def start(self, timeout: float = 20.0) -> None:
        """Run the server and wait until it accepts connections."""
        if self._process is not None:
            raise RuntimeError("Radicale is already running")
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "radicale", "--config", str(self._config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"Radicale exited at start:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Radicale did not start within {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """End the server (and wait for it)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log (for failure messages)."""
        try:
            text = self._log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    """One Radicale for the test session (import this fixture into a test
    module); tests add users of their own, so they never share data."""
    server = RadicaleServer(tmp_path_factory.mktemp("radicale"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
