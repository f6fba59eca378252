"""The Sync engine's tables: per-collection sync state, the item id map, ClientIds.

* ``collection_states``: per device and collection (the folder's ServerId):
  the SyncKey, the options remembered from the device (Supported, FilterType,
  BodyPreference), the snapshot of the items the device holds (ServerId ->
  [store item id, hash of the EAS rendering it holds, store etag or None]),
  the last answer for a retransmission, and an optimistic ``version``.
* ``item_ids``: the item ServerId map, per user and collection: a row per
  store item; the ServerId is ``"<folder ServerId>:<row id>"``, so it is
  stable across devices and resyncs and at most 64 characters (MS-ASCMD
  2.2.3.166.8). Rows are never deleted.
* ``client_ids``: per device and collection, a ClientId (or a 16.x ClientUid,
  prefixed ``uid:``) -> the ServerId it created, so a resent Add creates
  nothing.
* ``sync_request_caches``: per device, the last non-empty Sync request's
  collections, reused by an empty or Partial Sync (MS-ASCMD 2.2.1.21.1).
* ``ping_caches``: per device, the last Ping's HeartbeatInterval and Folders,
  reused by a Ping that leaves them out (MS-ASCMD 3.1.5.8).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
from sqlalchemy.orm import Mapped, mapped_column

from easgw.state.models import Base, utcnow

__all__ = ["ClientId", "CollectionState", "ItemId", "PingCache", "SyncRequestCache"]


class CollectionState(Base):
    """One device's sync state of one collection."""

    __tablename__ = "collection_states"

    device_pk: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    collection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sync_key: Mapped[int] = mapped_column(Integer, default=0)
    #: Bumped on every write; a concurrent writer's stale update fails (StaleDataError).
    version: Mapped[int] = mapped_column(Integer, default=0)
    filter_type: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Supported element names sent at SyncKey 0 (None: no Supported list).
    supported: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    #: The BodyPreference in use: {"type", "truncation_size", "all_or_none", "preview"}.
    body_preference: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: ServerId -> [store item id, rendering hash ("" = skipped as broken), etag or None].
    snapshot: Mapped[dict[str, list[str | None]]] = mapped_column(JSON, default=dict)
    #: The store's change token (``Store.changes_since``) as of the last diff that
    #: left the device fully in step; unchanged since -> nothing to diff.
    store_token: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: The request key answered by ``previous_response`` (a one-collection Sync, WBXML).
    previous_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    previous_response: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ItemId(Base):
    """A store item's ServerId, per user and collection."""

    __tablename__ = "item_ids"
    __table_args__ = (UniqueConstraint("user_id", "store_ref", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The folder map's store reference ("calendar:<store calendar id>").
    store_ref: Mapped[str] = mapped_column(String(512))
    item_id: Mapped[str] = mapped_column(String(1024))
    #: The etag ``span_end`` was computed at (None: not yet), for FilterType windows.
    etag: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: When the item (its last occurrence) ends, UNIX seconds; None: unbounded or unknown.
    span_end: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ClientId(Base):
    """A ClientId (or ``uid:<ClientUid>``) of an Add and the ServerId it got."""

    __tablename__ = "client_ids"

    device_pk: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    collection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    server_id: Mapped[str] = mapped_column(String(64))
    uid: Mapped[str] = mapped_column(String(1024), default="")
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SyncRequestCache(Base):
    """The last non-empty Sync request of a device (its collections' settings)."""

    __tablename__ = "sync_request_caches"

    device_pk: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    #: {"collections": [{"collection_id", "window_size", "get_changes", ...}], "window_size"}.
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PingCache(Base):
    """The last HeartbeatInterval and Folders a device's Ping sent."""

    __tablename__ = "ping_caches"

    device_pk: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    heartbeat_interval: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: [[Id, Class], ...] in the request's order; None: no Folders yet.
    folders: Mapped[list[list[str]] | None] = mapped_column(JSON, nullable=True)
