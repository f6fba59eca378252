"""FolderSync (placeholder; replaced by the full implementation)."""

from __future__ import annotations

from typing import Any

from easgw.commands import CommandSpec
from protocol.ashttp import Command


async def _handle(ctx: Any, request: Any) -> Any:
    raise NotImplementedError


SPECS = [
    CommandSpec(
        command=Command.FolderSync,
        parse=lambda tree, version: tree,
        handle=_handle,
        render=lambda response, version: response,
        status_root="{FolderHierarchy:}FolderSync",
        status_tag="{FolderHierarchy:}Status",
    )
]
