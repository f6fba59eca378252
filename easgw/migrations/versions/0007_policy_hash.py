"""devices.policy_hash: which policy the device acknowledged (Status 143 on a change)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for the devices provisioned before: they re-provision once (Status 143).
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("policy_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("policy_hash")
