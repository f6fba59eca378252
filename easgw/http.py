"""The EAS HTTP boundary (MS-ASHTTP): OPTIONS and POST.

One function maps both outcome channels (STYLE.md 4): HTTP-level answers
(400, 401, 403, 413, 429, 449, 503 + Retry-After) and EAS ``<Status>``
answers in an HTTP 200. Nothing here lets a traceback reach the client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import partial

from aiohttp import web
from lxml import etree
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from easgw.auth import login_candidates, parse_basic
from easgw.commands import CommandSpec
from easgw.config import Config
from easgw.devices import (
    DeviceLimitReached,
    Devices,
    SeenAs,
    find_device,
    registration_changes,
)
from easgw.gateway import Gateway, RequestContext
from easgw.state.models import Device, DeviceStatus, User, utcnow
from easgw.users import check_password, find_user
from protocol import wbxml
from protocol.ashttp import Command, EasRequestLine, RequestLineError, parse_request_line
from protocol.multipart import CONTENT_TYPE as MULTIPART_TYPE
from protocol.multipart import MultipartBody
from protocol.status import CommonStatus, EasStatusError
from providers.stores.base import (
    AuthenticationFailed,
    StoreError,
    StoreUnavailable,
    StoreUser,
    SupportsLogin,
    SupportsPrincipalEmail,
)

__all__ = ["eas_options", "eas_post", "offered_versions"]

log = logging.getLogger(__name__)

WBXML_TYPE = "application/vnd.ms-sync.wbxml"
SERVER_VERSION = "14.3"
REALM = "easgw"
_ACCEPTED_TYPES = {WBXML_TYPE, "application/vnd.ms-sync", "application/octet-stream", ""}


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def offered_versions(config: Config, device_type: str, user_agent: str) -> list[str]:
    """``protocol.versions`` capped by the first matching ``protocol.max_version``."""
    subject = f"{device_type} {user_agent}"
    cap = next(
        (c.version for c in config.protocol.max_version if re.search(c.match, subject, re.I)),
        None,
    )
    versions = sorted(config.protocol.versions, key=_version_tuple)
    if cap is None:
        return versions
    return [v for v in versions if _version_tuple(v) <= _version_tuple(cap)]


def _text_response(status: int, text: str, **headers: str) -> web.Response:
    response = web.Response(status=status, text=text + "\n", content_type="text/plain")
    response.headers.update(headers)
    response.headers["MS-Server-ActiveSync"] = SERVER_VERSION
    return response


def _unauthorized(text: str = "authentication required") -> web.Response:
    return _text_response(401, text, **{"WWW-Authenticate": f'Basic realm="{REALM}"'})


def _wbxml_response(root: etree._Element) -> web.Response:
    response = web.Response(status=200, body=wbxml.encode(root), content_type=WBXML_TYPE)
    response.headers["MS-Server-ActiveSync"] = SERVER_VERSION
    return response


def _multipart_response(body: MultipartBody) -> web.Response:
    """A multipart answer (MS-ASCMD 2.2.1.10.1): the WBXML first, then its parts."""
    response = web.Response(status=200, body=body.encode(), content_type=MULTIPART_TYPE)
    response.headers["MS-Server-ActiveSync"] = SERVER_VERSION
    return response


def status_answer(spec: CommandSpec, status: int) -> web.Response:
    """A status-only answer: the command's root element with a Status child."""
    root = etree.Element(spec.status_root)
    etree.SubElement(root, spec.status_tag).text = str(status)
    return _wbxml_response(root)


def _client_address(request: web.Request) -> str:
    return request.get(CLIENT_ADDRESS) or request.remote or "unknown"


async def authenticate(request: web.Request, gateway: Gateway) -> tuple[User, str] | web.Response:
    """The authenticated user and password, or the answer to send instead."""
    header = request.headers.get("Authorization")
    credentials = parse_basic(header)
    if credentials is None or header is None:
        return _unauthorized()
    login, email = login_candidates(credentials.login)
    keys = (f"login:{login}", f"addr:{_client_address(request)}")
    wait = gateway.throttle.retry_after(*keys)
    if wait is not None:
        log.warning("login throttled", extra={"login": login, "client": keys[1]})
        return _text_response(429, "too many failed logins", **{"Retry-After": str(wait)})
    try:
        user = await gateway.database.reader.run(partial(find_user, login=login, email=email))
    except SQLAlchemyError:
        log.warning("login not verifiable: the gateway's database is unavailable")
        return _text_response(503, "the gateway's database is unavailable", **{"Retry-After": "30"})
    cached = gateway.credentials.get(header)
    if user is not None and cached == (user.id, user.password_epoch):
        return user, credentials.password
    try:
        verified = user is not None and await _verify_password(gateway, user, credentials.password)
    except StoreError as exc:  # the store cannot check the login now: not a failed login
        log.warning("login not verifiable", extra={"kind": type(exc).__name__})
        retry = getattr(exc, "retry_after", None) or 30
        return _text_response(
            503, "the calendar store is unavailable", **{"Retry-After": str(int(retry))}
        )
    if user is not None and verified:
        user = await _adopt_principal_email(gateway, user, credentials.password)
        gateway.credentials.put(header, user.id, user.password_epoch)
        gateway.throttle.succeeded(keys[0])
        return user, credentials.password
    gateway.throttle.failed(*keys)
    log.warning("failed login", extra={"login": login, "client": keys[1]})
    return _unauthorized("invalid credentials")


async def _adopt_principal_email(gateway: Gateway, user: User, password: str) -> User:
    """CONTRACTS.md section 4: with a store that knows the user's address (the
    CalDAV principal's calendar-user-address-set), that address is the user's
    e-mail, ahead of the recorded profile; the profile follows it. Asked once
    per verified login (then cached for auth.cache_seconds)."""
    store = gateway.store
    if not isinstance(store, SupportsPrincipalEmail):
        return user
    try:
        address = await store.principal_email(
            StoreUser(login=user.login, email=user.email, password=password)
        )
    except StoreError:
        return user  # the recorded profile will do until the next login
    if not address or address.lower() == user.email.lower():
        return user
    async with gateway.database.sessions.begin() as session:
        await session.execute(update(User).where(User.id == user.id).values(email=address))
    log.info("e-mail address taken from the store's principal")
    user.email = address  # (a detached row: this request's copy)
    return user


async def _verify_password(gateway: Gateway, user: User, password: str) -> bool:
    """A store that authenticates users itself (CalDAV) verifies the login;
    else the embedded profile's password hash does. StoreError when the store
    cannot say now."""
    store = gateway.store
    if isinstance(store, SupportsLogin):
        return await store.verify_login(
            StoreUser(
                login=user.login,
                email=user.email,
                display_name=user.display_name,
                password=password,
            )
        )
    return await check_password(user, password)


def user_matches(user: User, name: str, default_domain: str | None) -> bool:
    """Does the query's ``User`` name the authenticated user? Login,
    ``DOMAIN\\login`` or the e-mail address, case-insensitively."""
    if not name:
        return True  # the base64 form may leave User out
    login, email = login_candidates(name)
    if email is not None:
        return email == user.email.lower() or (
            default_domain is not None and email == f"{user.login}@{default_domain}".lower()
        )
    return login == user.login


async def eas_options(request: web.Request, gateway: Gateway) -> web.Response:
    """OPTIONS: the versions and commands offered to this client."""
    authenticated = await authenticate(request, gateway)
    if isinstance(authenticated, web.Response):
        return authenticated
    device_type = request.query.get("DeviceType", "")
    versions = offered_versions(gateway.config, device_type, request.headers.get("User-Agent", ""))
    response = web.Response(status=200)
    response.headers.update(
        {
            "Allow": "OPTIONS,POST",
            "Public": "OPTIONS,POST",
            "MS-Server-ActiveSync": SERVER_VERSION,
            "MS-ASProtocolVersions": ",".join(versions),
            "MS-ASProtocolCommands": ",".join(c.name for c in _offered_commands(request)),
        }
    )
    return response


def _offered_commands(request: web.Request) -> Sequence[Command]:
    specs: dict[Command, CommandSpec] = request.app[REGISTRY]
    return [command for command in Command if command in specs]


#: The request's EAS command name, once its request line is read.
COMMAND_NAME: web.RequestKey[str] = web.RequestKey("command_name", str)


async def eas_post(request: web.Request, gateway: Gateway) -> web.Response:
    """POST: one EAS command, from request line to encoded answer."""
    try:
        line = parse_request_line(request.rel_url.raw_query_string, request.headers)
    except RequestLineError as exc:
        return _text_response(400, f"bad request line: {exc}")
    request[COMMAND_NAME] = line.command.name  # for the metrics (easgw/metrics.py)
    specs: dict[Command, CommandSpec] = request.app[REGISTRY]
    spec = specs.get(line.command)
    if spec is None:
        return _text_response(501, f"command {line.command.name} is not implemented yet")
    authenticated = await authenticate(request, gateway)
    if isinstance(authenticated, web.Response):
        return authenticated
    user, password = authenticated
    if not user_matches(user, line.user, gateway.config.auth.default_domain):
        log.warning("User parameter does not name the authenticated user")
        return _text_response(403, "the User parameter does not match the credentials")
    user_agent = request.headers.get("User-Agent", "")
    version = line.protocol_version
    offered = offered_versions(gateway.config, line.device_type, user_agent)
    if version is None or version not in offered:
        return _text_response(400, f"protocol version {version!r} is not offered: {offered}")
    body = await _read_body(request, spec, version)
    if isinstance(body, web.Response):
        return body
    seen = SeenAs(
        device_id=line.device_id,
        device_type=line.device_type,
        user_agent=user_agent,
        protocol_version=version,
    )
    try:
        device = await _register(gateway, user, seen)
    except DeviceLimitReached:
        return _refuse(spec, version, CommonStatus.MaximumDevicesReached, 403)
    except SQLAlchemyError:  # e.g. SQLite still locked after its busy timeout
        log.warning("device registration failed: database busy or unavailable")
        return _text_response(503, "the gateway's database is busy", **{"Retry-After": "5"})
    refusal = _gatekeep(gateway, spec, line, device, version)
    if refusal is not None:
        return refusal
    ctx = RequestContext(
        gateway=gateway,
        user=user,
        device=device,
        line=line,
        version=version,
        user_agent=user_agent,
        password=password,
        language=_language(request.headers.get("Accept-Language", "")),
    )
    return await _run(ctx, spec, body)


def _raw_form(spec: CommandSpec, version: str) -> bool:
    """Is the body not WBXML at this version (12.x SendMail & co: the MIME message)?"""
    before = spec.raw_body_before
    return before is not None and _version_tuple(version) < _version_tuple(before)


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8}){0,3}")


def _language(header: str) -> str | None:
    """The first language tag of an Accept-Language header (RFC 9110 12.5.4;
    phones send one or two, their UI language first), None for ``*`` or junk."""
    first = header.split(",", 1)[0].split(";", 1)[0].strip()
    return first.lower() if _LANGUAGE_TAG.fullmatch(first) else None


async def _read_body(
    request: web.Request, spec: CommandSpec, version: str
) -> etree._Element | bytes | web.Response | None:
    limit = request.app[CONFIG_KEY].server.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _text_response(413, f"body larger than {limit} bytes")
    data = await request.read()  # aiohttp enforces client_max_size as it reads
    if not data:
        return None
    content_type = request.content_type.lower() if request.content_type else ""
    if _raw_form(spec, version):
        return data
    if content_type not in _ACCEPTED_TYPES and not data.startswith(b"\x03\x01"):
        return _text_response(400, f"expected {WBXML_TYPE}, got {content_type}")
    try:
        return wbxml.decode(data, max_bytes=limit)
    except wbxml.WbxmlError as exc:
        log.info("malformed WBXML", extra={"reason": str(exc)})
        if _version_tuple(version) >= (14, 0):
            return status_answer(spec, CommonStatus.InvalidWBXML)
        return _text_response(400, str(exc))


async def _register(gateway: Gateway, user: User, seen: SeenAs) -> Device:
    """The request's device, registered; a concurrent first contact of the same
    device (a unique-key race) is retried once and then finds the winner's row.
    The common case, a known device with nothing new to record, is one read."""
    known = await gateway.database.reader.run(
        partial(find_device, user_id=user.id, device_id=seen.device_id)
    )
    if known is not None:
        now = utcnow()
        changes = registration_changes(known, seen, now)
        if not changes:
            return known
        if set(changes) == {"last_seen"}:
            gateway.last_seen.note(known.id, now)  # written within a second
            return known
    for attempt in range(2):
        try:
            async with gateway.database.sessions.begin() as session:
                device = await Devices(session).register(
                    user,
                    seen,
                    approval=gateway.config.devices.approval,
                    max_per_user=gateway.config.devices.max_per_user,
                )
                session.expunge(device)
                return device
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _refuse(spec: CommandSpec, version: str, status: int, http_status: int) -> web.Response:
    """A common status for 14.0+, an HTTP status before (MS-ASCMD 2.2.2)."""
    if _version_tuple(version) >= (14, 0):
        return status_answer(spec, status)
    return _text_response(http_status, CommonStatus(status).name)


def _gatekeep(
    gateway: Gateway, spec: CommandSpec, line: EasRequestLine, device: Device, version: str
) -> web.Response | None:
    """Device standing and policy key, before any data is touched (MS-ASPROV 3.2.5.1)."""
    config = gateway.config
    status = DeviceStatus(device.status)
    if status in (DeviceStatus.BLOCKED, DeviceStatus.QUARANTINED, DeviceStatus.WIPED):
        return _refuse(spec, version, CommonStatus.DeviceIsBlockedForThisUser, 403)
    if spec.command is Command.Provision or spec.before_provisioning:
        return None
    if status is DeviceStatus.WIPE_PENDING:
        return _refuse(spec, version, CommonStatus.RemoteWipeRequested, 449)
    if not config.policy.required:
        return None
    if not line.policy_key or device.policy_key is None:
        return _refuse(spec, version, CommonStatus.DeviceNotProvisioned, 449)
    if line.policy_key != device.policy_key:
        return _refuse(spec, version, CommonStatus.InvalidPolicyKey, 449)
    if device.policy_hash != gateway.policy_fingerprint:
        # The policy changed since the device acknowledged it (or it was provisioned
        # before easgw recorded which): provision again (MS-ASCMD 2.2.2 Status 143).
        return _refuse(spec, version, CommonStatus.PolicyRefresh, 449)
    return None


def _empty_response() -> web.Response:
    """HTTP 200 without a body (SendMail's success, MS-ASCMD 2.2.3.177.14)."""
    response = web.Response(status=200)
    response.headers["MS-Server-ActiveSync"] = SERVER_VERSION
    return response


#: Statuses at and above ServerError that the message itself causes (MS-ASCMD 2.2.2):
#: the phone sent something that cannot go (a 400), not a fault of the server (a 500).
_MESSAGE_FAULTS = frozenset({
    CommonStatus.MessageRecipientUnresolved,
    CommonStatus.MessageReplyNotAllowed,
    CommonStatus.MessagePreviouslySent,
    CommonStatus.MessageHasNoRecipient,
    CommonStatus.AttachmentIsTooLarge,
})  # fmt: skip


def _legacy_status(status: int, http_status: int | None = None) -> web.Response:
    """A command without a Status element at this version (12.x SendMail): its
    status as an HTTP error, 400 for a request the server cannot read, else 500
    (or the status the command chose: 503 + Retry-After for "not now")."""
    if http_status == 503:
        return _text_response(503, CommonStatus(status).name, **{"Retry-After": "300"})
    if http_status is None:
        client_side = status < CommonStatus.ServerError or status in _MESSAGE_FAULTS
        http_status = 400 if client_side else 500
    try:
        name = CommonStatus(status).name
    except ValueError:
        name = f"status {status}"
    return _text_response(http_status, name)


async def _run(
    ctx: RequestContext, spec: CommandSpec, body: etree._Element | bytes | None
) -> web.Response:
    try:
        request_model = spec.parse(body, ctx.version)
        response_model = await spec.handle(ctx, request_model)
        rendered = spec.render(response_model, ctx.version)
        if rendered is None:
            return _empty_response()
        if isinstance(rendered, MultipartBody):
            return _multipart_response(rendered)
        return _wbxml_response(rendered)
    except EasStatusError as exc:
        log.info("command ended with a status", extra={"status": exc.status})
        if _raw_form(spec, ctx.version):
            return _legacy_status(exc.status, exc.http_status)
        return status_answer(spec, exc.status)
    except StoreUnavailable as exc:
        retry = str(int(exc.retry_after or 30))
        log.warning("store unavailable", extra={"reason": str(exc)})
        return _text_response(503, "the calendar store is unavailable", **{"Retry-After": retry})
    except AuthenticationFailed:
        log.warning("the store refused the user's credentials")
        return _unauthorized("the calendar store refused the credentials")
    except StoreError as exc:
        # A store error the command did not turn into its own status: the
        # request cannot be completed now; nothing was committed.
        log.warning("store error", extra={"kind": type(exc).__name__})
        return _text_response(503, "the calendar store failed", **{"Retry-After": "30"})
    except SQLAlchemyError:
        log.exception("database error")
        return _text_response(503, "the gateway's database is unavailable", **{"Retry-After": "30"})


CONFIG_KEY: web.AppKey[Config] = web.AppKey("config", Config)
#: Set by the proxy middleware: the client's address and the scheme it used,
#: believing X-Forwarded-* only from server.trusted_proxies.
CLIENT_ADDRESS: web.RequestKey[str] = web.RequestKey("client_address", str)
SCHEME: web.RequestKey[str] = web.RequestKey("scheme", str)
REGISTRY: web.AppKey[dict[Command, CommandSpec]] = web.AppKey("registry", dict)
