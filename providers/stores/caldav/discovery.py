"""Finding a user's calendars from the server's root URL (RFC 4791 6, RFC 5397, RFC 6638).

``store.url`` -> its ``DAV:current-user-principal`` (else that of
``/.well-known/caldav``, else the URL itself is taken as the principal) ->
the principal's ``calendar-home-set`` (else the principal URL is the home),
``calendar-user-address-set`` (a ``mailto:`` is the user's e-mail) and
``schedule-inbox-URL``, whose ``schedule-default-calendar-URL`` names the
server's default calendar where the server offers scheduling.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from providers.stores.base import AuthenticationFailed, StoreError, StoreUnavailable, StoreUser
from providers.stores.caldav import davxml
from providers.stores.caldav.client import DavClient

__all__ = ["Discovery", "discover", "same_resource"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Discovery:
    """Where a user's calendars are."""

    principal: str
    home: str  # absolute URL ending in "/"
    email: str | None = None
    server_default: str | None = None  # absolute URL of the server's default calendar


def _absolute(base: str, href: str) -> str:
    return urljoin(base, href)


def _collection(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def same_resource(a: str, b: str) -> bool:
    """Do two URLs name the same resource (path compared without a trailing slash)?"""
    return urlsplit(a).path.rstrip("/") == urlsplit(b).path.rstrip("/")


async def _current_principal(client: DavClient, user: StoreUser, url: str) -> str | None:
    """``url``'s ``DAV:current-user-principal`` (RFC 5397), if it names one."""
    try:
        answer = await client.multistatus(
            user, "PROPFIND", url, davxml.propfind("d:current-user-principal"), depth="0"
        )
    except (StoreUnavailable, AuthenticationFailed):
        raise
    except StoreError:
        return None
    for response in answer.responses:
        hrefs = davxml.child_hrefs(response.props.get(davxml.tag("d:current-user-principal")))
        if hrefs:
            return _collection(_absolute(url, hrefs[0]))
    return None


async def _principal(client: DavClient, user: StoreUser, root: str) -> str:
    """The principal named by ``root``, else by ``/.well-known/caldav`` (RFC 6764
    5; the client follows its redirect), else ``root`` itself."""
    for url in (root, urljoin(root, "/.well-known/caldav")):
        principal = await _current_principal(client, user, url)
        if principal is not None:
            return principal
    return root


async def discover(client: DavClient, user: StoreUser, root: str) -> Discovery:
    """The user's principal, calendar home, e-mail and the server's default calendar."""
    principal = await _principal(client, user, root)
    answer = await client.multistatus(
        user,
        "PROPFIND",
        principal,
        davxml.propfind(
            "c:calendar-home-set", "c:calendar-user-address-set", "c:schedule-inbox-URL"
        ),
        depth="0",
    )
    home, email, inbox = principal, None, None
    for response in answer.responses:
        homes = davxml.child_hrefs(response.props.get(davxml.tag("c:calendar-home-set")))
        if homes:
            home = _collection(_absolute(principal, homes[0]))
        addresses = davxml.child_hrefs(
            response.props.get(davxml.tag("c:calendar-user-address-set"))
        )
        email = next(
            (a[len("mailto:") :] for a in addresses if a.lower().startswith("mailto:")), email
        )
        inboxes = davxml.child_hrefs(response.props.get(davxml.tag("c:schedule-inbox-URL")))
        if inboxes:
            inbox = _absolute(principal, inboxes[0])
    server_default = None if inbox is None else await _server_default(client, user, inbox)
    return Discovery(principal=principal, home=home, email=email, server_default=server_default)


async def _server_default(client: DavClient, user: StoreUser, inbox: str) -> str | None:
    """The inbox's ``schedule-default-calendar-URL`` (RFC 6638 9.2), if any."""
    try:
        answer = await client.multistatus(
            user,
            "PROPFIND",
            inbox,
            davxml.propfind("c:schedule-default-calendar-URL"),
            depth="0",
        )
    except (StoreUnavailable, AuthenticationFailed):
        raise
    except StoreError:  # an inbox we may not read: no server default
        return None
    for response in answer.responses:
        hrefs = davxml.child_hrefs(
            response.props.get(davxml.tag("c:schedule-default-calendar-URL"))
        )
        if hrefs:
            return _collection(_absolute(inbox, hrefs[0]))
    return None
