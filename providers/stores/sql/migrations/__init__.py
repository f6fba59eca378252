"""Alembic migrations of the embedded store's tables (``store_*``).

Run them with ``SqlStore.migrate()``; the history is recorded in the table
``store_alembic_version``, apart from the gateway's own history.
"""
