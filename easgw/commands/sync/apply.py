"""The device's commands (Add, Change, Delete, Fetch) -> store writes and Responses.

Per item (MS-ASCMD 2.2.3.177.17): unreadable ApplicationData -> Status 6, an
unknown ServerId -> 8, a conflict the server wins -> 7. Only failures of
Change and Delete get a response (MS-ASCMD 2.2.3.154: the client receives
responses for successful additions and fetches and for failed changes and
deletions).

16.x InstanceId (MS-ASCAL 3.1.5.3): a Change or Delete naming one occurrence
edits or deletes that occurrence only (``protocol.calendar.instances``); the
series keeps its ServerId.

Idempotency: an Add's ClientId (and a 16.x ClientUid) is remembered with the
ServerId it got; an Add resent with it (a lost response, even under a new
SyncKey) answers the same ServerId and writes nothing. An Add whose UID the
calendar already holds (a <= 14.1 device resending under a new ClientId)
answers the existing item's ServerId.

Conference links (easgw/conference.py): an Add or Change goes through the
link policy between the conversion and the store write, and a Delete marks
the event's links removed.

The echo rule (DESIGN.md step 6): after a write the snapshot holds the hash
of the server's rendering of what the device sent (merged with the stored
event, but before the server's enrichment: the conference link) and no etag,
so the next Sync renders the stored item once: equal -> nothing goes back to
the device; a different rendering (enrichment, a concurrent edit) -> a
Change. Hashing the stored merge rather than the raw request keeps a partial
Change (ghosted elements left out) from echoing the whole item back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from easgw.commands.sync.ids import find_client, item_for_server_id, remember_client, server_ids
from easgw.commands.sync.items import ConversionError, read_item, render_stored, to_ical, uid_data
from easgw.commands.sync.plan import Held
from easgw.conference import Speaking
from easgw.gateway import RequestContext
from easgw.scheduling.outgoing import gateway_schedules, organizer_wrote, prepare_organizer_write
from protocol.calendar.ical import server_uid
from protocol.calendar.instances import apply_instance
from protocol.calendar.model import BodyPreference, CalendarItem, version_tuple
from protocol.calendar.recurrence import parse_compact
from protocol.status import EasStatusError
from protocol.sync import (
    AddResponse,
    ClientAdd,
    ClientChange,
    ClientCommand,
    ClientDelete,
    ClientFetch,
    FetchResponse,
    ItemResponse,
    SyncStatus,
)
from providers.stores.base import (
    InvalidData,
    Item,
    NotFound,
    PreconditionFailed,
    ReadOnly,
    Store,
    StoreUser,
    find_uid,
)

__all__ = ["Applied", "Target", "apply_commands"]

log = logging.getLogger(__name__)

#: Held hash of an item the device wrote that the server cannot render back.
_UNRENDERABLE = "unrenderable"
#: The held hash of a phone edit the store refused: no rendering has it.
_REFUSED = "refused-by-the-store"

Response = AddResponse | ItemResponse | FetchResponse


@dataclass(slots=True, kw_only=True)
class Target:
    """The collection a request works on, inside its transaction."""

    ctx: RequestContext
    session: AsyncSession
    collection_id: str
    store_ref: str
    #: The store calendar; None for a mail folder (always empty).
    calendar_id: str | None
    supported: frozenset[str] | None
    body_preference: BodyPreference | None
    #: The store shares ``session``: its writes commit with the state.
    joined: bool
    server_wins: bool = True

    @property
    def version(self) -> str:
        return self.ctx.version

    @property
    def store(self) -> Store:
        return self.ctx.gateway.store

    @property
    def user(self) -> StoreUser:
        return self.ctx.store_user

    @property
    def sixteen(self) -> bool:
        return version_tuple(self.version) >= (16, 0)

    async def resolve(self, server_id: str) -> str | None:
        return await item_for_server_id(
            self.session, self.ctx.user.id, self.store_ref, self.collection_id, server_id
        )

    async def stored(self, server_id: str) -> Item | None:
        item_id = await self.resolve(server_id)
        if item_id is None or self.calendar_id is None:
            return None
        found = await self.store.get_items(self.user, self.calendar_id, [item_id])
        return found[0] if found else None

    async def enrich(self, ical: str, stored: str | None = None) -> str:
        """The conference policy on a converted client write (easgw/conference.py),
        then the SEQUENCE of an organizer's meeting (easgw/scheduling/outgoing.py)."""
        owner = Speaking(self.ctx.user, self.ctx.language)
        enriched = await self.ctx.gateway.conference.on_write(self.session, owner, ical)
        return prepare_organizer_write(self.ctx, stored, enriched)

    async def scheduled(self, before: str | None, after: str | None) -> None:
        """Invitations and attendees' copies of what was just written (easgw/scheduling)."""
        await organizer_wrote(self.ctx, self.session, before, after, joined=self.joined)

    def held_after_write(self, item_id: str, ical: str) -> Held:
        try:
            rendered = render_stored(
                ical,
                version=self.version,
                body_preference=self.body_preference,
                owner=self.user.email,
            ).hash
        except ConversionError:
            rendered = _UNRENDERABLE
        return Held(item_id=item_id, hash=rendered, etag=None)

    def conflict(self, exc: PreconditionFailed) -> SyncStatus:
        """A store precondition failed: item Status 7, unless the store shares
        our transaction (a failed statement may have aborted it): retry all."""
        if self.joined:
            raise EasStatusError(SyncStatus.Retry, "a concurrent write; retry") from exc
        return SyncStatus.Conflict


@dataclass(slots=True, kw_only=True)
class Applied:
    responses: list[Response] = field(default_factory=list)
    #: ServerIds this request wrote: kept out of this response's Commands.
    touched: set[str] = field(default_factory=set)


async def apply_commands(
    target: Target, commands: tuple[ClientCommand, ...], snapshot: dict[str, Held]
) -> Applied:
    """Apply the device's commands in order; ``snapshot`` is updated in place."""
    applied = Applied()
    for command in commands:
        response: Response | None
        if isinstance(command, ClientAdd):
            response = await _add(target, command, snapshot, applied)
        elif isinstance(command, ClientChange):
            response = await _change(target, command, snapshot, applied)
        elif isinstance(command, ClientDelete):
            response = await _delete(target, command, snapshot, applied)
        else:
            response = await _fetch(target, command)
        if response is not None:
            applied.responses.append(response)
    return applied


async def _known_add(target: Target, command: ClientAdd, key: str) -> AddResponse | None:
    known = await find_client(target.session, target.ctx.device.id, target.collection_id, key)
    if known is None:
        return None
    log.info("Add resent: answered with its ServerId", extra={"server_id": known.server_id})
    return AddResponse(
        client_id=command.client_id,
        status=SyncStatus.Success,
        server_id=known.server_id,
        application_data=uid_data(known.uid) if target.sixteen and known.uid else None,
    )


async def _existing_uid(target: Target, uid: str) -> str | None:
    assert target.calendar_id is not None
    ref = await find_uid(target.store, target.user, target.calendar_id, uid)
    return None if ref is None else ref.id


async def _add(
    target: Target, command: ClientAdd, snapshot: dict[str, Held], applied: Applied
) -> AddResponse:
    failed = AddResponse(client_id=command.client_id, status=SyncStatus.ConversionError)
    known = await _known_add(target, command, command.client_id)
    if known is not None or target.calendar_id is None:
        return known or failed
    try:
        item = read_item(command.application_data, target.version)
        sent = to_ical(item, version=target.version, stored=None, supported=target.supported)
    except ConversionError as exc:
        log.info("Add: unreadable ApplicationData", extra={"reason": str(exc)[:200]})
        return failed
    uid_key = f"uid:{item.client_uid}" if target.sixteen and item.client_uid else None
    if uid_key is not None and (known := await _known_add(target, command, uid_key)):
        return known
    ical = await target.enrich(sent)
    item_id, uid, created = await _create(target, ical, item)
    if item_id is None:
        return failed
    if created:
        await target.scheduled(None, ical)
    server_id = (
        await server_ids(
            target.session, target.ctx.user.id, target.store_ref, target.collection_id, [item_id]
        )
    )[item_id]
    device = target.ctx.device.id
    for key in filter(None, (command.client_id, uid_key)):
        if await find_client(target.session, device, target.collection_id, key) is None:
            await remember_client(
                target.session,
                device_pk=device,
                collection_id=target.collection_id,
                client_id=key,
                server_id=server_id,
                uid=uid,
            )
    if item_id not in {held.item_id for held in snapshot.values()}:
        if not created:  # an existing item: hash what the store holds
            found = await target.store.get_items(target.user, target.calendar_id, [item_id])
            sent = found[0].ical if found else ical
        snapshot[server_id] = target.held_after_write(item_id, sent)
        applied.touched.add(server_id)
    return AddResponse(
        client_id=command.client_id,
        status=SyncStatus.Success,
        server_id=server_id,
        application_data=uid_data(uid) if target.sixteen else None,
    )


async def _create(target: Target, ical: str, item: CalendarItem) -> tuple[str | None, str, bool]:
    """Store a new item: (store item id, UID, created); (None, "", False) when
    the store refuses it. A UID the calendar already holds gives that item (a
    resent Add), not created."""
    assert target.calendar_id is not None
    try:
        ref = await target.store.put_item(target.user, target.calendar_id, ical, if_none_match=True)
    except PreconditionFailed as exc:
        # 16.x: the UID was made from the ClientUid (ical.server_uid), so a
        # resend names the first copy's UID.
        uid = item.uid or (server_uid(item.client_uid) if item.client_uid else "")
        existing = await _existing_uid(target, uid) if uid else None
        if existing is None:
            target.conflict(exc)
            return None, "", False
        return existing, uid, False
    except (InvalidData, ReadOnly) as exc:
        log.info("Add refused by the store", extra={"kind": type(exc).__name__})
        return None, "", False
    return ref.id, ref.uid, True


async def _change(
    target: Target, command: ClientChange, snapshot: dict[str, Held], applied: Applied
) -> ItemResponse | None:
    def answer(status: SyncStatus) -> ItemResponse:
        return ItemResponse(kind="Change", server_id=command.server_id, status=status)

    stored = await target.stored(command.server_id)
    if stored is None:
        return answer(SyncStatus.ObjectNotFound)
    held = snapshot.get(command.server_id)
    if target.server_wins and held and held.etag and held.etag != stored.ref.etag:
        log.info("Change conflicts with a newer server version: server wins")
        return answer(SyncStatus.Conflict)
    try:
        item = read_item(command.application_data, target.version)
        if command.instance_id is not None:  # 16.x: one occurrence (MS-ASCAL 3.1.5.3)
            item = replace(item, instance_id=instance_time(command.instance_id))
        sent = to_ical(item, version=target.version, stored=stored.ical, supported=target.supported)
    except ConversionError as exc:
        log.info("Change: unreadable ApplicationData", extra={"reason": str(exc)[:200]})
        return answer(SyncStatus.ConversionError)
    assert target.calendar_id is not None
    ical = await target.enrich(sent, stored.ical)
    try:
        await target.store.put_item(
            target.user,
            target.calendar_id,
            ical,
            item_id=stored.ref.id,
            if_match=stored.ref.etag,
        )
    except PreconditionFailed as exc:
        return answer(target.conflict(exc))
    except (InvalidData, ReadOnly) as exc:
        log.info("Change refused by the store", extra={"kind": type(exc).__name__})
        # The device keeps its edit unless told otherwise: a held hash no
        # rendering has makes the next Sync send the stored version back.
        snapshot[command.server_id] = Held(item_id=stored.ref.id, hash=_REFUSED, etag=None)
        applied.touched.add(command.server_id)
        return answer(SyncStatus.ConversionError)
    await target.scheduled(stored.ical, ical)
    snapshot[command.server_id] = target.held_after_write(stored.ref.id, sent)
    applied.touched.add(command.server_id)
    return None


async def _delete(
    target: Target, command: ClientDelete, snapshot: dict[str, Held], applied: Applied
) -> ItemResponse | None:
    def answer(status: SyncStatus) -> ItemResponse:
        return ItemResponse(kind="Delete", server_id=command.server_id, status=status)

    item_id = await target.resolve(command.server_id)
    if item_id is None or target.calendar_id is None:
        return answer(SyncStatus.ObjectNotFound)
    if command.instance_id is not None:
        return await _delete_instance(target, command, snapshot, applied)
    conference = target.ctx.gateway.conference
    wanted = conference.enabled or gateway_schedules(target.ctx.config)
    found = await target.stored(command.server_id) if wanted else None
    try:
        await target.store.delete_item(target.user, target.calendar_id, item_id)
    except NotFound:
        pass  # already gone: the device's wish holds
    except PreconditionFailed as exc:
        return answer(target.conflict(exc))
    except ReadOnly:
        # The device deleted its copy: forgetting that it held one makes the
        # next Sync add the stored item back.
        snapshot.pop(command.server_id, None)
        applied.touched.add(command.server_id)
        return answer(SyncStatus.ConversionError)
    if found is not None:  # the event's conference links are removed with it
        if conference.enabled:
            await conference.on_delete(target.session, target.ctx.user, found.ical)
        await target.scheduled(found.ical, None)
    snapshot.pop(command.server_id, None)
    applied.touched.add(command.server_id)
    return None


async def _delete_instance(
    target: Target, command: ClientDelete, snapshot: dict[str, Held], applied: Applied
) -> ItemResponse | None:
    """16.x: delete one occurrence of a series (it becomes an EXDATE)."""

    def answer(status: SyncStatus) -> ItemResponse:
        return ItemResponse(kind="Delete", server_id=command.server_id, status=status)

    stored = await target.stored(command.server_id)
    if stored is None or target.calendar_id is None or command.instance_id is None:
        return answer(SyncStatus.ObjectNotFound)
    try:
        occurrence = CalendarItem(instance_id=instance_time(command.instance_id))
        ical = apply_instance(stored.ical, occurrence, version=target.version, deleted=True)
        ical = prepare_organizer_write(target.ctx, stored.ical, ical)
    except (ConversionError, ValueError) as exc:
        log.info("Delete of an occurrence refused", extra={"reason": str(exc)[:200]})
        return answer(SyncStatus.ConversionError)
    try:
        await target.store.put_item(
            target.user, target.calendar_id, ical, item_id=stored.ref.id, if_match=stored.ref.etag
        )
    except PreconditionFailed as exc:
        return answer(target.conflict(exc))
    except (InvalidData, ReadOnly):
        return answer(SyncStatus.ConversionError)
    await target.scheduled(stored.ical, ical)
    snapshot[command.server_id] = target.held_after_write(stored.ref.id, ical)
    applied.touched.add(command.server_id)
    return None


def instance_time(text: str) -> datetime:
    """An InstanceId (MS-ASDTYPE date-time) -> aware UTC; ConversionError if unreadable."""
    try:
        return parse_compact(text)
    except ValueError as exc:
        raise ConversionError(f"bad InstanceId {text[:40]!r}") from exc


async def _fetch(target: Target, command: ClientFetch) -> FetchResponse:
    stored = await target.stored(command.server_id)
    if stored is None:
        return FetchResponse(server_id=command.server_id, status=SyncStatus.ObjectNotFound)
    try:
        rendering = render_stored(
            stored.ical,
            version=target.version,
            body_preference=target.body_preference,
            owner=target.user.email,
        )
    except ConversionError:
        log.warning("Fetch: the stored item cannot be rendered")
        return FetchResponse(server_id=command.server_id, status=SyncStatus.ConversionError)
    return FetchResponse(
        server_id=command.server_id, status=SyncStatus.Success, application_data=rendering.data
    )
