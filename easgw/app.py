"""The aiohttp application: ``create_app(config) -> web.Application``.

Routes (paths matched case-insensitively, as phones and proxies vary):
``/Microsoft-Server-ActiveSync`` (OPTIONS, POST), ``/autodiscover/autodiscover.xml``
(POST, GET), ``/healthz`` (GET), ``/metrics`` (GET, easgw/metrics.py). Resources
open and close in ``cleanup_ctx``; there are no module globals.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from easgw import autodiscover, conference_redirect
from easgw.commands import registry
from easgw.config import Config
from easgw.devices import flush_last_seen
from easgw.gateway import Gateway
from easgw.http import (
    CLIENT_ADDRESS,
    COMMAND_NAME,
    CONFIG_KEY,
    REGISTRY,
    SCHEME,
    eas_options,
    eas_post,
)
from easgw.mail.outbox import Outbox, RetryLoop
from easgw.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from easgw.push.pg_bridge import PgBridge, is_postgresql

__all__ = ["GATEWAY", "MAIL_RETRY", "create_app"]

log = logging.getLogger(__name__)

GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway", Gateway)
#: The outbox's retry task; tests wake it instead of waiting for its interval.
MAIL_RETRY: web.AppKey[RetryLoop] = web.AppKey("mail_retry", RetryLoop)

EAS_PATH = "/microsoft-server-activesync"
AUTODISCOVER_PATHS = {"/autodiscover/autodiscover.xml"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def _trusted(config: Config) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in config.server.trusted_proxies]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Last line: HTTP errors as plain text, anything unexpected as a bare 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.text is None:
            exc.text = f"{exc.status} {exc.reason}\n"
        raise
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return web.Response(status=500, text="internal server error\n")


def _proxy_middleware(config: Config) -> Middleware:
    networks = _trusted(config)

    @web.middleware
    async def proxies(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Believe X-Forwarded-For/-Proto only from ``server.trusted_proxies``."""
        remote = request.remote or ""
        scheme = request.scheme
        try:
            trusted = any(ipaddress.ip_address(remote) in net for net in networks)
        except ValueError:
            trusted = False
        if trusted:
            forwarded = request.headers.get("X-Forwarded-For", "")
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            if hops:
                remote = hops[-1]
            scheme = request.headers.get("X-Forwarded-Proto", scheme).split(",")[0].strip()
        request[CLIENT_ADDRESS] = remote
        request[SCHEME] = scheme
        return await handler(request)

    return proxies


async def _mail_retry_ctx(app: web.Application) -> AsyncIterator[None]:
    """The outbox's retry task (easgw/mail/outbox.py): queued mail is relayed
    once the relay takes it again."""
    gateway = app[GATEWAY]
    retry = RetryLoop(Outbox(gateway.database, gateway.config.smtp))
    app[MAIL_RETRY] = retry
    gateway.wake_outbox = retry.wake
    retry.start()
    yield
    await retry.stop()


async def _bridge_ctx(app: web.Application) -> AsyncIterator[None]:
    """On PostgreSQL, LISTEN/NOTIFY carries store changes between the gateway
    processes sharing the database (easgw/push/pg_bridge.py; DESIGN.md, Scale)."""
    gateway = app[GATEWAY]
    if not is_postgresql(gateway.config.database_url):
        yield
        return
    bridge = PgBridge(gateway.config.database_url, gateway.hub)
    await bridge.start()
    gateway.bridge = bridge
    yield
    gateway.bridge = None
    await bridge.close()


async def _last_seen_ctx(app: web.Application) -> AsyncIterator[None]:
    """Write the devices' last-seen times once a second (easgw/devices.py)."""
    gateway = app[GATEWAY]

    async def flush_every_second() -> None:
        while True:
            await asyncio.sleep(1)
            try:
                await flush_last_seen(gateway.database.sessions, gateway.last_seen)
            except SQLAlchemyError:
                log.warning("last-seen times not written; retried in a second")

    task = asyncio.create_task(flush_every_second())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _dispatch(request: web.Request) -> web.StreamResponse:
    path = request.path.rstrip("/").lower()
    gateway = request.app[GATEWAY]
    if path == EAS_PATH:
        if request.method == "OPTIONS":
            return await eas_options(request, gateway)
        if request.method == "POST":
            answer = await eas_post(request, gateway)
            gateway.metrics.answered(request.get(COMMAND_NAME), answer.status)
            return answer
        raise web.HTTPMethodNotAllowed(request.method, ["OPTIONS", "POST"])
    if path in AUTODISCOVER_PATHS:
        return await autodiscover.handle(request, gateway)
    if path.startswith(conference_redirect.PREFIX):
        return await conference_redirect.handle(request, gateway)
    if request.method not in ("GET", "HEAD"):
        raise web.HTTPNotFound
    if path == "/healthz":
        return web.json_response({"status": "ok"})
    if path == "/metrics":
        body = await gateway.metrics.render()
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})
    raise web.HTTPNotFound


def create_app(config: Config) -> web.Application:
    """The gateway as an aiohttp application."""
    middlewares = [_errors, _proxy_middleware(config)]
    if config.record.dir:  # `easgw serve --record DIR` (CONTRACTS.md section 2)
        from easgw.recording import Recorder

        middlewares.append(Recorder(config, lambda request: request.app[GATEWAY]).middleware)
    app = web.Application(
        client_max_size=config.server.max_body_bytes,
        middlewares=middlewares,  # type: ignore[arg-type]
    )
    app[CONFIG_KEY] = config
    app[REGISTRY] = registry()

    async def gateway_ctx(app: web.Application) -> AsyncIterator[None]:
        gateway = Gateway(config)
        await gateway.open()
        app[GATEWAY] = gateway
        yield
        await gateway.close()

    app.cleanup_ctx.append(gateway_ctx)
    app.cleanup_ctx.append(_mail_retry_ctx)
    app.cleanup_ctx.append(_bridge_ctx)
    app.cleanup_ctx.append(_last_seen_ctx)

    async def end_held_requests(app: web.Application) -> None:
        """Shutdown: held Pings and Sync Waits answer now (Ping Status 1), so the
        server's graceful stop does not wait out their heartbeats."""
        if GATEWAY in app:
            app[GATEWAY].hub.close()

    app.on_shutdown.append(end_held_requests)

    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app
