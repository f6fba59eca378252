"""The embedded SQL calendar store, easgw's default store.

``SqlStore(engine)`` or ``SqlStore.from_url(url)``, then ``await
store.migrate()``; see ``providers.stores.sql.store``.
"""

from providers.stores.sql.store import SqlStore

__all__ = ["SqlStore"]
