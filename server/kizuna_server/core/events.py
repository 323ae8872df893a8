"""The event log: numbered events, a replay buffer and one bounded queue per subscriber.

Pure and synchronous; the rpc layer wraps a Subscription in an async iterator via `notify`.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Literal, Protocol, TypeVar

from kizuna_server.errors import InvalidArgument, ShuttingDown

__all__ = [
    "Batch",
    "Entry",
    "ErrorOccurred",
    "EventLog",
    "Gap",
    "GapReason",
    "NodeStateChanged",
    "Payload",
    "Subscription",
]

T = TypeVar("T")

GapReason = Literal["slow_consumer", "replay_expired", "restarted"]


class Payload(Protocol):
    """What happened; `event_type` is the name of its field in the `Event.payload` oneof."""

    event_type: ClassVar[str]


@dataclass(frozen=True, slots=True)
class NodeStateChanged:
    """The daemon changed state: `state` is "starting", "ready" or "stopping"."""

    event_type: ClassVar[str] = "node_state_changed"

    state: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ErrorOccurred:
    """A failure not tied to a call; `reason` is an ErrorReason name without its prefix."""

    event_type: ClassVar[str] = "error"

    reason: str
    message: str
    subsystem: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    """One event in the log, with its payload encoded once for every subscriber."""

    sequence: int
    time: float
    event_type: str
    payload: Payload
    encoded: T


@dataclass(frozen=True, slots=True)
class Gap:
    """Sequences a subscriber did not receive (inclusive; empty when last < first).

    The range may include events its type filter would have skipped: the log does not keep
    them around to find out, and the subscriber's remedy (re-read state) is the same.
    """

    first_sequence: int
    last_sequence: int
    reason: GapReason


@dataclass(frozen=True, slots=True)
class Batch(Generic[T]):
    """What one take() returns: events missed just before `entries`, then entries in order."""

    gap: Gap | None
    entries: tuple[Entry[T], ...]


def _do_nothing() -> None:
    pass


class Subscription(Generic[T]):
    """One subscriber's view of the log: a bounded queue of entries, with gaps in place.

    Gap notices sit in the queue where the loss happened, so they are delivered in order and
    never merged with loss on the other side of an entry. They do not count against the queue
    size: there is at most one more of them than there are queued entries.
    """

    __slots__ = ("_closed", "_log", "_notify", "_queue", "_queue_size", "_queued_entries", "_types")

    def __init__(
        self,
        log: EventLog[T],
        *,
        types: frozenset[str] | None,
        queue_size: int,
        notify: Callable[[], None],
    ) -> None:
        self._log: EventLog[T] | None = log
        self._types = types
        self._queue_size = queue_size
        self._notify = notify
        self._queue: deque[Entry[T] | Gap] = deque()
        self._queued_entries = 0
        self._closed = False

    @property
    def pending(self) -> int:
        """Entries and gap notices waiting; take() returns None exactly when this is 0."""
        return len(self._queue)

    @property
    def ended(self) -> bool:
        """True once the log closed or the subscription was cancelled, and all was taken."""
        return self._closed and not self._queue

    def take(self, max_entries: int = 256) -> Batch[T] | None:
        """Returns the next gap (if it comes first) and up to `max_entries` entries after it.

        Stops before the next gap so that each batch carries at most one, ahead of its entries.
        """
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        queue = self._queue
        if not queue:
            return None
        gap: Gap | None = None
        head = queue[0]
        if isinstance(head, Gap):
            gap = head
            queue.popleft()
        entries: list[Entry[T]] = []
        while queue and len(entries) < max_entries:
            item = queue[0]
            if isinstance(item, Gap):
                break
            entries.append(item)
            queue.popleft()
        self._queued_entries -= len(entries)
        return Batch(gap, tuple(entries))

    def cancel(self) -> None:
        """Unsubscribes and drops whatever was queued; calling it again does nothing."""
        log = self._log
        if log is None:
            return
        self._log = None
        log._remove(self)
        self._queue.clear()
        self._queued_entries = 0
        # A waiter must wake up to see that the subscription ended.
        if not self._closed:
            self._closed = True
            self._notify()

    def _matches(self, event_type: str) -> bool:
        return self._types is None or event_type in self._types

    def _start(self, gap: Gap | None, replay: Collection[Entry[T]]) -> None:
        if gap is not None:
            self._queue.append(gap)
        self._queue.extend(replay)
        self._queued_entries = len(replay)
        if self._queue:
            self._notify()

    def _offer(self, entry: Entry[T]) -> None:
        queue = self._queue
        if self._queued_entries < self._queue_size:
            was_empty = not queue
            queue.append(entry)
            self._queued_entries += 1
            if was_empty:
                self._notify()
            return
        # Full: drop the entry for this subscriber only. The queue is not empty here (the queue
        # size is at least 1), so the subscriber has already been woken up.
        tail = queue[-1]
        if isinstance(tail, Gap) and tail.reason == "slow_consumer":
            queue[-1] = Gap(tail.first_sequence, entry.sequence, "slow_consumer")
        else:
            queue.append(Gap(entry.sequence, entry.sequence, "slow_consumer"))

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._notify()


class EventLog(Generic[T]):
    """Numbers events, keeps the last `replay_size` for resuming, and fans them out.

    Must be used from one thread (the daemon's event loop). publish() never blocks: a subscriber
    whose queue is full loses the event and is told so with a "slow_consumer" gap.
    """

    def __init__(
        self,
        *,
        encode: Callable[[int, float, Payload], T],
        replay_size: int,
        queue_size: int,
    ) -> None:
        if replay_size < 0:
            raise ValueError(f"replay_size must not be negative, not {replay_size}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, not {queue_size}")
        self._encode = encode
        self._queue_size = queue_size
        self._replay: deque[Entry[T]] = deque(maxlen=replay_size)
        self._last_sequence = 0
        # Replaced, never mutated, on subscribe and cancel: publish iterates it without copying,
        # and a notify callback that cancels a subscription cannot disturb that iteration.
        self._subscriptions: tuple[Subscription[T], ...] = ()
        self._closed = False

    @property
    def last_sequence(self) -> int:
        """The sequence of the newest event; 0 before the first."""
        return self._last_sequence

    @property
    def first_retained_sequence(self) -> int:
        """The oldest sequence still in the replay buffer; last_sequence + 1 when it is empty."""
        if self._replay:
            return self._replay[0].sequence
        return self._last_sequence + 1

    @property
    def subscriber_count(self) -> int:
        """Subscriptions not yet cancelled (they stay counted after close until cancelled)."""
        return len(self._subscriptions)

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def publish(self, payload: Payload, *, now: float) -> Entry[T]:
        """Numbers, encodes and records `payload`, and offers it to every matching subscriber."""
        if self._closed:
            raise ShuttingDown("event log is closed")
        sequence = self._last_sequence + 1
        entry = Entry(
            sequence=sequence,
            time=now,
            event_type=payload.event_type,
            payload=payload,
            encoded=self._encode(sequence, now, payload),
        )
        # Only after encode succeeded, so a failing encoder leaves no hole in the sequence.
        self._last_sequence = sequence
        self._replay.append(entry)
        event_type = entry.event_type
        for subscription in self._subscriptions:
            if subscription._matches(event_type):
                subscription._offer(entry)
        return entry

    def subscribe(
        self,
        *,
        after_sequence: int | None = None,
        types: Collection[str] = (),
        restarted: bool = False,
        notify: Callable[[], None] = _do_nothing,
    ) -> Subscription[T]:
        """Starts a subscription to events of `types` (empty: all).

        With `after_sequence` None, only events published from now on. With a number k, first
        the retained events after k, then live ones; a "replay_expired" gap covers those no
        longer retained. With `restarted` (k came from an earlier daemon run, so it is ignored),
        everything retained, after a "restarted" gap covering what is not, which is sent even
        when that range is empty. When more matching events would be replayed than the queue
        holds, the newest queue_size are kept and the older ones join the leading gap.

        `notify` is called when the subscription goes from nothing pending to something pending
        (including here, when the replay is not empty) and when it is closed or cancelled.
        """
        if self._closed:
            raise ShuttingDown("event log is closed")
        if not restarted and after_sequence is not None:
            if after_sequence < 0:
                raise InvalidArgument(
                    f"after_sequence {after_sequence} is negative", field="after_sequence"
                )
            if after_sequence > self._last_sequence:
                raise InvalidArgument(
                    f"after_sequence {after_sequence} is ahead of the event log "
                    f"(last sequence {self._last_sequence})",
                    field="after_sequence",
                )
        filter_types = frozenset(types) or None
        subscription = Subscription(
            self, types=filter_types, queue_size=self._queue_size, notify=notify
        )

        gap: Gap | None = None
        replay: list[Entry[T]] = []
        after = 0 if restarted else after_sequence
        if after is not None:
            first_retained = self.first_retained_sequence
            start = max(after + 1, first_retained) - first_retained
            replay = [
                e
                for e in itertools.islice(self._replay, start, None)
                if subscription._matches(e.event_type)
            ]
            # Everything from `after + 1` up to the first entry actually queued is missing.
            missing_last = first_retained - 1
            if len(replay) > self._queue_size:
                replay = replay[-self._queue_size :]
                missing_last = replay[0].sequence - 1
            if restarted:
                gap = Gap(1, missing_last, "restarted")
            elif missing_last > after:
                gap = Gap(after + 1, missing_last, "replay_expired")

        self._subscriptions = (*self._subscriptions, subscription)
        subscription._start(gap, replay)
        return subscription

    def close(self) -> None:
        """Takes no more events; each subscription ends once what it has queued is taken."""
        if self._closed:
            return
        self._closed = True
        for subscription in self._subscriptions:
            subscription._close()

    def _remove(self, subscription: Subscription[T]) -> None:
        self._subscriptions = tuple(s for s in self._subscriptions if s is not subscription)
