"""HTTP Basic authentication with a credential cache and a brute-force throttle.

The cache key is an HMAC of the Authorization header under a per-process
secret: the password itself is never kept. A cached entry names the user and
their password epoch; the user row is read on every request anyway, so a
password change (epoch bump) or a removal takes effect at once, and the
cache only saves the deliberately slow scrypt check.

Failed logins are counted per login and per client address; past
``auth.max_failures`` within ``auth.lockout_seconds`` further attempts are
refused (HTTP 429 with Retry-After) until the window passes. The counters
live in the process (a multi-process deployment throttles per process).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass

from easgw.config import AuthConfig

__all__ = ["BasicCredentials", "CredentialCache", "Throttle", "parse_basic"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    """The login (as sent, maybe ``DOMAIN\\login`` or an e-mail) and password."""

    login: str
    password: str

    def __repr__(self) -> str:
        return f"BasicCredentials(login={self.login!r})"


def parse_basic(header: str | None) -> BasicCredentials | None:
    """The credentials of an ``Authorization: Basic`` header, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    login, sep, password = decoded.partition(":")
    if not sep or not login:
        return None
    return BasicCredentials(login=login, password=password)


def login_candidates(name: str) -> tuple[str, str | None]:
    """(login, e-mail or None) a client may mean by ``name``: ``DOMAIN\\login``,
    ``login`` or ``login@domain`` (which may also be the user's e-mail)."""
    name = name.strip()
    if "\\" in name:
        name = name.rsplit("\\", 1)[1]
    if "@" in name:
        return name.split("@", 1)[0].lower(), name.lower()
    return name.lower(), None


@dataclass(slots=True)
class _CacheEntry:
    user_id: int
    epoch: int
    expires: float


class CredentialCache:
    """Verified credentials, keyed by an HMAC of the header; bounded in size."""

    def __init__(self, seconds: int, *, max_entries: int = 100_000) -> None:
        self._secret = secrets.token_bytes(32)
        self._seconds = seconds
        self._max_entries = max_entries
        self._entries: dict[bytes, _CacheEntry] = {}

    def _key(self, header: str) -> bytes:
        return hmac.new(self._secret, header.encode("utf-8"), hashlib.sha256).digest()

    def get(self, header: str) -> tuple[int, int] | None:
        if self._seconds <= 0:
            return None
        entry = self._entries.get(self._key(header))
        if entry is None or entry.expires < time.monotonic():
            return None
        return entry.user_id, entry.epoch

    def put(self, header: str, user_id: int, epoch: int) -> None:
        if self._seconds <= 0:
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[self._key(header)] = _CacheEntry(
            user_id, epoch, time.monotonic() + self._seconds
        )

    def forget(self, header: str) -> None:
        self._entries.pop(self._key(header), None)


class Throttle:
    """Failed-login counters per key (a login or a client address)."""

    def __init__(self, config: AuthConfig) -> None:
        self._max = config.max_failures
        self._window = config.lockout_seconds
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self._window:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def retry_after(self, *keys: str) -> int | None:
        """Seconds until an attempt is allowed again, or None when it is now."""
        now = time.monotonic()
        waits = [
            stamps[0] + self._window - now
            for key in keys
            if len(stamps := self._recent(key, now)) >= self._max
        ]
        return max(1, int(max(waits)) + 1) if waits else None

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        if len(self._failures) > 100_000:
            self._failures.clear()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, login_key: str) -> None:
        self._failures.pop(login_key, None)
