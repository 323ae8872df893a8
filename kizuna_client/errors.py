"""Exceptions raised by kizuna_client: one class per error reason under `KizunaError`.

The daemon sends a `google.rpc.Status` with an `ErrorInfo` (domain "kizuna.v1"); `error_from_rpc`
turns it into the matching class, so apps catch `PeerNotFoundError`, not status codes.
"""

from collections.abc import Mapping
from typing import Any

import grpc
import grpc.aio
from google.rpc import error_details_pb2, status_pb2

DOMAIN = "kizuna.v1"


class KizunaError(RuntimeError):
    """Base of every kizuna_client error.

    `reason` is the machine-readable ErrorReason name (for example "PEER_NOT_FOUND"), `code` the
    gRPC status code, `metadata` the reason's documented details. RuntimeError stays a base class
    for code written against the first client, which raised bare RuntimeErrors.

    >>> try:
    ...     raise PeerNotFoundError("no such peer", metadata={"peer_id": "X"})
    ... except KizunaError as e:
    ...     (e.reason, e.metadata["peer_id"])
    ('PEER_NOT_FOUND', 'X')
    """

    reason = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode = grpc.StatusCode.UNKNOWN,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.metadata: Mapping[str, str] = dict(metadata or {})

    def __str__(self) -> str:
        return f"{self.message} [{self.reason}]"


class ClientClosedError(KizunaError):
    """This Kizuna instance was shut down (create a new one), or its event stream ended."""

    reason = "CLIENT_CLOSED"


class DaemonUnavailableError(KizunaError):
    """The daemon could not be reached (not running, wrong home, socket not accessible)."""

    reason = "DAEMON_UNAVAILABLE"


class InvalidArgumentError(KizunaError, ValueError):
    """A request field is missing or malformed; `metadata["field"]` names it. Also a ValueError,
    as the seed binding raised for a bad stream type or quality."""

    reason = "INVALID_ARGUMENT"


class InvalidPageTokenError(KizunaError):
    """A page token was not issued for this query."""

    reason = "INVALID_PAGE_TOKEN"


class ApiTokenInvalidError(KizunaError):
    """The TCP control API needs the bearer token from the daemon's api-token file."""

    reason = "API_TOKEN_INVALID"


class NotImplementedByDaemonError(KizunaError):
    """The daemon does not provide this capability yet; `metadata["capability"]` names it."""

    reason = "NOT_IMPLEMENTED"


class ShuttingDownError(KizunaError):
    """The daemon is shutting down."""

    reason = "SHUTTING_DOWN"


class LimitExceededError(KizunaError):
    """A daemon limit was reached; `metadata["limit"]` names it."""

    reason = "LIMIT_EXCEEDED"


class InternalError(KizunaError):
    """The daemon failed unexpectedly; its log has details."""

    reason = "INTERNAL"


class SubsystemUnavailableError(KizunaError):
    """A subsystem the call needs is disabled or failed."""

    reason = "SUBSYSTEM_UNAVAILABLE"


class PeerNotFoundError(KizunaError):
    """No peer with that device ID is known."""

    reason = "PEER_NOT_FOUND"


class PeerNotTrustedError(KizunaError):
    """The peer is known but not paired."""

    reason = "PEER_NOT_TRUSTED"


class PeerUnreachableError(KizunaError):
    """The peer could not be reached."""

    reason = "PEER_UNREACHABLE"


class PeerIdentityMismatchError(KizunaError):
    """The peer's certificate does not match its pinned fingerprint."""

    reason = "PEER_IDENTITY_MISMATCH"


class PermissionDeniedByPeerError(KizunaError):
    """The peer refused: this device lacks the permission (`metadata["permission"]`)."""

    reason = "PERMISSION_DENIED_BY_PEER"


class PeerAddressInvalidError(KizunaError):
    """An address could not be parsed or is not allowed."""

    reason = "PEER_ADDRESS_INVALID"


class PeerAlreadyExistsError(KizunaError):
    """The peer is already in the peer table."""

    reason = "PEER_ALREADY_EXISTS"


class PeerProtocolViolationError(KizunaError):
    """The peer broke the protocol (for example sent more than it declared); nothing was kept."""

    reason = "PEER_PROTOCOL_VIOLATION"


class PairingNotFoundError(KizunaError):
    """No pairing with that ID is pending."""

    reason = "PAIRING_NOT_FOUND"


class PairingExpiredError(KizunaError):
    """The pairing expired before both sides confirmed."""

    reason = "PAIRING_EXPIRED"


class PairingRejectedError(KizunaError):
    """The other side rejected or cancelled the pairing."""

    reason = "PAIRING_REJECTED"


class PairingLockedOutError(KizunaError):
    """Too many failed pairing attempts; `metadata["retry_after_secs"]` says how long to wait."""

    reason = "PAIRING_LOCKED_OUT"


class PairingNotAllowedError(KizunaError):
    """The trust mode does not allow interactive pairing."""

    reason = "PAIRING_NOT_ALLOWED"


class TransferNotFoundError(KizunaError):
    """No transfer with that ID exists."""

    reason = "TRANSFER_NOT_FOUND"


class TransferRejectedError(KizunaError):
    """The receiving side rejected the offer."""

    reason = "TRANSFER_REJECTED"


class TransferInvalidStateError(KizunaError):
    """The transfer's state does not allow the call."""

    reason = "TRANSFER_INVALID_STATE"


class TransferExpiredError(KizunaError):
    """The offer was not answered in time."""

    reason = "TRANSFER_EXPIRED"


class SourceNotReadableError(KizunaError):
    """A path to send does not exist or cannot be read."""

    reason = "SOURCE_NOT_READABLE"


class InsufficientStorageError(KizunaError):
    """Not enough free space on the receiving side."""

    reason = "INSUFFICIENT_STORAGE"


class IntegrityCheckFailedError(KizunaError):
    """Data failed hash verification and could not be recovered."""

    reason = "INTEGRITY_CHECK_FAILED"


class UnsafeFileNameError(KizunaError):
    """A file name offered by a peer is unsafe."""

    reason = "UNSAFE_FILE_NAME"


class StreamNotFoundError(KizunaError):
    """No stream with that ID exists."""

    reason = "STREAM_NOT_FOUND"


class StreamRejectedError(KizunaError):
    """The peer app rejected the stream."""

    reason = "STREAM_REJECTED"


class StreamClosedError(KizunaError):
    """The stream ended because its other side closed or its link dropped."""

    reason = "STREAM_CLOSED"


class CaptureUnavailableError(KizunaError):
    """A built-in capture source cannot run on the device that was asked (metadata `source`,
    `device`, and `install` when a package would fix it)."""

    reason = "CAPTURE_UNAVAILABLE"


class CommandNotAllowedError(KizunaError):
    """The command is not on the peer's allow-list."""

    reason = "COMMAND_NOT_ALLOWED"


class CommandArgumentsInvalidError(KizunaError):
    """Arguments do not match the command's declared parameters."""

    reason = "COMMAND_ARGUMENTS_INVALID"


class CommandTimedOutError(KizunaError):
    """The command ran past its time limit and was stopped (the reason of a timed-out
    `CommandRun.error`; RunCommand itself returns the run and its output)."""

    reason = "COMMAND_TIMED_OUT"


class CommandFailedToStartError(KizunaError):
    """The program could not start on the peer (not installed, or no working folder)."""

    reason = "COMMAND_FAILED_TO_START"


class CommandDeniedError(KizunaError):
    """The peer's owner denied the run or did not answer in time (metadata `approval`:
    "denied" or "expired")."""

    reason = "COMMAND_DENIED"


class PluginNotFoundError(KizunaError):
    """No plugin of that name is loaded on the daemon."""

    reason = "PLUGIN_NOT_FOUND"


class PluginFailedError(KizunaError):
    """The plugin raised, took too long, or is not running (metadata `plugin`)."""

    reason = "PLUGIN_FAILED"


class CommandRunNotFoundError(KizunaError):
    """No run with that ID waits or runs on the device."""

    reason = "COMMAND_RUN_NOT_FOUND"


def _subclasses(cls: type[KizunaError]) -> list[type[KizunaError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


#: ErrorInfo reason -> exception class.
ERRORS_BY_REASON: Mapping[str, type[KizunaError]] = {
    cls.reason: cls for cls in _subclasses(KizunaError)
}


def error_from_rpc(error: grpc.aio.AioRpcError) -> KizunaError:
    """The KizunaError subclass for a failed call, from its ErrorInfo when present."""
    code = error.code()
    message = error.details() or code.name
    trailers: Any = error.trailing_metadata() or ()
    for key, value in trailers:
        if key != "grpc-status-details-bin" or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info) and info.domain == DOMAIN:
                cls = ERRORS_BY_REASON.get(info.reason, KizunaError)
                return cls(status.message or message, code=code, metadata=dict(info.metadata))
    if code == grpc.StatusCode.UNAVAILABLE:
        return DaemonUnavailableError(
            f"cannot reach the Kizuna daemon ({message}); is it running? Start it with "
            "'kizuna daemon'",
            code=code,
        )
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return NotImplementedByDaemonError(message, code=code)
    return KizunaError(message, code=code)
