"""Device partnerships: registration, standing, policy keys, wipes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, bindparam, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from easgw.state.models import Device, DeviceStatus, User, utcnow

__all__ = [
    "DeviceError",
    "DeviceLimitReached",
    "Devices",
    "LastSeenBook",
    "find_device",
    "flush_last_seen",
    "new_policy_key",
    "registration_changes",
]


class DeviceError(ValueError):
    """A device command that cannot be carried out."""


class DeviceLimitReached(Exception):
    """The user already has ``devices.max_per_user`` devices (common Status 177)."""


LAST_SEEN_STEP = timedelta(seconds=60)


def new_policy_key() -> int:
    """A random non-zero uint32 (MS-ASPROV 2.2.2.47: 0 means "no key")."""
    return secrets.randbelow(0xFFFFFFFE) + 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SeenAs:
    """What one request tells about its device."""

    device_id: str
    device_type: str
    user_agent: str
    protocol_version: str


def registration_changes(device: Device, seen: SeenAs, now: datetime) -> dict[str, Any]:
    """The columns this request updates on its device row (empty: nothing to write).

    last_seen is written at most once a minute: a write per request would cost
    every command a commit (and SQLite a WAL append) for no news."""
    wanted: dict[str, Any] = {"device_type": seen.device_type[:128]}
    if seen.user_agent:
        wanted["user_agent"] = seen.user_agent[:512]
    if seen.protocol_version:
        wanted["protocol_version"] = seen.protocol_version[:8]
    changes = {name: value for name, value in wanted.items() if getattr(device, name) != value}
    last = device.last_seen
    if last is None or now - (last if last.tzinfo else last.replace(tzinfo=UTC)) > LAST_SEEN_STEP:
        changes["last_seen"] = now
    return changes


class LastSeenBook:
    """Devices seen since the last flush (device pk -> when). A request from a
    device idle for a minute or more then costs no write of its own: the book
    is written in one statement a second (``flush_last_seen``; easgw/app.py)
    and at shutdown. A crash loses at most a second of last-seen times."""

    def __init__(self) -> None:
        self._pending: dict[int, datetime] = {}

    def note(self, device_pk: int, when: datetime) -> None:
        self._pending[device_pk] = when

    def take(self) -> dict[int, datetime]:
        pending, self._pending = self._pending, {}
        return pending

    def put_back(self, pending: dict[int, datetime]) -> None:
        for device_pk, when in pending.items():
            self._pending.setdefault(device_pk, when)


_DEVICES = Device.__table__
assert isinstance(_DEVICES, Table)
_TOUCH = (
    update(_DEVICES).where(_DEVICES.c.id == bindparam("pk")).values(last_seen=bindparam("seen"))
)


async def flush_last_seen(sessions: async_sessionmaker[AsyncSession], book: LastSeenBook) -> int:
    """Write the book's last-seen times (one executemany); how many were written.
    On a database error they stay in the book for the next flush."""
    pending = book.take()
    if not pending:
        return 0
    try:
        async with sessions.begin() as session:
            await session.execute(
                _TOUCH, [{"pk": pk, "seen": when} for pk, when in pending.items()]
            )  # (a device removed meanwhile matches no row: nothing to do)
    except SQLAlchemyError:
        book.put_back(pending)
        raise
    return len(pending)


def _device_query(user_id: int, device_id: str) -> Select[Device]:
    return select(Device).where(Device.user_id == user_id, Device.device_id == device_id)


#: Built once: the hot path's statement skips construction and cache-key work.
_DEVICE = select(Device).where(
    Device.user_id == bindparam("user_id"), Device.device_id == bindparam("device_id")
)


def find_device(connection: Connection, user_id: int, device_id: str) -> Device | None:
    """The user's device row; a read for ``Database.reader`` (comes back detached)."""
    with Session(bind=connection) as session:
        return session.scalars(_DEVICE, {"user_id": user_id, "device_id": device_id}).first()


class Devices:
    """Device operations on one session (the caller commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user: User, device_id: str) -> Device | None:
        result = await self.session.execute(_device_query(user.id, device_id))
        return result.scalar_one_or_none()

    async def register(
        self, user: User, seen: SeenAs, *, approval: bool, max_per_user: int
    ) -> Device:
        """The device of this request, created on first contact; last-seen updated."""
        device = await self.get(user, seen.device_id)
        if device is None:
            count = await self.session.scalar(
                select(func.count()).select_from(Device).where(Device.user_id == user.id)
            )
            if (count or 0) >= max_per_user:
                raise DeviceLimitReached
            device = Device(
                user_id=user.id,
                device_id=seen.device_id,
                status=(DeviceStatus.QUARANTINED if approval else DeviceStatus.ALLOWED).value,
            )
            self.session.add(device)
        for name, value in registration_changes(device, seen, utcnow()).items():
            setattr(device, name, value)
        await self.session.flush()
        return device

    async def list(self, user: User | None = None) -> list[tuple[User, Device]]:
        query = select(User, Device).join(Device, Device.user_id == User.id)
        if user is not None:
            query = query.where(User.id == user.id)
        result = await self.session.execute(query.order_by(User.login, Device.device_id))
        return [(row[0], row[1]) for row in result.all()]

    async def require(self, user: User, device_id: str) -> Device:
        device = await self.get(user, device_id)
        if device is None:
            raise DeviceError(f"no device {device_id} for user {user.login}")
        return device

    async def set_status(self, device: Device, status: DeviceStatus) -> None:
        device.status = status.value
        if status is not DeviceStatus.WIPE_PENDING:
            device.wipe_kind = None
        await self.session.flush()

    async def request_wipe(self, device: Device, *, full: bool) -> str:
        """Mark a wipe pending; returns its kind. Account-only where the device
        speaks 16.1 (MS-ASPROV 2.2.2.1 AccountOnlyRemoteWipe), else full."""
        kind = "full" if full or device.protocol_version != "16.1" else "account"
        device.status = DeviceStatus.WIPE_PENDING.value
        device.wipe_kind = kind
        # Force the device back to Provision, where the wipe is delivered.
        device.policy_key = None
        await self.session.flush()
        return kind

    async def remove(self, device: Device) -> None:
        await self.session.execute(delete(Device).where(Device.id == device.id))
