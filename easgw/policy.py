"""The configured device policy's fingerprint (MS-ASPROV: which policy a device holds).

Kept apart from easgw/commands/provision.py so that the gateway (which computes
it once) does not import the commands.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

__all__ = ["policy_fingerprint"]


def policy_fingerprint(document: Mapping[str, object]) -> str:
    """A short digest of ``policy.document``: the device row records the one it
    acknowledged, and the HTTP boundary answers 143 PolicyRefresh (MS-ASCMD 2.2.2,
    MS-ASPROV 3.2.5.1) once the configured policy has another."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
