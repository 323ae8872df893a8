"""`kizuna stream | streams | watch | accept-stream | reject-stream | close-stream` against two
real daemons, as subprocesses."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import av
import pytest

from kizuna_client.v1 import stream_pb2
from tests.p2p.peerpair import Nodes, paired
from tests.test_cli_transfers import finish, kizuna, start

pytestmark = pytest.mark.asyncio


async def test_stream_watch_record_and_close_from_the_command_line(
    nodes: Nodes, tmp_path: Path
) -> None:
    a, b = await paired(nodes)
    mark_b, mark_a = b.events.mark(), a.events.mark()
    streaming = await start(
        a, "stream", "camera", "beta", "--device", "synthetic", "--size", "320x240", "--fps", "15"
    )
    offer = await b.events.wait_for("stream_offered", after=mark_b)
    stream_id = offer.message.stream_offered.stream.id

    code, out, _ = await kizuna(b, "streams")
    assert code == 0 and stream_id[:8] in out and "offered" in out and "camera" in out

    recording = tmp_path / "out.mkv"
    watching = await start(b, "watch", stream_id[:6], "--record", str(recording))
    await a.events.wait_for("capture_started", after=mark_a)
    code, out, _ = await kizuna(a, "status")
    assert "capturing camera (synthetic) for beta" in out
    # Let the recording gather a few keyframes' worth of frames: wait on the stats events.
    await b.events.wait_for(
        "stream_stats", lambda p: p.stream.frames_received >= 40, after=mark_b, within=30
    )
    code, out, err = await kizuna(b, "close-stream", stream_id[:6])
    assert code == 0, err
    assert "closed camera stream" in out

    code, out, err = await finish(watching)
    assert code == 0, err
    assert "recorded to" in out
    code, out, err = await finish(streaming)
    assert code == 0, err
    assert "streaming camera to beta as h264" in out
    assert "stream ended (closed)" in out
    with av.open(str(recording)) as container:
        video = container.streams.video[0]
        # 1280x720 pictures fitted into 320x240 keep their aspect.
        assert (video.codec_context.width, video.codec_context.height) == (320, 180)
        assert sum(1 for _ in container.decode(video)) >= 30


async def test_reject_stream_tells_the_streaming_person_why(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    mark = b.events.mark()
    streaming = await start(a, "stream", "audio", "beta", "--device", "synthetic")
    offer = await b.events.wait_for("stream_offered", after=mark)
    code, _, err = await kizuna(
        b, "reject-stream", offer.message.stream_offered.stream.id[:8], "--reason", "in a meeting"
    )
    assert code == 0, err
    code, _, err = await finish(streaming)
    assert code == 1
    assert "in a meeting" in err


async def test_ctrl_c_ends_the_stream_on_both_devices(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    mark = b.events.mark()
    streaming = await start(a, "stream", "screen", "beta", "--device", "synthetic")
    offer = await b.events.wait_for("stream_offered", after=mark)
    code, out, _ = await kizuna(b, "accept-stream", offer.message.stream_offered.stream.id[:8])
    assert code == 0 and "accepted screen stream" in out
    await b.events.wait_for("stream_started", after=mark)
    streaming.send_signal(signal.SIGINT)
    await finish(streaming)
    ended = await b.events.wait_for("stream_ended", after=mark)
    assert ended.message.stream_ended.stream.state == stream_pb2.Stream.STATE_CLOSED
    assert await a.client.streams() == []


async def test_a_bad_size_is_a_clear_message(nodes: Nodes) -> None:
    a, _ = await paired(nodes)
    code, _, err = await kizuna(a, "stream", "screen", "beta", "--size", "big")
    assert code != 0
    assert "WIDTHxHEIGHT" in err


async def test_watch_play_hands_the_stream_to_a_local_player(nodes: Nodes) -> None:
    """`--play` pipes Matroska into ffplay (Debian's ffmpeg), here with SDL's dummy video
    driver; the player ends with the stream."""
    a, b = await paired(nodes)
    mark = b.events.mark()
    streaming = await start(
        a, "stream", "screen", "beta", "--device", "synthetic", "--size", "320x180"
    )
    offer = await b.events.wait_for("stream_offered", after=mark)
    stream_id = offer.message.stream_offered.stream.id
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    watching = await start(b, "watch", stream_id[:8], "--play", env=env)
    await b.events.wait_for(
        "stream_stats", lambda p: p.stream.frames_received >= 30, after=mark, within=30
    )
    code, out, err = await kizuna(a, "close-stream", stream_id[:8])
    assert code == 0, err
    code, out, err = await finish(watching)
    assert code == 0, err
    assert "played with ffplay (exit status 0)" in out
    await finish(streaming)
