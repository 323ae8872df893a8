"""Decoding received streams in Python, and the time stamp drawn into test pictures.

Needs the media extra (``pip install 'kizuna[media]'``: PyAV and numpy). `decode` turns a
stream's frames into PyAV frames (``frame.to_ndarray(format="rgb24")`` for a numpy picture);
`Recorder` writes them to a file any player opens, without decoding.

`stamp_time` / `read_stamp` draw a wall-clock time into a picture as 32 black or white blocks and
read it back after encoding and decoding: how the benchmarks measure glass-to-glass latency, and
what the synthetic source draws into every picture.
"""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import av
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from kizuna_client.client import StreamHandle
    from kizuna_client.types import StreamFrame

#: Codec labels the daemon's sources use, and the decoder for each.
DECODERS: Final = {"h264": "h264", "vp8": "vp8", "vp9": "vp9", "opus": "opus"}
#: Side of one stamp block, in pixels, in pictures at least 512 wide (narrower ones get
#: narrower blocks: 32 of them always fit the top row).
STAMP_BLOCK: Final = 16
STAMP_BITS: Final = 32

Picture = npt.NDArray[np.uint8]


def decoder_for(format: str, metadata: dict[str, str]) -> Any:
    """A decoder for a stream's frames ("h264", "vp8", "vp9", "opus")."""
    name = DECODERS.get(format)
    if name is None:
        raise ValueError(f"no decoder for stream format {format!r} (known: {', '.join(DECODERS)})")
    codec: Any = av.CodecContext.create(name, "r")
    if format != "opus":
        # One thread: frame threading would hold pictures back by a frame per thread, and the
        # daemon's video has no B-frames, so each frame in gives one picture out at once.
        codec.thread_count = 1
    if format == "opus":
        codec.sample_rate = int(metadata.get("sample_rate", "48000"))
        codec.layout = "stereo" if metadata.get("channels") == "2" else "mono"
    return codec


async def decode(handle: StreamHandle) -> AsyncIterator[Any]:
    """Decoded frames of a stream, in order; each carries `.time` (seconds since the stream
    started) and, as `.opaque`, the frame's capture time (seconds since the epoch).

    Video is decoded on a worker thread (PyAV releases the GIL), so the handle keeps reading
    from the daemon meanwhile: on a busy machine a 720p picture takes milliseconds to decode,
    and a reader held up that long would make the daemon drop frames for this app."""
    codec = decoder_for(handle.format, handle.metadata)
    video = handle.format != "opus"
    async for frame in handle:
        if video:
            decoded = await asyncio.to_thread(decode_one, codec, frame)
        else:
            decoded = decode_one(codec, frame)
        if decoded is None or (video and not decoded):
            # A frame that did not decode, or video that gave no picture (its reference was
            # lost on the way): broken until the next keyframe, so ask for one now.
            handle.request_keyframe()
            continue
        for item in decoded:
            yield item


def decode_one(codec: Any, frame: StreamFrame) -> list[Any] | None:
    """The pictures or sound one received frame decodes to (none while a decoder waits for
    more input); None when it did not decode."""
    packet = av.Packet(frame.data)
    packet.pts = int(frame.timestamp * 1_000_000)
    packet.time_base = fractions.Fraction(1, 1_000_000)
    try:
        decoded = list(codec.decode(packet))
    except av.FFmpegError:
        return None  # a frame after a loss: the next keyframe repairs the picture
    for item in decoded:
        item.opaque = frame.capture_time
    return decoded


class Recorder:
    """Writes a stream's encoded frames into a Matroska (.mkv) or MP4 file as they arrive, with
    their timestamps; nothing is decoded or re-encoded."""

    def __init__(
        self,
        target: Path | BinaryIO,
        format: str,
        metadata: dict[str, str],
        container_format: str | None = None,
    ) -> None:
        """`target` is a file path (its suffix picks the container) or a binary file object
        (a player's standard input) with `container_format` ("matroska")."""
        where: Any = str(target) if isinstance(target, Path) else target
        self._container = av.open(where, "w", format=container_format)
        self._time_base = fractions.Fraction(1, 1_000_000)
        self._format = format
        self._metadata = metadata
        self._stream: Any = None
        self._first: int | None = None
        self.frames = 0

    def _add_stream(self, data: bytes) -> None:
        if self._format == "opus":
            rate = int(self._metadata.get("sample_rate", "48000"))
            stream: Any = self._container.add_stream("opus", rate=rate)
        else:
            stream = self._container.add_stream(self._format)
            stream.width = int(self._metadata.get("width", "0"))
            stream.height = int(self._metadata.get("height", "0"))
            if self._format == "h264":
                # H.264 from the daemon's sources carries its parameter sets in-band, before each
                # keyframe: the container wants them once, up front.
                stream.codec_context.extradata = parameter_sets(data)
        stream.time_base = self._time_base
        self._stream = stream

    def write(self, frame: StreamFrame) -> None:
        if self._stream is None:
            if not frame.keyframe:
                return  # a file starts at a picture that stands alone
            self._add_stream(frame.data)
        pts = int(frame.timestamp * 1_000_000)
        if self._first is None:
            self._first = pts
        packet = av.Packet(frame.data)
        packet.stream = self._stream
        packet.time_base = self._time_base
        packet.pts = packet.dts = pts - self._first
        packet.is_keyframe = frame.keyframe
        self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        self._container.close()


def parameter_sets(annexb: bytes) -> bytes:
    """The SPS and PPS NAL units (types 7 and 8) of an Annex B keyframe, with start codes."""
    units = [u for u in annexb.split(b"\x00\x00\x01") if u]
    kept = [u.rstrip(b"\x00") for u in units if u[0] & 0x1F in (7, 8)]
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in kept)


def stamp_time(picture: Picture, seconds: float) -> None:
    """Draws `seconds` (milliseconds, low 32 bits) into the top-left of an RGB picture as 32
    blocks, most significant bit first; white is 1."""
    value = int(seconds * 1000) & 0xFFFFFFFF
    block = _block(picture)
    for bit in range(STAMP_BITS):
        on = (value >> (STAMP_BITS - 1 - bit)) & 1
        x = bit * block
        picture[0:block, x : x + block] = 255 if on else 0


def _block(picture: Picture) -> int:
    width = int(picture.shape[1])
    if width < 4 * STAMP_BITS:
        raise ValueError(f"a stamp needs a picture at least {4 * STAMP_BITS} pixels wide")
    return min(STAMP_BLOCK, width // STAMP_BITS)


def read_stamp(picture: Picture, now: float) -> float:
    """The time `stamp_time` drew, as seconds since the epoch (completed from `now`, which
    must be within 24 days of it)."""
    value = 0
    block = _block(picture)
    half, edge = block // 2, max(1, block // 4)
    for bit in range(STAMP_BITS):
        x = bit * block + half
        level = float(picture[half - edge : half + edge, x - edge : x + edge].mean())
        value = (value << 1) | (level > 127)
    now_ms = int(now * 1000)
    stamped = (now_ms & ~0xFFFFFFFF) | value
    if stamped > now_ms + 2**31:
        stamped -= 2**32
    return stamped / 1000
