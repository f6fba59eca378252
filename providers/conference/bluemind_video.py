"""BlueMind Video (a Jitsi-based SaaS): links ``<base_url>/visio/<random id>``.

No API call is made: the origin product tracks its rooms server-side (owner, title,
deletion on removal), but that API has no public documentation, so easgw only makes
links. The id is 128 random bits, like a Jitsi room; it never carries the title or the
organizer. Removing the resource therefore never deletes a room here (a removed link
stays valid, as the origin's user guide says for Jitsi), and a reschedule has nothing
to update (no ``update``): the link does not depend on the event.
"""

from __future__ import annotations

from typing import Any, Self

from providers.conference.base import ConferenceLink, EventContext
from providers.conference.jitsi import new_room
from providers.conference.options import Options

__all__ = ["BlueMindVideoProvider"]


class BlueMindVideoProvider:
    """Links to a BlueMind Video domain."""

    def __init__(self, *, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    @classmethod
    def from_options(cls, options: Options, **_: Any) -> Self:
        return cls(base_url=options.url("base_url"))

    async def create(self, context: EventContext) -> ConferenceLink:
        del context
        room = new_room()
        return ConferenceLink(url=f"{self.base_url}/visio/{room}", conference_id=room)

    async def close(self) -> None:
        return None
