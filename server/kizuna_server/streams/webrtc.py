"""WebRTC for live media (networking.enable_webrtc): RTP over UDP with NACK, keyframe requests
and a jitter buffer, DTLS-SRTP keyed per session, through aiortc.

Bound to Kizuna's identities: the SDP offer and answer travel only inside the stream's Open call
on the pinned, mutual-TLS peer link, so the DTLS fingerprints, ICE credentials and SRTP keys a
session uses come from the two authenticated daemons. aiortc refuses a DTLS peer whose
certificate does not match the fingerprint in the remote description, and SRTP drops packets
that do not authenticate: nothing unauthenticated joins or injects (THREATS #38). No STUN or
TURN server is configured: candidates are this device's own addresses (no cloud).

Frames stay encoded end to end: the opener's encoder (streams/media.py) produces H.264 or Opus,
aiortc packetizes it as it is, and on the receiving side the depacketized frames are handed to
the stream's viewers without decoding, exactly as on the link path. aiortc decodes every
received frame on a thread of its own; for Kizuna's receivers that thread is replaced by one that
passes the encoded frames on (`_passthrough_worker`). That touches aiortc's receiver internals,
so the media extra pins aiortc to the releases this was checked against.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import queue
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Final

import av
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    rtcrtpreceiver,
    rtcrtpsender,
)
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from kizuna_server.streams.model import Frame, Kind

log = logging.getLogger(__name__)

#: How long ICE and DTLS get to connect before the stream falls back to the link.
CONNECT_TIMEOUT_SECS: Final = 5.0
_CLOCK_RATES: Final = {"video": 90_000, "audio": 48_000}
_MIME: Final = {"video": "video/H264", "audio": "audio/opus"}
_MICROSECOND: Final = fractions.Fraction(1, 1_000_000)

# --- receiving without decoding ------------------------------------------------------------

#: Output queues of tracks whose frames must stay encoded (Kizuna's receivers).
_PASSTHROUGH: weakref.WeakSet[asyncio.Queue[Any]] = weakref.WeakSet()
_original_worker = rtcrtpreceiver.decoder_worker


def _passthrough_worker(
    loop: asyncio.AbstractEventLoop,
    input_q: queue.Queue[Any],
    output_q: asyncio.Queue[Any],
    decode_error: threading.Event,
) -> None:
    """aiortc's decoder thread for Kizuna's tracks: encoded frames go to the track as they are.
    Other tracks in the same process (an app embedding the daemon may use aiortc itself) keep
    aiortc's own decoding."""
    if output_q not in _PASSTHROUGH:
        _original_worker(loop, input_q, output_q, decode_error)
        return
    while True:
        task = input_q.get()
        if task is None:
            asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
            return
        codec, encoded = task
        asyncio.run_coroutine_threadsafe(output_q.put((codec.name, encoded)), loop)


rtcrtpreceiver.decoder_worker = _passthrough_worker


# --- recovering from loss ----------------------------------------------------------------------
#
# aiortc keeps the last 128 packets sent for retransmission, asks again for a missing packet
# only within 128, and its video jitter buffer waits up to 512 packets for one before it gives
# up and asks for a keyframe. Under 2% loss a retransmission that is itself lost (or asked for
# after 128 newer packets) froze the picture for 1-3 s, measured in
# tests/e2e/test_streams_netns.py. Kept longer and given up sooner: 1024 packets of history
# both ways, a 256-packet video jitter buffer (0.4-0.9 s at 720p or 360p, 30 fps), after which a
# keyframe is asked for and the picture resumes. A packet count is no clock, though (256 packets
# are 1.7 s of 720p at 1.4 Mb/s, and a freeze that long was measured), so video also gives up on
# a missing packet once packets have kept arriving for VIDEO_STALL_SECS without a frame coming
# out: what waits is dropped, the buffer starts again at the next packet and a keyframe is asked
# for (RTCP PLI). Audio frames are released as soon as the next one shows the frame complete
# (aiortc waits for four: 80 ms more one-way latency, measured in bench/streams.py).
RETRANSMIT_HISTORY: Final = 1024
VIDEO_JITTER_PACKETS: Final = 256
VIDEO_STALL_SECS: Final = 0.3
AUDIO_PREFETCH: Final = 1
setattr(rtcrtpsender, "RTP_HISTORY_SIZE", RETRANSMIT_HISTORY)  # noqa: B010 - module internals
setattr(rtcrtpreceiver, "RTP_HISTORY_SIZE", RETRANSMIT_HISTORY)  # noqa: B010


class _JitterBuffer(JitterBuffer):
    def __init__(self, capacity: int, prefetch: int = 0, is_video: bool = False) -> None:
        if is_video:
            super().__init__(min(capacity, VIDEO_JITTER_PACKETS), prefetch, is_video)
        else:
            super().__init__(capacity, min(prefetch, AUDIO_PREFETCH), is_video)
        self._video = is_video
        self._progress = time.monotonic()

    def add(self, packet: Any) -> tuple[bool, Any]:
        before = self._origin
        pli, frame = super().add(packet)
        now = time.monotonic()
        if frame is not None or self._origin != before:
            self._progress = now
        elif self._video and now - self._progress > VIDEO_STALL_SECS:
            self.remove(self.capacity)  # the missing packet and everything stored behind it
            self._origin = None  # the next packet starts the buffer again
            self._progress = now
            return True, None
        return pli, frame


setattr(rtcrtpreceiver, "JitterBuffer", _JitterBuffer)  # noqa: B010


def _media_kind(kind: Kind) -> str:
    return "audio" if kind is Kind.AUDIO else "video"


def keyframe_of(codec: str, data: bytes) -> bool:
    """Whether an encoded frame stands alone: an H.264 IDR or parameter set, a VP8 key frame,
    any Opus frame."""
    if codec.upper() == "H264":
        return any(unit and unit[0] & 0x1F in (5, 7) for unit in data.split(b"\x00\x00\x01"))
    if codec.upper() == "VP8":
        return bool(data) and not data[0] & 0x01
    return True


class _PacketTrack(MediaStreamTrack):
    """A track fed with encoded packets; aiortc packetizes them without re-encoding. At most
    a few wait (the producer's drops are counted by the stream's own mailbox)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=8)

    def put(self, frame: Frame) -> bool:
        packet = av.Packet(bytes(frame.data))
        packet.pts = packet.dts = frame.timestamp_us
        packet.time_base = _MICROSECOND
        if self._queue.full():
            return False
        self._queue.put_nowait(packet)
        return True

    async def recv(self) -> Any:  # aiortc's sender takes a Frame or, as here, a Packet
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def end(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)


def _connection() -> RTCPeerConnection:
    # No ICE servers at all: aiortc would otherwise ask a public STUN server.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def _prefer(transceiver: Any, kind: str) -> None:
    codecs = RTCRtpSender.getCapabilities(kind).codecs
    wanted = [c for c in codecs if c.mimeType.lower() == _MIME[kind].lower()]
    transceiver.setCodecPreferences(wanted)


class WebRtcLink:
    """One stream's WebRTC session, either side."""

    def __init__(self, pc: RTCPeerConnection, kind: str) -> None:
        self._pc = pc
        self._kind = kind
        self._track: _PacketTrack | None = None
        self._reader: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.failed = asyncio.Event()

        @pc.on("connectionstatechange")
        def changed() -> None:
            state = pc.connectionState
            if state == "connected":
                self.connected.set()
            elif state in ("failed", "closed"):
                self.failed.set()

    # --- the opener -------------------------------------------------------------------------

    @classmethod
    async def offer(cls, kind: Kind, keyframe: Callable[[], None]) -> tuple[WebRtcLink, str]:
        """A sending session and its SDP offer (candidates included: no trickle)."""
        media = _media_kind(kind)
        pc = _connection()
        link = cls(pc, media)
        track = link._track = _PacketTrack(media)
        transceiver = pc.addTransceiver(track, direction="sendonly")
        _prefer(transceiver, media)
        # A receiver's keyframe request (RTCP PLI/FIR) reaches the source's encoder: aiortc
        # only knows how to ask its own encoders.
        sender: Any = transceiver.sender
        sender._send_keyframe = keyframe
        await pc.setLocalDescription(await pc.createOffer())
        return link, pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        await self._pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    def send(self, frame: Frame) -> bool:
        """Hands an encoded frame to the session; False when its queue is full (the caller
        counts it as dropped and asks for a keyframe)."""
        assert self._track is not None
        return self._track.put(frame)

    # --- the receiver -----------------------------------------------------------------------

    @classmethod
    async def answer(
        cls, kind: Kind, offer: str, deliver: Callable[[Frame], Awaitable[None]]
    ) -> tuple[WebRtcLink, str]:
        """A receiving session for `offer`; its frames go to `deliver` in order."""
        media = _media_kind(kind)
        pc = _connection()
        link = cls(pc, media)

        @pc.on("track")
        def on_track(track: Any) -> None:
            # Before the receiver starts its decoder thread: register the queue it will feed.
            _PASSTHROUGH.add(track._queue)
            link._reader = asyncio.ensure_future(link._read(track, deliver))

        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        for transceiver in pc.getTransceivers():
            transceiver.direction = "recvonly"
            _prefer(transceiver, media)
        await pc.setLocalDescription(await pc.createAnswer())
        return link, pc.localDescription.sdp

    async def _read(self, track: Any, deliver: Callable[[Frame], Awaitable[None]]) -> None:
        rate = _CLOCK_RATES[self._kind]
        sequence = 0
        while True:
            try:
                item = await track.recv()
            except MediaStreamError:
                return
            codec, encoded = item
            timestamp_us = encoded.timestamp * 1_000_000 // rate
            await deliver(
                Frame(sequence, timestamp_us, keyframe_of(codec, encoded.data), encoded.data)
            )
            sequence += 1

    # --- both -------------------------------------------------------------------------------

    async def wait_connected(self) -> bool:
        """Whether ICE and DTLS connect within CONNECT_TIMEOUT_SECS."""
        return await self.wait_for(self.connected)

    async def wait_for(self, event: asyncio.Event) -> bool:
        """Whether `event` is set within CONNECT_TIMEOUT_SECS and the session did not fail."""
        connected = asyncio.ensure_future(event.wait())
        failed = asyncio.ensure_future(self.failed.wait())
        try:
            await asyncio.wait(
                {connected, failed}, timeout=CONNECT_TIMEOUT_SECS, return_when="FIRST_COMPLETED"
            )
        finally:
            connected.cancel()
            failed.cancel()
        return event.is_set() and not self.failed.is_set()

    async def rtt_ms(self) -> float:
        """The round-trip time RTCP last measured, in ms (0 when not known yet)."""
        with contextlib.suppress(Exception):
            for report in (await self._pc.getStats()).values():
                if getattr(report, "type", "") == "remote-inbound-rtp":
                    return float(report.roundTripTime or 0) * 1000
        return 0.0

    async def close(self) -> None:
        if self._track is not None:
            self._track.end()
        if self._reader is not None:
            self._reader.cancel()
        with contextlib.suppress(Exception):
            await self._pc.close()
