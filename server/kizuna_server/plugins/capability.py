"""Plugins as the daemon registers them: the host that starts them, and PluginService."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import grpc.aio
from google.protobuf.struct_pb2 import Struct

from kizuna_client.v1 import command_pb2, event_pb2, plugin_service_pb2, plugin_service_pb2_grpc
from kizuna_server.calls.errors import error_to_proto
from kizuna_server.capability import Host
from kizuna_server.commands.api import command_to_proto
from kizuna_server.commands.engine import Commands, spec_of
from kizuna_server.core.node import Subsystem
from kizuna_server.plugins.host import Loaded, PluginEvent, Plugins, PluginState
from kizuna_server.rpc.convert import register_event

PLUGINS: Final = "plugins"

_STATES: Final = {
    PluginState.RUNNING: plugin_service_pb2.Plugin.STATE_RUNNING,
    PluginState.FAILED: plugin_service_pb2.Plugin.STATE_FAILED,
    PluginState.DISABLED: plugin_service_pb2.Plugin.STATE_DISABLED,
}


def _plugin_event(event: PluginEvent) -> event_pb2.PluginEvent:
    data = Struct()
    data.update(event.data)
    return event_pb2.PluginEvent(
        plugin=event.plugin, type=event.type, peer_id=event.peer_id, data=data
    )


register_event(PluginEvent.event_type, _plugin_event)


def plugin_to_proto(loaded: Loaded) -> plugin_service_pb2.Plugin:
    message = plugin_service_pb2.Plugin(
        name=loaded.name,
        description=loaded.description,
        source=loaded.source,
        state=_STATES[loaded.state],
        capabilities=loaded.capabilities,
        commands=[_command(c.command) for c in loaded.commands.values()],
        local_commands=[_command(c.command) for c in loaded.local.values()],
    )
    if loaded.error is not None:
        message.error.CopyFrom(error_to_proto(loaded.error))
    return message


def _command(command: Any) -> command_pb2.Command:
    return command_to_proto(spec_of(command, needs_approval=False))


class PluginServicer(plugin_service_pb2_grpc.PluginServiceServicer):
    """kizuna.v1.PluginService."""

    def __init__(self, plugins: Plugins) -> None:
        self._plugins = plugins

    async def ListPlugins(
        self, request: plugin_service_pb2.ListPluginsRequest, context: Any
    ) -> plugin_service_pb2.ListPluginsResponse:
        found = sorted(self._plugins.found.values(), key=lambda p: p.name)
        return plugin_service_pb2.ListPluginsResponse(plugins=[plugin_to_proto(p) for p in found])

    async def CallPlugin(
        self, request: plugin_service_pb2.CallPluginRequest, context: Any
    ) -> plugin_service_pb2.CallPluginResponse:
        arguments = {
            name: getattr(value, value.WhichOneof("kind") or "string_value")
            for name, value in request.arguments.items()
        }
        reply = await self._plugins.call_local(
            request.plugin, request.command, arguments, request.stdin
        )
        return plugin_service_pb2.CallPluginResponse(
            exit_code=reply.exit_code, stdout=reply.stdout, stderr=reply.stderr
        )


class PluginsCapability:
    """Plugins found by entry point or named by the owner (docs/plugins.md)."""

    name: Final = PLUGINS
    api_services: Sequence[str] = (
        plugin_service_pb2.DESCRIPTOR.services_by_name["PluginService"].full_name,
    )

    def __init__(self, host: Host, commands: Commands) -> None:
        self.plugins = Plugins(host, commands)

    async def start(self) -> None:
        await self.plugins.start()

    async def stop(self) -> None:
        await self.plugins.stop()

    def add_peer_services(self, server: grpc.aio.Server, *, offered: bool) -> None:
        """None: what plugins offer peers are commands (CommandService)."""

    def add_api_services(self, server: grpc.aio.Server) -> None:
        plugin_service_pb2_grpc.add_PluginServiceServicer_to_server(
            PluginServicer(self.plugins), server
        )

    def subsystems(self) -> list[Subsystem]:
        return self.plugins.subsystems()
