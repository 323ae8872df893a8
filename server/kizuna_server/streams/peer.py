"""StreamService on the link port: a peer offers a stream and carries its frames."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kizuna_server.p2p.tls import caller_id
from kizuna_server.p2p.wire import stream_service_pb2_grpc

if TYPE_CHECKING:
    from kizuna_server.streams.engine import Streams


class PeerStreamServicer(stream_service_pb2_grpc.StreamServiceServicer):
    """`accepting` is whether this device offers streams (plugins.enabled)."""

    def __init__(self, streams: Streams, *, accepting: bool) -> None:
        self._streams = streams
        self._accepting = accepting

    # Bidirectional, driven through context.read() and write().
    async def Open(self, request_iterator: Any, context: Any) -> None:  # type: ignore[override]
        await self._streams.serve(caller_id(context), context, accepting=self._accepting)
