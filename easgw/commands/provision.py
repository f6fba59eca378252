"""Provision (MS-ASCMD 2.2.1.14, MS-ASPROV 3.2.5.1): policy keys and remote wipes.

- Initial request (MS-ASPROV 3.2.5.1.1): a new temporary key
  (``devices.new_policy_key``) becomes the device's ``pending_policy_key`` and
  the answer carries it with the policy document built from
  ``policy.document``. 14.1+ clients send settings:DeviceInformation here; it
  is stored on the device row and answered with its own Status.
- Acknowledgment (3.2.5.1.2.1) with the pending key: the final key becomes
  ``policy_key`` and the pending key is cleared. The final key is derived
  from the device row and the temporary key (:func:`final_policy_key`), so a
  phone that lost the answer and sends the same acknowledgment again gets the
  same final key back without any extra state (EAS-NOTES: phones lose
  responses; iOS 16/17 provisioning loops). Any other key: Policy Status 5.
  The row also records the fingerprint of the policy acknowledged
  (:func:`policy_fingerprint`): once ``policy.document`` changes, the HTTP
  boundary answers 143 PolicyRefresh and the phone provisions again.
- A PolicyType other than MS-EAS-Provisioning-WBXML (the WAP form is 2.5's):
  Policy Status 3. No PolicyType at all: Provision Status 2 (MS-ASCMD 3.1.5.1).
- Remote wipe (3.2.5.1.1, 3.2.5.1.2.2): while the device is ``wipe-pending``
  every Provision answers with RemoteWipe, or AccountOnlyRemoteWipe (16.1 only)
  and no policy. The client's acknowledgment with Status 1 marks the device
  ``wiped`` (the HTTP boundary then refuses it: 129 / 403); Status 2 (failed)
  gets Provision Status 2 and the directive again.

``policy.required = false`` changes nothing here: only the boundary stops
asking for keys. The decisions are pure (:func:`decide`); the handler only
writes the device row. A broken ``policy.document`` fails the initial request
alone (Status 3): wipes and acknowledgments still go through.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from easgw.commands import CommandSpec
from easgw.commands.settings import device_columns, save_device
from easgw.devices import new_policy_key
from easgw.gateway import RequestContext
from easgw.policy import policy_fingerprint
from easgw.state.models import Device, DeviceStatus
from protocol.ashttp import Command
from protocol.provision import (
    POLICY_TYPE_WBXML,
    PolicyResponse,
    PolicyStatus,
    ProvisionRequest,
    ProvisionResponse,
    ProvisionStatus,
    WipeAcknowledgement,
    WipeKind,
    parse_provision_request,
    policy_document,
    render_provision_response,
)
from protocol.settings import SettingsStatus
from protocol.status import CommonStatus, EasStatusError

__all__ = ["SPEC", "decide", "final_policy_key", "handle"]

log = logging.getLogger(__name__)

_WIPE_DONE = 1  # Status (RemoteWipe) in a request: 1 succeeded, 2 failed (MS-ASPROV 2.2.2.54.3)


def final_policy_key(device_pk: int, temporary: int) -> int:
    """The final key that acknowledging ``temporary`` yields on this device row.

    Deterministic, so a retried acknowledgment gets the same key; a non-zero
    uint32 (MS-ASPROV 2.2.2.42) different from the temporary key. A policy key
    is not a credential (every request carries the user's password), it only
    marks which policy the device applied.
    """
    counter = 0
    while True:
        seed = f"easgw-final-policy-key:{device_pk}:{temporary}:{counter}".encode()
        key = int.from_bytes(hashlib.sha256(seed).digest()[:4], "big")
        if key not in (0, temporary):
            return key
        counter += 1


def _wipe_kind(device: Device, version: str) -> WipeKind:
    """The directive for the pending wipe. An account-only wipe exists in 16.1
    only (MS-ASPROV 2.2.2.1); it is never escalated to a full wipe, so a device
    that no longer speaks 16.1 is refused as blocked (common Status 129)."""
    if device.wipe_kind != "account":
        return WipeKind.Full
    if version == "16.1":
        return WipeKind.AccountOnly
    raise EasStatusError(CommonStatus.DeviceIsBlockedForThisUser, "account-only wipe below 16.1")


def _wipe_acknowledged(
    device: Device, ack: WipeAcknowledgement, version: str, changes: dict[str, Any]
) -> ProvisionResponse:
    if device.status != DeviceStatus.WIPE_PENDING.value:
        log.info("wipe acknowledgment without a pending wipe", extra={"device": device.id})
        return ProvisionResponse()
    if ack.status != _WIPE_DONE:  # MS-ASPROV 3.2.5.1.2.2: Status 2 and the directive again
        log.warning("the device reports a failed wipe", extra={"device": device.id})
        return ProvisionResponse(
            status=ProvisionStatus.ProtocolError, remote_wipe=_wipe_kind(device, version)
        )
    log.warning("device wiped", extra={"device": device.id, "kind": device.wipe_kind})
    changes.update(
        status=DeviceStatus.WIPED.value, wipe_kind=None, policy_key=None, pending_policy_key=None
    )
    return ProvisionResponse()


def _acknowledged(
    device: Device, key: str | None, changes: dict[str, Any], fingerprint: str
) -> int | None:
    """The final key for an acknowledgment of ``key``, or None (a wrong key)."""
    if key is None or not key.isdigit() or len(key) > 10:
        return None
    temporary = int(key)
    final = final_policy_key(device.id, temporary)
    if temporary == device.pending_policy_key:
        changes.update(policy_key=final, pending_policy_key=None, policy_hash=fingerprint)
        return final
    if device.policy_key is not None and device.policy_key == final:
        return final  # the same acknowledgment again (its answer was lost): no change
    return None


def _initial(settings: Mapping[str, object], changes: dict[str, Any]) -> ProvisionResponse:
    """MS-ASPROV 3.2.5.1.1: a new temporary key and the policy document."""
    try:
        document = policy_document(settings)
    except ValueError as exc:  # MS-ASPROV 3.1.5.2: Status 3 covers a server misconfiguration
        log.error("invalid policy document", extra={"reason": str(exc)})
        return ProvisionResponse(status=ProvisionStatus.ServerError)
    temporary = new_policy_key()
    changes["pending_policy_key"] = temporary
    answer = PolicyResponse(
        policy_type=POLICY_TYPE_WBXML,
        status=PolicyStatus.Success,
        policy_key=temporary,
        document=document,
    )
    return ProvisionResponse(policy=answer)


def decide(
    device: Device,
    request: ProvisionRequest,
    version: str,
    document: Mapping[str, object],
    changes: dict[str, Any],
) -> ProvisionResponse:
    """The answer to ``request`` for ``device`` (``document``: ``policy.document``);
    the device-row updates go into ``changes``."""
    if request.wipe_acknowledgement is not None:
        return _wipe_acknowledged(device, request.wipe_acknowledgement, version, changes)
    if device.status == DeviceStatus.WIPE_PENDING.value:  # MS-ASPROV 3.2.5.1.1
        return ProvisionResponse(remote_wipe=_wipe_kind(device, version))
    policy = request.policy
    if policy is None:  # MS-ASCMD 3.1.5.1: no PolicyType -> Status 2
        return ProvisionResponse(status=ProvisionStatus.ProtocolError)
    if policy.policy_type != POLICY_TYPE_WBXML:
        unknown = PolicyResponse(
            policy_type=policy.policy_type, status=PolicyStatus.UnknownPolicyType
        )
        return ProvisionResponse(policy=unknown)
    if policy.status is None:
        return _initial(document, changes)
    final = _acknowledged(device, policy.policy_key, changes, policy_fingerprint(document))
    if final is None:
        log.info("acknowledgment of a wrong policy key", extra={"device": device.id})
        wrong = PolicyResponse(policy_type=POLICY_TYPE_WBXML, status=PolicyStatus.WrongPolicyKey)
        return ProvisionResponse(policy=wrong)
    done = PolicyResponse(
        policy_type=POLICY_TYPE_WBXML, status=PolicyStatus.Success, policy_key=final
    )
    return ProvisionResponse(policy=done)


async def handle(ctx: RequestContext, request: ProvisionRequest) -> ProvisionResponse:
    changes: dict[str, Any] = {}
    info_status = None
    if request.device_information is not None:  # MS-ASPROV 3.2.5.1.1: SHOULD store it
        changes.update(device_columns(request.device_information))
        info_status = SettingsStatus.Success
    response = decide(ctx.device, request, ctx.version, ctx.config.policy.document, changes)
    await save_device(ctx, changes)
    return replace(response, device_information_status=info_status)


SPEC = CommandSpec(
    command=Command.Provision,
    parse=parse_provision_request,
    handle=handle,
    render=render_provision_response,
    status_root="{Provision:}Provision",
    status_tag="{Provision:}Status",
)
