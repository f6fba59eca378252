"""link counters: per-row reuse, removal and failure counts for ``easgw links stats``

Counted on each link's own row, in the session that writes the row, so that every
process's work shows in the stats without one shared counter row that all writers
would update (lock contention on PostgreSQL). Existing rows start from what they
show: one removal if removed, their current ``failures``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 17:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ("reuse_count", "removal_count", "failure_count")


def upgrade() -> None:
    with op.batch_alter_table("conference_links") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE conference_links SET removal_count = 1 WHERE status = 'removed'")
    op.execute("UPDATE conference_links SET failure_count = failures")


def downgrade() -> None:
    with op.batch_alter_table("conference_links") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
