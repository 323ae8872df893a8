"""Data streams between two real daemons on loopback (real TLS), driven through kizuna_client."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kizuna_client.errors import (
    PeerNotTrustedError,
    PermissionDeniedByPeerError,
    StreamClosedError,
    StreamRejectedError,
)
from kizuna_client.v1 import stream_pb2, stream_service_pb2
from tests.p2p.peerpair import Node, Nodes, paired

pytestmark = pytest.mark.asyncio


async def offered(node: Node, after: int) -> Any:
    event = await node.events.wait_for("stream_offered", after=after)
    return event.stream


async def test_a_data_stream_carries_frames_both_ways_in_order(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    mark = b.events.mark()
    opening = asyncio.ensure_future(
        a.client.start_stream("data", b.id, channel="org.example.echo", metadata={"k": "v"})
    )
    stream = await offered(b, mark)
    assert stream.header.channel == "org.example.echo"
    assert stream.header.kind == stream_pb2.STREAM_KIND_DATA
    assert stream.peer_id == a.id
    viewer = await b.client.attach_stream(stream.id)
    sender = await opening
    assert sender.id == stream.id
    assert sender.info is not None and sender.info.state == stream_pb2.Stream.STATE_OPEN
    assert viewer.metadata == {"k": "v"}

    payloads = [bytes([i]) * (1 + i * 1000) for i in range(50)]

    async def send_all() -> None:
        for data in payloads:
            await sender.send(data)
        await viewer.send(b"reply")

    sending = asyncio.ensure_future(send_all())
    received = []
    async for frame in viewer:
        received.append(frame)
        if len(received) == len(payloads):
            break
    await sending
    assert [f.data for f in received] == payloads
    assert [f.sequence for f in received] == list(range(len(payloads)))
    assert all(f.capture_time > 0 for f in received)
    back = await anext(aiter(sender))
    assert back.data == b"reply"

    mark_b = b.events.mark()
    await sender.close()
    ended = await b.events.wait_for(
        "stream_ended", lambda p: p.stream.id == stream.id, after=mark_b
    )
    assert ended.message.stream_ended.stream.state == stream_pb2.Stream.STATE_CLOSED
    assert [f async for f in viewer] == []  # the viewer's call ends normally
    assert await a.client.streams() == [] and await b.client.streams() == []


async def test_apps_using_plain_generated_stubs_send_and_receive_ordinary_messages(
    nodes: Nodes,
) -> None:
    """An app in another language serializes frames with its protobuf runtime; the daemons
    read and write them around the payload (framing.py): the bytes must be the same messages."""
    a, b = await paired(nodes)
    mark = b.events.mark()
    header = stream_pb2.StreamHeader(peer_id=b.id, kind=stream_pb2.STREAM_KIND_DATA)
    opener: Any = a.client.stream_service.OpenStream()  # type: ignore[call-arg]
    await opener.write(stream_service_pb2.OpenStreamRequest(header=header))
    stream = await offered(b, mark)
    viewer: Any = b.client.stream_service.AttachStream()  # type: ignore[call-arg]
    await viewer.write(
        stream_service_pb2.AttachStreamRequest(
            header=stream_service_pb2.AttachHeader(stream_id=stream.id)
        )
    )
    assert (await viewer.read()).stream.id == stream.id
    assert (await opener.read()).stream.state == stream_pb2.Stream.STATE_OPEN
    payloads = [b"", b"x", bytes(range(256)) * 4096]
    for index, data in enumerate(payloads):
        sent = stream_pb2.Frame(keyframe=index == 1, data=data)
        sent.timestamp.FromMilliseconds(index * 10)
        sent.capture_time.FromMicroseconds(1_700_000_000_000_000 + index)
        await opener.write(stream_service_pb2.OpenStreamRequest(frame=sent))
    for index, data in enumerate(payloads):
        response = await viewer.read()
        assert response.WhichOneof("part") == "frame"
        got = response.frame
        assert (got.sequence, got.keyframe, got.data) == (index, index == 1, data)
        assert got.timestamp.ToMilliseconds() == index * 10
        assert got.capture_time.ToMicroseconds() == 1_700_000_000_000_000 + index
    await viewer.write(
        stream_service_pb2.AttachStreamRequest(frame=stream_pb2.Frame(data=b"reply"))
    )
    back = await opener.read()
    assert back.frame.data == b"reply" and back.frame.sequence == 0
    await opener.done_writing()
    assert (await viewer.read()).stream.state == stream_pb2.Stream.STATE_CLOSED


async def test_a_rejected_stream_tells_the_opener_why(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    mark = b.events.mark()
    opening = asyncio.ensure_future(a.client.start_stream("data", b.id))
    stream = await offered(b, mark)
    await b.client.reject_stream(stream.id, "not now")
    with pytest.raises(StreamRejectedError, match="not now"):
        await opening


async def test_streams_permission_off_refuses_the_offer(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    await b.client.set_peer_permissions(a.id, streams=False)
    with pytest.raises(PermissionDeniedByPeerError):
        await a.client.start_stream("data", b.id)
    assert await b.client.streams() == []


async def test_an_unpaired_device_cannot_open_a_stream(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    with pytest.raises(PeerNotTrustedError):
        await a.client.start_stream("data", b.id)


async def test_closing_from_the_receiving_end_ends_the_openers_call(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    mark = b.events.mark()
    opening = asyncio.ensure_future(a.client.start_stream("data", b.id))
    stream = await offered(b, mark)
    await b.client.accept_stream(stream.id)
    sender = await opening
    await b.client.close_stream(stream.id)
    assert [f async for f in sender] == []
    assert sender.info is not None and sender.info.state == stream_pb2.Stream.STATE_CLOSED
    with pytest.raises(StreamClosedError):
        await sender.send(b"late")


async def test_megabyte_frames_reuse_memory_while_a_data_stream_is_open(nodes: Nodes) -> None:
    """While data streams are open the client keeps megabyte buffers for reuse (memory.BULK):
    sending 1 MiB frames through both daemons and both apps (all in this process) then costs
    60-130 page faults per MiB here, where glibc's defaults fault buffers in afresh at each copy
    (440-540 per MiB). Given back when the last stream ends."""
    import resource

    from kizuna_client import memory

    a, b = await paired(nodes)
    mark = b.events.mark()
    opening = asyncio.ensure_future(a.client.start_stream("data", b.id))
    viewer = await b.client.attach_stream((await offered(b, mark)).id)
    sender = await opening
    assert memory.BULK.active == 2  # both handles live in this test's process
    payload = bytes(1024 * 1024)

    async def move(count: int) -> None:
        async def receive() -> None:
            for _ in range(count):
                frame = await anext(aiter(viewer))
                assert len(frame.data) == len(payload)

        receiving = asyncio.ensure_future(receive())
        for _ in range(count):
            await sender.send(payload)
        await asyncio.wait_for(receiving, 30)

    await move(8)  # the heap grows to hold what is in flight
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    await move(32)
    faults_per_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 32
    assert faults_per_mib < 256, f"{faults_per_mib:.0f} page faults per MiB sent"

    await sender.close()
    assert [f async for f in viewer] == []
    assert memory.BULK.active == 0
