"""Tests for the event log: numbering, replay, filters, gaps, wake-ups and shutdown."""

import random
from dataclasses import dataclass
from typing import ClassVar

import pytest

from kizuna_server.core.events import (
    Batch,
    Entry,
    ErrorOccurred,
    EventLog,
    Gap,
    NodeStateChanged,
    Payload,
    Subscription,
)
from kizuna_server.errors import InvalidArgument, ShuttingDown

Encoded = tuple[int, float, str]


@dataclass(frozen=True, slots=True)
class Alpha:
    event_type: ClassVar[str] = "alpha"
    n: int = 0


@dataclass(frozen=True, slots=True)
class Beta:
    event_type: ClassVar[str] = "beta"
    n: int = 0


@dataclass(frozen=True, slots=True)
class Gamma:
    event_type: ClassVar[str] = "gamma"
    n: int = 0


PAYLOAD_TYPES: tuple[type[Alpha] | type[Beta] | type[Gamma], ...] = (Alpha, Beta, Gamma)


class CountingEncoder:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, sequence: int, now: float, payload: Payload) -> Encoded:
        self.calls.append(sequence)
        return (sequence, now, payload.event_type)


class Wakeups:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def make_log(*, replay_size: int = 100, queue_size: int = 100) -> EventLog[Encoded]:
    return EventLog(encode=CountingEncoder(), replay_size=replay_size, queue_size=queue_size)


def publish_many(log: EventLog[Encoded], count: int, payload: Payload = Alpha()) -> None:
    for _ in range(count):
        log.publish(payload, now=1000.0 + log.last_sequence)


def drain(subscription: Subscription[Encoded]) -> list[Batch[Encoded]]:
    batches = []
    while (batch := subscription.take()) is not None:
        batches.append(batch)
    return batches


def sequences(batches: list[Batch[Encoded]]) -> list[int]:
    return [entry.sequence for batch in batches for entry in batch.entries]


def gaps(batches: list[Batch[Encoded]]) -> list[Gap]:
    return [batch.gap for batch in batches if batch.gap is not None]


# Numbering and encoding


def test_sequences_are_consecutive_from_one() -> None:
    log = make_log()
    assert log.last_sequence == 0
    assert log.first_retained_sequence == 1

    entries = [log.publish(Alpha(i), now=50.0 + i) for i in range(5)]

    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5]
    assert log.last_sequence == 5
    assert log.first_retained_sequence == 1


def test_entry_carries_time_type_payload_and_encoding() -> None:
    log = make_log()
    payload = NodeStateChanged(state="ready")

    entry = log.publish(payload, now=1234.5)

    assert entry == Entry(
        sequence=1,
        time=1234.5,
        event_type="node_state_changed",
        payload=payload,
        encoded=(1, 1234.5, "node_state_changed"),
    )


def test_node_payload_types() -> None:
    error = ErrorOccurred(reason="INTERNAL", message="boom", subsystem="discovery")

    assert NodeStateChanged.event_type == "node_state_changed"
    assert NodeStateChanged("stopping").reason == ""
    assert ErrorOccurred.event_type == "error"
    assert error.metadata == {}


def test_encode_is_called_once_per_event_whatever_the_number_of_subscribers() -> None:
    encoder = CountingEncoder()
    log = EventLog(encode=encoder, replay_size=10, queue_size=10)
    subscriptions = [log.subscribe() for _ in range(5)]
    subscriptions.append(log.subscribe(types=["beta"]))

    log.publish(Alpha(), now=1.0)
    log.publish(Beta(), now=2.0)
    log.subscribe(after_sequence=0)

    assert encoder.calls == [1, 2]
    # Every subscriber gets the very same entry object, not a copy.
    firsts = [batch.entries[0] for s in subscriptions if (batch := s.take()) is not None]
    assert all(entry is firsts[0] for entry in firsts[:5])


def test_failing_encoder_leaves_no_hole_in_the_sequence() -> None:
    def encode(sequence: int, now: float, payload: Payload) -> int:
        if payload.event_type == "beta":
            raise ValueError("cannot encode")
        return sequence

    log = EventLog(encode=encode, replay_size=10, queue_size=10)
    log.publish(Alpha(), now=1.0)
    with pytest.raises(ValueError, match="cannot encode"):
        log.publish(Beta(), now=2.0)

    assert log.publish(Alpha(), now=3.0).sequence == 2


def test_replay_buffer_keeps_the_newest_events() -> None:
    log = make_log(replay_size=3)
    publish_many(log, 7)

    assert log.first_retained_sequence == 5
    assert log.last_sequence == 7


def test_invalid_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="queue_size"):
        make_log(queue_size=0)
    with pytest.raises(ValueError, match="replay_size"):
        make_log(replay_size=-1)
    with pytest.raises(ValueError, match="max_entries"):
        make_log().subscribe().take(0)


# Live subscriptions and filters


def test_live_subscription_sees_only_events_published_after_it() -> None:
    log = make_log()
    publish_many(log, 3)
    subscription = log.subscribe()

    assert subscription.take() is None
    assert subscription.pending == 0

    publish_many(log, 2)

    assert subscription.pending == 2
    batch = subscription.take()
    assert batch is not None
    assert batch.gap is None
    assert [e.sequence for e in batch.entries] == [4, 5]
    assert subscription.take() is None


def test_type_filter_delivers_only_matching_events() -> None:
    log = make_log()
    both = log.subscribe(types=["alpha", "gamma"])
    everything = log.subscribe()

    for payload in (Alpha(), Beta(), Gamma(), Beta(), Alpha()):
        log.publish(payload, now=1.0)

    assert sequences(drain(both)) == [1, 3, 5]
    assert sequences(drain(everything)) == [1, 2, 3, 4, 5]


def test_take_respects_max_entries() -> None:
    log = make_log()
    subscription = log.subscribe()
    publish_many(log, 5)

    first = subscription.take(max_entries=2)
    second = subscription.take(max_entries=2)
    third = subscription.take(max_entries=2)

    assert first is not None
    assert second is not None
    assert third is not None
    assert [e.sequence for e in first.entries] == [1, 2]
    assert [e.sequence for e in second.entries] == [3, 4]
    assert [e.sequence for e in third.entries] == [5]
    assert subscription.take(max_entries=2) is None


# Replay


def test_replay_after_sequence_then_live_without_duplicates_or_omissions() -> None:
    log = make_log()
    publish_many(log, 5)
    subscription = log.subscribe(after_sequence=2)
    publish_many(log, 2)

    batches = drain(subscription)

    assert sequences(batches) == [3, 4, 5, 6, 7]
    assert gaps(batches) == []


def test_replay_after_last_sequence_is_live_only() -> None:
    log = make_log()
    publish_many(log, 3)

    subscription = log.subscribe(after_sequence=3)

    assert subscription.take() is None


def test_replay_from_zero_replays_everything_retained() -> None:
    log = make_log(replay_size=10)
    publish_many(log, 4)

    batches = drain(log.subscribe(after_sequence=0))

    assert sequences(batches) == [1, 2, 3, 4]
    assert gaps(batches) == []


def test_replay_with_type_filter() -> None:
    log = make_log()
    for payload in (Alpha(), Beta(), Alpha(), Beta(), Gamma()):
        log.publish(payload, now=1.0)

    subscription = log.subscribe(after_sequence=1, types=["beta", "gamma"])
    log.publish(Alpha(), now=2.0)
    log.publish(Gamma(), now=3.0)

    assert sequences(drain(subscription)) == [2, 4, 5, 7]


def test_replay_expired_gap_covers_events_no_longer_retained() -> None:
    log = make_log(replay_size=3)
    publish_many(log, 8)  # retains 6, 7, 8

    batches = drain(log.subscribe(after_sequence=2))

    assert [(b.gap, [e.sequence for e in b.entries]) for b in batches] == [
        (Gap(3, 5, "replay_expired"), [6, 7, 8])
    ]


def test_replay_expired_gap_is_sent_even_when_the_filter_matches_nothing_retained() -> None:
    log = make_log(replay_size=2)
    publish_many(log, 5)

    batches = drain(log.subscribe(after_sequence=0, types=["beta"]))

    # The log no longer knows whether 1..3 held a "beta" event, so it must say they are gone.
    assert batches == [Batch(Gap(1, 3, "replay_expired"), ())]


def test_replay_larger_than_the_queue_keeps_the_newest_and_reports_the_rest() -> None:
    log = make_log(replay_size=10, queue_size=3)
    publish_many(log, 8)

    batches = drain(log.subscribe(after_sequence=1))

    assert [(b.gap, [e.sequence for e in b.entries]) for b in batches] == [
        (Gap(2, 5, "replay_expired"), [6, 7, 8])
    ]


def test_restarted_gap_covers_what_is_no_longer_retained() -> None:
    log = make_log(replay_size=3)
    publish_many(log, 7)  # retains 5, 6, 7

    batches = drain(log.subscribe(restarted=True))

    assert gaps(batches) == [Gap(1, 4, "restarted")]
    assert batches[0].gap is not None
    assert sequences(batches) == [5, 6, 7]


def test_restarted_ignores_after_sequence_from_the_previous_run() -> None:
    log = make_log(replay_size=10)
    publish_many(log, 3)

    # 500 would be ahead of this run's log, but it belongs to the previous run.
    batches = drain(log.subscribe(after_sequence=500, restarted=True))

    assert gaps(batches) == [Gap(1, 0, "restarted")]
    assert sequences(batches) == [1, 2, 3]


@pytest.mark.parametrize("published", [0, 4])
def test_restarted_gap_is_sent_even_when_its_range_is_empty(published: int) -> None:
    log = make_log(replay_size=10)
    publish_many(log, published)

    subscription = log.subscribe(restarted=True)
    batches = drain(subscription)

    assert batches[0].gap == Gap(1, 0, "restarted")
    assert sequences(batches) == list(range(1, published + 1))


def test_restarted_gap_grows_when_the_replay_is_larger_than_the_queue() -> None:
    log = make_log(replay_size=10, queue_size=2)
    publish_many(log, 6)

    batches = drain(log.subscribe(restarted=True))

    assert gaps(batches) == [Gap(1, 4, "restarted")]
    assert sequences(batches) == [5, 6]


def test_after_sequence_ahead_of_the_log_is_an_invalid_argument() -> None:
    log = make_log()
    publish_many(log, 3)

    with pytest.raises(InvalidArgument) as caught:
        log.subscribe(after_sequence=4)

    assert caught.value.message == "after_sequence 4 is ahead of the event log (last sequence 3)"
    assert caught.value.metadata == {"field": "after_sequence"}
    assert log.subscriber_count == 0


def test_negative_after_sequence_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="negative"):
        make_log().subscribe(after_sequence=-1)


# Slow consumers


def test_slow_consumer_loses_events_without_affecting_others() -> None:
    log = make_log(queue_size=3)
    slow = log.subscribe()
    fast = log.subscribe()
    fast_batches: list[Batch[Encoded]] = []

    for _ in range(10):
        publish_many(log, 1)
        fast_batches.extend(drain(fast))
    assert slow.pending == 4  # three entries and the gap notice

    slow_batches = [b for b in [slow.take()] if b is not None]  # makes room for new events
    publish_many(log, 2)
    fast_batches.extend(drain(fast))
    slow_batches.extend(drain(slow))

    assert sequences(fast_batches) == list(range(1, 13))
    assert gaps(fast_batches) == []
    assert [(b.gap, [e.sequence for e in b.entries]) for b in slow_batches] == [
        (None, [1, 2, 3]),
        (Gap(4, 10, "slow_consumer"), [11, 12]),
    ]


def test_gap_is_delivered_alone_once_the_queue_drains() -> None:
    log = make_log(queue_size=2)
    subscription = log.subscribe()
    publish_many(log, 5)

    first = subscription.take()
    second = subscription.take()

    assert first is not None
    assert (first.gap, [e.sequence for e in first.entries]) == (None, [1, 2])
    assert second == Batch(Gap(3, 5, "slow_consumer"), ())
    assert subscription.take() is None


def test_loss_on_either_side_of_a_delivered_entry_gives_two_gaps() -> None:
    log = make_log(queue_size=2)
    subscription = log.subscribe()
    publish_many(log, 4)  # queues 1, 2; drops 3, 4
    one = subscription.take(max_entries=1)  # frees one place
    publish_many(log, 3)  # queues 5; drops 6, 7

    batches = drain(subscription)

    assert one is not None
    assert [e.sequence for e in one.entries] == [1]
    assert [(b.gap, [e.sequence for e in b.entries]) for b in batches] == [
        (None, [2]),
        (Gap(3, 4, "slow_consumer"), [5]),
        (Gap(6, 7, "slow_consumer"), []),
    ]


def test_gap_of_a_filtered_subscriber_spans_the_events_it_would_have_skipped() -> None:
    log = make_log(queue_size=1)
    subscription = log.subscribe(types=["alpha"])
    for payload in (Alpha(), Alpha(), Beta(), Alpha(), Beta()):
        log.publish(payload, now=1.0)

    batches = drain(subscription)

    assert [(b.gap, [e.sequence for e in b.entries]) for b in batches] == [
        (None, [1]),
        (Gap(2, 4, "slow_consumer"), []),
    ]


# Wake-ups


def test_notify_is_a_wake_up_edge_not_a_callback_per_event() -> None:
    log = make_log(queue_size=2)
    wakeups = Wakeups()
    subscription = log.subscribe(notify=wakeups)
    assert wakeups.count == 0

    publish_many(log, 1)
    assert wakeups.count == 1
    publish_many(log, 5)  # already pending, and the drops too
    assert wakeups.count == 1

    subscription.take(max_entries=1)
    publish_many(log, 1)  # still pending (an entry and the gap), so no wake-up
    assert wakeups.count == 1

    drain(subscription)
    publish_many(log, 1)
    assert wakeups.count == 2

    subscription.take()
    log.close()
    assert wakeups.count == 3
    log.close()
    subscription.cancel()
    assert wakeups.count == 3


def test_notify_is_called_on_subscribe_only_when_something_is_replayed() -> None:
    log = make_log()
    publish_many(log, 2)
    live, up_to_date, behind, restarted = Wakeups(), Wakeups(), Wakeups(), Wakeups()

    log.subscribe(notify=live)
    log.subscribe(after_sequence=2, notify=up_to_date)
    log.subscribe(after_sequence=1, notify=behind)
    log.subscribe(restarted=True, notify=restarted)

    assert (live.count, up_to_date.count, behind.count, restarted.count) == (0, 0, 1, 1)


def test_filtered_out_events_do_not_wake_the_subscriber() -> None:
    log = make_log()
    wakeups = Wakeups()
    log.subscribe(types=["beta"], notify=wakeups)

    publish_many(log, 3, Alpha())

    assert wakeups.count == 0


def test_cancel_notifies_once() -> None:
    log = make_log()
    wakeups = Wakeups()
    subscription = log.subscribe(notify=wakeups)

    subscription.cancel()
    subscription.cancel()

    assert wakeups.count == 1


def test_a_subscriber_cancelling_from_notify_does_not_disturb_the_others() -> None:
    log = make_log()
    subscriptions: list[Subscription[Encoded]] = []

    def cancel_first() -> None:
        subscriptions[0].cancel()

    subscriptions.append(log.subscribe(notify=cancel_first))
    subscriptions.append(log.subscribe())

    publish_many(log, 1)

    assert log.subscriber_count == 1
    assert subscriptions[0].ended
    assert sequences(drain(subscriptions[1])) == [1]


# Shutdown and cancellation


def test_close_lets_subscribers_drain_then_ends_them() -> None:
    log = make_log(queue_size=2)
    subscription = log.subscribe()
    publish_many(log, 3)

    log.close()

    assert log.closed
    assert not subscription.ended
    assert sequences([b for b in [subscription.take()] if b is not None]) == [1, 2]
    assert not subscription.ended
    assert subscription.take() == Batch(Gap(3, 3, "slow_consumer"), ())
    assert subscription.ended
    assert subscription.take() is None


def test_a_subscriber_with_nothing_queued_ends_at_close() -> None:
    log = make_log()
    subscription = log.subscribe()
    assert not subscription.ended

    log.close()

    assert subscription.ended


def test_publish_and_subscribe_after_close_raise_shutting_down() -> None:
    log = make_log()
    log.close()

    with pytest.raises(ShuttingDown, match="event log is closed"):
        log.publish(Alpha(), now=1.0)
    with pytest.raises(ShuttingDown, match="event log is closed"):
        log.subscribe()


def test_cancel_unsubscribes_and_frees_the_queue() -> None:
    log = make_log()
    subscription = log.subscribe()
    other = log.subscribe()
    publish_many(log, 2)
    assert log.subscriber_count == 2

    subscription.cancel()
    publish_many(log, 1)

    assert log.subscriber_count == 1
    assert subscription.pending == 0
    assert subscription.take() is None
    assert subscription.ended
    assert sequences(drain(other)) == [1, 2, 3]

    subscription.cancel()
    assert log.subscriber_count == 1


def test_subscriptions_stay_counted_after_close_until_cancelled() -> None:
    log = make_log()
    subscription = log.subscribe()
    log.close()

    assert log.subscriber_count == 1
    subscription.cancel()
    assert log.subscriber_count == 0


# Every matching event is delivered or reported missing, exactly once and in order


@dataclass
class Observed:
    subscription: Subscription[Encoded]
    types: frozenset[str]
    covered_from: int  # sequences up to this one are none of its business
    items: list[Gap | int]
    cancelled: bool = False


def check_coverage(observed: Observed, published_types: list[str], *, complete: bool) -> None:
    """Delivered sequences and gap ranges account for each matching sequence once, in order."""

    def matches(sequence: int) -> bool:
        return not observed.types or published_types[sequence - 1] in observed.types

    def assert_none_skipped(after: int, before: int) -> None:
        skipped = [s for s in range(after + 1, before) if matches(s)]
        assert skipped == [], f"sequences {skipped} neither delivered nor in a gap"

    covered = observed.covered_from
    for item in observed.items:
        if isinstance(item, Gap):
            assert item.first_sequence > covered, f"{item} overlaps what came before"
            assert item.last_sequence >= item.first_sequence - 1
            if item.reason == "slow_consumer":
                assert item.last_sequence >= item.first_sequence
            assert_none_skipped(covered, item.first_sequence)
            covered = max(covered, item.last_sequence)
        else:
            assert matches(item), f"sequence {item} does not match the filter"
            assert item > covered, f"sequence {item} delivered twice or out of order"
            assert_none_skipped(covered, item)
            covered = item
    if complete:
        assert_none_skipped(covered, len(published_types) + 1)


def record(observed: Observed, batch: Batch[Encoded], max_entries: int) -> None:
    assert batch.gap is not None or batch.entries, "take() returned an empty batch"
    assert len(batch.entries) <= max_entries
    if batch.gap is not None:
        observed.items.append(batch.gap)
    observed.items.extend(entry.sequence for entry in batch.entries)


@pytest.mark.parametrize("seed", range(12))
def test_random_interleavings_lose_nothing_silently(seed: int) -> None:
    rng = random.Random(seed)
    queue_size = rng.randint(1, 6)
    log = make_log(replay_size=rng.randint(0, 10), queue_size=queue_size)
    published_types: list[str] = []
    observers: list[Observed] = []

    def subscribe() -> None:
        types = frozenset(t.event_type for t in PAYLOAD_TYPES if rng.random() < 0.4)
        mode = rng.choice(["live", "after", "restarted"])
        if mode == "live":
            subscription = log.subscribe(types=types)
            covered_from = log.last_sequence
        elif mode == "after":
            covered_from = rng.randint(0, log.last_sequence)
            subscription = log.subscribe(after_sequence=covered_from, types=types)
        else:
            subscription = log.subscribe(restarted=True, types=types)
            covered_from = 0
        observers.append(Observed(subscription, types, covered_from, []))

    for _ in range(3):
        subscribe()
    for step in range(600):
        roll = rng.random()
        if roll < 0.5:
            payload_type = rng.choice(PAYLOAD_TYPES)
            log.publish(payload_type(step), now=float(step))
            published_types.append(payload_type.event_type)
        elif roll < 0.95:
            observed = rng.choice(observers)
            max_entries = rng.randint(1, 4)
            had_pending = observed.subscription.pending > 0
            batch = observed.subscription.take(max_entries)
            assert (batch is not None) == had_pending
            if batch is not None:
                record(observed, batch, max_entries)
        elif roll < 0.98 or len(observers) < 2:
            subscribe()
        else:
            observed = rng.choice(observers)
            observed.subscription.cancel()
            observed.cancelled = True
        for observed in observers:
            assert observed.subscription.pending <= 2 * queue_size + 1

    log.close()
    for observed in observers:
        while (batch := observed.subscription.take(256)) is not None:
            record(observed, batch, 256)
        assert observed.subscription.ended
        check_coverage(observed, published_types, complete=not observed.cancelled)
    assert log.subscriber_count == sum(not o.cancelled for o in observers)
