"""NodeService: describes this daemon and stops it on request."""

from __future__ import annotations

from typing import Any, Protocol

import grpc.aio

from kizuna_client.v1 import node_pb2, node_service_pb2, node_service_pb2_grpc
from kizuna_server.config import Config
from kizuna_server.errors import InvalidArgument
from kizuna_server.rpc.convert import config_to_proto

MAX_GRACE_SECS = 60.0
#: The reason is logged and sent to every subscriber: keep it short.
MAX_REASON_CHARS = 200


class NodeControl(Protocol):
    """What NodeService needs from the daemon."""

    @property
    def config(self) -> Config: ...

    def describe(self) -> node_pb2.Node: ...

    def request_stop(self, *, grace: float | None, reason: str) -> None: ...


class NodeServicer(node_service_pb2_grpc.NodeServiceServicer):
    """Thin adapter from NodeService calls to the daemon."""

    def __init__(self, daemon: NodeControl) -> None:
        self._daemon = daemon

    async def GetNode(
        self, request: node_service_pb2.GetNodeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> node_service_pb2.GetNodeResponse:
        return node_service_pb2.GetNodeResponse(node=self._daemon.describe())

    async def GetConfig(
        self,
        request: node_service_pb2.GetConfigRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> node_service_pb2.GetConfigResponse:
        return node_service_pb2.GetConfigResponse(config=config_to_proto(self._daemon.config))

    async def Shutdown(
        self, request: node_service_pb2.ShutdownRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> node_service_pb2.ShutdownResponse:
        grace: float | None = None
        if request.HasField("grace"):
            grace = request.grace.ToNanoseconds() / 1e9
            if not 0 <= grace <= MAX_GRACE_SECS:
                raise InvalidArgument(
                    f"grace: {grace:g}s is outside 0-{MAX_GRACE_SECS:g}s", field="grace"
                )
        # The stop starts after this response is on its way; this call is in flight and so
        # gets the grace period like any other.
        reason = _printable(request.reason)[:MAX_REASON_CHARS] or "Shutdown requested"
        self._daemon.request_stop(grace=grace, reason=reason)
        return node_service_pb2.ShutdownResponse()


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)
