"""ItemOperations (MS-ASCMD 2.2.1.10): Fetch a calendar item; the rest answered by status.

Each operation is answered in request order (statuses 2.2.3.177.8):

* Fetch, Store ``Mailbox``, by ServerId (the one Sync handed out; the
  CollectionId may be left out: a ServerId names its folder): Status 1 with
  ``Class`` Calendar and ``Properties`` = the ApplicationData Sync renders for
  this version, with the Fetch's own BodyPreference (HTML, then plain text,
  as Sync chooses; TruncationSize and AllOrNone as MS-ASAIRS 2.2.2.7 says).
  An unknown collection or ServerId, a mail folder (always empty), an item
  gone from the store: 6 (object not found). A stored item that cannot be
  rendered: 14 (the item failed conversion).
* Fetch by LongId (an item a Search found): easgw has no Search yet, so no
  LongId is known: 6.
* Fetch by FileReference: easgw's calendar items carry no attachments: 15.
* Fetch from another Store (DocumentLibrary) or by LinkId: 9 (the store is
  unknown or unsupported); a LinkId in the Mailbox store: 2.
* EmptyFolderContents of a mail folder: 1 (it is always empty); of a calendar:
  156 (the action is not supported: easgw does not let one command wipe a
  calendar); an unknown CollectionId: 6.
* Move (a conversation, 14.0+): easgw holds no mail, so no conversation
  exists: 6 (MS-ASCON 2.2.2.10, "the conversation ... does not exist").
* An operation that cannot be read: 2 (protocol error).

``MS-ASAcceptMultiPart: T`` (or the base64 query's option): the answer is a
multipart body, the bodies in parts (``protocol.itemoperations``).
Read-only: nothing is written.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from easgw.commands import CommandSpec
from easgw.commands.sync.ids import item_for_server_id
from easgw.commands.sync.items import ConversionError, choose_body_preference, render_stored
from easgw.folders import FolderMap
from easgw.gateway import RequestContext
from protocol.ashttp import Command
from protocol.itemoperations import (
    EmptyFolderContentsRequest,
    EmptyFolderContentsResult,
    FetchRequest,
    FetchResult,
    InvalidOperation,
    ItemOperationsRequest,
    ItemOperationsResponse,
    ItemOperationsStatus,
    MoveRequest,
    MoveResult,
    Operation,
    parse_item_operations_request,
    render_item_operations_response,
)
from providers.stores.base import NotFound

__all__ = ["SPEC", "handle"]

log = logging.getLogger(__name__)

_CALENDAR = "calendar:"
_MAIL = "mail:"
Status = ItemOperationsStatus
Result = FetchResult | EmptyFolderContentsResult | MoveResult


async def handle(ctx: RequestContext, request: ItemOperationsRequest) -> ItemOperationsResponse:
    results = [await _answer(ctx, operation) for operation in request.operations]
    return ItemOperationsResponse(
        status=Status.Success, results=tuple(results), multipart=ctx.line.accept_multipart
    )


async def _answer(ctx: RequestContext, operation: Operation) -> Result:
    if isinstance(operation, FetchRequest):
        return await _fetch(ctx, operation)
    if isinstance(operation, EmptyFolderContentsRequest):
        return await _empty_folder_contents(ctx, operation)
    if isinstance(operation, MoveRequest):
        return MoveResult(status=Status.ObjectNotFound, conversation_id=operation.conversation_id)
    return _unreadable(operation)


def _unreadable(operation: InvalidOperation) -> Result:
    log.info("ItemOperations: unreadable operation", extra={"reason": operation.reason[:200]})
    if operation.name == "Fetch":
        return FetchResult(status=Status.ProtocolError)
    if operation.name == "Move":
        return MoveResult(status=Status.ProtocolError)
    return EmptyFolderContentsResult(status=Status.ProtocolError)


def _fetch_status(fetch: FetchRequest) -> ItemOperationsStatus | None:
    """The answer for a Fetch that names no mailbox item by ServerId, else None."""
    if fetch.store.casefold() != "mailbox":
        return Status.UnknownStore
    if fetch.link_id is not None:
        return Status.ProtocolError  # a LinkId belongs to the DocumentLibrary store
    if fetch.file_reference is not None:
        return Status.InvalidAttachment
    if fetch.server_id is None:
        return Status.ObjectNotFound  # a LongId: easgw has no Search results to resolve
    return None


async def _fetch(ctx: RequestContext, fetch: FetchRequest) -> FetchResult:
    answer = FetchResult(
        status=Status.Success,
        collection_id=fetch.collection_id,
        server_id=fetch.server_id,
        long_id=fetch.long_id,
        file_reference=fetch.file_reference,
        link_id=fetch.link_id,
    )
    status = _fetch_status(fetch)
    if status is not None:
        return replace(answer, status=status)
    assert fetch.server_id is not None
    collection_id = fetch.collection_id or fetch.server_id.rpartition(":")[0]
    answer = replace(answer, collection_id=collection_id or None)
    ical = await _stored_ical(ctx, collection_id, fetch.server_id)
    if ical is None:
        return replace(answer, status=Status.ObjectNotFound)
    preference = choose_body_preference(fetch.body_preferences)
    try:
        rendering = render_stored(
            ical, version=ctx.version, body_preference=preference, owner=ctx.user.email
        )
    except ConversionError as exc:
        log.warning("Fetch: the stored item cannot be rendered", extra={"reason": str(exc)[:200]})
        return replace(answer, status=Status.ConversionFailed)
    return replace(answer, class_name="Calendar", properties=rendering.data.elements)


async def _stored_ical(ctx: RequestContext, collection_id: str, server_id: str) -> str | None:
    """The stored iCalendar object behind a calendar item's ServerId, or None."""
    if not collection_id:
        return None
    store_ref = await FolderMap(ctx.gateway.database.sessions, ctx.user.id).store_ref(collection_id)
    if store_ref is None or not store_ref.startswith(_CALENDAR):
        return None
    async with ctx.gateway.database.sessions() as session:
        item_id = await item_for_server_id(
            session, ctx.user.id, store_ref, collection_id, server_id
        )
    if item_id is None:
        return None
    calendar_id = store_ref.removeprefix(_CALENDAR)
    try:
        items = await ctx.gateway.store.get_items(ctx.store_user, calendar_id, [item_id])
    except NotFound:
        return None
    return items[0].ical if items else None


async def _empty_folder_contents(
    ctx: RequestContext, request: EmptyFolderContentsRequest
) -> EmptyFolderContentsResult:
    folders = FolderMap(ctx.gateway.database.sessions, ctx.user.id)
    store_ref = await folders.store_ref(request.collection_id)
    if store_ref is None:
        status = Status.ObjectNotFound
    elif store_ref.startswith(_MAIL):
        status = Status.Success  # a mail folder here is always empty
    else:
        status = Status.ActionNotSupported
    return EmptyFolderContentsResult(status=status, collection_id=request.collection_id)


SPEC = CommandSpec(
    command=Command.ItemOperations,
    parse=parse_item_operations_request,
    handle=handle,
    render=render_item_operations_response,
    status_root="{ItemOperations:}ItemOperations",
    status_tag="{ItemOperations:}Status",
)
