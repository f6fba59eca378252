"""Jitsi Meet: ``<base_url>/<room>``, no API call (the room exists once someone joins).

The room name is 128 random bits (32 hex digits), never the title or the organizer:
Jitsi itself flags guessable names as insecure, and anyone who knows a room's name
can join it. Nothing to update on a reschedule (no ``update``, see base.py
``SupportsUpdate``): the room does not depend on the event's title or times.

JWT mode (``jwt_secret`` set; Jitsi's token authentication, prosody
``mod_auth_token``): a token in a calendar would be shared by every invitee, so the
link is ``join_via_gateway`` and the gateway's ``/conf/<token>`` redirect asks
:meth:`JitsiProvider.join_url` for a fresh token per person: HS256 with
``jwt_secret``, claims ``iss`` = ``jwt_app_id``, ``aud`` = ``jwt_audience``, ``sub`` =
the Jitsi host, ``room``, ``nbf``/``exp`` = the occurrence's start/end -/+
``jwt_margin_minutes``, and ``context.user`` {name, email, moderator}.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Self
from urllib.parse import quote, urlsplit

import jwt

from providers.conference.base import ConferenceLink, EventContext
from providers.conference.options import Options

__all__ = ["JitsiJwt", "JitsiProvider", "new_room"]

#: HS256 keys shorter than the hash output are weak (RFC 7518 3.2); pyjwt warns on them.
MIN_SECRET_BYTES = 32


def new_room() -> str:
    """128 random bits as 32 lowercase hex digits: unguessable, URL-safe, case-proof."""
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True, kw_only=True)
class JitsiJwt:
    """Token settings for a Jitsi deployment with token authentication."""

    app_id: str
    secret: str
    audience: str = "jitsi"
    margin: timedelta = timedelta(minutes=60)


class JitsiProvider:
    """Links to a Jitsi Meet deployment, optionally behind per-person JWTs."""

    def __init__(self, *, base_url: str, jwt_settings: JitsiJwt | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.jwt = jwt_settings
        self.host = urlsplit(self.base_url).hostname or ""

    @classmethod
    def from_options(cls, options: Options, **_: Any) -> Self:
        base_url = options.url("base_url")
        secret = options.optional_string("jwt_secret")
        jwt_keys = ("jwt_app_id", "jwt_audience", "jwt_margin_minutes")
        if secret is None:
            present = [key for key in jwt_keys if options.has(key)]
            if present:
                raise options.error(present[0], "needs jwt_secret (JWT mode)")
            options.skip(*jwt_keys)
            return cls(base_url=base_url)
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise options.error("jwt_secret", f"must be at least {MIN_SECRET_BYTES} bytes")
        settings = JitsiJwt(
            app_id=options.string("jwt_app_id", required=True),
            secret=secret,
            audience=options.string("jwt_audience", "jitsi"),
            margin=timedelta(minutes=options.number("jwt_margin_minutes", 60)),
        )
        return cls(base_url=base_url, jwt_settings=settings)

    async def create(self, context: EventContext) -> ConferenceLink:
        del context  # the room never depends on the event
        room = new_room()
        return ConferenceLink(
            url=f"{self.base_url}/{room}",
            conference_id=room,
            join_via_gateway=self.jwt is not None,
        )

    async def join_url(
        self,
        link: ConferenceLink,
        event: EventContext,
        *,
        moderator: bool,
        display_name: str,
        email: str,
    ) -> str:
        """The room URL; in JWT mode with a token for this person, valid around ``event``."""
        if self.jwt is None:
            return link.url
        token = self.token(
            room=link.conference_id,
            event=event,
            user={"name": display_name, "email": email, "moderator": moderator},
        )
        return f"{link.url}?jwt={quote(token, safe='')}"

    def token(self, *, room: str, event: EventContext, user: Mapping[str, object]) -> str:
        """A signed token for ``room``, valid from start - margin to end + margin."""
        assert self.jwt is not None
        claims = {
            "iss": self.jwt.app_id,
            "aud": self.jwt.audience,
            "sub": self.host,
            "room": room,
            "nbf": int((event.start - self.jwt.margin).timestamp()),
            "exp": int((event.end + self.jwt.margin).timestamp()),
            "context": {"user": dict(user)},
        }
        return jwt.encode(claims, self.jwt.secret, algorithm="HS256")

    async def close(self) -> None:
        return None
