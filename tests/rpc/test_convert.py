"""Conversions: every event type maps to an Event payload field, and back."""

from kizuna_client.v1 import event_pb2, node_pb2
from kizuna_server.core.events import ErrorOccurred, NodeStateChanged
from kizuna_server.rpc.convert import encode_event, event_type_names


def test_every_event_type_names_a_payload_field() -> None:
    fields = {f.name for f in event_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields}
    assert set(event_type_names().values()) == fields


def test_seed_event_names_are_representable() -> None:
    seed = {
        "peer_discovered",
        "peer_connected",
        "peer_disconnected",
        "transfer_started",
        "transfer_progress",
        "transfer_completed",
        "stream_started",
        "stream_ended",
        "command_executed",
        "error",
    }
    assert seed <= set(event_type_names().values())


def test_encode_builds_the_event_once_with_time_and_run() -> None:
    encode = encode_event("run-1")
    event = encode(7, 1700000000.25, NodeStateChanged(state="ready", reason="why"))
    assert (event.sequence, event.run_id, event.WhichOneof("payload")) == (
        7,
        "run-1",
        "node_state_changed",
    )
    assert event.time.ToNanoseconds() == 1700000000_250000000
    assert event.node_state_changed.state == 2
    error = encode(8, 0.0, ErrorOccurred(reason="INTERNAL", message="m", subsystem="streams"))
    assert error.error.error.message == "m"
    assert error.error.subsystem == node_pb2.SUBSYSTEM_NAME_STREAMS


def test_concatenated_chunks_parse_as_one_batched_response() -> None:
    from kizuna_client.v1 import event_service_pb2
    from kizuna_server.core.events import Batch, Entry, Gap
    from kizuna_server.rpc.events import _response, encode_for_subscribers

    chunk = encode_for_subscribers("run-2")
    payloads = [ErrorOccurred(reason="INTERNAL", message=f"m{n}", subsystem="s") for n in range(3)]
    entries = tuple(
        Entry(n, 1.0, "error", p, chunk(n, 1.0, p)) for n, p in enumerate(payloads, start=5)
    )
    batch = Batch(gap=Gap(2, 4, "slow_consumer"), entries=entries)
    response = event_service_pb2.SubscribeEventsResponse.FromString(_response(batch))
    assert [e.sequence for e in response.events] == [5, 6, 7]
    assert [e.error.error.message for e in response.events] == ["m0", "m1", "m2"]
    assert (response.gap.first_sequence, response.gap.last_sequence) == (2, 4)
    assert response.gap.reason == event_service_pb2.EventGap.REASON_SLOW_CONSUMER
