"""Settings (MS-ASCMD 2.2.1.18): device information, the user's addresses, OOF.

Every property of the request is answered in request order with its own
Status (2.2.3.177.15):

- DeviceInformation Set: stored on the device row; Status 1.
- UserInformation Get: the user's e-mail address (12.x/14.0 as
  EmailAddresses/SMTPAddress, 14.1+ as Accounts/Account with UserDisplayName
  and PrimarySmtpAddress; the rendering picks the form by version).
- Oof Get: OofState 0 (disabled) with one disabled OofMessage per audience, as
  2.2.3.122 asks ("there is one OofMessage node per audience"). The gateway
  keeps no mailbox, so there is no OOF to report.
- Oof Set: Status 3 (access denied): 2.2.3.122 names Access Denied as the
  answer to setting OOF properties the user may not set.
- DevicePassword Set: Status 1; the recovery password is not stored (the
  gateway has no mailbox to keep it in, and it is a secret).
- RightsManagementInformation Get (14.1+): Status 1 with no templates.
- A property with a missing or wrong operation: Status 2 (protocol error).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update

from easgw.commands import CommandSpec
from easgw.gateway import RequestContext
from easgw.state.models import Device
from protocol.ashttp import Command
from protocol.settings import (
    DeviceInformation,
    DeviceInformationSet,
    DevicePasswordSet,
    InvalidProperty,
    OofAudience,
    OofGet,
    OofMessage,
    OofSet,
    OofSettings,
    OofState,
    PropertyResult,
    RightsManagementInformationGet,
    SettingsProperty,
    SettingsRequest,
    SettingsResponse,
    SettingsStatus,
    UserAccount,
    UserInformationGet,
    parse_settings_request,
    render_settings_response,
)

__all__ = ["SPEC", "device_columns", "handle", "save_device"]

log = logging.getLogger(__name__)

#: DeviceInformation fields stored on the device row (EnableOutboundSMS is not kept).
_STORED = (
    "model",
    "imei",
    "friendly_name",
    "os",
    "os_language",
    "phone_number",
    "user_agent",
    "mobile_operator",
)


def device_columns(info: DeviceInformation) -> dict[str, Any]:
    """The device-row columns the sent values update, cut to the columns' sizes."""
    columns = Device.__table__.columns
    changes: dict[str, Any] = {}
    for name in _STORED:
        value = getattr(info, name)
        if value is not None:
            length = getattr(columns[name].type, "length", None)
            changes[name] = value.strip()[:length] if length else value.strip()
    return changes


async def save_device(ctx: RequestContext, changes: dict[str, Any]) -> None:
    """Write ``changes`` to this request's device row (``ctx.device`` is a detached copy)."""
    if not changes:
        return
    async with ctx.gateway.database.sessions.begin() as session:
        await session.execute(update(Device).where(Device.id == ctx.device.id).values(**changes))


def _disabled_oof() -> OofSettings:
    return OofSettings(
        oof_state=OofState.Disabled,
        oof_messages=tuple(OofMessage(audience=a, enabled=False) for a in OofAudience),
    )


def _user_account(ctx: RequestContext) -> UserAccount:
    return UserAccount(
        smtp_addresses=(ctx.user.email,),
        primary_smtp_address=ctx.user.email,
        user_display_name=ctx.user.display_name or None,
    )


def _answer(ctx: RequestContext, prop: SettingsProperty, changes: dict[str, Any]) -> PropertyResult:
    """One property's answer; device information goes into ``changes``."""
    ok = SettingsStatus.Success
    if isinstance(prop, OofGet):
        return PropertyResult(name="Oof", status=ok, oof=_disabled_oof())
    if isinstance(prop, OofSet):
        return PropertyResult(name="Oof", status=SettingsStatus.AccessDenied)
    if isinstance(prop, DevicePasswordSet):
        return PropertyResult(name="DevicePassword", status=ok)
    if isinstance(prop, DeviceInformationSet):
        changes.update(device_columns(prop.device_information))
        return PropertyResult(name="DeviceInformation", status=ok)
    if isinstance(prop, UserInformationGet):
        return PropertyResult(name="UserInformation", status=ok, account=_user_account(ctx))
    if isinstance(prop, RightsManagementInformationGet):
        return PropertyResult(name="RightsManagementInformation", status=ok, rights_management=True)
    assert isinstance(prop, InvalidProperty)
    log.info("Settings property without a valid operation", extra={"property": prop.name})
    return PropertyResult(name=prop.name, status=SettingsStatus.ProtocolError)


async def handle(ctx: RequestContext, request: SettingsRequest) -> SettingsResponse:
    changes: dict[str, Any] = {}
    results = tuple(_answer(ctx, prop, changes) for prop in request.properties)
    await save_device(ctx, changes)
    return SettingsResponse(status=SettingsStatus.Success, results=results)


SPEC = CommandSpec(
    command=Command.Settings,
    parse=parse_settings_request,
    handle=handle,
    render=render_settings_response,
    status_root="{Settings:}Settings",
    status_tag="{Settings:}Status",
)
