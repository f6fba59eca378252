"""A store for tests: the embedded store plus the two CalDAV-like abilities that
decide who a user is (``SupportsLogin``, ``SupportsPrincipalEmail``), loaded by
``store.type = "tests.e2e.principal_store:PrincipalStore"``."""

from __future__ import annotations

from typing import Any

from providers.stores.base import StoreUser
from providers.stores.sql import SqlStore
from providers.stores.sql.engine import create_store_engine

PASSWORD = "store-secret"
ADDRESS = "Alice.Smith@corp.example"


class PrincipalStore(SqlStore):
    def __init__(self, store_config: Any) -> None:
        super().__init__(create_store_engine(str(store_config.url)))
        self._owns_engine = True

    async def verify_login(self, user: StoreUser) -> bool:
        return user.password == PASSWORD

    async def principal_email(self, user: StoreUser) -> str | None:
        return ADDRESS
