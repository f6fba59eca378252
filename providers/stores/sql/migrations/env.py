"""Alembic environment of the embedded store's migrations.

Online only through ``providers.stores.sql.migration.upgrade`` (which passes
an open connection in ``config.attributes``); offline (``--sql``) mode renders
SQL for the URL in the ``sqlalchemy.url`` option.
"""

from __future__ import annotations

from alembic import context

from providers.stores.sql.migration import VERSION_TABLE
from providers.stores.sql.models import StoreBase

_TABLE_PREFIX = "store_"


def _include_name(
    name: str | None,
    type_: str,
    _parent_names: object,
) -> bool:
    """Autogenerate looks only at the store's tables, never the gateway's."""
    if type_ == "table":
        return name is not None and name.startswith(_TABLE_PREFIX) and name != VERSION_TABLE
    return True


def run_migrations() -> None:
    """Configure the context for the given connection (or URL) and migrate."""
    config = context.config
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            literal_binds=True,
            target_metadata=StoreBase.metadata,
            version_table=VERSION_TABLE,
            include_name=_include_name,
            render_as_batch=True,
        )
    else:
        connection = config.attributes.get("connection")
        if connection is None:
            raise RuntimeError("run the store's migrations through SqlStore.migrate()")
        context.configure(
            connection=connection,
            target_metadata=StoreBase.metadata,
            version_table=VERSION_TABLE,
            include_name=_include_name,
            render_as_batch=True,
        )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
