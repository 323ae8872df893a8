"""RunQueue: turns to move data, first come first served within total and per-peer limits."""

from __future__ import annotations

import asyncio

import pytest

from kizuna_server.transfers.queue import RunQueue

pytestmark = pytest.mark.asyncio


async def _waiter(queue: RunQueue, peer: str, order: list[str], name: str) -> asyncio.Task[None]:
    async def wait() -> None:
        await queue.wait_turn(peer)
        order.append(name)

    task = asyncio.get_running_loop().create_task(wait())
    await asyncio.sleep(0)  # let it join the queue (ordering only, no timing involved)
    return task


async def test_turns_respect_the_total_and_per_peer_limits_in_arrival_order() -> None:
    queue = RunQueue(total=2, per_peer=1)
    assert queue.try_enter("a")
    assert not queue.try_enter("a")  # per peer
    assert queue.try_enter("b")
    assert not queue.try_enter("c")  # total
    order: list[str] = []
    a2 = await _waiter(queue, "a", order, "a2")
    c1 = await _waiter(queue, "c", order, "c1")
    assert queue.waiting() == 2

    queue.leave("b")  # room in all, but a is at its limit: c1 goes first
    await c1
    assert order == ["c1"] and queue.running() == 2
    queue.leave("a")
    await a2
    assert order == ["c1", "a2"] and queue.running("a") == 1 and queue.waiting() == 0


async def test_a_cancelled_waiter_leaves_the_queue_and_a_granted_one_gives_its_turn_back() -> None:
    queue = RunQueue(total=1, per_peer=1)
    assert queue.try_enter("a")
    order: list[str] = []
    gone = await _waiter(queue, "b", order, "gone")
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert queue.waiting() == 0

    late = await _waiter(queue, "b", order, "late")
    queue.leave("a")  # grants b's turn ...
    late.cancel()  # ... and b is cancelled before it runs: the turn comes back
    with pytest.raises(asyncio.CancelledError):
        await late
    assert queue.running() == 0 and order == []
    assert queue.try_enter("c")
