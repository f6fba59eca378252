"""Autodiscover (placeholder; replaced by the full implementation)."""

from __future__ import annotations

from aiohttp import web

from easgw.gateway import Gateway


async def handle(request: web.Request, gateway: Gateway) -> web.Response:
    del request, gateway
    raise web.HTTPNotImplemented
