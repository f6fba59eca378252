"""Autodiscover: ``/autodiscover/autodiscover.xml`` (any case), MS-ASCMD 2.2.1.1.

POST with Basic auth (as for EAS) and the mobilesync request: the answer
names the EAS endpoint ``<public_url>/Microsoft-Server-ActiveSync``, where
``public_url`` is ``server.public_url`` or, unset, the scheme (as the proxy
middleware established it, honouring ``server.trusted_proxies``) and the
request's Host header. Any other AcceptableResponseSchema (Outlook's
``.../outlook/responseschema/2006a``) gets ErrorCode 601, "provider not found"
(MS-ASCMD 2.2.3.64); malformed XML or a request missing its elements gets
ErrorCode 600, "Invalid Request". Both are HTTP 200 with the XML error, as
Exchange answers; a GET (browsers, probes) gets the 600 answer after auth.
Nothing here answers 500.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from easgw.gateway import Gateway
from easgw.http import SCHEME, authenticate
from easgw.state.models import User
from protocol import autodiscover
from protocol.autodiscover import (
    AutodiscoverError,
    AutodiscoverRequestError,
    ErrorCode,
    MobileSyncResponse,
    Server,
)

__all__ = ["EAS_PATH", "handle", "public_url"]

log = logging.getLogger(__name__)

EAS_PATH = "/Microsoft-Server-ActiveSync"
XML_TYPE = "text/xml"
_MESSAGES = {
    ErrorCode.InvalidRequest: "Invalid Request",
    ErrorCode.ProviderNotFound: "Provider could not be found for the requested response schema",
}


def public_url(request: web.Request, gateway: Gateway) -> str:
    """The gateway's base URL as clients must reach it (no trailing slash)."""
    configured = gateway.config.server.public_url
    if configured:
        return configured.rstrip("/")
    scheme = request.get(SCHEME) or request.scheme
    return f"{scheme}://{request.host}"


def _xml(body: bytes) -> web.Response:
    return web.Response(status=200, body=body, content_type=XML_TYPE, charset="utf-8")


def _error(code: ErrorCode) -> web.Response:
    now = datetime.now(UTC)
    error = AutodiscoverError(
        error_code=code,
        message=_MESSAGES[code],
        # MS-ASCMD 2.2.3.63: HH:MM:SS with seven fractional digits.
        time=now.strftime("%H:%M:%S.") + f"{now.microsecond:06d}0",
    )
    return _xml(autodiscover.encode_xml(autodiscover.render_error(error)))


def _answer(request: web.Request, gateway: Gateway, user: User) -> web.Response:
    url = public_url(request, gateway) + EAS_PATH
    response = MobileSyncResponse(
        display_name=user.display_name or user.login,
        email_address=user.email,
        servers=(Server(url=url, name=url),),
    )
    return _xml(autodiscover.encode_xml(autodiscover.render_response(response)))


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than ``limit`` (read no further)."""
    if (request.content_length or 0) > limit:
        return None
    data = bytearray()
    while len(data) <= limit:
        chunk = await request.content.read(limit + 1 - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data) if len(data) <= limit else None


async def handle(request: web.Request, gateway: Gateway) -> web.Response:
    """POST: the mobilesync answer or an ErrorCode; GET: 600 once authenticated."""
    if request.method not in ("POST", "GET"):
        raise web.HTTPMethodNotAllowed(request.method, ["POST", "GET"])
    authenticated = await authenticate(request, gateway)
    if isinstance(authenticated, web.Response):
        return authenticated
    user, _ = authenticated
    if request.method == "GET":
        return _error(ErrorCode.InvalidRequest)
    body = await _read_limited(request, autodiscover.MAX_REQUEST_BYTES)
    if body is None:
        log.info("autodiscover request too large")
        return _error(ErrorCode.InvalidRequest)
    try:
        parsed = autodiscover.parse_request(autodiscover.decode_xml(body))
    except AutodiscoverRequestError as exc:
        log.info("autodiscover request refused", extra={"reason": str(exc)[:200]})
        return _error(exc.error_code)
    if not parsed.wants_mobilesync:
        log.info(
            "autodiscover schema not supported",
            extra={"schema": parsed.acceptable_response_schema[:200]},
        )
        return _error(ErrorCode.ProviderNotFound)
    if parsed.email_address.lower() != user.email.lower():
        log.info("autodiscover for another address answered for the authenticated user")
    return _answer(request, gateway, user)
