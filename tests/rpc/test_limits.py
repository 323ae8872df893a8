"""Abuse of the control API is refused with a status and leaves the daemon serving."""

import grpc
import grpc.aio
import pytest

from kizuna_client import Kizuna
from kizuna_client.v1 import node_service_pb2
from kizuna_server.app import MAX_MESSAGE_BYTES, Daemon


async def test_oversized_message_is_refused(daemon: Daemon, client: Kizuna) -> None:
    async with grpc.aio.insecure_channel(
        f"unix:{daemon.config.api.socket_path}",
        options=[("grpc.max_send_message_length", 2 * MAX_MESSAGE_BYTES)],
    ) as channel:
        shutdown = channel.unary_unary("/kizuna.v1.NodeService/Shutdown", None, None)
        oversized = node_service_pb2.ShutdownRequest(reason="x" * (MAX_MESSAGE_BYTES + 1))
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await shutdown(oversized.SerializeToString())
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (await client.node()).state == "ready"  # not shut down, still serving


async def test_oversized_headers_are_refused(daemon: Daemon, client: Kizuna) -> None:
    async with grpc.aio.insecure_channel(f"unix:{daemon.config.api.socket_path}") as channel:
        get_node = channel.unary_unary("/kizuna.v1.NodeService/GetNode", None, None)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await get_node(b"", metadata=(("x-padding", "y" * 64 * 1024),))
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (await client.node()).state == "ready"
