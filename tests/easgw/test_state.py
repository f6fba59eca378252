"""Gateway state on SQLite and PostgreSQL: migrations, users, devices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from easgw.devices import DeviceLimitReached, Devices, SeenAs, new_policy_key
from easgw.gateway import Gateway
from easgw.state.db import MIGRATIONS
from easgw.state.models import DeviceStatus
from easgw.users import UserError, Users, check_password
from tests.harness import make_config


@pytest.fixture
async def gateway(tmp_path: Path, database_url: str) -> AsyncIterator[Gateway]:
    gateway = Gateway(make_config(tmp_path, database_url=database_url))
    await gateway.open()
    yield gateway
    await gateway.close()


def _head_revision() -> str:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _seen(device_id: str, version: str = "14.1") -> SeenAs:
    return SeenAs(
        device_id=device_id,
        device_type="SmartPhone",
        user_agent="Android/14",
        protocol_version=version,
    )


async def test_migrations_create_both_histories_and_are_idempotent(gateway: Gateway) -> None:
    await gateway.open()  # a second time changes nothing
    async with gateway.database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert {"users", "devices", "folders", "hierarchy_states", "alembic_version"} <= tables
        assert "store_alembic_version" in tables
        assert any(name.startswith("store_") and name != "store_alembic_version" for name in tables)
        version = (
            await connection.execute(text("select version_num from alembic_version"))
        ).scalar()
        assert version == _head_revision()


async def test_users(gateway: Gateway) -> None:
    async with gateway.database.sessions.begin() as session:
        users = Users(session)
        await users.add("Alice", email="alice@example.com", display_name="Alice", password="pw1")
        with pytest.raises(UserError, match="already exists"):
            await users.add("alice", email="x@example.com")
        with pytest.raises(UserError, match="invalid login"):
            await users.add("a b", email="x@example.com")
    async with gateway.database.sessions.begin() as session:
        users = Users(session)
        alice = await users.require("ALICE")
        assert alice.login == "alice"
        assert await check_password(alice, "pw1")
        assert not await check_password(alice, "pw2")
        assert (await users.by_email("Alice@Example.COM")) is not None
        await users.set_password("alice", "pw2")
    async with gateway.database.sessions() as session:
        alice = await Users(session).require("alice")
        assert alice.password_epoch == 1
        assert await check_password(alice, "pw2")


async def test_devices_register_limit_and_status(gateway: Gateway) -> None:
    async with gateway.database.sessions.begin() as session:
        alice = await Users(session).add("alice", email="alice@example.com")
        devices = Devices(session)
        first = await devices.register(alice, _seen("A"), approval=False, max_per_user=2)
        again = await devices.register(alice, _seen("A"), approval=False, max_per_user=2)
        assert first.id == again.id
        second = await devices.register(alice, _seen("B"), approval=True, max_per_user=2)
        assert second.status == DeviceStatus.QUARANTINED.value
        with pytest.raises(DeviceLimitReached):
            await devices.register(alice, _seen("C"), approval=False, max_per_user=2)
        assert await devices.request_wipe(first, full=False) == "full"  # 14.1: no account-only
        assert first.status == DeviceStatus.WIPE_PENDING.value
        assert first.policy_key is None
    async with gateway.database.sessions.begin() as session:
        alice = await Users(session).require("alice")
        listed = await Devices(session).list(alice)
        assert [(d.device_id, d.status) for _, d in listed] == [
            ("A", "wipe-pending"),
            ("B", "quarantined"),
        ]
        await Users(session).remove("alice")
    async with gateway.database.sessions() as session:
        assert await Devices(session).list() == []  # removed with their user


async def test_concurrent_registration_makes_one_device(gateway: Gateway) -> None:
    async with gateway.database.sessions.begin() as session:
        await Users(session).add("alice", email="alice@example.com")

    async def register() -> int:
        async with gateway.database.sessions.begin() as session:
            alice = await Users(session).require("alice")
            device = await Devices(session).register(
                alice, _seen("SAME"), approval=False, max_per_user=20
            )
            return device.id

    results = await asyncio.gather(*(register() for _ in range(4)), return_exceptions=True)
    ids = {r for r in results if isinstance(r, int)}
    assert len(ids) == 1
    async with gateway.database.sessions() as session:
        assert len(await Devices(session).list()) == 1


def test_policy_keys_are_nonzero_uint32() -> None:
    keys = {new_policy_key() for _ in range(1000)}
    assert all(0 < key <= 0xFFFFFFFF for key in keys)
    assert len(keys) > 990
