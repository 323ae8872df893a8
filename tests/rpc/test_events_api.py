"""EventService over real gRPC: subscribe, filters, resume, gaps, slow consumers, shutdown."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import grpc.aio
import pytest

from kizuna_client import EventGap, EventSubscription, InvalidArgumentError, Kizuna, KizunaEvent
from kizuna_client.v1 import event_service_pb2, event_service_pb2_grpc, node_pb2
from kizuna_server.app import Daemon
from kizuna_server.core.events import ErrorOccurred, NodeStateChanged

TIMEOUT = 20


@pytest.fixture
def settings() -> dict[str, Any]:
    # event_batch_ms 0: these tests read events one at a time and are about order, gaps and
    # stalls; batching has its own tests.
    return {"api": {"event_queue_size": 16, "event_replay_size": 64, "event_batch_ms": 0}}


def _error(n: int, size: int = 0) -> ErrorOccurred:
    return ErrorOccurred(reason="INTERNAL", message=f"e{n}" + "x" * size, subsystem="test")


@contextlib.asynccontextmanager
async def _live(client: Kizuna, **options: Any) -> AsyncIterator[EventSubscription]:
    """A live subscription, handed over once the daemon has registered it."""
    async with client.subscribe_events(**options) as events:
        async with asyncio.timeout(TIMEOUT):
            await events.started()
        yield events


async def _next_event(items: Any) -> KizunaEvent:
    async with asyncio.timeout(TIMEOUT):
        item = await anext(items)
    assert isinstance(item, KizunaEvent)
    return item


async def test_subscriber_receives_live_events_in_order(daemon: Daemon, client: Kizuna) -> None:
    async with _live(client) as events:
        for n in range(5):
            daemon.publish(_error(n))
        received = [await _next_event(events) for _ in range(5)]
    assert [e.message.error.error.message for e in received] == [f"e{n}" for n in range(5)]
    sequences = [e.sequence for e in received]
    assert sequences == list(range(sequences[0], sequences[0] + 5))
    assert {e.type for e in received} == {"error"}
    assert {e.run_id for e in received} == {daemon.run_id}


async def test_type_filter(daemon: Daemon, client: Kizuna) -> None:
    async with _live(client, types=["node_state_changed"]) as events:
        daemon.publish(_error(1))
        daemon.publish(NodeStateChanged(state="ready", reason="filter test"))
        event = await _next_event(events)
    assert event.type == "node_state_changed"
    assert event.message.node_state_changed.reason == "filter test"


async def test_unknown_type_is_refused(client: Kizuna) -> None:
    with pytest.raises(InvalidArgumentError):
        client.subscribe_events(types=["no_such_event"])


async def test_unknown_type_number_is_invalid_argument(daemon: Daemon) -> None:
    async with grpc.aio.insecure_channel(f"unix:{daemon.config.api.socket_path}") as channel:
        stub = event_service_pb2_grpc.EventServiceStub(channel)
        call = stub.SubscribeEvents(
            event_service_pb2.SubscribeEventsRequest(types=[cast(Any, 999)])
        )
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await call.read()
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_resume_after_sequence_replays_missed_events(daemon: Daemon, client: Kizuna) -> None:
    async with _live(client) as events:
        daemon.publish(_error(0))
        first = await _next_event(events)
    for n in range(1, 4):  # published while nobody listens
        daemon.publish(_error(n))
    async with client.subscribe_events(
        after_sequence=first.sequence, run_id=first.run_id
    ) as resumed:
        replayed = [await _next_event(resumed) for _ in range(3)]
    assert [e.sequence for e in replayed] == [first.sequence + n for n in (1, 2, 3)]


async def test_resume_beyond_replay_buffer_reports_gap(daemon: Daemon, client: Kizuna) -> None:
    start = daemon.events.last_sequence
    for n in range(100):  # more than the replay buffer (64) holds
        daemon.publish(_error(n))
    async with client.subscribe_events(after_sequence=start, run_id=daemon.run_id) as events:
        async with asyncio.timeout(TIMEOUT):
            gap = await anext(events)
        assert isinstance(gap, EventGap)
        assert (gap.reason, gap.first_sequence) == ("replay_expired", start + 1)
        first = await _next_event(events)
    assert first.sequence == gap.last_sequence + 1


async def test_resume_from_previous_run_reports_restart(daemon: Daemon, client: Kizuna) -> None:
    async with client.subscribe_events(after_sequence=5, run_id="an-earlier-run") as events:
        async with asyncio.timeout(TIMEOUT):
            gap = await anext(events)
    assert isinstance(gap, EventGap) and gap.reason == "restarted"


async def test_resume_ahead_of_log_is_invalid(daemon: Daemon, client: Kizuna) -> None:
    events = client.subscribe_events(after_sequence=10_000, run_id=daemon.run_id)
    with pytest.raises(InvalidArgumentError):
        await anext(events)


async def test_stalled_subscriber_does_not_block_others(daemon: Daemon) -> None:
    """One subscriber never reads; another reads everything; the stalled one then sees a gap."""
    target = f"unix:{daemon.config.api.socket_path}"
    async with (
        # No BDP probing: the stalled stream's flow-control window stays at its initial size.
        grpc.aio.insecure_channel(target, options=[("grpc.http2.bdp_probe", 0)]) as stalled_channel,
        Kizuna(home=daemon.config.paths.home) as reader,
    ):
        stalled = event_service_pb2_grpc.EventServiceStub(stalled_channel).SubscribeEvents(
            event_service_pb2.SubscribeEventsRequest()
        )
        async with reader.subscribe_events(types=["error"]) as events:
            # Both subscriptions are registered once each has its SubscriptionStart; from then
            # on the stalled one reads nothing.
            async with asyncio.timeout(TIMEOUT):
                opening = cast(event_service_pb2.SubscribeEventsResponse, await stalled.read())
                await events.started()
            assert opening.start.run_id == daemon.run_id
            assert opening.start.last_sequence == daemon.events.last_sequence
            first = daemon.events.last_sequence + 1
            # 32 MB: far more than the stalled stream's window and socket buffers (about 1 MB
            # here) plus its 16-event queue.
            total = 2000
            received: list[int] = []
            for n in range(total):
                daemon.publish(_error(n, size=16_000))
                received.append((await _next_event(events)).sequence)
        assert received == list(range(first, first + total))  # the reader lost nothing

        seen: list[int] = []
        gaps: list[event_service_pb2.EventGap] = []
        async with asyncio.timeout(TIMEOUT):
            while not seen or seen[-1] < first + total - 1:
                response = cast(event_service_pb2.SubscribeEventsResponse, await stalled.read())
                if response.HasField("gap"):
                    gaps.append(response.gap)
                    seen.extend(range(response.gap.first_sequence, response.gap.last_sequence + 1))
                seen.extend(e.sequence for e in response.events)
        stalled.cancel()
    assert gaps and all(g.reason == event_service_pb2.EventGap.REASON_SLOW_CONSUMER for g in gaps)
    covered = [s for s in seen if s >= first]
    assert covered == list(range(first, first + total))  # delivered + gaps = everything, once


async def test_subscription_ends_cleanly_when_closed(client: Kizuna) -> None:
    events = client.subscribe_events()
    await events.started()
    reading = asyncio.Event()
    call: Any = events._call
    read = call.read

    async def read_and_tell() -> Any:
        reading.set()
        return await read()

    call.read = read_and_tell
    waiter = asyncio.ensure_future(anext(events))
    await reading.wait()  # the iteration is blocked in a read from the daemon
    await events.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiter, TIMEOUT)


async def test_subscription_ends_with_ok_at_shutdown(daemon: Daemon, client: Kizuna) -> None:
    async with _live(client, types=["node_state_changed"]) as events:
        await client.stop_daemon(grace=2)
        async with asyncio.timeout(TIMEOUT):
            items = [item async for item in events]
    assert isinstance(items[-1], KizunaEvent)
    assert items[-1].message.node_state_changed.state == node_pb2.Node.STATE_STOPPING


async def test_resume_from_start_loses_nothing(daemon: Daemon, client: Kizuna) -> None:
    """A subscriber that saw no event can still resume without loss, from its start."""
    async with _live(client) as events:
        resume_at = (events.last_sequence, events.run_id)
    assert resume_at == (daemon.events.last_sequence, daemon.run_id)
    daemon.publish(_error(7))  # published while nobody listens
    async with client.subscribe_events(after_sequence=resume_at[0], run_id=resume_at[1]) as again:
        event = await _next_event(again)
    assert event.message.error.error.message == "e7"
