"""What this device tells the peer about a shared transfer (Notify), over the shared link.

Both sides keep their own copy of a transfer; notices are how each learns what the other did.
A final notice (the transfer ended) that cannot be delivered is remembered in the record and
sent again when the peer reconnects, so the two copies end the same way.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import grpc.aio

from kizuna_server.core.device_id import format_device_id
from kizuna_server.errors import KizunaError
from kizuna_server.p2p.tls import PeerUnreachable
from kizuna_server.p2p.wire import transfer_service_pb2 as pb
from kizuna_server.p2p.wire import transfer_service_pb2_grpc as pb_grpc
from kizuna_server.transfers.model import FileState, State, Transfer
from kizuna_server.transfers.peer_errors import peer_call

if TYPE_CHECKING:
    from kizuna_server.p2p.network import PeerNetwork

log = logging.getLogger(__name__)

#: Notices to the peer give up after this long (final ones are sent again on reconnect).
NOTICE_TIMEOUT_SECS: Final = 10.0

_NOTICE_NAMES: Final = {
    "accepted": pb.NOTICE_ACCEPTED,
    "rejected": pb.NOTICE_REJECTED,
    "expired": pb.NOTICE_EXPIRED,
    "paused": pb.NOTICE_PAUSED,
    "queued": pb.NOTICE_QUEUED,
    "resumed": pb.NOTICE_RESUMED,
    "cancelled": pb.NOTICE_CANCELLED,
    "completed": pb.NOTICE_COMPLETED,
    "failed": pb.NOTICE_FAILED,
}
_FINAL_NOTICES: Final = frozenset({"rejected", "expired", "cancelled", "completed", "failed"})


class Notices:
    """Notify calls to peers. `save` writes a transfer's record (which final notice is owed)."""

    def __init__(self, network: PeerNetwork, save: Callable[[Transfer], Awaitable[None]]) -> None:
        self._network = network
        self._save = save

    def stub(self, peer_id: str) -> Any:
        """The peer's TransferService on the shared link (aio stubs are untyped)."""
        return pb_grpc.TransferServiceStub(self._network.channel_for(peer_id))

    async def notify(self, transfer: Transfer, notice: str, **fields: Any) -> None:
        """Tells the peer; a final notice that cannot be delivered is sent again on reconnect."""
        request = pb.NotifyRequest(transfer_id=transfer.id, notice=_NOTICE_NAMES[notice], **fields)
        try:
            await peer_call(
                self.stub(transfer.peer_id).Notify(request, timeout=NOTICE_TIMEOUT_SECS)
            )
        except (KizunaError, grpc.aio.AioRpcError) as exc:
            log.info("transfer %s: the peer did not get %r yet (%s)", transfer.id, notice, exc)
            if notice in _FINAL_NOTICES:
                transfer.unsent_notice = notice
                await self._save(transfer)
            raise PeerUnreachable(
                f"peer {format_device_id(transfer.peer_id)} did not answer",
                peer_id=transfer.peer_id,
            ) from None
        if transfer.unsent_notice == notice:
            transfer.unsent_notice = ""
            await self._save(transfer)

    async def notify_quietly(self, transfer: Transfer, notice: str, **fields: Any) -> None:
        """As `notify`, for notices the local outcome does not depend on."""
        with contextlib.suppress(KizunaError):
            await self.notify(transfer, notice, **fields)


def final_notice_fields(transfer: Transfer) -> dict[str, Any]:
    """What a final notice carries: each completed file's hash, or why it failed."""
    if transfer.state is State.COMPLETED:
        return {
            "files": [
                pb.FileResult(file_index=i, content_hash=bytes.fromhex(e.content_hash))
                for i, e in enumerate(transfer.entries)
                if e.state is FileState.COMPLETED and e.content_hash
            ]
        }
    if transfer.error is not None:
        return {"reason": transfer.error.reason, "message": transfer.error.message}
    return {}
