"""The embedded store's first schema: calendars, items, change log.

Revision ID: store_0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "store_0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the three store tables and their indexes."""
    _create_calendars()
    _create_items()
    _create_changes()


def _create_calendars() -> None:
    op.create_table(
        "store_calendars",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_store_calendars"),
    )
    op.create_index("ix_store_calendars_owner", "store_calendars", ["owner"])
    op.create_index(
        "uq_store_calendars_owner_default",
        "store_calendars",
        ["owner"],
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    )


def _create_items() -> None:
    op.create_table(
        "store_items",
        sa.Column("calendar_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("uid", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("ical", sa.Text(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["store_calendars.id"],
            name="fk_store_items_calendar_id_store_calendars",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("calendar_id", "id", name="pk_store_items"),
    )
    op.create_index(
        "uq_store_items_calendar_uid", "store_items", ["calendar_id", "uid"], unique=True
    )


def _create_changes() -> None:
    op.create_table(
        "store_changes",
        sa.Column("calendar_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("uid", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["store_calendars.id"],
            name="fk_store_changes_calendar_id_store_calendars",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("calendar_id", "seq", name="pk_store_changes"),
    )
    op.create_index(
        "uq_store_changes_calendar_item",
        "store_changes",
        ["calendar_id", "item_id"],
        unique=True,
    )


def downgrade() -> None:
    """Drop the store tables."""
    op.drop_table("store_changes")
    op.drop_table("store_items")
    op.drop_index("uq_store_calendars_owner_default", table_name="store_calendars")
    op.drop_index("ix_store_calendars_owner", table_name="store_calendars")
    op.drop_table("store_calendars")
