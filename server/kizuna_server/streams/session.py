"""One stream's moving parts on this device: the peer call, the pumps, the viewers.

A session exists once a stream is offered (incoming) or being opened (outgoing). Frames this
device sends go through `outbox` to the send pump, which writes them on the peer call; frames
from the peer are read by the receive pump and handed to every attached viewer's mailbox (or, while
nobody watches yet, to `backlog`). Control messages (keyframe requests, the end) are written
between frames under the same lock, since a call takes one write at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import grpc.aio

from kizuna_client.delivery import Delivery, Mailbox
from kizuna_client.framing import FrameCodec, Framed
from kizuna_server.errors import KizunaError
from kizuna_server.p2p.wire import stream_service_pb2 as wire
from kizuna_server.streams.model import Frame, Stream
from kizuna_server.streams.stats import ClockOffset, Meter

log = logging.getLogger(__name__)

#: Keyframe requests sent to the producer at most this often (each costs it a large frame).
KEYFRAME_REQUEST_INTERVAL_SECS = 0.25


class PeerCall(Protocol):
    """The two ends of an Open call look alike: the opener's client call, the receiver's
    server context."""

    async def read(self) -> Any: ...

    async def write(self, message: Any) -> None: ...


#: End of a call's messages (grpc.aio.EOF; the grpc stubs do not declare it).
EOF: Final[Any] = getattr(grpc.aio, "EOF")  # noqa: B009


def now_us() -> int:
    return time.time_ns() // 1000


#: A message of an Open call: OpenRequest from the opener, OpenResponse from the receiver;
#: a frame in either is a `Framed` (its payload written around protobuf: framing.py).
Packet = wire.OpenRequest | wire.OpenResponse | Framed[wire.StreamFrame]

OPEN_METHOD: Final = f"/{wire.DESCRIPTOR.services_by_name['StreamService'].full_name}/Open"
#: The Open call's serializers, on both ends.
REQUESTS: Final[FrameCodec[wire.OpenRequest]] = FrameCodec(wire.OpenRequest)
RESPONSES: Final[FrameCodec[wire.OpenResponse]] = FrameCodec(wire.OpenResponse)


def framed(frame: Frame) -> Framed[wire.StreamFrame]:
    header = wire.StreamFrame(
        sequence=frame.sequence,
        timestamp_us=frame.timestamp_us,
        keyframe=frame.keyframe,
        capture_unix_us=frame.capture_us,
    )
    return Framed(header, frame.data)


def frame_from_wire(framed: Framed[wire.StreamFrame]) -> Frame:
    message = framed.frame
    return Frame(
        sequence=message.sequence,
        timestamp_us=message.timestamp_us,
        keyframe=message.keyframe,
        data=framed.payload,
        capture_us=message.capture_unix_us,
    )


@dataclass(eq=False)
class Viewer:
    """An app attached to a stream: frames from the peer reach it through `mailbox`; keyframe
    requests (for an app that encodes its own video) through `keyframe_wanted`."""

    mailbox: Mailbox[Frame]
    keyframe_wanted: asyncio.Event = field(default_factory=asyncio.Event)


class Session:
    """The live parts of one stream (see the module docstring)."""

    def __init__(self, stream: Stream, *, on_keyframe_request: Callable[[], None]) -> None:
        self.stream = stream
        policy = stream.header.delivery
        self.outbox: Mailbox[Frame] = Mailbox(policy, want_keyframe=self._count_local_drop)
        self.backlog: Mailbox[Frame] = Mailbox(policy, want_keyframe=self.ask_keyframe)
        self.viewers: list[Viewer] = []
        self.decision: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.ended = asyncio.Event()
        self.opened = asyncio.Event()
        self.sent = Meter()
        self.received = Meter()
        self.clock = ClockOffset()
        self.answer_sent_us = 0
        self.accepted_by_person = False
        self.peer_ended = False
        self._on_keyframe_request = on_keyframe_request
        self._call: PeerCall | None = None
        self._ahead: asyncio.Future[Any] | None = None
        self._write_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_keyframe_request = 0.0
        self._sequence = 0
        #: The WebRTC session carrying the media, once negotiated (streams/webrtc.py).
        self.webrtc: Any = None
        #: Both ends connected WebRTC (the receiver said so): media may move over.
        self.webrtc_ready = asyncio.Event()
        #: Opening side: the receiver's WebRtcReady arrived.
        self.peer_webrtc_ready = asyncio.Event()
        #: Receiving side, WebRTC: when the opener's frame with timestamp 0 was captured.
        self.capture_origin_us = 0
        #: The SDP offer proposing WebRTC ("" for frames on the link).
        self.webrtc_offer = ""
        self._origin_sent = False
        self._last_in = -1
        self._webrtc_base: int | None = None

    async def settled(self) -> None:
        """Returns once the stream is open or has ended (an accepted offer opens a moment
        later, when the answer is on its way)."""
        opened = asyncio.ensure_future(self.opened.wait())
        ended = asyncio.ensure_future(self.ended.wait())
        try:
            await asyncio.wait({opened, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
            ended.cancel()

    # --- frames this device sends --------------------------------------------------------

    def next_sequence(self) -> int:
        sequence = self._sequence
        self._sequence += 1
        return sequence

    async def send(self, frame: Frame) -> bool:
        """Queues a frame for the peer (waits for room under RELIABLE); False once ended."""
        return await self.outbox.put(frame)

    def _count_local_drop(self) -> None:
        """The outbox dropped frames (the link is slower than the source): the source must
        start again from a keyframe."""
        self._keyframe_needed_here()

    def _keyframe_needed_here(self) -> None:
        self.stream.stats.keyframe_requests += 1
        self._on_keyframe_request()

    # --- frames from the peer ------------------------------------------------------------

    def attach(self) -> Viewer:
        viewer = Viewer(
            Mailbox[Frame](self.stream.header.delivery, want_keyframe=self.ask_keyframe)
        )
        if not self.viewers:
            for frame in self.backlog.take_all():  # what arrived while nobody watched
                viewer.mailbox.offer(frame)
        elif self.stream.header.delivery is Delivery.LATEST:
            self.ask_keyframe()  # a newcomer cannot decode before the next keyframe
        self.viewers.append(viewer)
        return viewer

    def detach(self, viewer: Viewer) -> None:
        with contextlib.suppress(ValueError):
            self.viewers.remove(viewer)
        viewer.mailbox.discard()

    async def deliver(self, frame: Frame) -> None:
        """Hands a frame from the peer to every viewer (waiting under RELIABLE)."""
        viewers = self.viewers or None
        if viewers is None:
            await self.backlog.put(frame)
            return
        for viewer in list(viewers):
            await viewer.mailbox.put(frame)
        self.stream.frames_dropped = self.dropped()

    def dropped(self) -> int:
        return (
            self.outbox.dropped
            + self.backlog.dropped
            + sum(viewer.mailbox.dropped for viewer in self.viewers)
        )

    def ask_keyframe(self) -> None:
        """A hop on this device dropped frames from the peer: ask the peer's producer for a
        keyframe, at most every KEYFRAME_REQUEST_INTERVAL_SECS."""
        now = time.monotonic()
        if now - self._last_keyframe_request < KEYFRAME_REQUEST_INTERVAL_SECS:
            return
        self._last_keyframe_request = now
        self.stream.stats.keyframe_requests += 1
        self.spawn(self.write_quietly(self.packet(keyframe_request=wire.KeyframeRequest())))

    def keyframe_requested_by_peer(self) -> None:
        self._on_keyframe_request()

    # --- the peer call ---------------------------------------------------------------------

    def bind(self, call: PeerCall) -> None:
        self._call = call

    def read_ahead(self) -> asyncio.Future[Any]:
        """Starts the next read now; `pump_in` takes its result first."""
        assert self._call is not None
        self._ahead = asyncio.ensure_future(self._call.read())
        # Retrieved even when the call ends first (a rejection aborts the pending read).
        self._ahead.add_done_callback(lambda read: read.cancelled() or read.exception())
        return self._ahead

    def packet(self, **part: Any) -> Packet:
        """A message from this side: an OpenRequest from the opener, an OpenResponse from the
        receiver."""
        return wire.OpenRequest(**part) if self.stream.outgoing else wire.OpenResponse(**part)

    async def write(self, packet: Packet) -> None:
        assert self._call is not None
        async with self._write_lock:
            await self._call.write(packet)

    async def write_quietly(self, packet: Packet) -> None:
        """A control message; a call that already broke is reported by the pumps."""
        with contextlib.suppress(Exception):
            await self.write(packet)

    async def pump_out(self) -> None:
        """Writes queued frames to the peer until the outbox closes: over WebRTC once it is
        connected, on the peer call otherwise. The move either way happens at a keyframe (one
        is asked for when WebRTC connects or fails), so the receiver's decoder never sees a
        frame whose reference went by the other path."""
        on_webrtc = False
        while (frame := await self.outbox.get()) is not None:
            webrtc = self.webrtc
            usable = (
                webrtc is not None and self.webrtc_ready.is_set() and not webrtc.failed.is_set()
            )
            if usable and not on_webrtc and frame.keyframe:
                on_webrtc = True  # over at a keyframe
            elif on_webrtc and not usable:
                on_webrtc = False  # WebRTC broke: the link at once; a keyframe is on its way
            if on_webrtc and webrtc is not None:
                if not self._origin_sent:
                    self._origin_sent = True
                    # The receiver's RTP clock starts at 0 with the first frame it gets, this one.
                    origin = wire.CaptureOrigin(capture_unix_us=frame.capture_us)
                    await self.write(self.packet(origin=origin))
                if not webrtc.send(frame):
                    self.outbox.dropped += 1
                    self._keyframe_needed_here()
                    continue
            else:
                await self.write(framed(frame))
            self.stream.frames_sent += 1
            self.stream.stats.bytes_sent += len(frame.data)
            self.sent.add(len(frame.data), time.monotonic())
            self.stream.frames_dropped = self.dropped()

    async def pump_in(self, on_packet: Callable[[Any], Awaitable[bool]]) -> None:
        """Reads the peer's packets until the call ends; `on_packet` returns False to stop."""
        assert self._call is not None
        while True:
            if self._ahead is not None:
                ahead, self._ahead = self._ahead, None
                packet = await ahead
            else:
                packet = await self._call.read()
            expected = wire.OpenResponse if self.stream.outgoing else wire.OpenRequest
            if packet is EOF or not isinstance(packet, (expected, Framed)):
                return
            if not await on_packet(packet):
                return

    async def take_frame(self, message: Framed[wire.StreamFrame]) -> None:
        await self.take(frame_from_wire(message))

    async def take_webrtc_frame(self, frame: Frame) -> None:
        """A frame that came over WebRTC: numbered on from the frames the link carried before,
        its capture time the origin (the first WebRTC frame's) plus its timestamp, which aiortc
        counts from that first frame."""
        if self._webrtc_base is None:
            self._webrtc_base = self._last_in + 1 - frame.sequence
        capture_us = self.capture_origin_us + frame.timestamp_us if self.capture_origin_us else 0
        await self.take(
            Frame(
                self._webrtc_base + frame.sequence,
                frame.timestamp_us,
                frame.keyframe,
                frame.data,
                capture_us,
            )
        )

    async def take(self, frame: Frame) -> None:
        self._last_in = max(self._last_in, frame.sequence)
        now = time.monotonic()
        latency = self.clock.latency_ms(frame.capture_us, now_us())
        self.received.add(len(frame.data), now, latency)
        self.stream.frames_received += 1
        self.stream.stats.bytes_received += len(frame.data)
        await self.deliver(frame)

    def spawn(self, coroutine: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_tasks(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def refresh_stats(self) -> None:
        """Brings `stream.stats` up to date (rates over the last two seconds)."""
        now = time.monotonic()
        stats = self.stream.stats
        main = self.sent if self.stream.outgoing else self.received
        stats.bitrate_bps = main.bitrate_bps(now)
        stats.fps = round(main.fps(now), 2)
        stats.latency_p50_ms = round(self.received.latency_ms(0.5), 2)
        stats.latency_p99_ms = round(self.received.latency_ms(0.99), 2)
        stats.max_gap_ms = round(self.received.max_gap_ms, 1)
        stats.rtt_ms = round(self.clock.rtt_ms, 2)
        self.stream.frames_dropped = self.dropped()


def describe(error: BaseException) -> KizunaError:
    """An unexpected failure of a pump, as the stream's error."""
    if isinstance(error, KizunaError):
        return error
    return KizunaError(f"the stream failed: {type(error).__name__}")
