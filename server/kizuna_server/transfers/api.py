"""TransferService: the control API over the transfer engine, plus transfer conversions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

from google.protobuf.duration_pb2 import Duration

from kizuna_client.v1 import errors_pb2, event_pb2, transfer_pb2, transfer_service_pb2
from kizuna_client.v1 import transfer_service_pb2_grpc as service_grpc
from kizuna_server.calls.errors import reason_enum
from kizuna_server.core.device_id import parse_device_id
from kizuna_server.errors import InvalidArgument, KizunaError
from kizuna_server.rpc.convert import register_event, timestamp
from kizuna_server.transfers.model import (
    Entry,
    Progress,
    SkipReason,
    State,
    Transfer,
    TransferCancelled,
    TransferCompleted,
    TransferFailed,
    TransferOffered,
    TransferPaused,
    TransferProgressed,
    TransferQueued,
    TransferStarted,
)

if TYPE_CHECKING:
    from kizuna_server.transfers.engine import Transfers
    from kizuna_server.transfers.uploads import Uploads

_MAX_PAGE: Final = 1000
_DEFAULT_PAGE: Final = 100
#: Events carry at most this many entries (a transfer can hold 100,000); GetTransfer has all.
EVENT_FILES: Final = 100
#: Entries GetTransfer (and the create calls) return; ListTransferFiles pages through all.
GET_FILES: Final = 1000
#: A ListTransfers page ends early past this many bytes (messages are capped at 8 MiB).
_PAGE_BYTES: Final = 2 * 1024 * 1024
_DEFAULT_FILES_PAGE: Final = 1000
_MAX_FILES_PAGE: Final = 10_000
_STATES: Final = {
    state: transfer_pb2.Transfer.State.Value(f"STATE_{state.name}") for state in State
}
_STATE_NAMES: Final = {number: state for state, number in _STATES.items()}
_SKIP_REASONS: Final = {
    reason: transfer_pb2.SkippedSource.Reason.Value(f"REASON_{reason.name}")
    for reason in SkipReason
}


# --- conversions ------------------------------------------------------------------------------


def _entry_to_proto(entry: Entry) -> transfer_pb2.TransferFile:
    return transfer_pb2.TransferFile(
        path=entry.path,
        kind=transfer_pb2.TransferFile.KIND_DIRECTORY
        if entry.directory
        else transfer_pb2.TransferFile.KIND_FILE,
        size=entry.size,
        mode=entry.mode,
        mtime=timestamp(entry.mtime_ns / 1e9),
        content_hash=entry.content_hash,
        state=transfer_pb2.TransferFile.State.Value(f"STATE_{entry.state.name}"),
        bytes_done=entry.bytes_done,
        saved_path=entry.saved_path,
    )


def transfer_to_proto(transfer: Transfer, *, max_files: int = GET_FILES) -> transfer_pb2.Transfer:
    """A Transfer as a kizuna.v1.Transfer with its first `max_files` entries (a message stays
    small whatever the transfer holds; ListTransferFiles pages through the rest)."""
    entries = transfer.entries[:max_files]
    message = transfer_pb2.Transfer(
        id=transfer.id,
        peer_id=transfer.peer_id,
        peer_name=transfer.peer_name,
        direction=transfer_pb2.Transfer.DIRECTION_OUTGOING
        if transfer.outgoing
        else transfer_pb2.Transfer.DIRECTION_INCOMING,
        state=_STATES[transfer.state],
        files=[_entry_to_proto(e) for e in entries],
        total_bytes=transfer.total_bytes,
        bytes_done=transfer.bytes_done,
        total_files=transfer.total_files,
        files_done=transfer.files_done,
        compression=transfer_pb2.COMPRESSION_AUTO
        if transfer.compression
        else transfer_pb2.COMPRESSION_NONE,
        create_time=timestamp(transfer.created),
        entry_count=transfer.entry_count,
        skipped_sources=[
            transfer_pb2.SkippedSource(path=path, reason=_SKIP_REASONS[reason])
            for path, reason in transfer.skipped.listed
        ],
        skipped_source_count=transfer.skipped.count,
    )
    if transfer.ended:
        message.end_time.CopyFrom(timestamp(transfer.ended))
    if transfer.expires and transfer.state is State.PENDING:
        message.expire_time.CopyFrom(timestamp(transfer.expires))
    if transfer.error is not None:
        message.error.CopyFrom(
            errors_pb2.Error(
                reason=reason_enum(transfer.error.reason),
                message=transfer.error.message,
                metadata=transfer.error.metadata,
            )
        )
    return message


def progress_to_proto(progress: Progress) -> transfer_pb2.TransferProgress:
    message = transfer_pb2.TransferProgress(
        transfer_id=progress.transfer_id,
        state=_STATES[progress.state],
        bytes_done=progress.bytes_done,
        total_bytes=progress.total_bytes,
        files_done=progress.files_done,
        total_files=progress.total_files,
        bytes_per_second=progress.bytes_per_second,
        current_file=progress.current_file,
    )
    eta = progress.eta
    if eta is not None:
        duration = Duration()
        duration.FromMilliseconds(round(eta * 1000))
        message.eta.CopyFrom(duration)
    return message


def _brief(transfer: Transfer) -> transfer_pb2.Transfer:
    return transfer_to_proto(transfer, max_files=EVENT_FILES)


register_event(
    TransferOffered.event_type, lambda e: event_pb2.TransferOffered(transfer=_brief(e.transfer))
)
register_event(
    TransferStarted.event_type, lambda e: event_pb2.TransferStarted(transfer=_brief(e.transfer))
)
register_event(TransferProgressed.event_type, lambda e: progress_to_proto(e.progress))
register_event(
    TransferPaused.event_type, lambda e: event_pb2.TransferPaused(transfer=_brief(e.transfer))
)
register_event(
    TransferQueued.event_type, lambda e: event_pb2.TransferQueued(transfer=_brief(e.transfer))
)
register_event(
    TransferCompleted.event_type,
    lambda e: event_pb2.TransferCompleted(transfer=_brief(e.transfer)),
)
register_event(
    TransferFailed.event_type, lambda e: event_pb2.TransferFailed(transfer=_brief(e.transfer))
)
register_event(
    TransferCancelled.event_type,
    lambda e: event_pb2.TransferCancelled(transfer=_brief(e.transfer)),
)


# --- the service ------------------------------------------------------------------------------


class InvalidPageToken(KizunaError):
    reason = "INVALID_PAGE_TOKEN"


def _transfer_id(text: str) -> str:
    if not text:
        raise InvalidArgument("transfer_id: missing", field="transfer_id")
    return text


def _compression(value: int) -> bool:
    return value != transfer_pb2.COMPRESSION_NONE


def _cursor(transfer: Transfer) -> str:
    return f"{int(transfer.created * 1e9)}.{transfer.id}"


class TransferServicer(service_grpc.TransferServiceServicer):
    """kizuna.v1.TransferService."""

    def __init__(self, transfers: Transfers, uploads: Uploads) -> None:
        self._transfers = transfers
        self._uploads = uploads

    async def CreateTransfer(
        self, request: transfer_service_pb2.CreateTransferRequest, context: Any
    ) -> transfer_service_pb2.CreateTransferResponse:
        peer_id = parse_device_id(request.peer_id, field="peer_id")
        transfer = await self._transfers.create(
            peer_id,
            request.paths,
            compression=_compression(request.compression),
            request_id=request.request_id[:128],
        )
        return transfer_service_pb2.CreateTransferResponse(transfer=transfer_to_proto(transfer))

    async def UploadTransfer(self, request_iterator: Any, context: Any) -> None:  # type: ignore[override]
        # Read and written through `context` (started first, finished last), as RunCommandStream.
        async def started(transfer: Transfer, offsets: list[int]) -> None:
            first = transfer_service_pb2.UploadStarted(
                transfer_id=transfer.id, offsets=offsets, transfer=transfer_to_proto(transfer)
            )
            await context.write(transfer_service_pb2.UploadTransferResponse(started=first))

        transfer = await self._uploads.receive(context, started)
        finished = transfer_service_pb2.UploadTransferResponse(finished=transfer_to_proto(transfer))
        await context.write(finished)

    async def GetTransfer(
        self, request: transfer_service_pb2.GetTransferRequest, context: Any
    ) -> transfer_service_pb2.GetTransferResponse:
        transfer = self._transfers.get(_transfer_id(request.transfer_id))
        return transfer_service_pb2.GetTransferResponse(transfer=transfer_to_proto(transfer))

    async def ListTransfers(
        self, request: transfer_service_pb2.ListTransfersRequest, context: Any
    ) -> transfer_service_pb2.ListTransfersResponse:
        size = min(request.page_size or _DEFAULT_PAGE, _MAX_PAGE)
        states = {_STATE_NAMES[s] for s in request.states if s in _STATE_NAMES}
        direction = request.direction
        chosen = [
            t
            for t in self._transfers.all()
            if (not states or t.state in states)
            and (
                direction == transfer_pb2.Transfer.DIRECTION_UNSPECIFIED
                or (direction == transfer_pb2.Transfer.DIRECTION_OUTGOING) == t.outgoing
            )
        ]
        start = 0
        if request.page_token:
            cursors = [_cursor(t) for t in chosen]
            if request.page_token not in cursors:
                raise InvalidPageToken(
                    f"page_token {request.page_token[:60]!r} is not one this daemon issued "
                    "(or its transfer is gone); list again from the start"
                )
            start = cursors.index(request.page_token) + 1
        response = transfer_service_pb2.ListTransfersResponse()
        budget = _PAGE_BYTES
        for transfer in chosen[start : start + size]:
            message = _brief(transfer)
            budget -= message.ByteSize()
            if budget < 0 and response.transfers:
                break  # a page stays well under the message limit whatever is stored
            response.transfers.append(message)
        if start + len(response.transfers) < len(chosen):
            response.next_page_token = _cursor(chosen[start + len(response.transfers) - 1])
        return response

    async def ListTransferFiles(
        self, request: transfer_service_pb2.ListTransferFilesRequest, context: Any
    ) -> transfer_service_pb2.ListTransferFilesResponse:
        entries = self._transfers.get(_transfer_id(request.transfer_id)).entries
        size = min(request.page_size or _DEFAULT_FILES_PAGE, _MAX_FILES_PAGE)
        start = 0
        if request.page_token:
            if not request.page_token.isdigit() or int(request.page_token) > len(entries):
                raise InvalidPageToken(
                    f"page_token {request.page_token[:60]!r} is not one this daemon issued; "
                    "list again from the start"
                )
            start = int(request.page_token)
        end = start + size
        return transfer_service_pb2.ListTransferFilesResponse(
            files=[_entry_to_proto(e) for e in entries[start:end]],
            next_page_token=str(end) if end < len(entries) else "",
        )

    async def WatchTransfer(
        self, request: transfer_service_pb2.WatchTransferRequest, context: Any
    ) -> AsyncIterator[transfer_service_pb2.WatchTransferResponse]:
        async for progress in self._transfers.watch(_transfer_id(request.transfer_id)):
            yield transfer_service_pb2.WatchTransferResponse(progress=progress_to_proto(progress))

    async def AcceptTransfer(
        self, request: transfer_service_pb2.AcceptTransferRequest, context: Any
    ) -> transfer_service_pb2.AcceptTransferResponse:
        transfer = await self._transfers.accept(
            _transfer_id(request.transfer_id), list(request.paths)
        )
        return transfer_service_pb2.AcceptTransferResponse(transfer=transfer_to_proto(transfer))

    async def RejectTransfer(
        self, request: transfer_service_pb2.RejectTransferRequest, context: Any
    ) -> transfer_service_pb2.RejectTransferResponse:
        await self._transfers.reject(_transfer_id(request.transfer_id), request.reason)
        return transfer_service_pb2.RejectTransferResponse()

    async def CancelTransfer(
        self, request: transfer_service_pb2.CancelTransferRequest, context: Any
    ) -> transfer_service_pb2.CancelTransferResponse:
        transfer = await self._transfers.cancel(_transfer_id(request.transfer_id))
        return transfer_service_pb2.CancelTransferResponse(transfer=transfer_to_proto(transfer))

    async def PauseTransfer(
        self, request: transfer_service_pb2.PauseTransferRequest, context: Any
    ) -> transfer_service_pb2.PauseTransferResponse:
        transfer = await self._transfers.pause(_transfer_id(request.transfer_id))
        return transfer_service_pb2.PauseTransferResponse(transfer=transfer_to_proto(transfer))

    async def ResumeTransfer(
        self, request: transfer_service_pb2.ResumeTransferRequest, context: Any
    ) -> transfer_service_pb2.ResumeTransferResponse:
        transfer = await self._transfers.resume(_transfer_id(request.transfer_id))
        return transfer_service_pb2.ResumeTransferResponse(transfer=transfer_to_proto(transfer))
