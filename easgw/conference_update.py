"""The provider calls a save makes for a link: create it, tell the provider it moved, delete it.

Split from easgw/conference.py (the policy decides *which* row and action; this
module talks to the provider for that row and records the outcome on it).

Update rule (issue 7): a provider that tracks its meetings server-side
(:class:`providers.conference.SupportsUpdate`: StarLeaf, webhook) hears about a
save that keeps (or re-activates) an active link when the event's title, start or
end differ from what the row remembers (``summary``/``starts``/``ends``, i.e. what
the provider was last told). The call runs after the row's status is settled, in
the Sync's transaction like a create.

- Success: the row remembers the new title and times. An answer with another URL
  replaces the link (the row takes the new URL, id and text; a ``join_via_gateway``
  row keeps its ``/conf/<token>`` redirect); the same URL keeps the link as it is.
- Failure (any :class:`ProviderError`): logged and counted, the old link stays on
  the event, and the row keeps remembering the *old* values, so the next save of the
  event sees the difference again and retries. There is no background retry.

Providers whose links do not depend on the event (Jitsi, BlueMind Video) or whose
meetings are made at join time (BigBlueButton) have no ``update``; their rows simply
remember the latest values, which the ``/conf/<token>`` redirect uses for joins.

Times are remembered in UTC: SQLite keeps a datetime's wall time and drops its
offset, so a zone other than UTC would read back as another instant.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import replace
from datetime import UTC, datetime

from easgw.conference_registry import set_status
from easgw.state.conference_models import ConferenceLinkRow, LinkStatus
from providers.conference import (
    ConferenceProvider,
    EventContext,
    ProviderError,
    SupportsDelete,
    SupportsUpdate,
)

__all__ = ["Updated", "create_link", "delete_link", "needs_update", "remember", "update_link"]

log = logging.getLogger(__name__)

#: The longest title a row remembers (the column's size).
SUMMARY_LENGTH = 512


class Updated(enum.Enum):
    """What :func:`update_link` did."""

    NOT_NEEDED = "not-needed"  # nothing changed, or the provider takes no updates
    KEPT = "kept"  # the provider was told; same URL
    REPLACED = "replaced"  # the provider answered with another URL: the row has it now
    FAILED = "failed"  # the provider call failed: the old link stays, retried next save


def _utc(moment: datetime | None) -> datetime | None:
    """An instant in UTC; a naive value (read back from SQLite) is UTC already."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def remember(row: ConferenceLinkRow, context: EventContext) -> None:
    """The event's title and times on the row (for the redirect's joins and updates)."""
    if not _known(row, context):
        row.summary = context.summary[:SUMMARY_LENGTH]
        row.starts, row.ends = _utc(context.start), _utc(context.end)


def _known(row: ConferenceLinkRow, context: EventContext) -> bool:
    remembered = (row.summary, _utc(row.starts), _utc(row.ends))
    return remembered == (context.summary[:SUMMARY_LENGTH], _utc(context.start), _utc(context.end))


def needs_update(row: ConferenceLinkRow, provider: object, context: EventContext) -> bool:
    """Must ``provider`` hear about this save of the row's event?

    Only an active link with a provider id, a provider that takes updates, and a row
    that remembers what the provider was told (an adopted row remembers nothing yet:
    there is nothing to compare with), when the title, start or end differ."""
    return (
        row.status == LinkStatus.ACTIVE.value
        and bool(row.conference_id)
        and isinstance(provider, SupportsUpdate)
        and row.starts is not None
        and row.ends is not None
        and not _known(row, context)
    )


async def update_link(row: ConferenceLinkRow, provider: object, context: EventContext) -> Updated:
    """Tell the provider about a changed event when :func:`needs_update`; else remember it."""
    if not needs_update(row, provider, context):
        remember(row, context)
        return Updated.NOT_NEEDED
    assert isinstance(provider, SupportsUpdate)
    try:
        made = await provider.update(replace(context, conference_id=row.conference_id))
    except (ProviderError, ValueError) as exc:
        row.failure_count += 1
        log.warning(
            "conference link not updated at the provider; the next save retries",
            extra={"provider": row.provider_id, "error": type(exc).__name__},
        )
        return Updated.FAILED
    remember(row, context)
    if made.url == row.url:
        log.info("conference link updated", extra={"provider": row.provider_id})
        return Updated.KEPT
    row.url, row.conference_id, row.text = made.url, made.conference_id, made.text
    if not row.join_via_gateway:
        row.calendar_url = made.url
    log.info("conference link replaced by its update", extra={"provider": row.provider_id})
    return Updated.REPLACED


async def create_link(
    row: ConferenceLinkRow, provider: ConferenceProvider, context: EventContext, *, public_url: str
) -> bool:
    """Ask the provider for the row's link; False (logged, counted on the row) when it fails."""
    try:
        made = await provider.create(context)
    except ProviderError as exc:
        row.failures += 1
        row.failure_count += 1
        log.warning(
            "conference link not created; the next save retries",
            extra={"provider": row.provider_id, "error": type(exc).__name__},
        )
        return False
    row.url = made.url
    row.conference_id = made.conference_id
    row.text = made.text
    row.join_via_gateway = made.join_via_gateway
    row.calendar_url = f"{public_url}/conf/{row.token}" if made.join_via_gateway else made.url
    row.failures = 0
    set_status(row, LinkStatus.ACTIVE)
    log.info("conference link created", extra={"provider": row.provider_id})
    return True


async def delete_link(row: ConferenceLinkRow, provider: object, context: EventContext) -> None:
    """Cancel the row's meeting (``delete_on_remove``); a failure is only logged."""
    if not isinstance(provider, SupportsDelete) or row.conference_id is None:
        return
    try:
        await provider.delete(replace(context, conference_id=row.conference_id))
    except (ProviderError, ValueError) as exc:
        log.warning(
            "conference link not deleted at the provider",
            extra={"provider": row.provider_id, "error": type(exc).__name__},
        )
