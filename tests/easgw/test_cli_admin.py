"""`easgw users ...` and `easgw devices ...` as an admin runs them (subprocesses)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from easgw.config import load_config
from easgw.devices import Devices, SeenAs
from easgw.gateway import Gateway
from easgw.users import Users


def easgw(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "easgw", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> str:
    return str(tmp_path / "data")


def test_users_lifecycle(data_dir: str) -> None:
    added = easgw(
        "users", "add", "Alice", "--email", "alice@example.com", "--display-name", "Alice A",
        "--password-stdin", "--data-dir", data_dir, stdin=b"s3cret\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added user alice" in added.stdout
    listed = easgw("users", "list", "--data-dir", data_dir)
    assert listed.stdout.splitlines() == ["alice\talice@example.com\tAlice A\tpassword"]
    again = easgw("users", "add", "alice", "--email", "a@example.com", "--data-dir", data_dir)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    bad = easgw("users", "add", "bob", "--email", "not-an-address", "--data-dir", data_dir)
    assert bad.returncode == 2
    assert "invalid e-mail" in bad.stderr
    changed = easgw("users", "passwd", "alice", "--data-dir", data_dir, stdin=b"n3w\n")
    assert changed.returncode == 0, changed.stderr
    removed = easgw("users", "remove", "alice", "--data-dir", data_dir)
    assert removed.returncode == 0
    assert easgw("users", "list", "--data-dir", data_dir).stdout == ""
    missing = easgw("users", "remove", "alice", "--data-dir", data_dir)
    assert missing.returncode == 2
    assert "no user alice" in missing.stderr


def test_password_is_hashed_not_stored(data_dir: str, tmp_path: Path) -> None:
    easgw(
        "users", "add", "carol", "--email", "carol@example.com", "--password-stdin",
        "--data-dir", data_dir, stdin=b"very-secret-password\n",
    )  # fmt: skip
    database = Path(data_dir) / "easgw.sqlite3"
    assert database.exists()
    raw = b"".join(path.read_bytes() for path in Path(data_dir).glob("easgw.sqlite3*"))
    assert b"very-secret-password" not in raw
    assert b"scrypt$" in raw


def _register(data_dir: str, login: str, device_id: str, version: str) -> None:
    config = load_config(env={}, overrides={"server": {"data_dir": data_dir}})

    async def work() -> None:
        gateway = Gateway(config)
        await gateway.open()
        try:
            async with gateway.database.sessions.begin() as session:
                user = await Users(session).require(login)
                seen = SeenAs(
                    device_id=device_id,
                    device_type="iPhone",
                    user_agent="Apple-iPhone15C2/2104.112",
                    protocol_version=version,
                )
                await Devices(session).register(user, seen, approval=False, max_per_user=20)
        finally:
            await gateway.close()

    asyncio.run(work())


def test_devices_lifecycle(data_dir: str) -> None:
    easgw("users", "add", "alice", "--email", "alice@example.com", "--data-dir", data_dir)
    easgw("users", "add", "bob", "--email", "bob@example.com", "--data-dir", data_dir)
    _register(data_dir, "alice", "PHONE1", "16.1")
    _register(data_dir, "alice", "PHONE2", "14.1")
    _register(data_dir, "bob", "PHONE3", "14.1")
    listed = easgw("devices", "list", "--data-dir", data_dir).stdout.splitlines()
    assert [line.split()[:4] for line in listed] == [
        ["alice", "PHONE1", "iPhone", "allowed"],
        ["alice", "PHONE2", "iPhone", "allowed"],
        ["bob", "PHONE3", "iPhone", "allowed"],
    ]
    assert (
        len(easgw("devices", "list", "--user", "bob", "--data-dir", data_dir).stdout.splitlines())
        == 1
    )
    assert "blocked" in easgw("devices", "block", "alice/PHONE1", "--data-dir", data_dir).stdout
    shown = easgw("devices", "show", "alice/PHONE1", "--data-dir", data_dir).stdout
    assert "status: blocked" in shown
    assert "protocol_version: 16.1" in shown
    assert "allowed" in easgw("devices", "allow", "alice/PHONE1", "--data-dir", data_dir).stdout
    wiped = easgw("devices", "wipe", "alice/PHONE1", "--data-dir", data_dir).stdout
    assert "account only" in wiped  # 16.1 has AccountOnlyRemoteWipe
    wiped = easgw("devices", "wipe", "alice/PHONE2", "--data-dir", data_dir).stdout
    assert "full" in wiped  # 14.1 has only RemoteWipe
    wiped = easgw("devices", "wipe", "alice/PHONE1", "--full", "--data-dir", data_dir).stdout
    assert "full" in wiped
    shown = easgw("devices", "show", "alice/PHONE1", "--data-dir", data_dir).stdout
    assert "status: wipe-pending" in shown
    assert "wipe: full" in shown
    assert easgw("devices", "remove", "bob/PHONE3", "--data-dir", data_dir).returncode == 0
    assert "bob" not in easgw("devices", "list", "--data-dir", data_dir).stdout
    unknown = easgw("devices", "block", "alice/NOPE", "--data-dir", data_dir)
    assert unknown.returncode == 2
    assert "no device NOPE" in unknown.stderr
    malformed = easgw("devices", "block", "alice", "--data-dir", data_dir)
    assert malformed.returncode == 2
    assert "USER/DEVICEID" in malformed.stderr
