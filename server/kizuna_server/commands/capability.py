"""The commands capability as the daemon registers it: engine, link-port service, API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import grpc.aio

from kizuna_client.v1 import command_service_pb2, command_service_pb2_grpc
from kizuna_server.capability import Host
from kizuna_server.commands.api import CommandServicer
from kizuna_server.commands.engine import Commands
from kizuna_server.commands.model import COMMANDS
from kizuna_server.commands.peer import PeerCommandServicer
from kizuna_server.core.node import Subsystem
from kizuna_server.p2p.wire import command_service_pb2_grpc as peer_grpc


class CommandsCapability:
    """Allow-listed commands run for trusted peers, and on them (docs/commands.md)."""

    name: Final = COMMANDS
    api_services: Sequence[str] = (
        command_service_pb2.DESCRIPTOR.services_by_name["CommandService"].full_name,
    )

    def __init__(self, host: Host) -> None:
        self.engine = Commands(host.config, host.network, host.publish)

    async def start(self) -> None:
        await self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()

    def add_peer_services(self, server: grpc.aio.Server, *, offered: bool) -> None:
        peer_grpc.add_CommandServiceServicer_to_server(
            PeerCommandServicer(self.engine, accepting=offered), server
        )

    def add_api_services(self, server: grpc.aio.Server) -> None:
        command_service_pb2_grpc.add_CommandServiceServicer_to_server(
            CommandServicer(self.engine), server
        )

    def subsystems(self) -> list[Subsystem]:
        return self.engine.subsystems()
