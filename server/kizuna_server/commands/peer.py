"""CommandService on the link port: what a trusted peer calls to list and run commands here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kizuna_server.p2p.tls import caller_id
from kizuna_server.p2p.wire import command_service_pb2, command_service_pb2_grpc

if TYPE_CHECKING:
    from kizuna_server.commands.engine import Commands


class PeerCommandServicer(command_service_pb2_grpc.CommandServiceServicer):
    """`accepting` is whether this device offers commands (plugins.enabled)."""

    def __init__(self, commands: Commands, *, accepting: bool) -> None:
        self._commands = commands
        self._accepting = accepting

    async def List(
        self, request: command_service_pb2.ListRequest, context: Any
    ) -> command_service_pb2.ListResponse:
        return self._commands.serve_list(caller_id(context), accepting=self._accepting)

    # Bidirectional, driven through context.read() and write().
    async def Run(self, request_iterator: Any, context: Any) -> None:  # type: ignore[override]
        await self._commands.serve_run(caller_id(context), context, accepting=self._accepting)
