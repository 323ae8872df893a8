"""The one table from error reasons to gRPC status codes, and the rich status built from them.

Every failed call carries a `google.rpc.Status` whose details hold an `ErrorInfo` (domain
"kizuna.v1", reason without the `ERROR_REASON_` prefix, metadata); docs/errors.md lists the table.
"""

from collections.abc import Mapping

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from kizuna_client.v1 import errors_pb2
from kizuna_server.errors import KizunaError

DOMAIN = "kizuna.v1"
_PREFIX = "ERROR_REASON_"

_C = grpc.StatusCode
#: Reason -> status code. A test checks that every ErrorReason value appears exactly once.
REASON_CODES: Mapping[str, grpc.StatusCode] = {
    "INVALID_ARGUMENT": _C.INVALID_ARGUMENT,
    "INVALID_PAGE_TOKEN": _C.INVALID_ARGUMENT,
    "API_TOKEN_INVALID": _C.UNAUTHENTICATED,
    "NOT_IMPLEMENTED": _C.UNIMPLEMENTED,
    "SHUTTING_DOWN": _C.UNAVAILABLE,
    "LIMIT_EXCEEDED": _C.RESOURCE_EXHAUSTED,
    "INTERNAL": _C.INTERNAL,
    "SUBSYSTEM_UNAVAILABLE": _C.FAILED_PRECONDITION,
    "PEER_NOT_FOUND": _C.NOT_FOUND,
    "PEER_NOT_TRUSTED": _C.FAILED_PRECONDITION,
    "PEER_UNREACHABLE": _C.UNAVAILABLE,
    "PEER_IDENTITY_MISMATCH": _C.PERMISSION_DENIED,
    "PERMISSION_DENIED_BY_PEER": _C.PERMISSION_DENIED,
    "PEER_ADDRESS_INVALID": _C.INVALID_ARGUMENT,
    "PEER_ALREADY_EXISTS": _C.ALREADY_EXISTS,
    "PEER_PROTOCOL_VIOLATION": _C.ABORTED,
    "PAIRING_NOT_FOUND": _C.NOT_FOUND,
    "PAIRING_EXPIRED": _C.DEADLINE_EXCEEDED,
    "PAIRING_REJECTED": _C.ABORTED,
    "PAIRING_LOCKED_OUT": _C.RESOURCE_EXHAUSTED,
    "PAIRING_NOT_ALLOWED": _C.FAILED_PRECONDITION,
    "TRANSFER_NOT_FOUND": _C.NOT_FOUND,
    "TRANSFER_REJECTED": _C.ABORTED,
    "TRANSFER_INVALID_STATE": _C.FAILED_PRECONDITION,
    "TRANSFER_EXPIRED": _C.DEADLINE_EXCEEDED,
    "SOURCE_NOT_READABLE": _C.NOT_FOUND,
    "INSUFFICIENT_STORAGE": _C.RESOURCE_EXHAUSTED,
    "INTEGRITY_CHECK_FAILED": _C.DATA_LOSS,
    "UNSAFE_FILE_NAME": _C.INVALID_ARGUMENT,
    "STREAM_NOT_FOUND": _C.NOT_FOUND,
    "STREAM_REJECTED": _C.ABORTED,
    "STREAM_CLOSED": _C.ABORTED,
    "CAPTURE_UNAVAILABLE": _C.FAILED_PRECONDITION,
    "COMMAND_NOT_ALLOWED": _C.PERMISSION_DENIED,
    "COMMAND_ARGUMENTS_INVALID": _C.INVALID_ARGUMENT,
    "COMMAND_TIMED_OUT": _C.DEADLINE_EXCEEDED,
    "COMMAND_FAILED_TO_START": _C.FAILED_PRECONDITION,
    "COMMAND_DENIED": _C.PERMISSION_DENIED,
    "COMMAND_RUN_NOT_FOUND": _C.NOT_FOUND,
    "PLUGIN_NOT_FOUND": _C.NOT_FOUND,
    "PLUGIN_FAILED": _C.FAILED_PRECONDITION,
}


def reason_names() -> list[str]:
    """Every reason the API defines, from the generated ErrorReason enum."""
    return [
        value.name.removeprefix(_PREFIX)
        for value in errors_pb2.ErrorReason.DESCRIPTOR.values
        if value.number != errors_pb2.ERROR_REASON_UNSPECIFIED
    ]


def reason_enum(reason: str) -> errors_pb2.ErrorReason.ValueType:
    """The ErrorReason enum value for a reason name."""
    return errors_pb2.ErrorReason.Value(_PREFIX + reason)


def status_for(error: KizunaError) -> tuple[grpc.StatusCode, str, bytes]:
    """Code, message and serialized `google.rpc.Status` (for grpc-status-details-bin)."""
    code = REASON_CODES.get(error.reason, grpc.StatusCode.INTERNAL)
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=DOMAIN, metadata=dict(error.metadata)
    )
    details = [_packed(info)]
    retry_after = error.metadata.get("retry_after_secs", "")
    if retry_after.isdigit():
        # The standard form of "try again later", beside the metadata key the reason names.
        delay = duration_pb2.Duration(seconds=int(retry_after))
        details.append(_packed(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=code.value[0], message=error.message, details=details)
    return code, error.message, status.SerializeToString()


def _packed(message: error_details_pb2.ErrorInfo | error_details_pb2.RetryInfo) -> any_pb2.Any:
    detail = any_pb2.Any()
    detail.Pack(message)
    return detail


def error_to_proto(error: KizunaError) -> errors_pb2.Error:
    """The `kizuna.v1.Error` carried inside resources and events."""
    return errors_pb2.Error(
        reason=reason_enum(error.reason), message=error.message, metadata=dict(error.metadata)
    )


def reason_from_trailers(trailers: object) -> str:
    """The ErrorInfo reason of a failed call made to another daemon, or "" when there is none."""
    return error_info_from_trailers(trailers)[0]


def error_info_from_trailers(trailers: object) -> tuple[str, dict[str, str]]:
    """The ErrorInfo reason and metadata of a failed call to another daemon ("" and {} if none)."""
    for key, value in trailers or ():  # type: ignore[attr-defined]
        if key != "grpc-status-details-bin" or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except Exception:  # a peer's bytes: anything malformed means no reason
            return "", {}
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info) and info.domain == DOMAIN:
                return str(info.reason), dict(info.metadata)
    return "", {}
