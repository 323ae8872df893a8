"""Domain errors: one base class whose subclasses each carry a machine-readable reason.

Reasons are the names of `kizuna.v1.ErrorReason` values without their prefix; `calls/errors.py`
maps each to a gRPC status code in one table and `kizuna_client` maps them back to exceptions.
"""

from collections.abc import Mapping


class KizunaError(Exception):
    """Base of every error the daemon reports on purpose.

    `reason` names a `kizuna.v1.ErrorReason` value (without `ERROR_REASON_`), `metadata` carries
    the reason's documented keys.
    """

    reason = "INTERNAL"

    def __init__(self, message: str, **metadata: object) -> None:
        super().__init__(message)
        self.message = message
        self.metadata: Mapping[str, str] = {k: str(v) for k, v in metadata.items()}


class InvalidArgument(KizunaError):
    """A request or configuration value is missing or malformed (metadata: `field`)."""

    reason = "INVALID_ARGUMENT"


class ConfigError(InvalidArgument):
    """The configuration cannot be used; the message names the key, the value and its source."""


class IdentityError(KizunaError):
    """The device identity on disk is unreadable or inconsistent; it is never overwritten."""

    reason = "INTERNAL"


class ShuttingDown(KizunaError):
    """The daemon is stopping and takes no new work."""

    reason = "SHUTTING_DOWN"


class LimitExceeded(KizunaError):
    """A daemon limit was reached (metadata: `limit`)."""

    reason = "LIMIT_EXCEEDED"


class PermissionDeniedByPeer(KizunaError):
    """The device asked lacks the permission for this peer (metadata: `peer_id`,
    `permission`)."""

    reason = "PERMISSION_DENIED_BY_PEER"


class CapabilityOff(KizunaError):
    """A peer asked for a capability this device does not offer (plugins.enabled lacks it;
    metadata: `subsystem`, the capability)."""

    reason = "SUBSYSTEM_UNAVAILABLE"
