"""``GET /conf/<token>``: the join link of providers joined through the gateway.

Jitsi in JWT mode and BigBlueButton put ``<server.public_url>/conf/<token>`` in the
calendar (easgw/conference.py) instead of a URL that works by itself: a token in a
calendar would be shared by every invitee, and a BigBlueButton meeting must be
created before anyone joins. This redirect asks the provider for a fresh URL for
one person (``SupportsJoin.join_url``) and answers 302 to it.

Who joins how: a request with Basic credentials of an easgw user (the same check
as the EAS endpoint, throttle included) joins as moderator under the user's
name; wrong credentials get 401; a request without credentials joins as a guest
(``?name=`` sets the display name, else "Guest"). ``?login`` asks for credentials
(401 with a Basic challenge, so a browser prompts). A removed link still works
(it stays valid, as the origin product says); a revoked or unknown token is 404.

The token's validity for the provider: the event's times as of its last save
while the event has not ended; afterwards (a later occurrence of a series, or a
late join) from now for the event's length.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from aiohttp import web

from easgw.conference_registry import by_token
from easgw.gateway import Gateway
from easgw.http import authenticate
from easgw.state.conference_models import ConferenceLinkRow, LinkStatus
from providers.conference import (
    ConferenceLink,
    EventContext,
    Person,
    ProviderError,
    SupportsJoin,
)

__all__ = ["PREFIX", "handle", "join_context"]

log = logging.getLogger(__name__)

PREFIX = "/conf/"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_JOINABLE = (LinkStatus.ACTIVE.value, LinkStatus.REMOVED.value)
_NAME_LIMIT = 64


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def join_context(row: ConferenceLinkRow, now: datetime | None = None) -> EventContext:
    """The occurrence being joined (see the module docstring)."""
    now = now or datetime.now(UTC)
    starts, ends = _aware(row.starts), _aware(row.ends)
    if starts is None or ends is None:
        starts, ends = now, now + timedelta(hours=1)
    elif ends < now:
        length = max(ends - starts, timedelta(minutes=30))
        starts, ends = now, now + length
    return EventContext(
        uid=row.uid,
        summary=row.summary or "Meeting",
        start=starts,
        end=ends,
        organizer=Person(email=row.organizer),
        conference_id=row.conference_id,
    )


def _text(status: int, text: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", headers=headers)


async def handle(request: web.Request, gateway: Gateway) -> web.StreamResponse:
    """Redirect one person to the meeting behind ``/conf/<token>``."""
    if request.method not in ("GET", "HEAD"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
    token = request.path.rstrip("/")[len(PREFIX) :]
    if not _TOKEN.match(token):
        return _text(404, "no such meeting")
    async with gateway.database.sessions() as session:
        row = await by_token(session, token)
    configured = gateway.conference.providers.get(row.provider_id) if row else None
    if row is None or row.status not in _JOINABLE or row.url is None or configured is None:
        return _text(404, "no such meeting")
    moderator, name, email = False, _guest_name(request), ""
    if "Authorization" in request.headers or "login" in request.query:
        answer = await authenticate(request, gateway)
        if isinstance(answer, web.StreamResponse):
            return answer
        user, _password = answer
        moderator, name, email = True, user.display_name or user.login, user.email
    provider = configured.provider
    link = ConferenceLink(url=row.url, conference_id=row.conference_id or token)
    if not isinstance(provider, SupportsJoin):
        target = row.url
    else:
        try:
            target = await provider.join_url(
                link, join_context(row), moderator=moderator, display_name=name, email=email
            )
        except ProviderError as exc:
            log.warning(
                "conference join failed",
                extra={"provider": row.provider_id, "error": type(exc).__name__},
            )
            return _text(503, "the meeting service is unavailable", **{"Retry-After": "30"})
    return web.Response(
        status=302,
        headers={
            "Location": target,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def _guest_name(request: web.Request) -> str:
    name = " ".join(request.query.get("name", "").split())[:_NAME_LIMIT]
    return name or "Guest"
