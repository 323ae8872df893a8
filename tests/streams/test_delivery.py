"""The delivery policies of one hop (streams/delivery.py) and the stream meters, without I/O."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from kizuna_client.delivery import KEYFRAME_RETRY_SECS, Delivery, Mailbox
from kizuna_server.streams.model import Frame
from kizuna_server.streams.stats import ClockOffset, Meter


def frame(sequence: int, *, keyframe: bool = False) -> Frame:
    return Frame(sequence, sequence * 33_000, keyframe, bytes([sequence % 256]))


def drain(box: Mailbox[Frame]) -> list[int]:
    return [f.sequence for f in box.take_all()]


def test_latest_keeps_two_and_skips_to_the_next_keyframe_asking_for_one() -> None:
    asked = []
    box: Mailbox[Frame] = Mailbox(Delivery.LATEST, want_keyframe=lambda: asked.append(1))
    for sequence in range(6):  # 0 is a keyframe; the consumer reads nothing
        box.offer(frame(sequence, keyframe=sequence == 0))
    # 0 and 1 wait; 2 does not fit, so 2..5 (which depend on it) are dropped: one request.
    assert drain(box) == [0, 1]
    assert box.dropped == 4 and asked == [1]
    box.offer(frame(6, keyframe=True))
    box.offer(frame(7))
    assert drain(box) == [6, 7]


def test_latest_asks_again_while_no_keyframe_comes() -> None:
    """A keyframe request can be lost on the way (RTCP under loss) or swallowed by the
    requester's own rate limit; a mailbox still skipping asks again every KEYFRAME_RETRY_SECS,
    so the picture resumes within a fraction of a second instead of at the next periodic
    keyframe (2 s: the freezes bench/streams.py measured)."""
    now = [0.0]
    asked: list[float] = []
    box: Mailbox[Frame] = Mailbox(
        Delivery.LATEST, want_keyframe=lambda: asked.append(now[0]), clock=lambda: now[0]
    )
    box.offer(frame(0, keyframe=True))
    box.offer(frame(1))
    for sequence in range(2, 32):  # a frame every 33 ms, none a keyframe: skipping throughout
        now[0] = sequence * 0.033
        box.offer(frame(sequence))
    assert asked[0] == pytest.approx(0.066)  # at the first drop
    gaps = [later - earlier for earlier, later in itertools.pairwise(asked)]
    assert len(asked) >= 3 and all(
        KEYFRAME_RETRY_SECS <= gap < KEYFRAME_RETRY_SECS + 0.034 for gap in gaps
    ), asked
    box.offer(frame(32, keyframe=True))  # replaces what waits; the skipping ends
    count = len(asked)
    now[0] = 5.0
    box.offer(frame(33))
    assert drain(box) == [32, 33] and len(asked) == count


def test_latest_replaces_what_waits_with_a_newer_keyframe() -> None:
    box: Mailbox[Frame] = Mailbox(Delivery.LATEST)
    box.offer(frame(0, keyframe=True))
    box.offer(frame(1))
    box.offer(frame(2, keyframe=True))
    assert drain(box) == [2]
    assert box.dropped == 2


def test_buffered_drops_the_oldest() -> None:
    box: Mailbox[Frame] = Mailbox(Delivery.BUFFERED)
    for sequence in range(8):
        box.offer(frame(sequence, keyframe=True))
    assert drain(box) == [3, 4, 5, 6, 7]
    assert box.dropped == 3


@pytest.mark.asyncio
async def test_reliable_waits_for_room_and_loses_nothing() -> None:
    box: Mailbox[Frame] = Mailbox(Delivery.RELIABLE, capacity=4)
    received: list[int] = []

    async def produce() -> None:
        for sequence in range(100):
            assert await box.put(frame(sequence))
        box.close()

    async def consume() -> None:
        while (got := await box.get()) is not None:
            received.append(got.sequence)
            assert len(box) <= 4
            await asyncio.sleep(0)  # a consumer slower than the producer

    async with asyncio.timeout(10):
        await asyncio.gather(produce(), consume())
    assert received == list(range(100))
    assert box.dropped == 0


@pytest.mark.asyncio
async def test_a_closed_mailbox_releases_a_waiting_producer() -> None:
    box: Mailbox[Frame] = Mailbox(Delivery.RELIABLE, capacity=1)
    await box.put(frame(0))
    waiting = asyncio.ensure_future(box.put(frame(1)))
    await asyncio.sleep(0)
    assert not waiting.done()
    box.discard()
    async with asyncio.timeout(5):
        assert await waiting is False
    assert await box.get() is None


def test_the_meter_reports_rate_latency_and_the_longest_gap() -> None:
    meter = Meter()
    for i in range(60):
        meter.add(1000, now=100 + i / 30, latency_ms=10 + (i % 10))
    meter.add(1000, now=100 + 59 / 30 + 1.51)  # a 1.51 s freeze
    assert meter.max_gap_ms == pytest.approx(1510, abs=1)
    assert meter.latency_ms(0.5) == 14
    assert meter.latency_ms(0.99) == 19
    # The last 2 s hold the final 15 frames before the freeze and the one after it.
    assert meter.fps(now=100 + 59 / 30 + 1.51) == pytest.approx(16 / 2)


def test_the_clock_offset_corrects_the_peers_capture_times() -> None:
    clock = ClockOffset()
    # The peer's clock runs 5 s ahead; the round trip takes 10 ms.
    clock.update(answer_sent_us=1_000_000, peer_sent_us=6_005_000, received_us=1_010_000)
    assert clock.rtt_ms == 10
    latency = clock.latency_ms(capture_us=6_100_000, received_us=1_120_000)
    assert latency == pytest.approx(20, abs=0.01)
    assert ClockOffset().latency_ms(1, 2) is None
