"""The transfers capability as the daemon registers it: engine, link-port service, API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import grpc.aio

from kizuna_client.v1 import transfer_service_pb2, transfer_service_pb2_grpc
from kizuna_server.capability import Host
from kizuna_server.core.node import Subsystem
from kizuna_server.p2p.wire import transfer_service_pb2_grpc as peer_grpc
from kizuna_server.transfers.api import TransferServicer
from kizuna_server.transfers.engine import Transfers
from kizuna_server.transfers.peer import PeerTransferServicer
from kizuna_server.transfers.uploads import Uploads

#: The name peers see in Peer.capabilities and owners list in plugins.enabled.
TRANSFERS: Final = "transfers"


class TransfersCapability:
    """Files and folders to and from trusted peers (docs/transfers.md)."""

    name: Final = TRANSFERS
    api_services: Sequence[str] = (
        transfer_service_pb2.DESCRIPTOR.services_by_name["TransferService"].full_name,
    )

    def __init__(self, host: Host) -> None:
        self.engine = Transfers(host.config, host.network, host.publish)
        self._uploads = Uploads(self.engine)

    async def start(self) -> None:
        await self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()  # running transfers keep their verified offsets

    def add_peer_services(self, server: grpc.aio.Server, *, offered: bool) -> None:
        peer_grpc.add_TransferServiceServicer_to_server(
            PeerTransferServicer(self.engine, name=self.name, accepting=offered), server
        )

    def add_api_services(self, server: grpc.aio.Server) -> None:
        transfer_service_pb2_grpc.add_TransferServiceServicer_to_server(
            TransferServicer(self.engine, self._uploads), server
        )

    def subsystems(self) -> list[Subsystem]:
        return []
