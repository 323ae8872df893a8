"""The generated kizuna.v1 messages and gRPC stubs, under one import.

>>> from kizuna_client import v1
>>> v1.node_service_pb2_grpc.NodeServiceStub  # doctest: +ELLIPSIS
<class '...NodeServiceStub'>
"""

from kizuna.v1 import (
    command_pb2,
    command_service_pb2,
    command_service_pb2_grpc,
    config_pb2,
    errors_pb2,
    event_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    node_pb2,
    node_service_pb2,
    node_service_pb2_grpc,
    peer_pb2,
    peer_service_pb2,
    peer_service_pb2_grpc,
    stream_pb2,
    stream_service_pb2,
    stream_service_pb2_grpc,
    transfer_pb2,
    transfer_service_pb2,
    transfer_service_pb2_grpc,
)

__all__ = [
    "command_pb2",
    "command_service_pb2",
    "command_service_pb2_grpc",
    "config_pb2",
    "errors_pb2",
    "event_pb2",
    "event_service_pb2",
    "event_service_pb2_grpc",
    "node_pb2",
    "node_service_pb2",
    "node_service_pb2_grpc",
    "peer_pb2",
    "peer_service_pb2",
    "peer_service_pb2_grpc",
    "stream_pb2",
    "stream_service_pb2",
    "stream_service_pb2_grpc",
    "transfer_pb2",
    "transfer_service_pb2",
    "transfer_service_pb2_grpc",
]
