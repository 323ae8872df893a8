"""The peer ports' gRPC services: LinkService (mutual TLS, pinned) and PairingService, and the
link-port services capabilities bring (`capability.PeerCapability`).

Thin: the peer network does the work. Both servers are guarded like the control API (errors
become statuses with ErrorInfo, a stopping daemon refuses new calls); the link server's guard
also checks the caller's certificate against the pins on every call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import grpc.aio

from kizuna_server.calls.guard import CallPolicy, GuardedServer
from kizuna_server.capability import PeerCapability
from kizuna_server.p2p.tls import HANDSHAKE_TIMEOUT_SECS, MAX_LINK_MESSAGE_BYTES, caller_id
from kizuna_server.p2p.wire import (
    link_service_pb2,
    link_service_pb2_grpc,
    pairing_service_pb2,
    pairing_service_pb2_grpc,
)

if TYPE_CHECKING:
    from kizuna_server.p2p.network import PeerNetwork

#: Before authentication, a message is at most this big (a certificate is about 600 bytes).
MAX_PAIRING_MESSAGE_BYTES: Final = 16 * 1024
_HANDSHAKE_MS: Final = int(HANDSHAKE_TIMEOUT_SECS * 1000)
#: Open connections each peer port accepts (a flood of sockets is capped; each must finish its
#: TLS handshake within the handshake deadline or is closed). grpcio has no per-address cap.
MAX_LINK_CONNECTIONS: Final = 1024
MAX_PAIRING_CONNECTIONS: Final = 1024


class LinkServicer(link_service_pb2_grpc.LinkServiceServicer):
    def __init__(self, network: PeerNetwork) -> None:
        self._network = network

    async def Hello(
        self, request: link_service_pb2.HelloRequest, context: Any
    ) -> link_service_pb2.HelloResponse:
        return await self._network.hello(request, context)


class PairingServicer(pairing_service_pb2_grpc.PairingServiceServicer):
    def __init__(self, network: PeerNetwork) -> None:
        self._network = network

    async def Introduce(
        self, request: pairing_service_pb2.IntroduceRequest, context: Any
    ) -> pairing_service_pb2.IntroduceResponse:
        return await self._network.introduce(request, context)

    # Bidirectional, driven through context.read() and write() rather than as a generator.
    async def Pair(  # type: ignore[override]
        self, request_iterator: Any, context: Any
    ) -> None:
        await self._network.serve_pairing(context)


def build_servers(
    network: PeerNetwork,
    policy: CallPolicy,
    pairing_timeout_secs: int,
    capabilities: Sequence[PeerCapability] = (),
) -> tuple[grpc.aio.Server, grpc.aio.Server]:
    """The link server and the pairing server, services registered, no ports yet.

    Each capability registers its services on the link server, and is offered to peers
    (`PeerNetwork.offer`) when plugins.enabled lists it.
    """
    common = [
        ("grpc.so_reuseport", 0),
        ("grpc.server_handshake_timeout_ms", _HANDSHAKE_MS),
        ("grpc.max_metadata_size", 8 * 1024),
    ]
    link = GuardedServer(
        grpc.aio.server(
            options=[
                *common,
                ("grpc.max_receive_message_length", MAX_LINK_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_LINK_MESSAGE_BYTES),
                ("grpc.max_concurrent_streams", 256),
                # Identity only: daemons never compress gRPC messages (transfers compress their
                # chunks themselves), and a gzip request of 8 KiB inflates to the 8 MiB cap, so
                # 256 streams of them cost this process some 170 MiB. Refused with UNIMPLEMENTED
                # before inflating (#28). The pairing port's 16 KiB cap leaves nothing to gain.
                ("grpc.compression_enabled_algorithms_bitset", 1),
                ("grpc.max_allowed_incoming_connections", MAX_LINK_CONNECTIONS),
                ("grpc.keepalive_time_ms", 10_000),
                ("grpc.keepalive_timeout_ms", 5_000),
                ("grpc.keepalive_permit_without_calls", 1),
                # Peers ping every 10 s (tls.KEEPALIVE_TIME_MS); pings closer than 500 ms are
                # strikes, and a third strike ends the connection with GOAWAY too_many_pings
                # (#28). 0 here would mean "never": a paired peer could flood pings for ever.
                ("grpc.http2.min_ping_interval_without_data_ms", 500),
                ("grpc.http2.max_ping_strikes", 2),
                # Connections are re-established (and so re-checked against the pins) this
                # often; calls in progress get an hour to finish.
                ("grpc.max_connection_age_ms", 10 * 60 * 1000),
                ("grpc.max_connection_age_grace_ms", 60 * 60 * 1000),
            ]
        ),
        CallPolicy(
            token=None,
            refusal=policy.refusal,
            calls=policy.calls,
            authorize=network.authorize,
            caller=caller_id,
        ),
    )
    link_service_pb2_grpc.add_LinkServiceServicer_to_server(LinkServicer(network), link)
    for capability in capabilities:
        capability.add_peer_services(link, offered=network.offer(capability.name))
    pairing = GuardedServer(
        grpc.aio.server(
            options=[
                *common,
                ("grpc.max_receive_message_length", MAX_PAIRING_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_PAIRING_MESSAGE_BYTES),
                ("grpc.max_concurrent_streams", 4),
                ("grpc.max_allowed_incoming_connections", MAX_PAIRING_CONNECTIONS),
                ("grpc.max_connection_idle_ms", 30_000),
                ("grpc.max_connection_age_ms", (pairing_timeout_secs + 30) * 1000),
                ("grpc.max_connection_age_grace_ms", 5_000),
            ]
        ),
        policy,
    )
    pairing_service_pb2_grpc.add_PairingServiceServicer_to_server(PairingServicer(network), pairing)
    return link, pairing
