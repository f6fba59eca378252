"""Reading one ``[[conference.providers]]`` table: typed getters with clear errors.

Each getter marks its key as read; :meth:`Options.finish` then rejects any key nobody
read, so a typo (``base-url``, ``jwt_secrett``) never passes silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from providers.conference.base import ProviderConfigError

__all__ = ["Options"]


class Options:
    """The keys of one provider table, read once each."""

    def __init__(self, table: Mapping[str, Any], where: str) -> None:
        self._table = dict(table)
        self._read: set[str] = set()
        self.where = where

    def error(self, key: str, message: str) -> ProviderConfigError:
        return ProviderConfigError(f"{self.where}: {key}: {message}")

    def has(self, key: str) -> bool:
        return self._table.get(key) not in (None, "")

    def _get(self, key: str) -> Any:
        self._read.add(key)
        return self._table.get(key)

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        value = self._get(key)
        if value is None or value == "":
            if required or default is None:
                raise self.error(key, "is required")
            return default
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {value!r}")
        return value

    def optional_string(self, key: str) -> str | None:
        value = self._get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {value!r}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(key, default)
        if value not in choices:
            raise self.error(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def url(self, key: str, default: str | None = None) -> str:
        """An absolute http(s) URL, without a trailing slash."""
        value = self.string(key, default, required=default is None)
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise self.error(key, f"expected an http(s) URL, got {value!r}")
        if parts.query or parts.fragment:
            raise self.error(key, "must not carry a query or fragment")
        return value.rstrip("/")

    def number(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {value!r}")
        if value < minimum:
            raise self.error(key, f"must be at least {minimum:g}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, "expected a list of non-empty strings")
        return tuple(value)

    def table(self, key: str) -> dict[str, str]:
        value = self._get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.error(key, "expected a table of strings (language = text)")
        return dict(value)

    def skip(self, *keys: str) -> None:
        """Keys read elsewhere (common keys, by the loader)."""
        self._read.update(keys)

    def finish(self) -> None:
        unknown = sorted(set(self._table) - self._read)
        if unknown:
            raise ProviderConfigError(f"{self.where}: unknown key {unknown[0]}")
