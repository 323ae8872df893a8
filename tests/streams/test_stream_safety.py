"""Streams under pressure and attack (THREATS #23, #24, #29, #37): a slow viewer, a revoked
permission, a replayed offer, a stranger, a peer that tries to make this device capture, and a
daemon without the media extra."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from kizuna_client import Kizuna, StreamHandle, media
from kizuna_client.errors import (
    CaptureUnavailableError,
    PeerNotTrustedError,
    PermissionDeniedByPeerError,
)
from kizuna_client.v1 import errors_pb2, stream_pb2, stream_service_pb2
from kizuna_server.calls.errors import reason_from_trailers
from kizuna_server.p2p.tls import link_channel_credentials, link_channel_options
from kizuna_server.p2p.wire import stream_service_pb2 as wire
from kizuna_server.p2p.wire import stream_service_pb2_grpc as wire_grpc
from tests.conftest import DaemonProcess
from tests.p2p.peerpair import Node, Nodes, eventually, paired

pytestmark = pytest.mark.asyncio


async def open_and_watch(a: Node, b: Node, **options: Any) -> tuple[StreamHandle, StreamHandle]:
    mark = b.events.mark()
    opening = asyncio.ensure_future(a.client.start_stream("camera", b.id, **options))
    event = await b.events.wait_for("stream_offered", after=mark)
    viewer = await b.client.attach_stream(event.message.stream_offered.stream.id)
    return await opening, viewer


async def drain(handle: StreamHandle) -> None:
    async for _ in handle:
        pass


async def test_a_viewer_that_stops_reading_gets_the_latest_pictures_when_it_reads_again(
    nodes: Nodes,
) -> None:
    """Live video never queues for a slow app (#29): while it reads nothing its handle drops
    frames (asking the source for a keyframe), and the first pictures it reads afterwards are
    current, not seconds old."""
    a, b = await paired(nodes)
    sender, viewer = await open_and_watch(a, b, device="synthetic", max_size=(320, 180), fps=30)
    pictures = viewer.decoded()
    await anext(pictures)

    async def dropping() -> bool | None:
        return True if viewer.frames_dropped >= 30 else None  # a second of pictures dropped

    await eventually(dropping, within=30, what="the viewer's handle to drop frames")
    ages = []
    for _ in range(40):  # reading again; the decoder waits for the next keyframe
        picture = await anext(pictures)
        ages.append(time.time() - media.read_stamp(picture.to_ndarray(format="rgb24"), time.time()))
    assert max(ages) < 1.0, ages  # current pictures, not the backlog
    info = await b.client.get_stream(sender.id)
    assert info.state == stream_pb2.Stream.STATE_OPEN
    assert info.stats.keyframe_requests >= 1  # the source was asked for a fresh picture
    await sender.close()


async def test_an_app_that_never_reads_holds_up_nothing(nodes: Nodes) -> None:
    """An app in any language that attaches and never reads (here a raw stub, on a connection
    without BDP probing as docs/streams.md advises) fills only its own 64 KiB window: the
    receiving daemon drops frames for it, the source keeps its rate, and another viewer of the
    same stream keeps getting current pictures."""
    a, b = await paired(nodes)
    sender, viewer = await open_and_watch(a, b, device="synthetic", max_size=(640, 360), fps=30)
    stalled: Any = b.client.live_stream_service.AttachStream()  # type: ignore[call-arg]
    await stalled.write(
        stream_service_pb2.AttachStreamRequest(
            header=stream_service_pb2.AttachHeader(stream_id=sender.id)
        )
    )

    async def dropped_for_it() -> bool | None:
        info = await b.client.get_stream(sender.id)
        return True if info.frames_dropped >= 30 else None

    await eventually(dropped_for_it, within=30, what="the daemon to drop for the stalled app")
    ages = []
    async for picture in viewer.decoded():
        ages.append(time.time() - media.read_stamp(picture.to_ndarray(format="rgb24"), time.time()))
        if len(ages) == 30:
            break
    assert max(ages) < 1.0, ages
    stats = await sender.stats()
    assert stats.fps >= 20, stats  # the source was never slowed
    stalled.cancel()
    await sender.close()


async def test_turning_the_permission_off_ends_the_peers_streams_at_once(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    sender, viewer = await open_and_watch(a, b, device="synthetic", max_size=(160, 90))
    mark = b.events.mark()
    await b.client.set_peer_permissions(a.id, streams=False)
    ended = await b.events.wait_for("stream_ended", after=mark)
    stream = ended.message.stream_ended.stream
    assert stream.state == stream_pb2.Stream.STATE_FAILED
    assert stream.error.reason == errors_pb2.ERROR_REASON_PERMISSION_DENIED_BY_PEER
    with pytest.raises(PermissionDeniedByPeerError, match="no longer allowed"):
        await asyncio.wait_for(drain(viewer), 30)
    await asyncio.wait_for(drain(sender), 30)  # the opener's call ends too: it was told why
    assert sender.info is not None and "no longer allowed" in sender.info.error.message
    assert await a.client.streams() == []


async def test_a_replayed_offer_is_refused(nodes: Nodes) -> None:
    """An offer carrying the ID of a stream the receiver has seen (a captured message sent
    again) is refused (#23)."""
    a, b = await paired(nodes)
    sender, _ = await open_and_watch(a, b, device="synthetic", max_size=(160, 90))
    await sender.close()
    assert a.daemon.peers is not None
    channel = await a.daemon.peers.link_to(b.id)
    call: Any = wire_grpc.StreamServiceStub(channel).Open()  # type: ignore[call-arg]
    await call.write(
        wire.OpenRequest(
            offer=wire.StreamOffer(stream_id=sender.id, kind=wire.STREAM_KIND_CAMERA, format="h264")
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.read()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_from_trailers(refused.value.trailing_metadata()) == "INVALID_ARGUMENT"
    assert "already in use" in (refused.value.details() or "")


async def test_a_peer_offering_a_stream_never_starts_capture_here(nodes: Nodes) -> None:
    """The peer protocol can offer a stream but never ask for one (#37): whatever a peer sends,
    this device's sources stay off, and its status says so."""
    a, b = await paired(nodes)
    mark = b.events.mark()
    sender, viewer = await open_and_watch(a, b, device="synthetic", max_size=(160, 90))
    await anext(aiter(viewer))
    assert b.events.of_type("capture_started", after=mark) == []
    node = await b.client.node()
    line = next(s.detail for s in node.subsystems if s.name == "streams")
    assert "capturing" not in line
    assert not (await b.client.get_stream(sender.id)).capturing
    assert (await a.client.get_stream(sender.id)).capturing  # the opener's own, asked locally
    await sender.close()


async def test_without_the_media_extra_a_built_in_source_says_what_to_install(
    tmp_path: Path,
) -> None:
    """A daemon whose Python has no PyAV (here: a package named av that fails to import, as a
    missing one does) runs, and refuses a built-in source with CAPTURE_UNAVAILABLE naming the
    extra; data streams need no media code."""
    shadow = tmp_path / "shadow" / "av"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'av'\", name='av')\n")
    home = tmp_path / "home"
    daemon = await DaemonProcess(
        home, env={"PYTHONPATH": str(shadow.parent), "KIZUNA_IDENTITY_DEVICE_NAME": "bare"}
    ).start()
    try:
        async with Kizuna(home=home, embedded=False) as k:
            node = await k.node()
            with pytest.raises(
                CaptureUnavailableError, match=r"pip install 'kizuna\[media\]'"
            ) as e:
                await k.start_stream("screen", node.device_id)
            assert e.value.metadata["install"] == "kizuna[media]"
            assert e.value.metadata["source"] == "screen"
            assert (await k.node()).state == "ready"
    finally:
        daemon.signal(signal.SIGTERM)
        await daemon.wait()


async def test_a_device_that_is_not_paired_cannot_offer_a_stream(nodes: Nodes) -> None:
    """THREATS #24: C, never paired with B, cannot open a stream to it, neither through its
    daemon nor by calling B's link port itself; B never sees an offer."""
    b = await nodes.start("beta")
    c = await nodes.start("gamma")
    mark = b.events.mark()
    await c.client.add_peer(b.address, persist=False)
    with pytest.raises(PeerNotTrustedError):
        await c.client.start_stream("data", b.id)

    assert c.daemon.identity is not None and b.daemon.identity is not None
    channel = grpc.aio.secure_channel(
        b.address,
        link_channel_credentials(c.daemon.identity, b.daemon.identity.certificate_pem.decode()),
        options=link_channel_options(b.id),
    )
    try:
        call: Any = wire_grpc.StreamServiceStub(channel).Open(timeout=10)  # type: ignore[call-arg]
        offer = wire.StreamOffer(stream_id="a" * 32, kind=wire.STREAM_KIND_DATA)

        async def offer_directly() -> None:
            await call.write(wire.OpenRequest(offer=offer))
            await call.read()

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await offer_directly()
    finally:
        await channel.close(None)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE  # refused in the TLS handshake
    assert b.events.of_type("stream_offered", after=mark) == []
    assert await b.client.streams() == []
