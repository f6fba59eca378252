"""HTTP to the CalDAV server, with the library's errors turned into the store's.

One ``httpx.AsyncClient`` per store (a pooled set of HTTP/1.1 connections,
connect timeout 5 s, read timeout 30 s); every request carries the acting
user's own Basic credentials. This is the store's edge:

* no answer (refused, reset, timeout) and 5xx/429/423 -> ``StoreUnavailable``
  (with the server's Retry-After when it sent one);
* 401 -> ``AuthenticationFailed``;
* the other statuses are left to the caller, with ``fail()`` as the default
  mapping (404 ``NotFound``, 412 ``PreconditionFailed``, 403 ``ReadOnly`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

import httpx

from providers.retry_after import retry_after_seconds
from providers.stores.base import (
    AuthenticationFailed,
    InvalidData,
    NotFound,
    PreconditionFailed,
    ReadOnly,
    StoreError,
    StoreUnavailable,
    StoreUser,
)
from providers.stores.caldav import davxml

__all__ = ["DavClient", "fail", "read_multistatus"]

XML = "application/xml; charset=utf-8"
_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class DavClient:
    """Requests to one CalDAV server, each acting for one user."""

    def __init__(
        self,
        *,
        timeout: httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            timeout=timeout or _TIMEOUT,
            limits=_LIMITS,
            follow_redirects=True,
            headers={"User-Agent": "easgw"},
            transport=transport,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        user: StoreUser,
        method: str,
        url: str,
        *,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        depth: str | None = None,
    ) -> httpx.Response:
        """The server's answer (any status but 401, 423, 429 and 5xx)."""
        if user.password is None:
            raise AuthenticationFailed("the CalDAV store needs the user's password")
        sent = dict(headers or {})
        if depth is not None:
            sent["Depth"] = depth
        if isinstance(body, bytes) and "Content-Type" not in sent:
            sent["Content-Type"] = XML
        try:
            response = await self._http.request(
                method,
                url,
                content=body,
                headers=sent,
                auth=httpx.BasicAuth(user.login, user.password),
            )
        except httpx.TimeoutException as exc:
            raise StoreUnavailable(f"the CalDAV server did not answer {method} in time") from exc
        except httpx.HTTPError as exc:
            reason = type(exc).__name__
            raise StoreUnavailable(f"the CalDAV server is unreachable ({reason})") from exc
        status = response.status_code
        if status == 401:
            raise AuthenticationFailed("the CalDAV server refused the credentials")
        if status >= 500 or status in (423, 429):
            retry = retry_after_seconds(response.headers.get("Retry-After"))
            raise StoreUnavailable(f"the CalDAV server answered {status}", retry_after=retry)
        return response

    async def multistatus(
        self,
        user: StoreUser,
        method: str,
        url: str,
        body: bytes,
        *,
        depth: str | None,
    ) -> davxml.Multistatus:
        """A PROPFIND/REPORT's multistatus; other statuses go through ``fail``."""
        response = await self.request(user, method, url, body=body, depth=depth)
        if response.status_code != 207:
            fail(response, url)
        return read_multistatus(response)


def read_multistatus(response: httpx.Response) -> davxml.Multistatus:
    try:
        return davxml.parse_multistatus(response.content)
    except davxml.DavXmlError as exc:
        raise StoreUnavailable(f"unreadable answer from the CalDAV server: {exc}") from exc


def fail(response: httpx.Response, what: str) -> NoReturn:
    """Raise the store error for an unexpected (non-success) answer."""
    status = response.status_code
    conditions = davxml.parse_error_conditions(response.content)
    if davxml.tag("c:no-uid-conflict") in conditions:
        raise PreconditionFailed(f"{what}: the UID is already used by another item")
    if conditions & {
        davxml.tag("c:valid-calendar-data"),
        davxml.tag("c:valid-calendar-object-resource"),
        davxml.tag("c:supported-calendar-data"),
        davxml.tag("c:supported-calendar-component"),
    }:
        raise InvalidData(f"{what}: the server refused the iCalendar object")
    if status in (404, 410):
        raise NotFound(f"{what}: not found")
    if status == 412:
        raise PreconditionFailed(f"{what}: precondition failed")
    if status == 403:
        raise ReadOnly(f"{what}: forbidden")
    if status in (400, 415, 422):
        raise InvalidData(f"{what}: refused ({status})")
    raise StoreError(f"{what}: unexpected answer {status}")
