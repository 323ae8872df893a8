"""Built-in sources between two real daemons on loopback: real encoders, real decoders.

The camera path runs with the synthetic source (no V4L2 device exists on these machines): the
same pipeline, encoder and transport as a camera, with generated pictures.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kizuna_client import StreamHandle, StreamKind, media
from kizuna_client.errors import CaptureUnavailableError
from kizuna_client.v1 import stream_pb2
from tests.p2p.peerpair import Node, Nodes, paired

pytestmark = pytest.mark.asyncio


async def open_and_watch(
    a: Node, b: Node, kind: StreamKind, **options: Any
) -> tuple[StreamHandle, StreamHandle]:
    mark = b.events.mark()
    opening = asyncio.ensure_future(a.client.start_stream(kind, b.id, **options))
    event = await b.events.wait_for("stream_offered", after=mark)
    viewer = await b.client.attach_stream(event.message.stream_offered.stream.id)
    return await opening, viewer


async def test_the_synthetic_camera_arrives_as_decodable_h264_with_its_stamp(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    mark = a.events.mark()
    sender, viewer = await open_and_watch(
        a, b, "camera", device="synthetic", max_size=(640, 360), fps=30, quality=80
    )
    assert viewer.format == "h264"
    assert viewer.metadata["width"] == "640" and viewer.metadata["height"] == "360"
    started = await a.events.wait_for("capture_started", after=mark)
    assert started.message.capture_started.device == "synthetic"
    node = await a.client.node()
    streams_line = next(s for s in node.subsystems if s.name == "streams")
    assert "capturing camera (synthetic)" in streams_line.detail

    pictures = []
    async for frame in viewer.decoded():
        pictures.append(frame)
        if len(pictures) == 30:
            break
    first = pictures[0].to_ndarray(format="rgb24")
    assert first.shape == (360, 640, 3)
    latencies = [
        time.time() - media.read_stamp(p.to_ndarray(format="rgb24"), time.time()) for p in pictures
    ]
    assert all(0 <= latency < 5 for latency in latencies), latencies  # the stamp read back
    # The colour bars: the left eighth is white at first (before the bars move).
    assert first[100:300, 5:30].mean() > 150

    await sender.close()
    ended = await a.events.wait_for("capture_ended", after=mark)
    assert not ended.message.capture_ended.HasField("error")
    info = await a.client.get_stream(sender.id)
    assert info.state == stream_pb2.Stream.STATE_CLOSED and not info.capturing


async def test_the_synthetic_tone_arrives_at_440_hz(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    sender, viewer = await open_and_watch(a, b, "audio", device="synthetic")
    assert viewer.format == "opus"
    samples = []
    async for frame in viewer.decoded():
        samples.append(frame.to_ndarray().reshape(-1))
        if sum(len(s) for s in samples) >= 48_000:
            break
    await sender.close()
    signal = np.concatenate(samples)[:48_000].astype(float)
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    rate = int(viewer.metadata["sample_rate"])
    peak = np.fft.rfftfreq(len(signal), 1 / rate)[int(np.argmax(spectrum))]
    assert abs(peak - 440) <= 5, peak


async def test_a_recording_opens_as_a_video_file(nodes: Nodes, tmp_path: Path) -> None:
    import av

    a, b = await paired(nodes)
    sender, viewer = await open_and_watch(
        a, b, "screen", device="synthetic", max_size=(320, 180), fps=30
    )
    path = tmp_path / "out.mkv"
    recorder = media.Recorder(path, viewer.format, viewer.metadata)
    async for frame in viewer:
        recorder.write(frame)
        if recorder.frames == 45:
            break
    recorder.close()
    await sender.close()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 180)
        decoded = list(container.decode(stream))
    assert len(decoded) == 45


async def test_a_missing_display_is_a_clear_refusal_before_the_peer_hears(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    mark = b.events.mark()
    with pytest.raises(CaptureUnavailableError, match="X display :97") as raised:
        await a.client.start_stream("screen", b.id, device=":97")
    assert raised.value.metadata["source"] == "screen"
    assert not b.events.of_type("stream_offered", after=mark)
    assert await a.client.streams() == []
