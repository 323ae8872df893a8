"""Live streams between `kizuna daemon` processes in network namespaces: WebRTC bound to the
pinned link, the link fallback, a lost link, and media under loss and delay."""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from typing import Any

import numpy as np
import pytest

from kizuna_client import StreamHandle, StreamKind, media
from kizuna_client.errors import StreamClosedError
from kizuna_client.v1 import errors_pb2, stream_pb2
from tests import netns
from tests.e2e import media_env
from tests.e2e.peerlan import Device, PeerLan, pair

pytestmark = pytest.mark.netns

WEBRTC = {"KIZUNA_NETWORKING_ENABLE_WEBRTC": "true"}
LINK = {"KIZUNA_NETWORKING_ENABLE_WEBRTC": "false"}


async def _paired(
    lan: PeerLan, env_a: dict[str, str], env_b: dict[str, str]
) -> tuple[Device, Device]:
    a = await lan.start(0, "alpha", env=env_a)
    b = await lan.start(1, "beta", env=env_b)
    await a.wait_peer(b, lambda p: p.online, "discovers beta")
    await pair(a, b)
    return a, b


async def _open_and_watch(
    a: Device, b: Device, kind: StreamKind, **options: Any
) -> tuple[StreamHandle, StreamHandle]:
    since = len(b.events)
    opening = asyncio.ensure_future(a.api.start_stream(kind, b.device_id, **options))
    offer = await b.wait_event("stream_offered", since=since)
    viewer = await b.api.attach_stream(offer.message.stream_offered.stream.id)
    return await opening, viewer


async def _pictures(viewer: Any, count: int) -> list[Any]:
    pictures = []
    async for picture in viewer.decoded():
        pictures.append(picture)
        if len(pictures) == count:
            return pictures
    raise AssertionError(f"the stream ended after {len(pictures)} pictures")


async def test_webrtc_carries_the_camera_by_default() -> None:
    netns.require()
    async with PeerLan(2) as lan:
        a, b = await _paired(lan, {}, {})
        sender, viewer = await _open_and_watch(
            a, b, "camera", device="synthetic", max_size=(640, 360)
        )
        pictures = await _pictures(viewer, 60)
        assert pictures[-1].to_ndarray(format="rgb24").shape == (360, 640, 3)
        stamp = media.read_stamp(pictures[-1].to_ndarray(format="rgb24"), time.time())
        assert 0 <= time.time() - stamp < 5
        out, into = await a.api.get_stream(sender.id), await b.api.get_stream(sender.id)
        assert out.transport == stream_pb2.STREAM_TRANSPORT_WEBRTC
        assert into.transport == stream_pb2.STREAM_TRANSPORT_WEBRTC
        # Frames came over RTP: the link call carried none of them.
        assert into.frames_received >= 60
        await sender.close()
        ended = await b.wait_event("stream_ended", since=0)
        assert ended.message.stream_ended.stream.state == stream_pb2.Stream.STATE_CLOSED


async def test_without_webrtc_on_the_receiver_media_stays_on_the_link() -> None:
    netns.require()
    async with PeerLan(2) as lan:
        a, b = await _paired(lan, WEBRTC, LINK)
        sender, viewer = await _open_and_watch(a, b, "audio", device="synthetic")
        frames = 0
        async for _ in viewer:
            frames += 1
            if frames == 50:
                break
        info = await b.api.get_stream(sender.id)
        assert info.transport == stream_pb2.STREAM_TRANSPORT_LINK
        await sender.close()


async def _drain(handle: StreamHandle) -> None:
    async for _ in handle:
        pass


def _mean_colour(picture: Any) -> tuple[float, float, float]:
    rgb = picture.to_ndarray(format="rgb24")[40:, :]  # below the top rows
    return tuple(float(rgb[..., channel].mean()) for channel in range(3))  # type: ignore[return-value]


def _near(
    colour: tuple[float, float, float], wanted: tuple[int, int, int], within: int = 16
) -> bool:
    return all(abs(c - w) <= within for c, w in zip(colour, wanted, strict=True))


async def test_the_screen_under_xvfb_arrives_in_its_colours_and_follows_changes() -> None:
    netns.require()
    async with (
        PeerLan(2) as lan,
        media_env.xvfb(lan.hosts[0], "640x480") as display,
        media_env.showing(lan.hosts[0], display, "0xff8000", "640x480"),
    ):
        a, b = await _paired(lan, {"DISPLAY": display}, {})
        sender, viewer = await _open_and_watch(a, b, "screen")  # the default display: $DISPLAY
        assert (viewer.metadata["width"], viewer.metadata["height"]) == ("640", "480")
        pictures = viewer.decoded()
        first = await anext(pictures)
        assert (first.width, first.height) == (640, 480)
        for _ in range(90):  # ffplay's window may map a moment after the stream starts
            if _near(_mean_colour(first), (255, 128, 0)):
                break
            first = await anext(pictures)
        else:
            raise AssertionError(f"the window's colour never arrived: {_mean_colour(first)}")
        node = await a.api.node()
        line = next(s.detail for s in node.subsystems if s.name == "streams")
        assert f"capturing screen ({display}) for beta" in line

        async with media_env.showing(lan.hosts[0], display, "0x2040ff", "640x480"):
            for _ in range(150):  # five seconds of pictures at most
                picture = await anext(pictures)
                if _near(_mean_colour(picture), (32, 64, 255)):
                    break
            else:
                raise AssertionError(f"the new colour never arrived: {_mean_colour(picture)}")
        await sender.close()


async def test_the_microphone_through_pulseaudio_arrives_at_440_hz() -> None:
    netns.require()
    async with media_env.pulse_with_tone(440) as server, PeerLan(2) as lan:
        a, b = await _paired(lan, {"PULSE_SERVER": server}, {})
        sender, viewer = await _open_and_watch(a, b, "audio", device="kz.monitor")
        assert viewer.format == "opus"
        samples = []
        async for frame in viewer.decoded():
            samples.append(frame.to_ndarray().reshape(-1))
            if sum(len(s) for s in samples) >= 96_000:  # two seconds
                break
        await sender.close()
        signal = np.concatenate(samples)[-48_000:].astype(float)  # the last second
        spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
        peak = np.fft.rfftfreq(len(signal), 1 / 48_000)[int(np.argmax(spectrum))]
        assert abs(peak - 440) <= 5, peak


@pytest.mark.parametrize("transport", ["link", "webrtc"])
async def test_the_picture_keeps_moving_through_loss_and_delay(transport: str) -> None:
    """2% of frames dropped and 40 ms added each way (tests/e2e/relay.py): the stream keeps
    going, and no two decoded pictures are more than a second apart."""
    netns.require()
    env = WEBRTC if transport == "webrtc" else LINK
    async with PeerLan(2) as lan:
        await lan.impair(delay_ms=40, loss=0.02, seed=7)
        a, b = await _paired(lan, env, env)
        sender, viewer = await _open_and_watch(
            a, b, "screen", device="synthetic", max_size=(640, 360), fps=30
        )
        arrivals: list[float] = []
        stamps: list[float] = []
        loop = asyncio.get_running_loop()
        async for picture in viewer.decoded():
            arrivals.append(loop.time())
            stamps.append(
                time.time() - media.read_stamp(picture.to_ndarray(format="rgb24"), time.time())
            )
            if arrivals[-1] - arrivals[0] >= 10:
                break
        info = await b.api.get_stream(sender.id)
        assert stream_pb2.StreamTransport.Name(info.transport).endswith(transport.upper())
        gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
        worst = max(range(len(gaps)), key=gaps.__getitem__)
        assert gaps[worst] < 1.0, (
            f"a freeze of {gaps[worst]:.2f}s after picture {worst} of {len(arrivals)}\n"
            f"sender: {await a.api.get_stream(sender.id)}\nviewer: {info}\n"
            f"{a.tail(60)}\n{b.tail(60)}"
        )
        assert len(arrivals) >= 150, len(arrivals)  # at least half the pictures decoded
        assert sorted(stamps)[len(stamps) // 2] < 1.0  # and they are live, not queued
        await sender.close()


async def test_a_lost_link_ends_the_stream_with_a_clear_status() -> None:
    netns.require()
    async with PeerLan(2) as lan:
        a, b = await _paired(lan, {}, {})
        sender, viewer = await _open_and_watch(a, b, "data")
        await sender.send(b"before")
        assert (await anext(aiter(viewer))).data == b"before"
        netns.ip("-n", lan.hosts[1].namespace, "link", "set", lan.hosts[1].interface, "down")
        with pytest.raises(StreamClosedError, match="link to beta was lost"):
            await asyncio.wait_for(_drain(sender), 60)
        info = await a.api.get_stream(sender.id)
        assert info.state == stream_pb2.Stream.STATE_FAILED
        assert info.error.reason == errors_pb2.ERROR_REASON_STREAM_CLOSED


def _udp_ports(host: netns.Host, pid: int) -> list[int]:
    """The UDP ports process `pid` listens on inside `host` (its ICE sockets among them)."""
    listing = netns.run_in(host, ["ss", "-H", "-uanp"])
    ports = set()
    for line in listing.splitlines():
        if f"pid={pid}," not in line:
            continue
        local = line.split()[3]
        ports.add(int(local.rsplit(":", 1)[1]))
    return sorted(ports - {5353, 47120})


def _hostile_datagrams() -> list[bytes]:
    rtp = bytes([0x80, 0x60, 0x12, 0x34]) + (12345).to_bytes(4, "big")
    rtp += (0xDEADBEEF).to_bytes(4, "big")  # version 2, payload type 96, a made-up source
    stun = bytes.fromhex("0001000021120000") + bytes(12)  # a binding request, no credentials
    dtls = bytes([22, 0xFE, 0xFD]) + bytes(10) + bytes([0, 50]) + bytes(50)  # a handshake record
    return [rtp + bytes(1000), rtp + bytes([0x65]) * 200, stun, dtls, bytes(range(256)) * 4]


async def test_packets_from_a_third_host_do_not_join_or_disturb_a_webrtc_session() -> None:
    """THREATS #38: a third device on the LAN sprays forged RTP, STUN and DTLS at the receiver's
    ICE ports during a session: SRTP and ICE drop them, the picture keeps arriving whole."""
    netns.require()
    async with PeerLan(3) as lan:
        a, b = await _paired(lan, WEBRTC, WEBRTC)
        sender, viewer = await _open_and_watch(
            a, b, "camera", device="synthetic", max_size=(640, 360)
        )
        pictures = viewer.decoded()
        await anext(pictures)
        assert b.process is not None
        ports = _udp_ports(b.host, b.process.pid)
        assert ports, "the receiver has no ICE port to attack"
        spray = (
            "import socket, sys\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "data = [bytes.fromhex(h) for h in sys.argv[3].split(',')]\n"
            "for _ in range(200):\n"
            "    for port in sys.argv[2].split(','):\n"
            "        for d in data: s.sendto(d, (sys.argv[1], int(port)))\n"
        )
        hexes = ",".join(d.hex() for d in _hostile_datagrams())
        attack = await asyncio.create_subprocess_exec(
            *lan.hosts[2].command(
                sys.executable, "-c", spray, lan.hosts[1].ipv4, ",".join(map(str, ports)), hexes
            )
        )
        assert await attack.wait() == 0
        for _ in range(60):  # two more seconds of whole pictures
            picture = await anext(pictures)
            rgb = picture.to_ndarray(format="rgb24")
            assert 0 <= time.time() - media.read_stamp(rgb, time.time()) < 5
        info = await b.api.get_stream(sender.id)
        assert info.state == stream_pb2.Stream.STATE_OPEN
        assert info.transport == stream_pb2.STREAM_TRANSPORT_WEBRTC
        assert (await b.api.node()).state == "ready"
        await sender.close()
