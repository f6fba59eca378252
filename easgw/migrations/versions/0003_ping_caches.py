"""ping caches: the last Ping's HeartbeatInterval and Folders per device

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ping_caches",
        sa.Column("device_pk", sa.Integer(), nullable=False),
        sa.Column("heartbeat_interval", sa.Integer(), nullable=True),
        sa.Column("folders", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["device_pk"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_pk"),
    )


def downgrade() -> None:
    op.drop_table("ping_caches")
