"""The embedded store's tables, on the store's own ``MetaData``.

The gateway keeps its own tables in the same database; every table here is
prefixed ``store_`` and only this package's migrations (``migrations/``, with
the version table ``store_alembic_version``) ever change them.

- ``store_calendars``: one row per calendar. ``seq`` is the calendar's change
  counter: every item write increments it, and the sync token is built from it.
- ``store_items``: one row per calendar object resource (one UID).
- ``store_changes``: the change log, one row per item id (the latest write of
  that id: ``changed`` or ``deleted``), so ``changes_since`` is exact while the
  log stays as small as the set of ids ever used.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["CalendarRow", "ChangeKind", "ChangeRow", "ItemRow", "StoreBase"]

#: Constraint names are fixed so that migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Longest item id (a SHA-256 hex digest for UIDs that cannot be used as is).
ITEM_ID_LENGTH = 64
#: Calendar ids are ``secrets.token_urlsafe(16)`` (22 characters); room to spare.
CALENDAR_ID_LENGTH = 64


class StoreBase(DeclarativeBase):
    """Declarative base of the store's tables (separate from the gateway's)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ChangeKind(enum.Enum):
    """What the latest write of an item id did."""

    CHANGED = "changed"
    DELETED = "deleted"


class CalendarRow(StoreBase):
    """A calendar owned by one user (by login)."""

    __tablename__ = "store_calendars"
    __table_args__ = (
        Index("ix_store_calendars_owner", "owner"),
        # Exactly one default calendar per owner; concurrent first logins race on it.
        Index(
            "uq_store_calendars_owner_default",
            "owner",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[str] = mapped_column(String(CALENDAR_ID_LENGTH), primary_key=True)
    owner: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    is_default: Mapped[bool]
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class ItemRow(StoreBase):
    """One calendar object resource: an iCalendar text holding one UID."""

    __tablename__ = "store_items"
    __table_args__ = (Index("uq_store_items_calendar_uid", "calendar_id", "uid", unique=True),)

    calendar_id: Mapped[str] = mapped_column(
        String(CALENDAR_ID_LENGTH),
        ForeignKey("store_calendars.id", ondelete="CASCADE"),
        primary_key=True,
    )
    id: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH), primary_key=True)
    uid: Mapped[str] = mapped_column(Text)
    etag: Mapped[str] = mapped_column(String(64))
    ical: Mapped[str] = mapped_column(Text)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChangeRow(StoreBase):
    """The latest write of one item id in a calendar, at the calendar's ``seq``."""

    __tablename__ = "store_changes"
    __table_args__ = (
        Index("uq_store_changes_calendar_item", "calendar_id", "item_id", unique=True),
    )

    calendar_id: Mapped[str] = mapped_column(
        String(CALENDAR_ID_LENGTH),
        ForeignKey("store_calendars.id", ondelete="CASCADE"),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    item_id: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH))
    uid: Mapped[str] = mapped_column(Text)
    kind: Mapped[ChangeKind] = mapped_column(
        Enum(
            ChangeKind,
            name="store_change_kind",
            native_enum=False,
            length=16,
            values_callable=lambda kinds: [kind.value for kind in kinds],
            validate_strings=True,
        )
    )
