"""Identifiers of the CalDAV store: calendar ids, item ids, change tokens.

Ids are built from the last path segment of a collection or resource href,
relative to its parent (the calendar home, the calendar), so they are short,
URL-safe (``[A-Za-z0-9._~@-]``) and map back to an href without any state:

* a calendar segment made of unreserved characters (and ``@``), starting with
  a letter or digit and at most 128 characters long, is its own id;
* an item segment ``<stem>.ics`` whose stem has that form (at most 64
  characters) has the stem as id, so an item created for a UID gets the UID's
  id (``item_id_for_uid``, the embedded store's rule) and the href
  ``<id>.ics``;
* any other segment gets ``~`` + its URL-safe base64 (no padding): that form
  never starts with a letter or digit, so the two never collide.

Change tokens name the method, a short digest of (login, calendar id) and the
server's value: ``s<digest>:<sync-token>`` (RFC 6578) or ``c<digest>:<ctag>``.
A token of another calendar, user or method is recognised as unknown here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "MAX_CALENDAR_ID",
    "MAX_ITEM_ID",
    "MAX_TOKEN_LENGTH",
    "calendar_href",
    "calendar_id_for",
    "item_href",
    "item_id_for",
    "item_id_for_uid",
    "make_token",
    "read_token",
    "segment_of",
]

#: The gateway keeps store tokens in a String(255) column.
MAX_TOKEN_LENGTH = 255
#: Longest ids handed out (the gateway keeps ``calendar:<id>`` in a String(512)
#: column and item ids in a String(1024) one); collections and objects whose
#: href would give a longer id are left out of listings.
MAX_CALENDAR_ID = 200
MAX_ITEM_ID = 1000

_VERBATIM_UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~@-]{0,62}")
_ITEM_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~@-]{0,63}")
_CALENDAR_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~@-]{0,127}")
_ENCODED = re.compile(r"~[A-Za-z0-9_-]{1,2000}")
_TOKEN = re.compile(r"(?P<method>[sc])(?P<digest>[0-9a-f]{8}):(?P<value>.*)", re.S)


def item_id_for_uid(uid: str) -> str:
    """The id of the item created for ``uid``: the UID itself when it is short
    and URL-safe, else its SHA-256 hex digest (64 characters)."""
    if _VERBATIM_UID.fullmatch(uid):
        return uid
    return hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()


def segment_of(href: str) -> str:
    """The decoded last path segment of ``href`` (trailing slash ignored)."""
    path = urlsplit(href).path.rstrip("/")
    return unquote(path.rsplit("/", 1)[-1])


def _encode(segment: str) -> str:
    raw = segment.encode("utf-8", "surrogatepass")
    return "~" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(value: str) -> str | None:
    if not _ENCODED.fullmatch(value):
        return None
    data = value[1:]
    try:
        segment = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if _encode(segment) != value or not _safe_segment(segment):
        return None
    return segment


def _safe_segment(segment: str) -> bool:
    return bool(segment) and "/" not in segment and segment not in {".", ".."}


def calendar_id_for(href: str) -> str:
    """The id of the calendar collection at ``href``."""
    segment = segment_of(href)
    return segment if _CALENDAR_SEGMENT.fullmatch(segment) else _encode(segment)


def calendar_href(home: str, calendar_id: str) -> str | None:
    """The URL of calendar ``calendar_id`` in the calendar home ``home`` (ending
    in ``/``), or None for an id this store never hands out."""
    if _CALENDAR_SEGMENT.fullmatch(calendar_id):
        segment: str | None = calendar_id
    else:
        segment = _decode(calendar_id)
    if segment is None:
        return None
    return home + quote(segment, safe="@~") + "/"


def item_id_for(href: str) -> str:
    """The id of the calendar object resource at ``href``."""
    segment = segment_of(href)
    stem = segment.removesuffix(".ics")
    if stem != segment and _ITEM_STEM.fullmatch(stem):
        return stem
    return _encode(segment)


def item_href(calendar: str, item_id: str) -> str | None:
    """The URL of item ``item_id`` in the calendar at ``calendar`` (ending in
    ``/``), or None for an id this store never hands out."""
    if _ITEM_STEM.fullmatch(item_id):
        segment: str | None = item_id + ".ics"
    else:
        segment = _decode(item_id)
    if segment is None:
        return None
    return calendar + quote(segment, safe="@~")


def _digest(login: str, calendar_id: str) -> str:
    return hashlib.sha256(f"{login}\0{calendar_id}".encode("utf-8", "surrogatepass")).hexdigest()[
        :8
    ]


def make_token(method: Literal["s", "c"], login: str, calendar_id: str, value: str) -> str | None:
    """The token for the server's ``value``, or None when it would be too long."""
    token = f"{method}{_digest(login, calendar_id)}:{value}"
    return token if len(token) <= MAX_TOKEN_LENGTH else None


def read_token(token: str | None, method: str, login: str, calendar_id: str) -> str | None:
    """The server's value in ``token`` if this store issued it for this user,
    calendar and method, else None."""
    if token is None or len(token) > MAX_TOKEN_LENGTH:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None or match["method"] != method:
        return None
    if match["digest"] != _digest(login, calendar_id):
        return None
    return match["value"]
