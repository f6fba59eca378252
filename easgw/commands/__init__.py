"""The EAS commands: one module each, registered in one typed table.

Each command module exports ``SPEC``: how to parse its request (a
``protocol`` function from the decoded tree to a typed model), the handler
``async def handle(ctx, request) -> response``, and how to render the
response model back to a tree. Handlers never see bytes or trees.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from protocol.ashttp import Command
from protocol.multipart import MultipartBody

__all__ = ["CommandSpec", "registry"]

#: Gets the decoded tree (``etree._Element``), or None for an empty body; the raw
#: bytes below ``raw_body_before`` (hence ``Any``: each parse takes what its spec reads).
Parse = Callable[[Any, str], Any]
Handle = Callable[[Any, Any], Awaitable[Any]]
#: A tree (encoded as WBXML), a multipart body (ItemOperations, MS-ASCMD 2.2.1.10.1),
#: or None: an HTTP 200 with an empty body (SendMail's success, MS-ASCMD 2.2.3.177.14).
Render = Callable[[Any, str], etree._Element | MultipartBody | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandSpec:
    """How one command is served.

    ``parse(tree_or_None, protocol_version)`` and ``render(response,
    protocol_version)`` come from ``protocol``; ``handle(ctx, request)`` is the
    command's logic. ``status_root`` is the response's root tag (Clark
    notation) and ``status_tag`` its top-level Status tag, used for a
    status-only answer (common statuses such as 129, 142, 144).

    ``raw_body_before``: below this protocol version the body is not WBXML and
    ``parse`` gets it as bytes (12.x SendMail, SmartReply, SmartForward: the MIME
    message itself, MS-ASCMD 2.2.1.17); the command then has no Status element,
    so an ``EasStatusError`` becomes an HTTP error status.
    """

    command: Command
    parse: Parse
    handle: Handle
    render: Render
    status_root: str
    status_tag: str
    min_version: str = "12.0"
    needs_body: bool = True
    before_provisioning: bool = False
    raw_body_before: str | None = None


def registry() -> dict[Command, CommandSpec]:
    """Every implemented command, by command."""
    from easgw.commands import (
        foldersync,
        getitemestimate,
        itemoperations,
        meetingresponse,
        moveitems,
        ping,
        provision,
        resolverecipients,
        search,
        sendmail,
        settings,
        sync,
    )

    specs: list[CommandSpec] = [
        provision.SPEC,
        settings.SPEC,
        *foldersync.SPECS,
        sync.SPEC,
        getitemestimate.SPEC,
        itemoperations.SPEC,
        moveitems.SPEC,
        meetingresponse.SPEC,
        ping.SPEC,
        *sendmail.SPECS,
        search.SPEC,
        resolverecipients.SPEC,
    ]
    return {spec.command: spec for spec in specs}
