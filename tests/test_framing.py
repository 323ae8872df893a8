"""kizuna_client/framing.py: frames written and read around protobuf, byte-compatible with it."""

from __future__ import annotations

import pytest
from google.protobuf.message import DecodeError

from kizuna_client.framing import FrameCodec, Framed
from kizuna_client.v1 import stream_pb2, stream_service_pb2
from kizuna_server.p2p.wire import stream_service_pb2 as wire

REQUESTS = FrameCodec(stream_service_pb2.OpenStreamRequest)
PAYLOAD = bytes(range(256)) * 300


def frame(**fields: object) -> stream_pb2.Frame:
    message = stream_pb2.Frame(sequence=7, keyframe=True, **fields)  # type: ignore[arg-type]
    message.timestamp.FromMilliseconds(1500)
    message.capture_time.FromMicroseconds(1_700_000_000_123_456)
    return message


def test_what_it_writes_is_the_message_protobuf_reads() -> None:
    parsed = stream_service_pb2.OpenStreamRequest.FromString(
        REQUESTS.encode(Framed(frame(), PAYLOAD))
    )
    assert parsed.WhichOneof("part") == "frame"
    assert parsed.frame == frame(data=PAYLOAD)


def test_it_reads_what_protobuf_writes_with_the_payload_as_a_view() -> None:
    encoded = stream_service_pb2.OpenStreamRequest(frame=frame(data=PAYLOAD)).SerializeToString()
    decoded = REQUESTS.decode(encoded)
    assert isinstance(decoded, Framed)
    assert isinstance(decoded.payload, memoryview)
    assert decoded.payload == PAYLOAD
    assert decoded.frame == frame()  # every other field, the payload field left empty


def test_an_empty_payload_and_an_empty_frame() -> None:
    for message in (frame(), stream_pb2.Frame()):
        encoded = stream_service_pb2.OpenStreamRequest(frame=message).SerializeToString()
        decoded = REQUESTS.decode(encoded)
        assert isinstance(decoded, Framed)
        assert (decoded.frame, bytes(decoded.payload)) == (message, b"")
        again = stream_service_pb2.OpenStreamRequest.FromString(REQUESTS.encode(decoded))
        assert again == stream_service_pb2.OpenStreamRequest(frame=message)


def test_messages_without_a_frame_pass_through_as_protobuf_messages() -> None:
    header = stream_service_pb2.OpenStreamRequest(header=stream_pb2.StreamHeader(peer_id="b" * 52))
    assert REQUESTS.encode(header) == header.SerializeToString()
    assert REQUESTS.decode(header.SerializeToString()) == header


def test_the_last_oneof_part_wins_as_in_protobuf() -> None:
    framed = stream_service_pb2.OpenStreamRequest(frame=frame(data=PAYLOAD)).SerializeToString()
    header = stream_service_pb2.OpenStreamRequest(
        header=stream_pb2.StreamHeader(peer_id="x")
    ).SerializeToString()
    assert REQUESTS.decode(framed + header) == stream_service_pb2.OpenStreamRequest.FromString(
        framed + header
    )
    decoded = REQUESTS.decode(header + framed)
    assert isinstance(decoded, Framed) and decoded.payload == PAYLOAD


def test_repeated_frame_fields_merge_and_the_last_payload_counts() -> None:
    first = stream_service_pb2.OpenStreamRequest(
        frame=stream_pb2.Frame(sequence=3, data=b"first")
    ).SerializeToString()
    second = stream_service_pb2.OpenStreamRequest(
        frame=stream_pb2.Frame(keyframe=True, data=PAYLOAD)
    ).SerializeToString()
    reference = stream_service_pb2.OpenStreamRequest.FromString(first + second).frame
    decoded = REQUESTS.decode(first + second)
    assert isinstance(decoded, Framed)
    assert decoded.payload == reference.data
    reference.ClearField("data")
    assert decoded.frame == reference


def test_unexpected_wire_types_are_left_to_protobuf() -> None:
    # Field 2 (frame) written as a varint: protobuf keeps it as an unknown field.
    assert REQUESTS.decode(b"\x10\x01") == stream_service_pb2.OpenStreamRequest.FromString(
        b"\x10\x01"
    )
    # An empty group (wire type 3, then 4) in the frame, before its payload.
    odd = b"\x12\x07\x0b\x0c\x22\x03abc"
    reference = stream_service_pb2.OpenStreamRequest.FromString(odd)
    decoded = REQUESTS.decode(odd)
    assert isinstance(decoded, Framed) and decoded.payload == b"abc"
    reference.frame.ClearField("data")
    assert decoded.frame == reference.frame


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x12",
        b"\x12\x05ab",
        b"\x12\x03\x22\x09x",
        b"\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    ],
)
def test_truncated_or_malformed_bytes_are_refused_like_protobuf_refuses_them(
    garbage: bytes,
) -> None:
    with pytest.raises(DecodeError):
        REQUESTS.decode(garbage)


def test_the_peer_link_messages_too() -> None:
    for outer in (wire.OpenRequest, wire.OpenResponse):
        codec = FrameCodec(outer)
        header = wire.StreamFrame(sequence=2**40, timestamp_us=-5, capture_unix_us=9)
        encoded = codec.encode(Framed(header, PAYLOAD))
        assert outer.FromString(encoded).frame.data == PAYLOAD
        decoded = codec.decode(encoded)
        assert isinstance(decoded, Framed)
        assert (decoded.frame, decoded.payload) == (header, PAYLOAD)
