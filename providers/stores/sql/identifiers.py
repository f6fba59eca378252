"""Identifiers of the embedded store: calendar ids, item ids and etags.

Item ids are derived from the iCalendar UID so that a retried create lands on
the same item. A UID made only of URL-safe characters (RFC 3986 unreserved
characters and ``@``), starting with a letter or digit and at most 63
characters long, is its own id. Any other UID (too long, or with slashes,
spaces, unicode, ...) gets the 64-character SHA-256 hex digest of its UTF-8
form. The two forms never collide: verbatim ids are shorter than 64 characters.
"""

from __future__ import annotations

import hashlib
import re
import secrets

__all__ = ["is_item_id", "item_id_for_uid", "new_calendar_id", "new_etag"]

_VERBATIM_UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~@-]{0,62}")
_ITEM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~@-]{0,63}")


def item_id_for_uid(uid: str) -> str:
    """The stable item id of ``uid``: URL-safe, at most 64 characters."""
    if _VERBATIM_UID.fullmatch(uid):
        return uid
    return hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()


def is_item_id(value: str) -> bool:
    """Whether ``value`` has the form of an item id (the store makes no others)."""
    return _ITEM_ID.fullmatch(value) is not None


def new_calendar_id() -> str:
    """A fresh random, URL-safe calendar id (22 characters)."""
    return secrets.token_urlsafe(16)


def new_etag() -> str:
    """A fresh random etag: every write gets a new one."""
    return secrets.token_hex(8)
