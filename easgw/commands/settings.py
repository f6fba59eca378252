"""settings (placeholder; replaced by the full implementation)."""

from __future__ import annotations

from typing import Any

from easgw.commands import CommandSpec
from protocol.ashttp import Command


async def _handle(ctx: Any, request: Any) -> Any:
    raise NotImplementedError


SPEC = CommandSpec(
    command=Command.Settings,
    parse=lambda tree, version: tree,
    handle=_handle,
    render=lambda response, version: response,
    status_root="{Settings:}Settings",
    status_tag="{Settings:}Status",
)
