"""sync state: collection_states, item_ids, client_ids, sync_request_caches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_states",
        sa.Column("device_pk", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.String(length=64), nullable=False),
        sa.Column("sync_key", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filter_type", sa.Integer(), nullable=True),
        sa.Column("supported", sa.JSON(), nullable=True),
        sa.Column("body_preference", sa.JSON(), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("store_token", sa.String(length=255), nullable=True),
        sa.Column("previous_key", sa.Integer(), nullable=True),
        sa.Column("previous_response", sa.LargeBinary(), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_pk"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_pk", "collection_id"),
    )
    op.create_table(
        "item_ids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("store_ref", sa.String(length=512), nullable=False),
        sa.Column("item_id", sa.String(length=1024), nullable=False),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("span_end", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "store_ref", "item_id"),
    )
    op.create_table(
        "client_ids",
        sa.Column("device_pk", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("server_id", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=1024), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_pk"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_pk", "collection_id", "client_id"),
    )
    op.create_table(
        "sync_request_caches",
        sa.Column("device_pk", sa.Integer(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["device_pk"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_pk"),
    )


def downgrade() -> None:
    op.drop_table("sync_request_caches")
    op.drop_table("client_ids")
    op.drop_table("item_ids")
    op.drop_table("collection_states")
