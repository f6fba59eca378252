"""The gateway's tables (SQLAlchemy 2 declarative, typed).

The embedded store owns its own tables (``store_*``, providers/stores/sql);
these are the gateway's: users' profiles, devices, the folder map and the
folder-hierarchy sync state.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class DeviceStatus(enum.StrEnum):
    """A device's standing with the gateway."""

    ALLOWED = "allowed"
    QUARANTINED = "quarantined"
    BLOCKED = "blocked"
    WIPE_PENDING = "wipe-pending"
    WIPED = "wiped"


class User(Base):
    """A user's profile; ``password_hash`` only with the embedded store."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(255), unique=True)  # lower-case
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: Bumped on every password change: cached credentials of older epochs are void.
    password_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Device(Base):
    """One device partnership: a user and a DeviceId."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("user_id", "device_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(128))
    device_type: Mapped[str] = mapped_column(String(128), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    model: Mapped[str] = mapped_column(String(255), default="")
    os: Mapped[str] = mapped_column(String(255), default="")
    os_language: Mapped[str] = mapped_column(String(64), default="")
    friendly_name: Mapped[str] = mapped_column(String(255), default="")
    imei: Mapped[str] = mapped_column(String(64), default="")
    phone_number: Mapped[str] = mapped_column(String(64), default="")
    mobile_operator: Mapped[str] = mapped_column(String(255), default="")
    protocol_version: Mapped[str] = mapped_column(String(8), default="")
    status: Mapped[str] = mapped_column(String(16), default=DeviceStatus.ALLOWED.value)
    #: "account" (AccountOnlyRemoteWipe, 16.1) or "full" (RemoteWipe) while a wipe is pending.
    wipe_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    policy_key: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    pending_policy_key: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: The fingerprint of the policy the device acknowledged (easgw/commands/provision.py
    #: ``policy_fingerprint``): another one now means Status 143, re-provision.
    policy_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Folder(Base):
    """The user's folder map: a stable EAS ServerId per calendar or mail folder.

    ServerIds are per user, never per device, so every device sees the same
    ids (MS-ASCMD 2.2.3.166.8 asks the same stability of item ServerIds).
    """

    __tablename__ = "folders"
    __table_args__ = (
        UniqueConstraint("user_id", "server_id"),
        UniqueConstraint("user_id", "store_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    server_id: Mapped[str] = mapped_column(String(64))
    #: "calendar:<store calendar id>" or "mail:<role>".
    store_ref: Mapped[str] = mapped_column(String(512))


class HierarchyState(Base):
    """Per device: the FolderSync key and the folders the device holds."""

    __tablename__ = "hierarchy_states"

    device_pk: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    sync_key: Mapped[int] = mapped_column(Integer, default=0)
    #: ServerId -> [parent id, display name, type] as the device last saw them.
    snapshot: Mapped[dict[str, list[str | int]]] = mapped_column(JSON, default=dict)
    #: The request key that produced ``sync_key`` and the answer sent, for a retry.
    previous_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    previous_snapshot: Mapped[dict[str, list[str | int]] | None] = mapped_column(
        JSON, nullable=True
    )
    previous_response: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
