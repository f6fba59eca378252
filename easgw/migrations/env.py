"""Alembic environment for the gateway's tables (run from easgw.state.db)."""

from __future__ import annotations

from alembic import context

import easgw.state.conference_models  # (registers the link registry)
import easgw.state.mail_models  # (registers the mail outbox)
import easgw.state.sync_models  # noqa: F401  (registers the Sync tables)
from easgw.state.models import Base

connection = context.config.attributes["connection"]


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave alone tables this metadata does not declare (the embedded store's)."""
    return not (type_ == "table" and reflected and compare_to is None)


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=_ours,
)
with context.begin_transaction():
    context.run_migrations()
