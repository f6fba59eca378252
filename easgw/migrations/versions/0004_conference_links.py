"""conference links: the registry of links made for events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conference_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organizer", sa.String(length=320), nullable=False),
        sa.Column("uid", sa.String(length=1024), nullable=False),
        sa.Column("recurrence_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("conference_id", sa.String(length=512), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("join_via_gateway", sa.Boolean(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("calendar_url", sa.String(length=2048), nullable=True),
        sa.Column("summary", sa.String(length=512), nullable=False),
        sa.Column("starts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    op.create_index(
        "ix_conference_links_event", "conference_links", ["user_id", "uid", "recurrence_id"]
    )
    op.create_index("ix_conference_links_calendar_url", "conference_links", ["calendar_url"])


def downgrade() -> None:
    op.drop_index("ix_conference_links_calendar_url", table_name="conference_links")
    op.drop_index("ix_conference_links_event", table_name="conference_links")
    op.drop_table("conference_links")
