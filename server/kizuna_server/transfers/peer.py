"""TransferService on the link port: what other daemons call to offer, fetch and notify."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from kizuna_server.errors import CapabilityOff
from kizuna_server.p2p.tls import caller_id
from kizuna_server.p2p.wire import transfer_service_pb2, transfer_service_pb2_grpc

if TYPE_CHECKING:
    from kizuna_server.transfers.engine import Transfers


class PeerTransferServicer(transfer_service_pb2_grpc.TransferServiceServicer):
    """The transfers capability on the link port. `accepting` is whether this device offers it
    (plugins.enabled): without it, offers are refused; Fetch and Notify still serve the
    transfers this device itself sends."""

    def __init__(self, transfers: Transfers, *, name: str, accepting: bool = True) -> None:
        self._transfers = transfers
        self._name = name
        self._accepting = accepting

    async def Offer(
        self, request: transfer_service_pb2.OfferRequest, context: Any
    ) -> transfer_service_pb2.OfferResponse:
        if not self._accepting:
            raise CapabilityOff(
                f"this device does not accept files: '{self._name}' is not in its plugins.enabled",
                subsystem=self._name,
            )
        return await self._transfers.offered(caller_id(context), request)

    async def Fetch(
        self, request: transfer_service_pb2.FetchRequest, context: Any
    ) -> AsyncIterator[transfer_service_pb2.FetchResponse]:
        async for message in self._transfers.serve_fetch(caller_id(context), request):
            yield message

    async def Notify(
        self, request: transfer_service_pb2.NotifyRequest, context: Any
    ) -> transfer_service_pb2.NotifyResponse:
        return await self._transfers.notified(caller_id(context), request)
