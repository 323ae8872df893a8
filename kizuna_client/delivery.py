"""Each hop of a live stream hands frames to the next through a Mailbox, whose policy decides
what happens when the consumer is slower than the producer. The daemon uses one per hop (the
opener's outbox, the receiver's backlog, each viewer) and the Python client one per handle, so an
app that reads slowly gets the latest frames rather than seconds of frames buffered on the way:

- RELIABLE (data): every frame in order; `put` waits for room, so a slow consumer slows the
  producer all the way back (the peer call's flow control carries the wait across the link).
- LATEST (video): at most two frames wait; a frame that does not fit is dropped, and so is every
  frame after it up to the next keyframe (they could not be decoded), and a keyframe is asked for
  at the first drop and again every KEYFRAME_RETRY_SECS while the skipping lasts: a request can
  be lost on the way or swallowed by a requester's rate limit, and without a repeat the picture
  would wait for the source's next periodic keyframe (2 s). Latency stays bounded; the producer
  never waits.
- BUFFERED (audio): a short buffer (five 20 ms frames); when full, the oldest frame is dropped.

The consumer sees gaps in `Frame.sequence` where frames were dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum
from typing import Final, Generic, Protocol, TypeVar


class Delivery(StrEnum):
    """What a hop does when its consumer is slower than its producer (docs/streams.md)."""

    RELIABLE = "reliable"  # every frame, in order: the producer waits
    LATEST = "latest"  # video: drop to the next keyframe, ask for one
    BUFFERED = "buffered"  # audio: a short buffer, the oldest dropped


class Framed(Protocol):
    """What a mailbox needs to know of a frame."""

    @property
    def keyframe(self) -> bool: ...


F = TypeVar("F", bound=Framed)

CAPACITY: Final = {Delivery.RELIABLE: 32, Delivery.LATEST: 2, Delivery.BUFFERED: 5}
#: While a LATEST mailbox skips to a keyframe, it asks again this often (as frames are dropped).
KEYFRAME_RETRY_SECS: Final = 0.25


class Mailbox(Generic[F]):
    """A bounded queue of frames with a delivery policy. One producer, one consumer, one loop."""

    def __init__(
        self,
        policy: Delivery,
        *,
        want_keyframe: Callable[[], None] = lambda: None,
        capacity: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.capacity = capacity or CAPACITY[policy]
        self.dropped = 0
        self._frames: deque[F] = deque()
        self._want_keyframe = want_keyframe
        self._skipping = False  # LATEST: dropping until the next keyframe
        self._clock = clock
        self._asked_at = 0.0  # when a keyframe was last asked for
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def closed(self) -> bool:
        return self._closed

    async def put(self, frame: F) -> bool:
        """Hands `frame` on; returns False when the mailbox is closed (the frame is dropped).

        Waits only under RELIABLE, for room."""
        if self.policy is Delivery.RELIABLE:
            while len(self._frames) >= self.capacity and not self._closed:
                self._writable.clear()
                await self._writable.wait()
        return self.offer(frame)

    def offer(self, frame: F) -> bool:
        """Like `put` without waiting: under RELIABLE a full mailbox takes the frame anyway (the
        caller bounds what it offers). Returns False when closed."""
        if self._closed:
            return False
        if self.policy is Delivery.LATEST:
            if self._skipping and not frame.keyframe:
                self.dropped += 1
                if self._clock() - self._asked_at >= KEYFRAME_RETRY_SECS:
                    self._ask_keyframe()
                return True
            self._skipping = False
            if len(self._frames) >= self.capacity:
                if frame.keyframe:
                    # Everything queued is older than a picture that stands alone: replace it.
                    self.dropped += len(self._frames)
                    self._frames.clear()
                else:
                    self.dropped += 1
                    self._skipping = True
                    self._ask_keyframe()
                    return True
        elif self.policy is Delivery.BUFFERED and len(self._frames) >= self.capacity:
            self._frames.popleft()
            self.dropped += 1
        self._frames.append(frame)
        self._readable.set()
        return True

    def _ask_keyframe(self) -> None:
        self._asked_at = self._clock()
        self._want_keyframe()

    async def get(self) -> F | None:
        """The next frame, or None once the mailbox is closed and empty."""
        while not self._frames:
            if self._closed:
                return None
            self._readable.clear()
            await self._readable.wait()
        frame = self._frames.popleft()
        if len(self._frames) < self.capacity:
            self._writable.set()
        return frame

    def take_all(self) -> list[F]:
        """Removes and returns what waits, oldest first (handed to a consumer arriving late)."""
        frames = list(self._frames)
        self._frames.clear()
        self._writable.set()
        return frames

    def close(self) -> None:
        """No more frames: `get` drains what waits, then returns None; `put` returns False."""
        self._closed = True
        self._readable.set()
        self._writable.set()

    def discard(self) -> None:
        """Closes and drops what waits (the consumer is gone)."""
        self._frames.clear()
        self.close()
