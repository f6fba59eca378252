"""The Sync command's request and response (MS-ASCMD 2.2.1.21; statuses 2.2.3.177.17).

The models live in :mod:`protocol.sync_models` and are re-exported here; this
module is their WBXML codec and the import path for both.

Server side: :func:`parse_sync_request` (tree or None -> :class:`SyncRequest`)
and :func:`render_sync_response` (:class:`SyncResponse` -> tree). Elements live
in the AirSync code page, BodyPreference in AirSyncBase.

ApplicationData stays opaque here (:class:`ApplicationData`: the element's
children): its schema depends on the collection's class (calendar, contacts,
mail), which only the server's folder map knows, so the Sync engine hands it
to the class's own model (``protocol.calendar.model.parse_calendar`` /
``render_calendar``).

A collection answer that must be replayed byte for byte (the phone lost it and
retries with the previous SyncKey) travels as :class:`EncodedCollection`: the
engine stores :func:`encode_collection` of the answer it sends, and on a retry
hands the bytes back; the codec's ``encode(decode(b)) == b`` guarantee makes
the replayed Collection identical.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from lxml import etree

from protocol import wbxml
from protocol.status import EasStatusError
from protocol.sync_models import (
    AIRSYNC,
    AIRSYNCBASE,
    MAX_ID_LENGTH,
    AddResponse,
    ApplicationData,
    BodyPreference,
    ClientAdd,
    ClientChange,
    ClientCommand,
    ClientDelete,
    ClientFetch,
    CollectionRequest,
    CollectionResponse,
    EncodedCollection,
    FetchResponse,
    ItemResponse,
    ServerCommand,
    SyncOptions,
    SyncRequest,
    SyncResponse,
    SyncStatus,
)

__all__ = [
    "AIRSYNC",
    "AIRSYNCBASE",
    "MAX_ID_LENGTH",
    "AddResponse",
    "ApplicationData",
    "BodyPreference",
    "ClientAdd",
    "ClientChange",
    "ClientCommand",
    "ClientDelete",
    "ClientFetch",
    "CollectionRequest",
    "CollectionResponse",
    "EncodedCollection",
    "FetchResponse",
    "ItemResponse",
    "ServerCommand",
    "SyncOptions",
    "SyncRequest",
    "SyncResponse",
    "SyncStatus",
    "encode_collection",
    "parse_sync_request",
    "render_sync_response",
]


def _q(name: str, namespace: str = AIRSYNC) -> str:
    return f"{{{namespace}}}{name}"


# --- parsing --------------------------------------------------------------------------


def _local(element: etree._Element) -> tuple[str, str] | None:
    """(namespace, local name), None for comments and foreign nodes."""
    tag = str(element.tag)  # a comment's tag is a function: never "{...}"
    if not tag.startswith("{"):
        return None
    namespace, _, name = tag[1:].partition("}")
    return namespace.removesuffix(":"), name


def _malformed(message: str) -> EasStatusError:
    return EasStatusError(SyncStatus.ProtocolError, message)


def _int(element: etree._Element, low: int = 0, high: int = 2**31 - 1) -> int:
    text = (element.text or "").strip()
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise _malformed(f"{element.tag}: expected an integer, got {text[:20]!r}")
    return int(text)


def _flag(element: etree._Element) -> bool:
    """An empty element (``<GetChanges/>``) is true; else 0/1."""
    text = (element.text or "").strip()
    if text in {"", "1"}:
        return True
    if text == "0":
        return False
    raise _malformed(f"{element.tag}: expected 0 or 1, got {text[:20]!r}")


def _id(element: etree._Element) -> str:
    text = (element.text or "").strip()
    if not text or len(text) > MAX_ID_LENGTH:
        raise _malformed(f"{element.tag}: expected 1..{MAX_ID_LENGTH} characters")
    return text


def _children(element: etree._Element) -> Iterable[tuple[str, str, etree._Element]]:
    for child in element:
        named = _local(child)
        if named is not None:
            yield named[0], named[1], child


def _body_preference(element: etree._Element) -> BodyPreference:
    values: dict[str, int | bool] = {}
    for namespace, name, child in _children(element):
        if namespace != "AirSyncBase":
            continue
        if name == "Type":
            values["type"] = _int(child, 1, 4)
        elif name == "TruncationSize":
            values["truncation_size"] = _int(child, 0, 2**32 - 1)
        elif name == "AllOrNone":
            values["all_or_none"] = _flag(child)
        elif name == "Preview":
            values["preview"] = _int(child, 0, 255)
    if "type" not in values:
        raise _malformed("BodyPreference without Type")
    return BodyPreference(**values)  # type: ignore[arg-type]


_OPTION_INTS: Final = {
    "FilterType": ("filter_type", 0, 8),
    "Conflict": ("conflict", 0, 1),
    "MIMESupport": ("mime_support", 0, 2),
    "MIMETruncation": ("mime_truncation", 0, 8),
    "MaxItems": ("max_items", 0, 2**31 - 1),
}


def _options(element: etree._Element) -> SyncOptions:
    values: dict[str, object] = {}
    preferences: list[BodyPreference] = []
    for namespace, name, child in _children(element):
        if namespace == "AirSyncBase" and name == "BodyPreference":
            preferences.append(_body_preference(child))
        elif namespace == "AirSync" and name in _OPTION_INTS:
            field, low, high = _OPTION_INTS[name]
            values[field] = _int(child, low, high)
        # Class, BodyPartPreference, RightsManagementSupport: accepted, unused.
    return SyncOptions(body_preferences=tuple(preferences), **values)  # type: ignore[arg-type]


def _application_data(element: etree._Element | None) -> ApplicationData:
    if element is None:
        raise _malformed("a command without ApplicationData")
    return ApplicationData(elements=tuple(child for child in element if _local(child)))


def _command(name: str, element: etree._Element) -> ClientCommand:
    texts = {n: c for ns, n, c in _children(element) if ns in {"AirSync", "AirSyncBase"}}
    data = texts.get("ApplicationData")
    instance = texts.get("InstanceId")
    instance_id = None if instance is None else (instance.text or "").strip() or None
    if name == "Add":
        if "ClientId" not in texts:
            raise _malformed("Add without ClientId")
        return ClientAdd(client_id=_id(texts["ClientId"]), application_data=_application_data(data))
    if "ServerId" not in texts:
        raise _malformed(f"{name} without ServerId")
    server_id = _id(texts["ServerId"])
    if name == "Change":
        return ClientChange(
            server_id=server_id,
            application_data=_application_data(data),
            instance_id=instance_id,
        )
    if name == "Delete":
        return ClientDelete(server_id=server_id, instance_id=instance_id)
    return ClientFetch(server_id=server_id)


def _commands(element: etree._Element) -> tuple[ClientCommand, ...]:
    found: list[ClientCommand] = []
    for namespace, name, child in _children(element):
        if namespace != "AirSync" or name not in {"Add", "Change", "Delete", "Fetch"}:
            raise _malformed(f"unexpected {child.tag} in Commands")
        found.append(_command(name, child))
    return tuple(found)


def _collection(element: etree._Element) -> CollectionRequest:
    values: dict[str, object] = {}
    for namespace, name, child in _children(element):
        if namespace != "AirSync":
            raise _malformed(f"unexpected {child.tag} in Collection")
        if name == "SyncKey":
            values["sync_key"] = _id(child)
        elif name == "CollectionId":
            values["collection_id"] = _id(child)
        elif name == "Supported":
            values["supported"] = tuple(n for _, n, _c in _children(child))
        elif name == "DeletesAsMoves":
            values["deletes_as_moves"] = _flag(child)
        elif name == "GetChanges":
            values["get_changes"] = _flag(child)
        elif name == "WindowSize":
            values["window_size"] = _int(child, 0, 512)
        elif name == "Options":
            values.setdefault("options", _options(child))  # the first (calendar) Options
        elif name == "Commands":
            values["commands"] = _commands(child)
        # Class (12.x), ConversationMode: accepted, unused for calendars.
    if "sync_key" not in values or "collection_id" not in values:
        raise _malformed("a Collection needs SyncKey and CollectionId")
    return CollectionRequest(**values)  # type: ignore[arg-type]


def parse_sync_request(tree: etree._Element | None, version: str) -> SyncRequest:
    """A Sync request; None (no body) is the empty request. Status 4 on bad
    structure; range checks of Wait/HeartbeatInterval are the server's (Status 14)."""
    del version
    if tree is None:
        return SyncRequest()
    if tree.tag != _q("Sync"):
        raise _malformed("expected a Sync element")
    values: dict[str, object] = {}
    for namespace, name, child in _children(tree):
        if namespace != "AirSync":
            raise _malformed(f"unexpected {child.tag} in Sync")
        if name == "Collections":
            collections = [
                c for ns, n, c in _children(child) if (ns, n) == ("AirSync", "Collection")
            ]
            values["collections"] = tuple(_collection(c) for c in collections)
        elif name == "Wait":
            values["wait"] = _int(child)
        elif name == "HeartbeatInterval":
            values["heartbeat_interval"] = _int(child)
        elif name == "WindowSize":
            values["window_size"] = _int(child, 0, 512)
        elif name == "Partial":
            values["partial"] = _flag(child)
        else:
            raise _malformed(f"unexpected {name} in Sync")
    return SyncRequest(**values)  # type: ignore[arg-type]


# --- rendering ------------------------------------------------------------------------


def _leaf(parent: etree._Element, name: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, _q(name))
    element.text = text
    return element


def _data(parent: etree._Element, data: ApplicationData | None) -> None:
    if data is not None:
        parent.append(data.element())


def _render_command(parent: etree._Element, command: ServerCommand) -> None:
    element = etree.SubElement(parent, _q(command.kind))
    _leaf(element, "ServerId", command.server_id)
    if command.kind in {"Add", "Change"}:
        _data(element, command.application_data)


def _render_response(
    parent: etree._Element, response: AddResponse | ItemResponse | FetchResponse
) -> None:
    if isinstance(response, AddResponse):
        element = etree.SubElement(parent, _q("Add"))
        _leaf(element, "ClientId", response.client_id)
        if response.server_id is not None:
            _leaf(element, "ServerId", response.server_id)
        _leaf(element, "Status", str(int(response.status)))
        _data(element, response.application_data)
        return
    kind = response.kind if isinstance(response, ItemResponse) else "Fetch"
    element = etree.SubElement(parent, _q(kind))
    _leaf(element, "ServerId", response.server_id)
    _leaf(element, "Status", str(int(response.status)))
    if isinstance(response, FetchResponse):
        _data(element, response.application_data)


def _render_collection(parent: etree._Element, collection: CollectionResponse) -> None:
    element = etree.SubElement(parent, _q("Collection"))
    if collection.sync_key is not None:
        _leaf(element, "SyncKey", collection.sync_key)
    _leaf(element, "CollectionId", collection.collection_id)
    _leaf(element, "Status", str(int(collection.status)))
    if collection.more_available:
        etree.SubElement(element, _q("MoreAvailable"))
    if collection.commands:
        commands = etree.SubElement(element, _q("Commands"))
        for command in collection.commands:
            _render_command(commands, command)
    if collection.responses:
        responses = etree.SubElement(element, _q("Responses"))
        for response in collection.responses:
            _render_response(responses, response)


def _root() -> etree._Element:
    return etree.Element(_q("Sync"), nsmap={"AirSync": AIRSYNC})


def render_sync_response(response: SyncResponse, version: str) -> etree._Element:
    """The Sync answer: ``Status`` (+ ``Limit``) alone, or ``Collections``."""
    del version
    root = _root()
    if response.status is not None:
        _leaf(root, "Status", str(int(response.status)))
        if response.limit is not None:
            _leaf(root, "Limit", str(response.limit))
        return root
    collections = etree.SubElement(root, _q("Collections"))
    for collection in response.collections:
        if isinstance(collection, EncodedCollection):
            replayed = wbxml.decode(collection.wbxml).find(
                f"{_q('Collections')}/{_q('Collection')}"
            )
            if replayed is not None:
                collections.append(replayed)
        else:
            _render_collection(collections, collection)
    return root


def encode_collection(collection: CollectionResponse) -> bytes:
    """The collection's answer as WBXML (a one-collection Sync), kept for a replay."""
    root = _root()
    _render_collection(etree.SubElement(root, _q("Collections")), collection)
    return wbxml.encode(root)
