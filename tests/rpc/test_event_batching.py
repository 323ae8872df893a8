"""Write coalescing: events arriving within api.event_batch_ms of a write travel together."""

import asyncio
from typing import Any, cast

import grpc.aio
import pytest

from kizuna_client import Kizuna
from kizuna_client.v1 import event_service_pb2, event_service_pb2_grpc
from kizuna_server.app import Daemon
from kizuna_server.core.events import ErrorOccurred

TIMEOUT = 20


@pytest.fixture(params=[1000, 0], ids=["window-1s", "no-window"])
def settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    # A long window, so that a round trip of the test never outlasts it; or none.
    return {"api": {"event_batch_ms": request.param}}


def _error(n: int) -> ErrorOccurred:
    return ErrorOccurred(reason="INTERNAL", message=f"e{n}", subsystem="test")


async def test_events_within_the_window_share_a_message(daemon: Daemon, client: Kizuna) -> None:
    async with grpc.aio.insecure_channel(f"unix:{daemon.config.api.socket_path}") as channel:
        call = event_service_pb2_grpc.EventServiceStub(channel).SubscribeEvents(
            event_service_pb2.SubscribeEventsRequest()
        )

        async def read() -> list[str]:
            response = cast(
                event_service_pb2.SubscribeEventsResponse,
                await asyncio.wait_for(call.read(), TIMEOUT),
            )
            return [e.error.error.message for e in response.events]

        assert await read() == []  # SubscriptionStart: registered
        daemon.publish(_error(1))
        assert await read() == ["e1"]  # nothing written recently: sent at once
        daemon.publish(_error(2))
        await client.node()  # a full round trip later
        daemon.publish(_error(3))
        if daemon.config.api.event_batch_ms:
            assert await read() == ["e2", "e3"]  # still inside the window: one message
        else:
            assert await read() == ["e2"]  # written as soon as it was ready
            assert await read() == ["e3"]
        call.cancel()
