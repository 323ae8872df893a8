"""The streams capability as the daemon registers it: engine, link-port service, API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import grpc.aio
from google.protobuf.message import Message

from kizuna_client.framing import FrameCodec
from kizuna_client.v1 import stream_service_pb2, stream_service_pb2_grpc
from kizuna_server.calls.codecs import Codec, add_with_codecs
from kizuna_server.capability import Host
from kizuna_server.core.node import Subsystem
from kizuna_server.p2p.wire import stream_service_pb2_grpc as peer_grpc
from kizuna_server.streams.api import StreamServicer
from kizuna_server.streams.engine import Streams
from kizuna_server.streams.model import STREAMS
from kizuna_server.streams.peer import PeerStreamServicer
from kizuna_server.streams.session import REQUESTS, RESPONSES
from kizuna_server.streams.sources import SourceFactory


class StreamsCapability:
    """Live camera, screen, audio and data streams to and from trusted peers
    (docs/streams.md)."""

    name: Final = STREAMS
    api_services: Sequence[str] = (
        stream_service_pb2.DESCRIPTOR.services_by_name["StreamService"].full_name,
    )

    def __init__(self, host: Host) -> None:
        self.engine = Streams(host.config, host.network, host.publish, SourceFactory())

    async def start(self) -> None:
        await self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()

    def add_peer_services(self, server: grpc.aio.Server, *, offered: bool) -> None:
        add_with_codecs(
            peer_grpc.add_StreamServiceServicer_to_server,
            PeerStreamServicer(self.engine, accepting=offered),
            server,
            {"Open": Codec(REQUESTS.decode, RESPONSES.encode)},
        )

    def add_api_services(self, server: grpc.aio.Server) -> None:
        """Frames on OpenStream and AttachStream are read and written by framing.py."""
        add_with_codecs(
            stream_service_pb2_grpc.add_StreamServiceServicer_to_server,
            StreamServicer(self.engine),
            server,
            {
                "OpenStream": _codec(
                    stream_service_pb2.OpenStreamRequest, stream_service_pb2.OpenStreamResponse
                ),
                "AttachStream": _codec(
                    stream_service_pb2.AttachStreamRequest,
                    stream_service_pb2.AttachStreamResponse,
                ),
            },
        )

    def subsystems(self) -> list[Subsystem]:
        return self.engine.subsystems()


def _codec(request: type[Message], response: type[Message]) -> Codec:
    return Codec(FrameCodec(request).decode, FrameCodec(response).encode)
